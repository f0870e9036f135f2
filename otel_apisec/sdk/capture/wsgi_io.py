"""WSGI streams that hand the app and the client every byte while keeping a bounded copy."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from otel_apisec.sdk.capture.record import BodyBuffer

__all__ = ["TeeInput", "TeeIterable"]


class TeeInput:
    """Wraps `wsgi.input`: the app reads as usual; what it reads is copied into `buffer`."""

    def __init__(self, stream: Any, buffer: BodyBuffer) -> None:
        self._stream = stream
        self._buffer = buffer

    def _keep(self, data: bytes) -> bytes:
        if data:
            self._buffer.add(data)
        return data

    def read(self, *args: Any) -> bytes:
        return self._keep(self._stream.read(*args))

    def readline(self, *args: Any) -> bytes:
        return self._keep(self._stream.readline(*args))

    def readinto(self, target: Any) -> int:
        # Werkzeug's LimitedStream reads through readinto(), not read().
        count = self._stream.readinto(target)
        if count:
            self._buffer.add(memoryview(target)[:count])
        return count

    def readlines(self, *args: Any) -> list[bytes]:
        lines = self._stream.readlines(*args)
        for line in lines:
            self._keep(line)
        return lines

    def __iter__(self) -> Iterator[bytes]:
        for line in self._stream:
            yield self._keep(line)

    def __getattr__(self, name: str) -> Any:
        # close(), fileno(), seek() and server-specific extras pass straight through.
        return getattr(self._stream, name)


class TeeIterable:
    """Wraps a WSGI response iterable: chunks go to the client unchanged and are copied into
    `buffer`; `on_done` runs once, when the server closes the iterable (PEP 3333 says it must)."""

    def __init__(self, iterable: Iterable[bytes], buffer: BodyBuffer, on_done: Callable[[], None]) -> None:
        self._iterable = iterable
        self._buffer = buffer
        self._on_done: Callable[[], None] | None = on_done

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._iterable:
            self._buffer.add(chunk)
            yield chunk

    def close(self) -> None:
        try:
            close = getattr(self._iterable, "close", None)
            if close is not None:
                close()
        finally:
            done, self._on_done = self._on_done, None
            if done is not None:
                done()
