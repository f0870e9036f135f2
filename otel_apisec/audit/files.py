"""Where the files of one audit chain are: the live file and its rotated siblings, in chain order.

A rotated file is named `<live name>.<seq of its last record>`, zero-padded to 12 digits
(`audit.jsonl.000000004096`), so names sort in chain order, a rotation is one rename (nothing
else is renumbered), and a rotated name is never reused.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "ROTATED_DIGITS",
    "ChainFilesError",
    "chain_files",
    "lock_path",
    "looks_like_audit_file",
    "rotated_path",
    "rotated_siblings",
]

ROTATED_DIGITS = 12
_MAGIC = b'{"hash":"'
"""How every line of an audit log starts (canonical JSON, `hash` sorts first)."""


class ChainFilesError(ValueError):
    """The paths do not name an audit log."""


def lock_path(live: Path) -> Path:
    """The writer's lock file: hidden, so a shell glob `audit.jsonl*` does not pick it up."""
    return live.with_name(f".{live.name}.lock")


def rotated_path(live: Path, last_seq: int) -> Path:
    return live.with_name(f"{live.name}.{last_seq:0{ROTATED_DIGITS}d}")


def _rotation_index(name: str, live_name: str) -> int | None:
    """The seq in a rotated file's name, or None when `name` is not a rotation of `live_name`."""
    prefix, _, suffix = name.rpartition(".")
    if prefix != live_name or len(suffix) < ROTATED_DIGITS or not (suffix.isascii() and suffix.isdigit()):
        return None
    return int(suffix)


def _split(path: Path) -> tuple[Path, int | None]:
    """(live file, rotation index) for a rotated name, else (path, None)."""
    prefix, _, _ = path.name.rpartition(".")
    index = _rotation_index(path.name, prefix) if prefix else None
    return (path.with_name(prefix), index) if index is not None else (path, None)


def rotated_siblings(live: Path) -> list[Path]:
    """The rotated files of `live`, oldest first."""
    try:
        names = os.listdir(live.parent)
    except FileNotFoundError:
        return []
    found = [(index, name) for name in names if (index := _rotation_index(name, live.name)) is not None]
    return [live.with_name(name) for _, name in sorted(found)]


def looks_like_audit_file(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(_MAGIC)) == _MAGIC
    except OSError:
        return False


def _expand_one(path: Path) -> list[Path]:
    if path.is_dir():
        logs = sorted({_split(child)[0] for child in path.iterdir() if child.is_file() and looks_like_audit_file(child)})
        if len(logs) != 1:
            what = f"{len(logs)} audit logs ({', '.join(p.name for p in logs)}); name one" if logs else "no audit log"
            raise ChainFilesError(f"{path}: the directory holds {what}")
        path = logs[0]
    files = rotated_siblings(path) + ([path] if path.exists() else [])
    if not files:
        raise ChainFilesError(f"{path}: no such file (nor rotated files {path.name}.NNNNNNNNNNNN)")
    return files


def chain_files(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The files to verify, in chain order.

    One path: a directory (the one audit log in it), or a live file's name (it and its rotated
    siblings; the live file may be missing right after a rotation). Several paths: exactly these
    files; when they are all one log's live and rotated files (`audit.jsonl*` from a shell glob),
    they are put in chain order, otherwise kept in the order given."""
    if not paths:
        raise ChainFilesError("no file given")
    if len(paths) == 1:
        return _expand_one(Path(paths[0]))
    files = list(dict.fromkeys(Path(p) for p in paths))
    if len({_split(p)[0] for p in files}) == 1:
        files.sort(key=_chain_order)
    return files


def _chain_order(path: Path) -> float:
    """Rotated files by the seq in their name, the live file last."""
    index = _split(path)[1]
    return float("inf") if index is None else index
