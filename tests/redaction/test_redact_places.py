"""Every place a value can sit in OTLP is redacted, one regression each,
plus the rules and the windowed masker they rest on."""

from __future__ import annotations

import base64

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from otel_apisec import attributes as A
from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.gateway.api import Signal
from otel_apisec.gateway.finding_records import finding_logs, findings_from_request
from otel_apisec.gateway.processors.enrich.processor import EnrichProcessor
from otel_apisec.gateway.processors.redact.processor import RedactProcessor
from otel_apisec.model import HttpExchange
from otel_apisec.siem.ocsf import to_ocsf
from otel_apisec.testing import key_values
from otel_apisec.testing.sink import decode_attributes


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


JWT = ".".join([_b64(b'{"alg":"HS256","typ":"JWT"}'), _b64(b'{"sub":"planted-user-4711","exp":4102444800}'),
                _b64(b"planted-signature-bytes-0123456789")])
CARD = "4539578763621486"
EMAIL = "alice.planted@example.com"
BASIC = base64.b64encode(b"planted.user:Planted-Pa55word!").decode()
PASSWORD = "hunter2-Planted-77"
AWS_KEY = "AKIAZ3MXQ7PLANTEDXRK"


@pytest.fixture(scope="module")
def processor() -> RedactProcessor:
    return RedactProcessor(value_detectors=True)  # the gateway's defaults


@pytest.fixture(scope="module")
def values() -> Analyzer:
    return Analyzer(DetectConfig(enabled=frozenset({"pii", "secrets"})))


def _traces(span: Span, resource: dict[str, object] | None = None) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(key_values(resource or {"service.name": "shop"}))
    resource_spans.scope_spans.add().spans.append(span)
    return request


def _logs(*records: LogRecord) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    request.resource_logs.add().scope_logs.add().log_records.extend(records)
    return request


def _span(attributes: dict[str, object] | None = None, **fields: object) -> Span:
    return Span(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name=str(fields.pop("name", "work")),
                start_time_unix_nano=1_700_000_000_000_000_000, end_time_unix_nano=1_700_000_000_010_000_000,
                attributes=key_values(attributes or {}), **fields)


def _raw(request: object, *planted: str) -> list[str]:
    data = request.SerializeToString()
    return [value for value in planted if value.encode() in data]


class TestItem5ResourceAttributes:
    def test_secrets_and_pii_in_resource_attributes_are_masked(self, processor: RedactProcessor) -> None:
        """Resource attributes are scanned: a JWT, a card and an email go; clean identity stays."""
        request = _traces(_span(), {"service.name": "shop", "host.name": f"build {EMAIL}",
                                    "app.deploy_token": f"jwt={JWT}", "app.billing": f"card {CARD}"})
        processor.process(Signal.TRACES, request)
        resource = decode_attributes(request.resource_spans[0].resource.attributes)
        assert resource["service.name"] == "shop"
        assert resource["host.name"] == f"build {A.REDACTED}"
        assert resource["app.deploy_token"] == f"jwt={A.REDACTED}" and resource["app.billing"] == f"card {A.REDACTED}"
        assert _raw(request, JWT, CARD, EMAIL) == []

    def test_identity_keys_escape_key_rules_but_not_the_detectors(self) -> None:
        """A blocked pattern matching `service.name` leaves it (the backend groups by it); scope too."""
        processor = RedactProcessor(blocked_key_patterns=["name"], allowed_keys={"http.route"}, value_detectors=True)
        request = _traces(_span({"app.name": "x"}), {"service.name": "shop", "app.name": "billing"})
        request.resource_spans[0].scope_spans[0].scope.name = f"lib for {EMAIL}"
        processor.process(Signal.TRACES, request)
        resource = decode_attributes(request.resource_spans[0].resource.attributes)
        assert resource == {"service.name": "shop", "app.name": A.REDACTED}  # kept by the allow-list, masked by the pattern
        assert request.resource_spans[0].scope_spans[0].scope.name == f"lib for {A.REDACTED}"

    def test_finding_log_records_copy_the_masked_resource(self, processor: RedactProcessor) -> None:
        """`findings_as_logs` copies the resource: after redaction it holds no raw value."""
        enrich = EnrichProcessor(Analyzer())
        server = _span({"http.request.method": "GET", "http.target": f"/pay?card={CARD}", "http.status_code": 200},
                       kind=Span.SPAN_KIND_SERVER, name="GET /pay")
        request = _traces(server, {"service.name": "shop", "app.owner": EMAIL})
        enrich.process(Signal.TRACES, request)
        processor.process(Signal.TRACES, request)
        logs = finding_logs(request)
        assert logs is not None and logs.resource_logs[0].scope_logs[0].log_records
        assert _raw(logs, EMAIL, CARD) == []


class TestItem6EmbeddedJwts:
    @pytest.mark.parametrize("text", [f"jwt={JWT}", f"token {JWT}", f'{{"access_token":"{JWT}"}}', f"x{JWT}y",
                                      f"Bearer%20{JWT}", f"a JWE {JWT}.c2Vn.dGFn"])
    def test_a_jwt_anywhere_in_span_event_and_log_text(self, processor: RedactProcessor, text: str) -> None:
        """Any three (or five) base64url segments after a JSON header, in any text."""
        event = Span.Event(name="auth", attributes=key_values({"detail": text}))
        request = _traces(_span({"app.note": text}, events=[event]))
        processor.process(Signal.TRACES, request)
        logs = _logs(LogRecord(body=AnyValue(string_value=text)))
        processor.process(Signal.LOGS, logs)
        assert _raw(request, JWT) == [] and _raw(logs, JWT) == []
        assert A.REDACTED in request.resource_spans[0].scope_spans[0].spans[0].attributes[0].value.string_value


class TestItem7BasicCredentials:
    @pytest.mark.parametrize("text", [f"Authorization: Basic {BASIC}", f"basic {BASIC}",
                                      f"auth=Basic%20{BASIC.replace('=', '%3D')}"])
    def test_basic_credentials_outside_the_header(self, processor: RedactProcessor, text: str) -> None:
        request = _traces(_span({"app.upstream": text}))
        processor.process(Signal.TRACES, request)
        assert _raw(request, BASIC, BASIC.rstrip("=")) == []

    def test_basic_english_is_not_a_credential(self, processor: RedactProcessor) -> None:
        request = _traces(_span({"app.note": "Basic plan, basic auth failed"}))
        processor.process(Signal.TRACES, request)
        assert decode_attributes(request.resource_spans[0].scope_spans[0].spans[0].attributes) == {
            "app.note": "Basic plan, basic auth failed"}


class TestItem8LongText:
    @pytest.mark.parametrize("before", [70_000, (64 << 10) - 8, 200_000])
    def test_every_character_is_scanned(self, processor: RedactProcessor, before: int) -> None:
        """A card past 64 KiB, across the first window's edge, or far along is still masked."""
        text = "x" * before + f" card {CARD} end"
        request = _traces(_span({"app.dump": text}))
        processor.process(Signal.TRACES, request)
        out = request.resource_spans[0].scope_spans[0].spans[0].attributes[0].value.string_value
        assert CARD not in out and out.endswith(f" card {A.REDACTED} end") and len(out) == len(text) - len(CARD) + 3


class TestLookAlikeFlood:
    @pytest.mark.parametrize("decoys", [200, 1000])
    def test_a_value_past_the_candidate_bound_is_not_let_out(self, processor: RedactProcessor, decoys: int) -> None:
        """More look-alikes than a detector validates (it stops at a bound) must not hide a real value
        behind them: the text is masked whole instead."""
        text = " ".join(f"user{i}@example.com" for i in range(decoys)) + " real.victim@example.org"
        request = _traces(_span({"app.note": text}))
        processor.process(Signal.TRACES, request)
        assert _raw(request, "real.victim@example.org", "user1@example.com") == []


class TestItem9PasswordPairs:
    @pytest.mark.parametrize(("text", "expected"), [
        (f"login password={PASSWORD} ok", "login password=*** ok"),
        (f'retry with password="{PASSWORD}"', 'retry with password="***"'),
        (f'{{"password": "{PASSWORD}", "user": "bob"}}', '{"password": "***", "user": "bob"}'),
        (f'msg="login password={PASSWORD}"', 'msg="login password=***"'),
        (f"q=token%3D{PASSWORD}&page=2", "q=token%3D***&page=2"),
    ])  # fmt: skip
    def test_sensitive_pairs_in_span_and_event_attributes(self, processor: RedactProcessor, text: str, expected: str) -> None:
        event = Span.Event(name="login", attributes=key_values({"detail": text}))
        request = _traces(_span({"app.note": text}, events=[event]))
        processor.process(Signal.TRACES, request)
        span = request.resource_spans[0].scope_spans[0].spans[0]
        assert span.attributes[0].value.string_value == expected
        assert span.events[0].attributes[0].value.string_value == expected

    def test_a_sensitive_key_masks_its_value_at_any_depth(self, processor: RedactProcessor) -> None:
        """A kvlist is structured `key=value`: `{"user": {"password": ...}}` in a log body."""
        body = AnyValue()
        user = body.kvlist_value.values.add(key="user").value
        user.kvlist_value.values.add(key="password", value=AnyValue(string_value=PASSWORD))
        user.kvlist_value.values.add(key="name", value=AnyValue(string_value="bob"))
        logs = _logs(LogRecord(body=body))
        processor.process(Signal.LOGS, logs)
        assert decode_attributes(logs.resource_logs[0].scope_logs[0].log_records[0].body.kvlist_value.values) == {
            "user": {"password": A.REDACTED, "name": "bob"}}


class TestItem10Bytes:
    @pytest.mark.parametrize("planted", [CARD, EMAIL, AWS_KEY, JWT])
    def test_a_hit_in_bytes_masks_the_whole_value(self, processor: RedactProcessor, planted: str) -> None:
        """Bytes under any key are scanned as UTF-8; a hit replaces the value with the string `***`."""
        request = _traces(_span({"app.blob": f"\x00\x01 data {planted} more".encode(), "app.clean": b"\x00\x01 plain"}))
        processor.process(Signal.TRACES, request)
        attributes = decode_attributes(request.resource_spans[0].scope_spans[0].spans[0].attributes)
        assert attributes["app.blob"] == A.REDACTED and attributes["app.clean"] == b"\x00\x01 plain"
        assert attributes[A.REDACTION_MASKED_COUNT] == 1

    def test_bytes_nested_in_arrays_and_kvlists(self, processor: RedactProcessor) -> None:
        value = AnyValue()
        inner = value.array_value.values.add().kvlist_value.values.add(key="raw").value
        inner.bytes_value = f"to {EMAIL}".encode()
        request = _traces(_span())
        request.resource_spans[0].scope_spans[0].spans[0].attributes.add(key="app.batch").value.CopyFrom(value)
        processor.process(Signal.TRACES, request)
        assert _raw(request, EMAIL) == []


class TestItem11EmailAfterSlash:
    @pytest.mark.parametrize("text", [f"GET /users/{EMAIL}/x", f"email:{EMAIL}", f"list.{EMAIL}", f"{EMAIL}-old",
                                      f"mailto:{EMAIL}", f"<{EMAIL}>", f"({EMAIL})", f"|{EMAIL}|", f"\\{EMAIL}"])
    def test_email_after_any_delimiter(self, values: Analyzer, text: str) -> None:
        """The left boundary is any character that cannot start an address, `/` and `:` included."""
        analysis = values.analyze(HttpExchange(query=(("v", text),)))
        assert any(EMAIL in text[start:end] for f in analysis.findings for start, end in f.spans)

    def test_url_user_info_is_not_an_email(self, values: Analyzer) -> None:
        analysis = values.analyze(HttpExchange(query=(("v", "ftp://anonymous@ftp.example.com/pub"),)))
        assert [f.kind for f in analysis.findings] == []

    def test_span_name_is_masked_and_so_is_every_record_built_from_it(self, processor: RedactProcessor) -> None:
        """The span name reaches the findings file, audit trail and OCSF events: all masked. (The
        enrich processor finds the card in the URL; the name, with another path, is only scanned.)"""
        server = _span({"http.request.method": "GET", "http.target": f"/users/u-17/x?card={CARD}",
                        "http.status_code": 200}, kind=Span.SPAN_KIND_SERVER, name=f"GET /users/{EMAIL}/x")
        request = _traces(server)
        EnrichProcessor(Analyzer()).process(Signal.TRACES, request)
        processor.process(Signal.TRACES, request)
        records = list(findings_from_request(request))
        assert records and {r["span_name"] for r in records} == {f"GET /users/{A.REDACTED}/x"}
        events = [to_ocsf(record) for record in records]
        assert EMAIL not in repr(records) + repr(events) and CARD not in repr(records) + repr(events)
        assert _raw(request, EMAIL, CARD) == []


class TestManyValuesInOneRequest:
    def test_values_at_the_same_offset_in_many_texts_are_all_masked(self, processor: RedactProcessor) -> None:
        """Texts of one request are analysed together: a finding must map back to its own text (log
        lines of equal length put each email at the same offset; deduplicated findings leaked them)."""
        records = [LogRecord(body=AnyValue(string_value=f"GET /api/orders/{i:03d}?email=user{i:03d}@example.com 200"))
                   for i in range(300)]
        logs = _logs(*records)
        processor.process(Signal.LOGS, logs)
        bodies = [record.body.string_value for record in logs.resource_logs[0].scope_logs[0].log_records]
        assert [body for body in bodies if "@" in body] == []
        assert bodies[7] == "GET /api/orders/007?email=*** 200"


class TestAllSignalsAndPlaces:
    def test_names_keys_statuses_links_metrics_and_exemplars(self, processor: RedactProcessor) -> None:
        """Names, keys, status messages, links, trace states, metric descriptions and exemplars."""
        link = Span.Link(trace_id=b"\x03" * 16, span_id=b"\x04" * 8, attributes=key_values({"why": f"for {EMAIL}"}))
        span = _span({EMAIL: "key holds it"}, name=f"mail {EMAIL}", links=[link], trace_state=f"v={EMAIL}",
                     status=Status(code=Status.STATUS_CODE_ERROR, message=f"card {CARD}"))
        request = _traces(span)
        processor.process(Signal.TRACES, request)
        metrics = ExportMetricsServiceRequest()
        metric = metrics.resource_metrics.add().scope_metrics.add().metrics.add(name="logins", description=f"by {EMAIL}")
        point = metric.sum.data_points.add(as_int=1)
        point.exemplars.add(as_int=1).filtered_attributes.extend(key_values({"user": f"u {EMAIL}"}))
        processor.process(Signal.METRICS, metrics)
        assert _raw(request, EMAIL, CARD) == [] and _raw(metrics, EMAIL) == []

    def test_own_hashes_are_untouched_and_own_free_text_is_scanned(self, processor: RedactProcessor) -> None:
        """Pseudonyms and rule ids stay; a finding location or subject route repeating request text does not."""
        event = Span.Event(name=A.FINDING_EVENT, attributes=key_values({
            A.RULE_ID: "APISEC-PII-001", A.FINDING_LOCATION: f"response.body.$.{EMAIL}",
            A.FINDING_SUBJECT_PREFIX + "http.route": f"/users/{EMAIL}",
            A.FINDING_SUBJECT_PREFIX + A.CLIENT_PSEUDO_ID: "4111111111111111"}))
        request = _traces(_span({A.TOKEN_HASH: "4539578763621486"}, events=[event]))
        processor.process(Signal.TRACES, request)
        out = request.resource_spans[0].scope_spans[0].spans[0]
        assert decode_attributes(out.attributes)[A.TOKEN_HASH] == "4539578763621486"
        attrs = decode_attributes(out.events[0].attributes)
        assert attrs[A.RULE_ID] == "APISEC-PII-001" and attrs[A.FINDING_SUBJECT_PREFIX + A.CLIENT_PSEUDO_ID] == "4111111111111111"
        assert attrs[A.FINDING_LOCATION] == f"response.body.$.{A.REDACTED}"
        assert attrs[A.FINDING_SUBJECT_PREFIX + "http.route"] == f"/users/{A.REDACTED}"

    def test_nesting_past_the_walk_depth_is_masked_whole(self, processor: RedactProcessor) -> None:
        value = root = AnyValue()
        for _ in range(40):
            value = value.array_value.values.add()
        value.string_value = "deep and clean"
        request = _traces(_span())
        request.resource_spans[0].scope_spans[0].spans[0].attributes.add(key="app.deep").value.CopyFrom(root)
        processor.process(Signal.TRACES, request)
        assert "deep and clean" not in str(request)
