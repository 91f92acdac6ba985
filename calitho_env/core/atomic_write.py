"""Write a file the safe way: a new file beside it, renamed over it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes, mode: int) -> None:
    """Write a new file beside `path`, then rename it over `path`.

    The temporary file is made with O_EXCL | O_NOFOLLOW and mode 0600 (mkstemp), named
    `NAME.tmp-XXXXXXXX` so the ignore rules that cover NAME (`.env*`) cover it too, and removed on
    every failure. The rename replaces a link at `path` itself, never the file it points to.
    """
    descriptor, temporary = tempfile.mkstemp(prefix=f"{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
