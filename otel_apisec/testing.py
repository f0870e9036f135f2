"""Helpers for tests, shipped with the library so users can test their own rules and configs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlsplit

import orjson

from otel_apisec.model import Body, Headers, HttpExchange

__all__ = ["make_exchange"]

HeaderInput = Mapping[str, str] | Iterable[tuple[str, str]]


def _body(data: bytes | str | None, json: object, content_type: str | None) -> Body | None:
    if json is not None:
        return Body(orjson.dumps(json), content_type or "application/json")
    if data is None:
        return None
    raw = data.encode() if isinstance(data, str) else data
    return Body(raw, content_type or "text/plain")


def make_exchange(
    url: str = "https://api.example.com/",
    method: str = "GET",
    *,
    headers: HeaderInput = (),
    body: bytes | str | None = None,
    json: object = None,
    content_type: str | None = None,
    status: int | None = 200,
    response_headers: HeaderInput = (),
    response_body: bytes | str | None = None,
    response_json: object = None,
    response_content_type: str | None = None,
    route: str | None = None,
    client_address: str | None = "203.0.113.7",
    started_at: float | None = None,
) -> HttpExchange:
    """An `HttpExchange` from a URL and friendly keyword arguments.

    >>> make_exchange("http://h/p?q=1", headers={"User-Agent": "x"}, json={"a": 1}).query
    (('q', '1'),)
    """
    parts = urlsplit(url)
    return HttpExchange(
        method=method,
        scheme=parts.scheme or "https",
        host=parts.netloc,
        path=parts.path or "/",
        route=route,
        query=tuple(parse_qsl(parts.query, keep_blank_values=True)),
        request_headers=Headers(headers),
        request_body=_body(body, json, content_type),
        status=status,
        response_headers=Headers(response_headers),
        response_body=_body(response_body, response_json, response_content_type),
        client_address=client_address,
        started_at=started_at,
    )
