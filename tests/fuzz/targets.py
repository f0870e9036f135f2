"""Fuzz targets: one per parser that meets attacker bytes, shared by the suite and `make fuzz`.

A target takes raw bytes and returns quietly, or raises: any exception but the parser's documented
refusal is a bug, and so is a result that breaks the target's invariant (an `AssertionError`). The
suite runs each target under hypothesis for a bounded number of inputs
(`tests/test_fuzz_parsers.py`); `make fuzz` runs them under atheris, coverage-guided, for as many
inputs as asked (`tests/fuzz/run.py`). Seeds are valid inputs of each format, so both start from
the interesting shapes, not from noise.
"""

from __future__ import annotations

import base64
import functools
import io
import tempfile
from collections.abc import Callable
from pathlib import Path

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.detect.fields import parse_cookies
from otel_apisec.detect.token_jwt import parse_jwt
from otel_apisec.estate import routes, schema
from otel_apisec.estate.spec import SpecError, load_spec
from otel_apisec.gateway.api import Signal
from otel_apisec.gateway.processors.enrich.processor import EnrichProcessor
from otel_apisec.gateway.processors.redact.processor import RedactProcessor
from otel_apisec.gateway.receivers.otlp.json import parse_json_request
from otel_apisec.gateway.receivers.otlp.repair import decode_protobuf
from otel_apisec.gateway.span_exchange import parse_query
from otel_apisec.ingest.har import HarReader, NotHarError
from otel_apisec.model import Body, Headers, HttpExchange
from otel_apisec.redaction import mask_sensitive_pairs

__all__ = ["SEEDS", "TARGETS"]

Target = Callable[[bytes], None]


@functools.lru_cache(maxsize=1)
def _analyzer() -> Analyzer:
    return Analyzer(DetectConfig(hmac_key=b"fuzz"))


@functools.lru_cache(maxsize=1)
def _processors() -> tuple[EnrichProcessor, RedactProcessor]:
    return EnrichProcessor(_analyzer()), RedactProcessor(value_detectors=True)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _analyze(exchange: HttpExchange) -> None:
    analysis = _analyzer().analyze(exchange)
    assert not analysis.failed, f"detectors failed: {analysis.failed}"


# --- targets --------------------------------------------------------------------------------------


def otlp_json(data: bytes) -> None:
    """OTLP/JSON trace requests as the HTTP receiver decodes them: a request, or ValueError."""
    try:
        request = parse_json_request(Signal.TRACES, data)
    except ValueError:
        return
    assert isinstance(request, ExportTraceServiceRequest)


def otlp_spans(data: bytes) -> None:
    """OTLP protobuf trace requests as the receivers decode them (repairing bad values), then through the
    gateway's enrich and redact processors."""
    try:
        request = decode_protobuf(Signal.TRACES, data, receiver="fuzz", protocol="http/protobuf")
    except ValueError:  # the receivers answer 400
        return
    enrich, redact = _processors()
    errors, dropped = enrich.errors, enrich.dropped
    out = enrich.process(Signal.TRACES, request)
    assert out is not None
    redact.process(Signal.TRACES, out)
    assert (enrich.errors, enrich.dropped) == (errors, dropped), "the enrich processor failed on a span"
    out.SerializeToString()


_SPAN_KEYS = (
    "http.request.method", "url.path", "url.query", "url.full", "http.route", "http.response.status_code",
    "http.request.header.authorization", "http.request.header.cookie", "http.request.header.content_type",
    "http.request.body", "http.response.body", "http.response.header.content_type", "client.address",
    "user_agent.original", "http.target", "http.method", "http.status_code",
)  # fmt: skip


def span_attributes(data: bytes) -> None:
    """Attacker values under the attribute keys the gateway reads a server span from."""
    span = Span(name="GET /", kind=Span.SPAN_KIND_SERVER, start_time_unix_nano=1, end_time_unix_nano=2)
    parts = data.split(b"\x00")
    for index, part in enumerate(parts[: 2 * len(_SPAN_KEYS)]):
        key = _SPAN_KEYS[(part[0] if part else index) % len(_SPAN_KEYS)]
        value = AnyValue()
        if key.endswith("status_code"):
            value.int_value = int.from_bytes(part[:8] or b"\x00", "little", signed=True)
        elif part[:1] == b"\x01":
            value.array_value.values.add().string_value = _text(part[1:])
        else:
            value.string_value = _text(part[1:])
        span.attributes.append(KeyValue(key=key, value=value))
    otlp_spans(ExportTraceServiceRequest(resource_spans=[{"scope_spans": [{"spans": [span]}]}]).SerializeToString())


def har(data: bytes) -> None:
    """HAR documents and JSONL: entries or per-entry errors, refusal only as NotHarError."""
    try:
        reader = HarReader(io.BytesIO(data), max_body_bytes=1 << 16)
    except NotHarError:
        return
    for _ in reader:
        pass


def cookies(data: bytes) -> None:
    """`Cookie` header values: every pair's name and value come from the header, whatever it holds."""
    headers = [_text(part) for part in data.split(b"\n")[:8]]
    for name, value in parse_cookies(headers):
        assert any(name in header for header in headers), "a cookie name not in the header"
        assert isinstance(value, str)
    _analyze(HttpExchange(request_headers=Headers([("cookie", header) for header in headers])))


def jwt(data: bytes) -> None:
    """JWTs: the parser answers, and the token detectors never fail, whatever the header and claims."""
    text = _text(data)
    parse_jwt(text)
    if b"\x00" in data:  # header and claims as raw JSON: the token is built from them, so its parts decode
        pieces = (data.split(b"\x00", 2) + [b""])[:3]
        text = ".".join(base64.urlsafe_b64encode(piece).rstrip(b"=").decode() for piece in pieces)
        parse_jwt(text)
    _analyze(HttpExchange(request_headers=Headers([("authorization", f"Bearer {text}")]), status=200))


def query(data: bytes) -> None:
    """Query strings: the gateway's parser, the sensitive-pair masker and every detector over them."""
    text = _text(data)
    pairs = parse_query(text)
    masked = mask_sensitive_pairs(text)
    assert len(masked) <= len(text) + 3 * text.count("="), "masking grew the text"
    _analyze(HttpExchange(path="/search", query=pairs))


_BODY_TYPES = ("application/json", "application/x-www-form-urlencoded", "text/xml", "multipart/form-data; boundary=b",
               "text/plain", "application/octet-stream", "application/graphql", "text/html")  # fmt: skip


def body(data: bytes) -> None:
    """Request and response bodies of every content type through every detector."""
    content_type = _BODY_TYPES[data[0] % len(_BODY_TYPES)] if data else "application/json"
    payload = data[1:]
    _analyze(HttpExchange(
        method="POST", path="/api/items", status=200,
        request_headers=Headers([("content-type", content_type)]),
        request_body=Body(payload, content_type),
        response_headers=Headers([("content-type", content_type)]),
        response_body=Body(payload, content_type),
    ))  # fmt: skip


@functools.lru_cache(maxsize=1)
def _spec_file() -> Path:
    return Path(tempfile.mkdtemp(prefix="fuzz-spec-")) / "openapi.yaml"


def openapi_spec(data: bytes) -> None:
    """OpenAPI documents (YAML or JSON) as `--spec` and the inventory's `specs` load them: a spec, or SpecError."""
    path = _spec_file()
    path.write_bytes(data)
    try:
        spec = load_spec(path)
    except SpecError:
        return
    assert all(op.path.startswith("/") for op in spec.operations)


def json_schema(data: bytes) -> None:
    """JSON bodies as the inventory infers their schema: bounded, and merging is order-free."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        return
    inferred = schema.infer(document)
    assert len(orjson.dumps(inferred)) < 1 << 20
    other = schema.infer({"id": 1, "name": "x"})
    assert schema.merge(inferred, other) == schema.merge(other, inferred)
    schema.top_keys(inferred)


def route_paths(data: bytes) -> None:
    """Raw paths, one per line, as the inventory templates them: every path gets a template, and no email does."""
    paths = _text(data).split("\n")[:2000]
    observed = [routes.ObservedPath("GET", routes.typed_path(p), 1, frozenset(), frozenset()) for p in paths]
    templates = routes.infer_templates(observed)
    assert {(o.method, o.path) for o in observed} <= set(templates)
    assert not any("@" in t for t in templates.values())


TARGETS: dict[str, Target] = {
    "otlp_json": otlp_json,
    "otlp_spans": otlp_spans,
    "span_attributes": span_attributes,
    "har": har,
    "cookies": cookies,
    "jwt": jwt,
    "query": query,
    "body": body,
    "openapi_spec": openapi_spec,
    "json_schema": json_schema,
    "route_paths": route_paths,
}

# --- seeds ----------------------------------------------------------------------------------------

_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwiZXhwIjoxNzAwMDAwMDAwLCJpYXQiOjE2MDAwMDAwMDB9."
    "c2lnbmF0dXJl"
)
_SPAN_JSON = {
    "resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "GET /users/{id}",
            "kind": 2, "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000100000000",
            "attributes": [
                {"key": "http.request.method", "value": {"stringValue": "GET"}},
                {"key": "url.path", "value": {"stringValue": "/users/42"}},
                {"key": "url.query", "value": {"stringValue": "q=1' OR '1'='1&email=a@example.com"}},
                {"key": "http.response.status_code", "value": {"intValue": "200"}},
                {"key": "http.request.header.authorization", "value": {"arrayValue": {"values": [
                    {"stringValue": f"Bearer {_JWT}"}]}}},
                {"key": "http.response.body", "value": {"stringValue": '{"card":"4111111111111111"}'}},
                {"key": "nested", "value": {"kvlistValue": {"values": [{"key": "a", "value": {"bytesValue": "AAE="}}]}}},
            ],
            "events": [{"name": "e", "attributes": [{"key": "k", "value": {"doubleValue": 1.5}}]}],
        }]}],
    }],
}  # fmt: skip


def _span_protobuf() -> bytes:
    return parse_json_request(Signal.TRACES, orjson.dumps(_SPAN_JSON)).SerializeToString()


def _har() -> bytes:
    entry = {
        "startedDateTime": "2024-01-01T00:00:00Z", "time": 12,
        "request": {"method": "POST", "url": "https://api.example.com/login?next=/home", "httpVersion": "HTTP/1.1",
                    "headers": [{"name": "Cookie", "value": "session=abc; theme=dark"}],
                    "queryString": [{"name": "next", "value": "/home"}], "cookies": [],
                    "postData": {"mimeType": "application/json", "text": '{"user":"bob","password":"hunter2"}'}},
        "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                     "headers": [{"name": "Content-Type", "value": "application/json"}], "cookies": [],
                     "content": {"size": 15, "mimeType": "application/json", "text": '{"token":"x"}'}},
    }  # fmt: skip
    return orjson.dumps({"log": {"version": "1.2", "entries": [entry, entry]}})


SEEDS: dict[str, list[bytes]] = {
    "otlp_json": [orjson.dumps(_SPAN_JSON), b"{}", b'{"resourceSpans": []}'],
    "otlp_spans": [_span_protobuf(), b""],
    "span_attributes": [
        b"\x00\x00GET\x00\x01/users/1\x00\x02q=%27+or+1%3D1\x00\x06\x00\x07" + f"Bearer {_JWT}".encode(),
        b"\x0b\x00" + b'{"a":' * 50 + b"1" + b"}" * 50,
    ],
    "har": [_har(), _har().replace(b'{"log"', b'\n{"log"'), b'{"request": {"method": "GET", "url": "http://x/"}}\n'],
    "cookies": [b"session=abc; theme=dark", b'a="b\\"c"; d=e', b'a="' + b"\\x" * 64 + b'"'],
    "jwt": [_JWT.encode(), b'{"alg":"none"}\x00{"sub":"a","exp":1e308,"iat":-1e308}\x00',
            b'{"alg":"HS256","kid":["x"]}\x00{"exp":"soon","nbf":null,"iat":[1]}\x00sig'],
    "query": [b"q=1%27+OR+1%3D1&password=secret&x=%ZZ", b"a=b&&c"],
    "body": [b'\x00{"user": {"email": "a@example.com", "id": 1e308}}', b"\x01a=1&password=x", b"\x02<a><b>&xxe;</b></a>"],
    "openapi_spec": [
        b"openapi: 3.0.3\ninfo: {title: t, version: '1'}\nservers: [{url: /v1}]\npaths:\n  /users/{id}:\n"
        b"    get:\n      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]\n"
        b"      responses: {'200': {description: ok}}\n",
        b'{"swagger": "2.0", "info": {"title": "t", "version": "1"}, "basePath": "/v2", "paths": {"/a": '
        b'{"get": {"responses": {"200": {"description": "ok"}}}}}}',
        b"a: &a [*a]\n",
    ],
    "json_schema": [b'{"users": [{"id": 1, "email": "a@example.com", "tags": ["x"]}], "next": null}', b"[[[[1]]]]"],
    "route_paths": [b"/users/42\n/users/me\n/users/alice\n/users/bob\n/users/carol\n/pet/findByStatus",
                    b"/a%2Fb/%F0%9F%98%80/x@y.z/" + b"s/" * 40],
}
