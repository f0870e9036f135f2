"""Turn an exchange into the text fields that field detectors scan.

Each field knows where it came from (`location`, in the finding-location contract) and, for
values, the name it sits under, so detectors can use context (`"dob": "1990-01-02"`).
Bodies are parsed by media type: JSON (keys and values, nested), form, multipart, text.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from typing import NamedTuple, TypeAlias
from urllib.parse import parse_qsl, unquote

import orjson
import re2

from otel_apisec.detect.cookies import parse_cookies, request_cookies
from otel_apisec.model import Body, HttpExchange

__all__ = [
    "Direction",
    "Field",
    "Source",
    "BodyFields",
    "body_fields",
    "body_texts",
    "exchange_fields",
    "is_textual",
    "json_path",
    "parse_cookies",
    "parse_json",
    "raw_json_texts_at",
]

# Headers the auth and token detectors own: scanning them as free text would only repeat
# their findings (a Bearer JWT is expected in Authorization).
_OWNED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_TEXTUAL = re2.compile(
    r"^(text/|multipart/form-data$|application/([\w.+-]*\+)?"
    r"(json|xml|javascript|graphql|x-www-form-urlencoded|x-ndjson|yaml|x-yaml)$)"
)
# Integers at least this long may be card numbers, phone numbers or national IDs.
_MIN_NUMBER_DIGITS = 7


class Direction(str, enum.Enum):
    REQUEST = "request"
    RESPONSE = "response"


class Source(str, enum.Enum):
    QUERY = "query"
    PATH = "path"
    HEADER = "header"
    COOKIE = "cookie"
    BODY = "body"
    TEXT = "text"
    """Plain text outside any exchange (a log line, a span name): `Analyzer.scan_texts`."""


class Field(NamedTuple):
    """One scannable text. A NamedTuple: a megabyte of JSON makes tens of thousands of these."""

    location: str
    text: str
    direction: Direction
    source: Source
    name: str | None = None
    """The parameter, header or cookie name, or the JSON key this value sits under."""
    is_key: bool = False
    """The text is itself a key or parameter name (so `value` holds what it names)."""
    value: str | None = None
    """For key fields: the scalar value under the key, as text, when it has one."""
    offset: int = 0
    """Where `text` starts inside the full decoded text at `location` (path segments)."""


@functools.lru_cache(maxsize=256)  # a handful of media types repeat on every exchange
def is_textual(media_type: str) -> bool:
    return bool(_TEXTUAL.match(media_type))


def json_path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if key.isascii() and key.isidentifier():
        return f"{parent}.{key}"
    escaped = key.replace("\\", "\\\\").replace("'", "\\'")
    return f"{parent}['{escaped}']"


def parse_json(data: bytes) -> object | None:
    """Parsed JSON, or None when `data` is not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


_MIN_NUMBER = 10 ** (_MIN_NUMBER_DIGITS - 1)


def _scalar_text(value: object) -> str | None:
    """The text a scalar is scanned as: strings, and integers long enough to be an identifier."""
    if type(value) is str:
        return value
    if type(value) is int and (value >= _MIN_NUMBER or value <= -_MIN_NUMBER):
        return str(value)
    return None


# A container's path is kept as a chain (parent chain, key) and rendered only for a text that
# becomes a Field: most containers of a large body never need their path spelled out.
_Chain: TypeAlias = "str | tuple[_Chain, str | int]"  # the root's path, or (parent chain, key)


def _render(chain: _Chain) -> str:
    keys: list[str | int] = []
    while not isinstance(chain, str):
        chain, key = chain
        keys.append(key)
    path = chain
    for key in reversed(keys):
        path = _location(path, key)
    return path


def _location(parent: str, key: str | int | None) -> str:
    return parent if key is None else json_path(parent, key)


class BodyFields:
    """The texts of one body, with a `Field` built only for the texts a caller asks about.

    A megabyte of JSON holds tens of thousands of keys and values, and only the few where a
    trigger hit need a location string and a `Field`: the rest stay plain strings.
    """

    __slots__ = ("texts", "_entries", "_fields", "_direction")

    def __init__(self, direction: Direction, texts: list[str], entries: list[tuple] | None = None,
                 fields: list[Field] | None = None) -> None:
        self.texts = texts
        self._entries = entries
        """Per text: (parent path, key or index or None, name, is_key, value)."""
        self._fields = fields
        self._direction = direction

    def __len__(self) -> int:
        return len(self.texts)

    def field(self, index: int) -> Field:
        if self._fields is not None:
            return self._fields[index]
        assert self._entries is not None  # one of the two is always given
        parent, key, name, is_key, value = self._entries[index]
        location = _location(_render(parent), key)
        return Field(location, self.texts[index], self._direction, Source.BODY, name, is_key, value)

    def __iter__(self) -> Iterator[Field]:
        return (self.field(index) for index in range(len(self.texts)))


def _json_texts(
    doc: object, root: str, limit: int, wanted: frozenset[str] | set[str] | None = None
) -> tuple[list[str], list[tuple]]:
    """Keys and scalar values of a JSON document, iteratively (no recursion limit).

    With `wanted`, only texts in it are kept (the walk still visits every node, but does
    little at each). Hot path on large bodies: plain tuples and exact type checks; locations
    are built later, only for the texts that need one. Scalars come in document order within
    a container; nested containers after their siblings.
    """
    every = wanted is None
    keep = wanted or frozenset()
    texts: list[str] = []
    entries: list[tuple] = []
    stack: list[tuple[_Chain | str, str | None, object]] = [(root, None, doc)]
    while stack and len(texts) < limit:
        path, name, node = stack.pop()
        nested = []
        if type(node) is dict:
            for key, child in node.items():
                kind = type(child)
                # _scalar_text inlined: this loop runs for every key of every body
                if kind is str:
                    text = child
                elif kind is int and (child >= _MIN_NUMBER or child <= -_MIN_NUMBER):
                    text = str(child)
                else:
                    text = None
                if every or key in keep:
                    texts.append(key)
                    entries.append((path, key, key, True, text))
                if text is not None:
                    if every or text in keep:
                        texts.append(text)
                        entries.append((path, key, key, False, None))
                elif kind is dict or kind is list:
                    nested.append(((path, key), key, child))
        elif type(node) is list:
            for index, child in enumerate(node):
                kind = type(child)
                if kind is str:
                    text = child
                elif kind is int and (child >= _MIN_NUMBER or child <= -_MIN_NUMBER):
                    text = str(child)
                else:
                    text = None
                if text is not None:
                    if every or text in keep:
                        texts.append(text)
                        entries.append((path, index, name, False, None))
                elif kind is dict or kind is list:
                    nested.append(((path, index), name, child))
        else:
            text = _scalar_text(node)
            if text is not None and (every or text in keep):
                texts.append(text)
                entries.append((path, None, name, False, None))
        stack.extend(reversed(nested))
    return texts[:limit], entries[:limit]


def raw_json_texts_at(raw: bytes, ends: list[tuple[int, int]]) -> dict[str, set[int]]:
    """The JSON string (or long integer) each match ends in, with the triggers that ended there.

    Only valid for a body without backslashes, where a string's raw bytes are its text and
    every `"` opens or closes a string. A match inside a field's text ends inside that text or
    on the quote that closes it; a match that ends between tokens (`"password": "`) is given to
    the string just before, the key. Extra attributions only cost a detector call.
    """
    found: dict[str, set[int]] = {}
    quotes = 0  # quotes before `position`
    position = 0
    for end, trigger in sorted((end, trigger) for trigger, end in ends):
        last = end - 1  # sorted, so never before `position`
        quotes += raw.count(b'"', position, last)
        position = last
        inside = quotes % 2 == 1
        if inside or raw[last:end] == b'"':
            if inside and raw[last:end] != b'"':
                start, stop = raw.rfind(b'"', 0, last) + 1, raw.find(b'"', last)
            elif inside:  # the quote that closes this string
                start, stop = raw.rfind(b'"', 0, last) + 1, last
            else:  # an opening quote: a key-then-value match (`"password": "`) names the key
                stop = raw.rfind(b'"', 0, last)
                start = raw.rfind(b'"', 0, stop) + 1
                if stop < 0:
                    continue
        elif 48 <= raw[last] <= 57:
            start = stop = last
            while start > 0 and 48 <= raw[start - 1] <= 57:
                start -= 1
            while stop < len(raw) and 48 <= raw[stop] <= 57:
                stop += 1
            if stop - start < _MIN_NUMBER_DIGITS:
                continue
            if start > 0 and raw[start - 1] == 45:  # a negative number: str(int) keeps the sign
                start -= 1
        else:  # structure between tokens (`: `, `, `): the string just before it
            stop = raw.rfind(b'"', 0, last)
            if stop < 0:
                continue
            start = raw.rfind(b'"', 0, stop) + 1
        text = raw[start:stop].decode("utf-8", "replace")  # invalid UTF-8 fails the parse anyway
        found.setdefault(text, set()).add(trigger)
    return found


def _multipart_fields(body: Body, root: str, direction: Direction) -> Iterator[Field]:
    header = f"Content-Type: {body.content_type}\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=HTTP).parsebytes(header + body.data)
    if not message.is_multipart():
        return
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition") or ""
        payload = part.get_payload(decode=True)  # bytes, or None for a nested multipart
        part_type = part.get_content_type()
        if part.get_filename() and not is_textual(part_type):
            continue  # binary upload
        text = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
        yield Field(json_path(root, str(name)), str(name), direction, Source.BODY, name=str(name),
                    is_key=True, value=text)
        yield Field(json_path(root, str(name)), text, direction, Source.BODY, name=str(name))


def body_texts(
    body: Body, direction: Direction, max_fields: int = 20_000, parsed: object = None,
    wanted: frozenset[str] | set[str] | None = None,
) -> BodyFields:
    """Texts of one body (binary and unknown media types have none). `parsed`: the body's JSON, if
    known; `wanted`: keep only JSON keys and values in this set."""
    prefix = f"{direction.value}.body"
    media = body.media_type
    data = body.data
    if not data:
        return BodyFields(direction, [], fields=[])
    if media.endswith("json") or (not media and data.lstrip()[:1] in (b"{", b"[")):
        doc = parse_json(data) if parsed is None else parsed
        if doc is not None:
            texts, entries = _json_texts(doc, f"{prefix}.$", max_fields, wanted)
            return BodyFields(direction, texts, entries=entries)
    fields = list(_other_body_fields(body, direction, prefix, media, max_fields))
    return BodyFields(direction, [f.text for f in fields], fields=fields)


def _other_body_fields(body: Body, direction: Direction, prefix: str, media: str, max_fields: int) -> Iterator[Field]:
    if media == "application/x-www-form-urlencoded":
        for i, (name, value) in enumerate(parse_qsl(body.text(), keep_blank_values=True)):
            if 2 * i >= max_fields:
                return
            yield Field(json_path(f"{prefix}.$", name), name, direction, Source.BODY, name=name,
                        is_key=True, value=value)
            yield Field(json_path(f"{prefix}.$", name), value, direction, Source.BODY, name=name)
        return
    if media == "multipart/form-data":
        yield from _multipart_fields(body, f"{prefix}.$", direction)
        return
    if is_textual(media) or not media:
        text = body.text()
        if "\ufffd" in text and not is_textual(media):
            return  # undeclared binary
        yield Field(prefix, text, direction, Source.BODY)


def body_fields(body: Body, direction: Direction, max_fields: int = 20_000) -> Iterator[Field]:
    """Fields of one body. Binary and unknown media types yield nothing."""
    return iter(body_texts(body, direction, max_fields))


def _path_fields(path: str) -> Iterator[Field]:
    decoded = unquote(path)
    offset = 0
    for segment in decoded.split("/"):
        if segment:
            yield Field("request.path", segment, Direction.REQUEST, Source.PATH, offset=offset)
        offset += len(segment) + 1


def exchange_fields(exchange: HttpExchange, include_bodies: bool = True) -> Iterator[Field]:
    """Every scannable text of an exchange: path, query, headers, cookies, then bodies."""
    request, response = Direction.REQUEST, Direction.RESPONSE
    yield from _path_fields(exchange.path)
    for name, value in exchange.query:
        location = f"request.query.{name}"
        yield Field(location, name, request, Source.QUERY, name=name, is_key=True, value=value)
        yield Field(location, value, request, Source.QUERY, name=name)
    for name, value in exchange.request_headers:
        lower = name.lower()
        if lower not in _OWNED_HEADERS:
            yield Field(f"request.header.{lower}", value, request, Source.HEADER, name=lower)
    for name, value in request_cookies(exchange):
        yield Field(f"request.cookie.{name}", value, request, Source.COOKIE, name=name)
    for name, value in exchange.response_headers:
        lower = name.lower()
        if lower not in _OWNED_HEADERS:
            yield Field(f"response.header.{lower}", value, response, Source.HEADER, name=lower)
    if include_bodies:
        if exchange.request_body is not None:
            yield from body_fields(exchange.request_body, request)
        if exchange.response_body is not None:
            yield from body_fields(exchange.response_body, response)
