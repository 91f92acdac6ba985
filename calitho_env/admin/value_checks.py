"""Looks at a value before `setup` stores it for production: is it one meant for this machine?

Only a verdict comes out, never the value: the caller names the key and the file.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from calitho_env.core.bindings import Binding, FileSource

# The env files that production and development both read: a value there may well be development's.
SHARED_FILES = frozenset({".env", ".env.local"})


def points_at_this_machine(value: str) -> bool:
    """Whether `value` is a URL whose host is localhost, a loopback address or 0.0.0.0."""
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname
    except ValueError:  # e.g. an unclosed [ in the host: not a URL we can judge
        return False
    if not parts.scheme or not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def shared_with_development(binding: Binding) -> str | None:
    """The file a value came from when development reads that file too, else None."""
    source = binding.source
    if isinstance(source, FileSource) and Path(source.path).name in SHARED_FILES:
        return source.path
    return None
