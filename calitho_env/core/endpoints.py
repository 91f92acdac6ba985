"""Endpoint overrides (AWS_ENDPOINT_URL*): where the SDK will really send requests, said out loud."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import urlsplit

PREFIX = "AWS_ENDPOINT_URL"


class EndpointOverride(NamedTuple):
    variable: str
    url: str  # without any user:password@ part
    insecure: bool  # plain http to a host that is not this machine


def endpoint_overrides(environ: Mapping[str, str]) -> list[EndpointOverride]:
    return [_override(name, value) for name, value in sorted(environ.items()) if name.startswith(PREFIX) and value]


def _override(variable: str, value: str) -> EndpointOverride:
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        shown = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    except ValueError:
        return EndpointOverride(variable, "(not a URL)", False)
    return EndpointOverride(variable, shown, parts.scheme == "http" and not _is_loopback(host))


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
