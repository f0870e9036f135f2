"""HAR ingest: HAR documents and JSONL files of HAR entries become `HttpExchange`s.

Two input shapes, told apart by content (never by file name):

* a HAR document, `{"log": {"entries": [...]}}`, as browsers, Postman and mitmproxy export it.
  It is one JSON value, so it is read whole.
* JSONL: one HAR entry object per line. It is streamed line by line (memory stays bounded);
  a line longer than `MAX_LINE_BYTES` is reported and skipped without being held in memory.

A bad entry never stops the run: it comes out as an `EntryError` in input order. Input that is
not HAR at all raises `NotHarError` before any entry is produced.
"""

from __future__ import annotations

import base64
import binascii
import gc
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import BinaryIO
from urllib.parse import parse_qsl, urlencode, urlsplit

import orjson

from otel_apisec.model import Body, Headers, HttpExchange

__all__ = [
    "MAX_LINE_BYTES",
    "EntryError",
    "HarError",
    "HarReader",
    "NotHarError",
    "exchange_from_entry",
]

MAX_LINE_BYTES = 64 << 20
"""A JSONL line longer than this is skipped with an error (one entry never needs more)."""

CLIENT_ADDRESS_FIELDS = ("_clientAddress", "_clientIPAddress")
"""Custom entry fields that carry the client's address. `serverIPAddress` is the server's."""

_CHUNK = 1 << 20
_BOM = b"\xef\xbb\xbf"
_ENTRY_KEYS = frozenset({"request", "response", "startedDateTime"})


class NotHarError(Exception):
    """The whole input is neither a HAR document nor JSONL of HAR entries."""


class HarError(ValueError):
    """One entry cannot be converted; the message names the problem in one line."""


@dataclass(frozen=True, slots=True)
class EntryError:
    index: int
    """0-based entry index in input order."""
    line: int | None
    """1-based line number for JSONL input, None for a HAR document."""
    message: str

    def describe(self) -> str:
        """One line naming the entry, for stderr."""
        where = f"entry {self.index}" + (f" (line {self.line})" if self.line is not None else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class Entry:
    index: int
    line: int | None
    exchange: HttpExchange


# --- one entry -------------------------------------------------------------------------------


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _str(value: object, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _pairs(items: object, where: str) -> list[tuple[str, str]]:
    """HAR name/value lists (`headers`, `cookies`, `queryString`, `params`)."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise HarError(f"{where} is not a list")
    pairs = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            value = item.get("value")
            text = value if isinstance(value, str) else "" if value is None else str(value)
            pairs.append((item["name"], text))
    return pairs


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _body_bytes(text: str, encoding: object, where: str) -> bytes:
    if encoding == "base64":
        try:
            return base64.b64decode(text.encode("ascii"), validate=False)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise HarError(f"{where}.text is not valid base64") from None
    return _encode(text)


def _limit(data: bytes, content_type: str, max_body_bytes: int | None) -> Body:
    if max_body_bytes is not None and len(data) > max_body_bytes:
        return Body(data[:max_body_bytes], content_type, truncated=True)
    return Body(data, content_type)


def _request_body(post: object, max_body_bytes: int | None) -> Body | None:
    if not isinstance(post, dict):
        return None
    mime = _str(post.get("mimeType"))
    text = post.get("text")
    if isinstance(text, str) and text:
        return _limit(_body_bytes(text, post.get("encoding"), "request.postData"), mime, max_body_bytes)
    # Form posts may carry only `params`; file parts (fileName) hold no text worth scanning.
    raw_params = post.get("params")
    params = [
        (item["name"], _str(item.get("value")))
        for item in (raw_params if isinstance(raw_params, list) else ())
        if isinstance(item, dict) and isinstance(item.get("name"), str) and "fileName" not in item
    ]
    if params:
        return _limit(_encode(urlencode(params)), "application/x-www-form-urlencoded", max_body_bytes)
    return None


def _response_body(content: object, headers: Headers, max_body_bytes: int | None) -> Body | None:
    if not isinstance(content, dict):
        return None
    text = content.get("text")
    if not isinstance(text, str) or not text:
        return None
    mime = _str(content.get("mimeType")) or headers.get("content-type", "") or ""
    return _limit(_body_bytes(text, content.get("encoding"), "response.content"), mime, max_body_bytes)


def _set_cookie(cookie: dict) -> str:
    """A Set-Cookie header rebuilt from a HAR response cookie (for exports that strip headers)."""
    parts = [f"{_str(cookie.get('name'))}={_str(cookie.get('value'))}"]
    attributes = (("path", "Path"), ("domain", "Domain"), ("expires", "Expires"), ("sameSite", "SameSite"))
    for key, attr in attributes:
        if isinstance(cookie.get(key), str) and cookie[key]:
            parts.append(f"{attr}={cookie[key]}")
    if cookie.get("httpOnly") is True:
        parts.append("HttpOnly")
    if cookie.get("secure") is True:
        parts.append("Secure")
    return "; ".join(parts)


def _headers(items: object, where: str) -> list[tuple[str, str]]:
    # HTTP/2 pseudo-headers (":authority") are not headers; Chrome still lists them.
    return [(k, v) for k, v in _pairs(items, where) if not k.startswith(":")]


def _timestamp(value: object) -> float | None:
    """Unix seconds from an ISO 8601 `startedDateTime`; None when absent or unreadable."""
    if not isinstance(value, str) or not 10 <= len(value) <= 64:
        return None
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    date, sep, rest = text.partition("T")
    if sep and "." in rest:
        # fromisoformat (3.10) wants 3 or 6 fraction digits; HAR writers use 1 to 9.
        seconds, _, fraction = rest.partition(".")
        digits = fraction
        zone = ""
        for i, char in enumerate(fraction):
            if not char.isdigit():
                digits, zone = fraction[:i], fraction[i:]
                break
        text = f"{date}T{seconds}.{(digits + '000000')[:6]}{zone}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def exchange_from_entry(entry: object, max_body_bytes: int | None = None) -> HttpExchange:
    """Convert one HAR entry. Raises `HarError` (one-line message) when it cannot be read."""
    if not isinstance(entry, dict):
        raise HarError(f"entry is a JSON {type(entry).__name__}, not an object")
    request = entry.get("request")
    if not isinstance(request, dict):
        raise HarError("entry has no request object")
    url = request.get("url")
    if not isinstance(url, str) or not url:
        raise HarError("request has no url")
    try:
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2]  # never keep userinfo credentials as the host
    except ValueError as exc:
        raise HarError(f"request.url cannot be parsed ({_one_line(str(exc))})") from None
    request_headers = Headers(_headers(request.get("headers"), "request.headers"))
    if not host:
        host = request_headers.get("host") or _pseudo_authority(request.get("headers"))
    query = parse_qsl(parts.query, keep_blank_values=True) if parts.query else []
    if not query:
        query = _pairs(request.get("queryString"), "request.queryString")

    response = entry.get("response")
    response = response if isinstance(response, dict) else {}
    response_headers = _headers(response.get("headers"), "response.headers")
    if not any(name.lower() == "set-cookie" for name, _ in response_headers):
        cookies = response.get("cookies")
        if isinstance(cookies, list):
            response_headers += [("Set-Cookie", _set_cookie(c)) for c in cookies if isinstance(c, dict)]
    response_header_list = Headers(response_headers)
    status = response.get("status")

    clients = (entry[k] for k in CLIENT_ADDRESS_FIELDS if isinstance(entry.get(k), str) and entry[k])
    client = next(clients, None)
    duration = entry.get("time")
    route = entry.get("_route")
    return HttpExchange(
        method=(_str(request.get("method")) or "GET").upper(),
        scheme=(parts.scheme or "http").lower(),
        host=host,
        path=parts.path or "/",
        route=route if isinstance(route, str) and route else None,
        query=tuple(query),
        request_headers=request_headers,
        cookies=tuple(_pairs(request.get("cookies"), "request.cookies")),
        request_body=_request_body(request.get("postData"), max_body_bytes),
        # HAR uses status 0 for requests that got no response (blocked, aborted).
        status=status if isinstance(status, int) and not isinstance(status, bool) and status > 0 else None,
        response_headers=response_header_list,
        response_body=_response_body(response.get("content"), response_header_list, max_body_bytes),
        client_address=client,
        started_at=_timestamp(entry.get("startedDateTime")),
        duration_ms=float(duration) if isinstance(duration, (int, float)) and duration >= 0 else None,
    )


def _pseudo_authority(items: object) -> str:
    for name, value in _pairs(items if isinstance(items, list) else None, "request.headers"):
        if name == ":authority":
            return value
    return ""


# --- whole inputs ----------------------------------------------------------------------------


def _json_error(exc: Exception) -> str:
    return _one_line(str(exc)) or "invalid JSON"


def _loads(data: bytes) -> object:
    """orjson.loads with the cyclic collector paused: parsing a big document makes no cycles, and
    collections triggered by its allocations would walk the growing heap again and again."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return orjson.loads(data)
    finally:
        if was_enabled:
            gc.enable()


def _try_json(line: bytes) -> object | None:
    try:
        return _loads(line)  # the first line may be a whole minified HAR document
    except orjson.JSONDecodeError:
        return None


def _looks_like_entry(value: object) -> bool:
    return isinstance(value, dict) and not _ENTRY_KEYS.isdisjoint(value)


class HarReader:
    """Reads a binary stream as a HAR document or as JSONL; iterate for entries in input order.

    `format` is "har" or "jsonl" once constructed; `total` is the entry count for a HAR document
    (None for JSONL, which is streamed). Construction raises `NotHarError` for non-HAR input.
    """

    def __init__(self, stream: BinaryIO, max_body_bytes: int | None = None) -> None:
        self._stream = stream
        self._max_body_bytes = max_body_bytes
        self.bytes_read = 0
        self.total: int | None = None
        self._entries: list[object] = []
        self._pending: list[tuple[int, bytes, bool]] = []  # (line number, content, overflowed)
        self._line_no = 0
        self.format = self._sniff()

    # Reading lines with a cap: an over-long line is drained in chunks, never held whole.
    def _read_line(self) -> tuple[int, bytes, bool] | None:
        line = self._stream.readline(MAX_LINE_BYTES + 1)
        if not line:
            return None
        self._line_no += 1
        self.bytes_read += len(line)
        overflow = len(line) > MAX_LINE_BYTES and not line.endswith(b"\n")
        return self._line_no, line, overflow

    def _drain_line(self) -> None:
        while True:
            chunk = self._stream.readline(_CHUNK)
            self.bytes_read += len(chunk)
            if not chunk or chunk.endswith(b"\n"):
                return

    def _next_nonblank(self) -> tuple[int, bytes, bool] | None:
        while True:
            item = self._read_line()
            if item is None or item[2] or item[1].strip():
                return item

    def _sniff(self) -> str:
        first = self._next_nonblank()
        if first is None:
            raise NotHarError("input is empty")
        if first[1].startswith(_BOM):  # Windows tools (Fiddler, some Postman builds) write one
            first = (first[0], first[1][len(_BOM):], first[2])
        if first[2]:
            return self._load_document([first[1]])
        value = _try_json(first[1])
        if isinstance(value, dict) and "log" in value:
            return self._load_document([first[1]], parsed=value)
        second = self._next_nonblank() if value is None or not _looks_like_entry(value) else None
        second_value = _try_json(second[1]) if second is not None and not second[2] else None
        if _looks_like_entry(value) or _looks_like_entry(second_value):
            self._pending = [first] + ([second] if second is not None else [])
            return "jsonl"
        if value is None and (second is None or second_value is None):
            # A pretty-printed document: its first lines are not JSON on their own.
            return self._load_document([first[1]] + ([second[1]] if second is not None else []))
        raise NotHarError("not a HAR file (no log.entries) nor JSONL of HAR entries")

    def _load_document(self, head: list[bytes], parsed: object = None) -> str:
        """Read the rest and parse it all; `parsed` is the head already parsed (a one-line document)."""
        rest = self._stream.read()
        self.bytes_read += len(rest)
        if parsed is not None and not rest.strip():
            doc = parsed
        else:
            data = b"".join(head) + rest
            del head[:], rest
            try:
                doc = _loads(data)
            except orjson.JSONDecodeError as exc:
                raise NotHarError(f"not a HAR file or JSONL of HAR entries ({_json_error(exc)})") from None
        log = doc.get("log") if isinstance(doc, dict) else None
        entries = log.get("entries") if isinstance(log, dict) else None
        if not isinstance(entries, list):
            raise NotHarError("not a HAR file: no log.entries list")
        self._entries = entries
        self.total = len(entries)
        return "har"

    def __iter__(self) -> Iterator[Entry | EntryError]:
        if self.format == "har":
            yield from self._iter_document()
        else:
            yield from self._iter_jsonl()

    def _convert(self, index: int, line: int | None, value: object) -> Entry | EntryError:
        try:
            return Entry(index, line, exchange_from_entry(value, self._max_body_bytes))
        except HarError as exc:
            return EntryError(index, line, str(exc))

    def _iter_document(self) -> Iterator[Entry | EntryError]:
        entries, self._entries = self._entries, []
        for index, value in enumerate(entries):
            entries[index] = None  # let converted entries go
            yield self._convert(index, None, value)

    def _iter_jsonl(self) -> Iterator[Entry | EntryError]:
        index = 0
        while True:
            item = self._pending.pop(0) if self._pending else self._next_nonblank()
            if item is None:
                return
            line_no, data, overflow = item
            if overflow:
                self._drain_line()
                yield EntryError(index, line_no, f"line longer than {MAX_LINE_BYTES >> 20} MiB, skipped")
            else:
                try:
                    value = orjson.loads(data.rstrip(b"\r\n"))  # a cut line then reads as truncated
                except orjson.JSONDecodeError as exc:
                    yield EntryError(index, line_no, f"invalid JSON ({_json_error(exc)})")
                else:
                    yield self._convert(index, line_no, value)
            index += 1
