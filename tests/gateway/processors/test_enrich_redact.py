"""The gateway's enrich and redact processors on hand-built OTLP requests, as agents send them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import parse_qsl

import orjson
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from otel_apisec import attributes as A
from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.enrich import finding_events, span_attributes
from otel_apisec.gateway.api import Signal
from otel_apisec.gateway.processors.enrich.processor import EnrichProcessor
from otel_apisec.gateway.processors.redact.processor import RedactProcessor
from otel_apisec.gateway.span_exchange import MAX_BODY_BYTES, exchange_from_span, parse_query
from otel_apisec.model import HttpExchange, Severity
from otel_apisec.testing import any_value, key_values
from otel_apisec.testing.sink import decode_attributes


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


JWT = ".".join([
    _b64(b'{"alg":"HS256","typ":"JWT"}'),
    _b64(b'{"sub":"planted-user-4711","exp":4102444800,"iat":1700000000}'),
    _b64(b"planted-signature-bytes-0123456789"),
])
EMAIL = "alice.planted@example.com"
CARD = "4539578763621486"
API_KEY = "k3y-Pl4nted-9f8e7d6c5b4a"
SESSION = "s3ss10n-planted-77aa88bb"
AWS_KEY = "AKIAZ3MXQ7PLANTEDXRK"
START = 1_700_000_000_000_000_000
END = START + 12_500_000


# --- building requests by hand ------------------------------------------------------------------
def _span(attributes: dict[str, object], kind: int = Span.SPAN_KIND_SERVER, name: str = "GET /x", **extra: object) -> Span:
    return Span(
        trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name=name, kind=kind,
        start_time_unix_nano=START, end_time_unix_nano=END, attributes=key_values(attributes), **extra,
    )


def _request(*spans: Span) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value="shop")))
    resource_spans.scope_spans.add().spans.extend(spans)
    return request


def _spans(request: ExportTraceServiceRequest) -> list[Span]:
    return list(request.resource_spans[0].scope_spans[0].spans)


def _attrs(span: Span) -> dict[str, object]:
    return decode_attributes(span.attributes)


def _assert_absent(data: bytes, *planted: str) -> None:
    leaked = [value for value in planted if value.encode() in data]
    assert leaked == [], f"raw values left in the request: {leaked}"


PYTHON_OLD_SEMCONV = {  # what opentelemetry-instrumentation-flask writes, headers captured
    "http.method": "POST",
    "http.scheme": "https",
    "http.host": "api.example.com",
    "http.target": f"/api/login?email={EMAIL}&q=1%27%20OR%20%271%27%3D%271",
    "http.route": "/api/login",
    "http.status_code": 401,
    "net.peer.ip": "203.0.113.9",
    "http.user_agent": "curl/8.4.0",
    "http.request.header.authorization": [f"Bearer {JWT}"],
    "http.request.header.x_api_key": [API_KEY],
    "http.request.header.content_type": ["application/json"],
    "http.response.header.content_type": ["application/json"],
}

JAVA_STABLE_SEMCONV = {  # the Java agent with capture-http-headers, stable semconv
    "http.request.method": "GET",
    "url.full": f"https://shop.example.com:8443/v1/orders?access_token={JWT}&card={CARD}&page=2",
    "server.address": "shop.example.com",
    "server.port": 8443,
    "client.address": "198.51.100.23",
    "user_agent.original": "okhttp/4.12.0",
    "http.route": "/v1/orders",
    "http.response.status_code": 200,
    "http.request.header.cookie": [f"sessionid={SESSION}; theme=dark"],
    "http.request.header.x-api-key": [API_KEY],
    "http.response.header.content-type": ["application/json"],
}


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer()


@pytest.fixture
def enrich(analyzer: Analyzer) -> EnrichProcessor:
    return EnrichProcessor(analyzer)


# --- exchange_from_span -------------------------------------------------------------------------
class TestExchangeFromSpan:
    def test_old_semconv_python_span(self) -> None:
        exchange = exchange_from_span(_span(PYTHON_OLD_SEMCONV))
        assert exchange is not None
        assert (exchange.method, exchange.scheme, exchange.path) == ("POST", "https", "/api/login")
        assert exchange.host == "api.example.com"
        assert exchange.query == (("email", EMAIL), ("q", "1' OR '1'='1"))
        assert (exchange.route, exchange.status, exchange.client_address) == ("/api/login", 401, "203.0.113.9")
        assert exchange.request_headers.get("x-api-key") == API_KEY  # underscore read as hyphen
        assert exchange.request_headers.get("Authorization") == f"Bearer {JWT}"
        assert exchange.request_headers.get("user-agent") == "curl/8.4.0"
        assert exchange.started_at == START / 1e9
        assert exchange.duration_ms == pytest.approx(12.5)

    def test_stable_semconv_java_span(self) -> None:
        exchange = exchange_from_span(_span(JAVA_STABLE_SEMCONV))
        assert exchange is not None
        assert (exchange.method, exchange.scheme, exchange.path) == ("GET", "https", "/v1/orders")
        assert exchange.host == "shop.example.com:8443"  # not the default port: kept
        assert dict(exchange.query) == {"access_token": JWT, "card": CARD, "page": "2"}
        assert exchange.client_address == "198.51.100.23"
        assert exchange.status == 200
        assert exchange.request_headers.get("cookie") == f"sessionid={SESSION}; theme=dark"
        assert exchange.request_headers.get("user-agent") == "okhttp/4.12.0"
        assert exchange.response_headers.get("content-type") == "application/json"

    def test_url_path_and_query_with_default_port(self) -> None:
        span = _span({"http.request.method": "_OTHER", "http.request.method_original": "purge", "url.scheme": "http",
                      "url.path": "/cache", "url.query": "key=a&key=b", "server.address": "c.internal", "server.port": 80})
        exchange = exchange_from_span(span)
        assert exchange is not None
        assert (exchange.method, exchange.host, exchange.path, exchange.query) == (
            "PURGE", "c.internal", "/cache", (("key", "a"), ("key", "b")))

    def test_hypertrace_bodies_and_bound(self) -> None:
        big = "x" * (MAX_BODY_BYTES + 10)
        span = _span({"http.method": "POST", "http.target": "/up", "http.request.body": big,
                      "http.request.header.content-type": "text/plain",
                      "http.response.body": '{"ok": true}', "http.response.header.content-type": ["application/json"]})
        exchange = exchange_from_span(span)
        assert exchange is not None and exchange.request_body is not None and exchange.response_body is not None
        assert len(exchange.request_body.data) == MAX_BODY_BYTES and exchange.request_body.truncated
        assert exchange.request_body.content_type == "text/plain"
        assert (exchange.response_body.data, exchange.response_body.media_type) == (b'{"ok": true}', "application/json")

    @pytest.mark.parametrize(("kind", "attributes"), [
        (Span.SPAN_KIND_CLIENT, {"http.method": "GET", "http.url": "https://upstream/x"}),
        (Span.SPAN_KIND_SERVER, {"rpc.system": "grpc", "rpc.method": "Get"}),
        (Span.SPAN_KIND_INTERNAL, {"db.system": "postgresql"}),
        (Span.SPAN_KIND_INTERNAL, {"http.status_code": 200, "asgi.event.type": "http.response.start"}),
    ])
    def test_not_an_http_server_span(self, kind: int, attributes: dict[str, object]) -> None:
        assert exchange_from_span(_span(attributes, kind=kind)) is None

    @pytest.mark.parametrize("query", ["a", "a=", "=b", "a=1&&b=2", "a+b=c+d", "x=%41%zz", "a=1;b=2", "&", "a==b",
                                       "k=%E2%82%AC&k2=%ff", "q=1%27%20OR%20%271%27%3D%271"])
    def test_query_parsing_matches_the_stdlib(self, query: str) -> None:
        assert parse_query(query) == tuple(parse_qsl(query, keep_blank_values=True))

    def test_internal_request_span_counts(self) -> None:
        """Some ASGI servers hand the request span an INTERNAL kind: method plus target is enough."""
        exchange = exchange_from_span(_span({"http.method": "GET", "http.target": "/a?b=1"}, kind=Span.SPAN_KIND_INTERNAL))
        assert exchange is not None and exchange.query == (("b", "1"),)


# --- EnrichProcessor ----------------------------------------------------------------------------
class TestEnrichProcessor:
    def test_old_semconv_span_enriched_and_masked(self, enrich: EnrichProcessor) -> None:
        request = _request(_span(PYTHON_OLD_SEMCONV, name="POST /api/login"))
        assert enrich.process(Signal.TRACES, request) is request
        span = _spans(request)[0]
        attrs = _attrs(span)
        assert attrs[A.AUTH_SCHEME] == "bearer"
        assert attrs[A.TOKEN_STATE] == "valid"
        assert attrs[A.ATTACK_DETECTED] is True and "sqli" in attrs[A.ATTACK_TYPES]
        assert "email" in attrs[A.PII_TYPES]
        assert isinstance(attrs[A.RISK_SCORE], int) and attrs[A.RISK_SCORE] >= 70
        assert attrs["http.request.header.authorization"] == [A.REDACTED]
        assert attrs["http.request.header.x_api_key"] == [A.REDACTED]
        assert attrs["http.route"] == "/api/login"  # untouched
        events = [e for e in span.events if e.name == A.FINDING_EVENT]
        assert events and all(e.time_unix_nano == END for e in events)
        rule_ids = {decode_attributes(e.attributes)[A.RULE_ID] for e in events}
        assert rule_ids == set(attrs[A.FINDINGS])
        _assert_absent(request.SerializeToString(), JWT, EMAIL, API_KEY, JWT.split(".")[1])
        assert enrich.errors == 0

    def test_same_attributes_and_events_as_in_process_enrichment(self) -> None:
        """What the gateway appends is exactly `span_attributes` and `finding_events` of the analysis
        (of the endpoint's first response on both sides: an Analyzer reports an endpoint's posture once)."""
        span = _span(JAVA_STABLE_SEMCONV)
        exchange = exchange_from_span(span)
        assert exchange is not None
        config = DetectConfig(hmac_key=b"one deployment")
        analysis = Analyzer(config).analyze(exchange)
        assert analysis.posture_checked and any(f.endpoint_scope for f in analysis.findings)
        request = _request(span)
        EnrichProcessor(Analyzer(config)).process(Signal.TRACES, request)
        out = _spans(request)[0]
        added = {kv.key: decode_attributes([kv])[kv.key] for kv in out.attributes[len(span.attributes):]}
        expected = {key: list(value) if isinstance(value, tuple) else value for key, value in span_attributes(analysis).items()}
        assert added == expected
        events = [(e.name, decode_attributes(e.attributes), e.time_unix_nano) for e in out.events]
        assert events == [(name, attributes, END) for name, attributes in finding_events(analysis)]

    def test_stable_semconv_span_enriched_and_masked(self, enrich: EnrichProcessor) -> None:
        request = _request(_span(JAVA_STABLE_SEMCONV))
        enrich.process(Signal.TRACES, request)
        attrs = _attrs(_spans(request)[0])
        assert "credit_card" in attrs[A.PII_TYPES]
        assert attrs[A.TOKEN_STATE] == "valid"
        assert attrs["http.request.header.cookie"] == [A.REDACTED]
        assert attrs["url.full"].startswith("https://shop.example.com:8443/v1/orders?access_token=***")
        assert "page=2" in attrs["url.full"]
        _assert_absent(request.SerializeToString(), JWT, CARD, API_KEY, SESSION)

    def test_hypertrace_body_attributes(self, enrich: EnrichProcessor) -> None:
        request_body = orjson.dumps({"user": {"email": EMAIL, "name": "Alice"}, "note": "hello"}).decode()
        response_body = orjson.dumps({"token": JWT, "expires_in": 3600}).decode()
        request = _request(_span({
            "http.method": "POST", "http.scheme": "http", "http.host": "id.example.com", "http.target": "/signup",
            "http.status_code": 201, "http.request.header.content-type": ["application/json"],
            "http.response.header.content-type": ["application/json"],
            "http.request.body": request_body, "http.response.body": response_body,
        }))
        enrich.process(Signal.TRACES, request)
        attrs = _attrs(_spans(request)[0])
        assert attrs[A.PII_DETECTED] is True and "email" in attrs[A.PII_TYPES]
        assert attrs[A.SECRET_DETECTED] is True and "jwt" in attrs[A.SECRET_TYPES]
        assert '"name":"Alice"' in attrs["http.request.body"]  # only the found values are cut out
        locations = {decode_attributes(e.attributes)[A.FINDING_LOCATION] for e in _spans(request)[0].events}
        assert any(loc.startswith("request.body") for loc in locations)
        assert any(loc.startswith("response.body") for loc in locations)
        _assert_absent(request.SerializeToString(), EMAIL, JWT)

    def test_already_enriched_span_is_left_alone(self, enrich: EnrichProcessor) -> None:
        attributes = {**PYTHON_OLD_SEMCONV, A.AUTH_OUTCOME: "failure", A.AUTH_SCHEME: "bearer"}
        request = _request(_span(attributes))
        before = request.SerializeToString()
        enrich.process(Signal.TRACES, request)
        assert request.SerializeToString() == before

    def test_non_http_span_passes_through(self, enrich: EnrichProcessor) -> None:
        db = _span({"db.system": "postgresql", "db.statement": "SELECT 1"}, kind=Span.SPAN_KIND_CLIENT, name="SELECT")
        http_client = _span({"http.method": "GET", "http.url": "https://upstream.example/items?page=1",
                             "http.request.header.authorization": ["Basic dXNlcjpwYXNz"]}, kind=Span.SPAN_KIND_CLIENT)
        request = _request(db, http_client)
        db_before = db.SerializeToString()
        enrich.process(Signal.TRACES, request)
        out_db, out_client = _spans(request)
        assert out_db.SerializeToString() == db_before
        client_attrs = _attrs(out_client)
        assert A.AUTH_OUTCOME not in client_attrs and not out_client.events  # not analysed
        assert client_attrs["http.request.header.authorization"] == [A.REDACTED]  # always-on masking
        assert client_attrs["http.url"] == "https://upstream.example/items?page=1"

    def test_logs_and_metrics_untouched(self, enrich: EnrichProcessor) -> None:
        logs = ExportLogsServiceRequest()
        logs.resource_logs.add().scope_logs.add().log_records.add().body.string_value = f"user {EMAIL}"
        metrics = ExportMetricsServiceRequest()
        metrics.resource_metrics.add().scope_metrics.add().metrics.add().name = "m"
        logs_before, metrics_before = logs.SerializeToString(), metrics.SerializeToString()
        assert enrich.process(Signal.LOGS, logs) is logs and logs.SerializeToString() == logs_before
        assert enrich.process(Signal.METRICS, metrics) is metrics and metrics.SerializeToString() == metrics_before

    def test_enrichment_failure_keeps_the_span_masked_strictly(self) -> None:
        class Broken(Analyzer):
            def analyze(self, exchange: HttpExchange) -> object:
                raise RuntimeError("boom")

        processor = EnrichProcessor(Broken(field_detectors=[], exchange_detectors=[]))
        attributes = {**PYTHON_OLD_SEMCONV, "http.request.body": f'{{"email": "{EMAIL}"}}'}
        request = _request(_span(attributes))
        processor.process(Signal.TRACES, request)
        spans = _spans(request)
        assert len(spans) == 1 and processor.errors == 1
        attrs = _attrs(spans[0])
        assert A.AUTH_OUTCOME not in attrs
        assert attrs["http.request.body"] == A.REDACTED
        assert attrs["http.target"] == "/api/login?email=***&q=***"
        _assert_absent(request.SerializeToString(), EMAIL, JWT, API_KEY)

    def test_event_min_severity(self, analyzer: Analyzer) -> None:
        request = _request(_span(PYTHON_OLD_SEMCONV))
        EnrichProcessor(analyzer, event_min_severity=Severity.CRITICAL).process(Signal.TRACES, request)
        span = _spans(request)[0]
        assert _attrs(span)[A.FINDINGS]  # findings still listed
        severities = {decode_attributes(e.attributes)[A.FINDING_SEVERITY] for e in span.events}
        assert severities <= {"critical"}

    def test_throughput_of_header_only_server_spans(self, enrich: EnrichProcessor) -> None:
        """Not a benchmark assertion: prints spans/s for the lead's figures."""
        def attributes(n: int) -> dict[str, object]:
            return {
                "http.method": "GET", "http.scheme": "https", "http.host": "api.example.com",
                "http.target": f"/api/v1/orders/{8000 + n}?include=items&page={n % 7}", "http.route": "/api/v1/orders/{id}",
                "http.status_code": 200, "http.flavor": "1.1", "net.peer.ip": f"203.0.113.{n % 250}", "net.host.port": 443,
                "http.user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
                "http.server_name": "api", "http.request.header.authorization": [f"Bearer {JWT}"],
                "http.request.header.accept": ["application/json"], "http.request.header.x_request_id": [f"5f1c9a{n:06d}"],
                "http.response.header.content_type": ["application/json"], "http.response.header.content_length": ["512"],
            }

        data = _request(*[_span(attributes(n), name="GET /api/v1/orders/{id}") for n in range(500)]).SerializeToString()
        enrich.process(Signal.TRACES, ExportTraceServiceRequest.FromString(data))  # warm up
        rounds, began, cpu_began = 0, time.perf_counter(), time.thread_time()
        while rounds < 4 or time.perf_counter() - began < 1.0:
            request = ExportTraceServiceRequest.FromString(data)
            enrich.process(Signal.TRACES, request)
            rounds += 1
        wall, cpu = time.perf_counter() - began, time.thread_time() - cpu_began
        print(f"\nEnrichProcessor, header-only server spans, decode + enrich on one thread: "
              f"{rounds * 500 / cpu:,.0f} spans/s of CPU time ({rounds * 500 / wall:,.0f} by the wall clock)")
        assert all(_attrs(span)[A.AUTH_SCHEME] == "bearer" for span in _spans(request))
        _assert_absent(request.SerializeToString(), JWT)


# --- RedactProcessor ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def value_analyzer() -> Analyzer:
    from otel_apisec.detect import DetectConfig

    return Analyzer(DetectConfig(enabled=frozenset({"pii", "secrets"})))


class TestRedactProcessor:
    def test_blocked_key_patterns_and_summary(self) -> None:
        processor = RedactProcessor(blocked_key_patterns=[r"^db\.statement$", "passw(or)?d"])
        span = _span({"db.statement": "UPDATE users SET pw='hunter2'", "app.user_password": ["a1", "b2"],
                      "app.count": 3, "db.system": "mysql"}, kind=Span.SPAN_KIND_CLIENT)
        request = _request(span)
        processor.process(Signal.TRACES, request)
        attrs = _attrs(_spans(request)[0])
        assert attrs["db.statement"] == A.REDACTED
        assert attrs["app.user_password"] == [A.REDACTED, A.REDACTED]
        assert attrs["db.system"] == "mysql" and attrs["app.count"] == 3
        assert attrs[A.REDACTION_MASKED_COUNT] == 3

    def test_invalid_pattern_is_named(self) -> None:
        with pytest.raises(ValueError, match=r"blocked_key_patterns: '\(unclosed'"):
            RedactProcessor(blocked_key_patterns=["(unclosed"])

    def test_always_on_rules_and_bodies(self) -> None:
        request = _request(_span({
            "http.method": "POST", "http.target": f"/cb?token={SESSION}&page=1",
            "http.request.header.authorization": [f"Bearer {JWT}"], "http.request.header.accept": ["*/*"],
            "http.request.body": f'{{"email": "{EMAIL}"}}', "http.response.body": b"\x00binary",
        }))
        RedactProcessor().process(Signal.TRACES, request)
        attrs = _attrs(_spans(request)[0])
        assert attrs["http.target"] == "/cb?token=***&page=1"
        assert attrs["http.request.header.authorization"] == [A.REDACTED]
        assert attrs["http.request.header.accept"] == ["*/*"]
        assert attrs["http.request.body"] == A.REDACTED and attrs["http.response.body"] == A.REDACTED
        assert attrs[A.REDACTION_MASKED_COUNT] == 4
        _assert_absent(request.SerializeToString(), JWT, EMAIL, SESSION)

    def test_bodies_kept_when_asked(self) -> None:
        request = _request(_span({"http.request.body": "plain text"}))
        RedactProcessor(mask_bodies=False).process(Signal.TRACES, request)
        attrs = _attrs(_spans(request)[0])
        assert attrs["http.request.body"] == "plain text" and A.REDACTION_MASKED_COUNT not in attrs

    def test_allowed_keys_remove_the_rest_but_keep_ours(self) -> None:
        request = _request(_span({"http.method": "GET", "http.route": "/a", "app.secret_note": "x",
                                  "custom.thing": "y", A.AUTH_OUTCOME: "success", A.ENDUSER_PSEUDO_ID: "ab12"}))
        RedactProcessor(allowed_keys={"http.method", "http.route"}).process(Signal.TRACES, request)
        attrs = _attrs(_spans(request)[0])
        assert attrs == {"http.method": "GET", "http.route": "/a", A.AUTH_OUTCOME: "success",
                         A.ENDUSER_PSEUDO_ID: "ab12", A.REDACTION_REMOVED_COUNT: 2}

    def test_hash_keys_are_keyed_hashes(self) -> None:
        key = b"gateway-test-key"
        processor = RedactProcessor(hash_keys={"enduser.id", "app.account"}, hmac_key=key)
        request = _request(_span({"enduser.id": EMAIL, "app.account": 90210, "app.other": "keep"}))
        processor.process(Signal.TRACES, request)
        attrs = _attrs(_spans(request)[0])
        assert attrs["enduser.id"] == hmac.new(key, EMAIL.encode(), hashlib.sha256).hexdigest()[:32]
        assert attrs["app.account"] == hmac.new(key, b"90210", hashlib.sha256).hexdigest()[:32]
        assert attrs["app.other"] == "keep" and attrs[A.REDACTION_MASKED_COUNT] == 2
        again = _request(_span({"enduser.id": EMAIL}))
        processor.process(Signal.TRACES, again)
        assert _attrs(_spans(again)[0])["enduser.id"] == attrs["enduser.id"]  # correlates
        other = _request(_span({"enduser.id": EMAIL}))
        RedactProcessor(hash_keys={"enduser.id"}, hmac_key="another-key").process(Signal.TRACES, other)
        assert _attrs(_spans(other)[0])["enduser.id"] != attrs["enduser.id"]

    def test_value_detectors_on_spans(self, value_analyzer: Analyzer) -> None:
        span = _span(
            {"app.note": f"contact {EMAIL} about the order", "app.tags": ["ok", f"card {CARD}"],
             "app.config": {"aws": f"key={AWS_KEY}"}, "app.plain": "nothing here", A.TOKEN_HASH: "0123abcd" * 4},
            name=f"notify {EMAIL}",
            events=[Span.Event(name="retry", time_unix_nano=END, attributes=key_values({"why": f"bad card {CARD}"}))],
            status=Status(code=Status.STATUS_CODE_ERROR, message=f"failed for {EMAIL}"),
        )
        request = _request(span)
        RedactProcessor(value_detectors=True, value_analyzer=value_analyzer).process(Signal.TRACES, request)
        out = _spans(request)[0]
        attrs = _attrs(out)
        assert attrs["app.note"] == "contact *** about the order"
        assert attrs["app.tags"] == ["ok", "card ***"]
        assert attrs["app.plain"] == "nothing here"
        assert attrs[A.TOKEN_HASH] == "0123abcd" * 4  # our own attributes are never touched
        assert out.name == "notify ***" and out.status.message == "failed for ***"
        assert decode_attributes(out.events[0].attributes)["why"] == "bad card ***"
        assert attrs[A.REDACTION_MASKED_COUNT] == 6
        _assert_absent(request.SerializeToString(), EMAIL, CARD, AWS_KEY)

    def test_logs_bodies_and_attributes(self, value_analyzer: Analyzer) -> None:
        logs = ExportLogsServiceRequest()
        records = logs.resource_logs.add().scope_logs.add().log_records
        records.append(LogRecord(body=AnyValue(string_value=f"login failed for {EMAIL} password=hunter2x"),
                                 attributes=key_values({"http.request.header.cookie": f"sessionid={SESSION}",
                                                  "detail": f"api_key={API_KEY}", "n": 1})))
        records.append(LogRecord(body=any_value({"event": "paid", "card": CARD, "user": {"mail": EMAIL}})))
        records.append(LogRecord(body=AnyValue(string_value="all quiet")))
        RedactProcessor(value_detectors=True, value_analyzer=value_analyzer).process(Signal.LOGS, logs)
        first, second, third = records
        assert first.body.string_value == "login failed for *** password=***"
        first_attrs = decode_attributes(first.attributes)
        assert first_attrs["http.request.header.cookie"] == A.REDACTED and first_attrs["detail"] == "api_key=***"
        assert first_attrs[A.REDACTION_MASKED_COUNT] == 3
        assert decode_attributes(second.attributes)[A.REDACTION_MASKED_COUNT] == 2
        assert third.body.string_value == "all quiet" and not third.attributes
        _assert_absent(logs.SerializeToString(), EMAIL, CARD, SESSION, API_KEY, "hunter2x")

    def test_metric_point_attributes(self, value_analyzer: Analyzer) -> None:
        metrics = ExportMetricsServiceRequest()
        metric = metrics.resource_metrics.add().scope_metrics.add().metrics.add()
        metric.name = "app.logins"
        point = metric.sum.data_points.add()
        point.as_int = 5
        point.attributes.extend(key_values({"user": EMAIL, "app.api_token": "t0k3n-value-123", "region": "eu"}))
        RedactProcessor(blocked_key_patterns=["token"], value_detectors=True,
                        value_analyzer=value_analyzer).process(Signal.METRICS, metrics)
        attrs = decode_attributes(metrics.resource_metrics[0].scope_metrics[0].metrics[0].sum.data_points[0].attributes)
        assert attrs == {"user": A.REDACTED, "app.api_token": A.REDACTED, "region": "eu"}  # no summary on points

    def test_enrich_then_redact_leaves_enrichment_intact(self, enrich: EnrichProcessor) -> None:
        request = _request(_span(PYTHON_OLD_SEMCONV))
        enrich.process(Signal.TRACES, request)
        enriched = {k: v for k, v in _attrs(_spans(request)[0]).items() if k.startswith("apisec.")}
        RedactProcessor(blocked_key_patterns=["auth", "token"]).process(Signal.TRACES, request)
        after = _attrs(_spans(request)[0])
        assert {k: v for k, v in after.items() if k.startswith("apisec.") and "redaction" not in k} == enriched
        assert len(_spans(request)[0].events) > 0


class TestRedactCaches:
    def test_texts_found_clean_are_remembered_and_a_dirty_text_is_never_taken_for_clean(
        self, value_analyzer: Analyzer,
    ) -> None:
        processor = RedactProcessor(value_detectors=True, value_analyzer=value_analyzer)
        for _ in range(3):  # the clean note is scanned once, then remembered
            request = _request(_span({"app.note": "shipping to the usual address", "app.mail": f"write to {EMAIL}"}))
            processor.process(Signal.TRACES, request)
            attrs = _attrs(_spans(request)[0])
            assert attrs["app.note"] == "shipping to the usual address"
            assert EMAIL not in str(attrs["app.mail"])  # masked every time, never cached as clean
        assert "shipping to the usual address" in processor._masker.clean
        assert not any(EMAIL in text for text in processor._masker.clean)


class TestEnrichConcurrency:
    def test_requests_from_several_threads_are_all_enriched(self, enrich: EnrichProcessor) -> None:
        import threading

        requests = [_request(_span({"http.method": "GET", "http.target": f"/u/{i}?contact={EMAIL}",
                                    "http.status_code": 200}, name=f"GET /u/{i}")) for i in range(40)]
        threads = [threading.Thread(target=enrich.process, args=(Signal.TRACES, request)) for request in requests]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert all(_attrs(_spans(request)[0]).get(A.PII_DETECTED) is True for request in requests)
        _assert_absent(b"".join(request.SerializeToString() for request in requests), EMAIL)
