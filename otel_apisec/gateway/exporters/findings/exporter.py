"""The findings JSONL file: one line per finding event of the traces the gateway passes on.

It writes on the submitting thread (a line per finding is microseconds of work into the page
cache); it never blocks a receiver on the network.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import orjson

from otel_apisec.gateway.api import Request, Signal
from otel_apisec.gateway.finding_records import findings_from_request

__all__ = ["FindingsFileExporter"]

log = logging.getLogger(__name__)


class FindingsFileExporter:
    """Appends one JSON line per finding event of the traces it gets to `path` (flushed per
    request; safe to share between threads)."""

    signals = frozenset({Signal.TRACES})

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.written = 0
        self.errors = 0
        self._lock = threading.Lock()
        self._file: Any = None

    def start(self) -> None:
        with self._lock:
            self._open()

    def _open(self) -> Any:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "ab")  # held open for the exporter's life
        return self._file

    def submit(self, signal: Signal, request: Request) -> None:
        if signal is not Signal.TRACES:
            return
        lines = [orjson.dumps(finding) + b"\n" for finding in findings_from_request(request)]
        if not lines:
            return
        with self._lock:
            try:
                handle = self._open()
                handle.write(b"".join(lines))
                handle.flush()
            except OSError as error:  # a full disk loses findings lines, never the spans themselves
                self.errors += len(lines)
                log.error("findings file %s: cannot write %d finding(s): %s", self.path, len(lines), error)
                return
            self.written += len(lines)

    def shutdown(self, timeout_s: float = 30.0) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
