"""A cache folder for compiled Hyperscan databases, so a scan or an app does not start with a 1-2 s compile.

`OTEL_APISEC_CACHE_DIR` names the folder (`off` disables it); the default is
`$XDG_CACHE_HOME/otel-apisec` or `~/.cache/otel-apisec`. Entries are keyed by a hash of the
patterns and the Hyperscan version. The cache is an optimisation only: an unreadable,
unwritable or corrupt entry means a compile, never an error.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["FolderCache", "default_cache", "folder_cache"]


class FolderCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get(self, key: str) -> bytes | None:
        try:
            return (self.folder / f"{key}.hsdb").read_bytes()
        except OSError:
            return None

    def put(self, key: str, data: bytes) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a concurrent reader never sees half a database.
            with tempfile.NamedTemporaryFile(dir=self.folder, delete=False) as handle:
                handle.write(data)
            os.replace(handle.name, self.folder / f"{key}.hsdb")
        except OSError:
            pass


def folder_cache(setting: str) -> FolderCache | None:
    """The cache an `OTEL_APISEC_CACHE_DIR` value names: a folder, `off`, or empty for the default."""
    value = setting.strip()
    if value.lower() == "off":
        return None
    if value:
        return FolderCache(Path(value))
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return FolderCache(Path(base) / "otel-apisec")


def default_cache() -> FolderCache | None:
    return folder_cache(os.environ.get("OTEL_APISEC_CACHE_DIR", ""))
