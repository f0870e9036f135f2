"""Alerts: grouping and deduplication (pure, explicit clock), the webhook and Slack receivers
against a real loopback HTTP server, and a real Prometheus Alertmanager."""

from __future__ import annotations

import base64
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue

import otel_apisec.detect.catalog  # noqa: F401 (declares the rules)
from otel_apisec import attributes as A
from otel_apisec.alerts import AlertGrouper, AlertmanagerAlerter, AlertPolicy, AlertRouter, WebhookAlerter, router_from_config
from otel_apisec.correlate.api import CorrelationFinding, Observation
from otel_apisec.detect.rule import OWASP, get_rule
from otel_apisec.gateway.finding_records import findings_from_request
from otel_apisec.model import Severity
from otel_apisec.testing.servers import Received, WebhookRecorder, run_alertmanager, webhook_recorder
from tests.delivery.test_delivery import Backend

BRUTE = get_rule("APISEC-AUTH-001")  # a real rule; correlation findings reuse the catalog's metadata
TRACE = "0af7651916cd43dd8448eb211c80319c"
SPAN = "b7ad6b7169203331"
PRINCIPAL_HASH = "hmac:5f2b9c0e1d"  # principals arrive as keyed hashes


def record(group_key: str = "acct-1", severity: Severity | None = Severity.HIGH, *, route: str = "/login",
           trace_id: str = TRACE, message: str = "12 failed logins for one account in 60 s") -> dict[str, Any]:
    observation = Observation(time_s=time.time(), method="POST", route=route, path=route, status=401,
                              principal=PRINCIPAL_HASH, service="shop", trace_id=trace_id, span_id=SPAN)
    finding = CorrelationFinding(BRUTE, observation, subject={"principal": PRINCIPAL_HASH, "client": "203.0.113.7"},
                                 evidence={"failures": 12, "window_s": 60}, message=message, severity=severity,
                                 group_key=group_key)
    return finding.record()


def alerts_of(requests: list[Received]) -> list[dict[str, Any]]:
    return [alert for request in requests for alert in request.body["alerts"]]


@pytest.fixture
def recorder() -> Iterator[WebhookRecorder]:
    with webhook_recorder() as server:
        yield server


@pytest.fixture
def routers() -> Iterator[list[AlertRouter]]:
    """Routers a test makes are closed even when it fails (their threads stop)."""
    made: list[AlertRouter] = []
    yield made
    for router in made:
        router.close(timeout_s=2.0)


def router_for(routers: list[AlertRouter], *receivers: Any, **policy: Any) -> AlertRouter:
    router = AlertRouter(list(receivers), AlertPolicy(**policy))
    routers.append(router)
    return router


# ---------------------------------------------------------------------------------------------
# Grouping and deduplication: pure, with explicit times


class TestGrouping:
    def test_a_thousand_findings_of_one_attack_are_one_alert_then_one_update(self) -> None:
        grouper = AlertGrouper(AlertPolicy(repeat_interval_s=300, resolve_after_s=900))
        sent = [alert for i in range(1000) if (alert := grouper.add(record(), 1000.0 + i * 0.01)) is not None]
        assert [(a.status, a.count) for a in sent] == [("firing", 1)]
        assert grouper.counters.deduplicated == 999
        assert grouper.due(1299.0) == []  # nothing before the repeat interval
        update = grouper.due(1300.0)
        assert [(a.status, a.count, a.group_id) for a in update] == [("firing", 1000, sent[0].group_id)]
        assert update[0].first_seen == 1000.0 and update[0].last_seen == pytest.approx(1009.99)

    def test_resends_are_bounded_by_the_repeat_interval(self) -> None:
        grouper = AlertGrouper(AlertPolicy(repeat_interval_s=300, resolve_after_s=900))
        sent = []
        for second in range(3600):  # one finding a second for an hour
            now = 10_000.0 + second
            sent.extend(grouper.due(now))
            alert = grouper.add(record(), now)
            if alert is not None:
                sent.append(alert)
        assert len(sent) == 3600 // 300  # the first, then one each 300 s
        assert [a.count for a in sent] == sorted(a.count for a in sent)
        assert all(later.first_seen == sent[0].first_seen for later in sent)

    def test_different_groups_are_different_alerts(self) -> None:
        grouper = AlertGrouper(AlertPolicy())
        first = grouper.add(record("acct-1"), 1.0)
        second = grouper.add(record("acct-2"), 1.0)
        again = grouper.add(record("acct-1"), 2.0)
        assert first is not None and second is not None and again is None
        assert first.group_id != second.group_id
        assert first.labels["group_key"] == "acct-1" and second.labels["group_key"] == "acct-2"
        assert grouper.open_groups == 2

    def test_a_quiet_group_is_resolved_and_a_new_finding_opens_a_new_alert(self) -> None:
        grouper = AlertGrouper(AlertPolicy(repeat_interval_s=60, resolve_after_s=120))
        opened = grouper.add(record(), 0.0)
        grouper.add(record(), 30.0)
        assert opened is not None
        assert [(a.status, a.count) for a in grouper.due(60.0)] == [("firing", 2)]  # the second finding, re-sent
        assert grouper.due(149.0) == []  # 30 + 120: not yet quiet long enough
        (resolved,) = grouper.due(150.0)
        assert (resolved.status, resolved.count, resolved.ends_at) == ("resolved", 2, 150.0)
        assert resolved.labels == opened.labels and resolved.group_id == opened.group_id
        assert grouper.open_groups == 0 and grouper.counters.resolved == 1
        reopened = grouper.add(record(), 200.0)
        assert reopened is not None and (reopened.status, reopened.count, reopened.first_seen) == ("firing", 1, 200.0)

    def test_firing_alerts_end_in_the_future_and_move_on_with_each_send(self) -> None:
        policy = AlertPolicy(repeat_interval_s=60, resolve_after_s=120)
        grouper = AlertGrouper(policy)
        first = grouper.add(record(), 0.0)
        grouper.add(record(), 10.0)
        (update,) = grouper.due(60.0)
        assert first is not None and first.ends_at > first.last_seen + policy.resolve_after_s
        assert update.ends_at == 60.0 + policy.firing_ttl_s > first.ends_at

    def test_min_severity_keeps_low_and_info_from_paging(self) -> None:
        grouper = AlertGrouper(AlertPolicy())  # default: medium
        assert grouper.add(record("a", Severity.LOW), 1.0) is None
        assert grouper.add(record("b", Severity.INFO), 1.0) is None
        assert grouper.add(record("c", Severity.MEDIUM), 1.0) is not None
        assert grouper.counters.filtered == 2 and grouper.counters.raised == 1
        strict = AlertGrouper(AlertPolicy(min_severity="critical"))
        assert strict.add(record("d", Severity.HIGH), 1.0) is None
        assert strict.add(record("e", Severity.CRITICAL), 1.0) is not None

    def test_records_that_are_not_findings_are_counted_not_raised(self) -> None:
        grouper = AlertGrouper(AlertPolicy())
        assert grouper.add({"rule_id": "", "severity": "high"}, 1.0) is None
        assert grouper.add({"rule_id": "APISEC-AUTH-001", "severity": "urgent"}, 1.0) is None
        assert grouper.add({}, 1.0) is None
        assert grouper.counters.invalid == 3 and grouper.open_groups == 0

    def test_per_span_findings_group_by_rule_service_and_route(self) -> None:
        records = list(findings_from_request(_otlp_request([
            ("/users/{id}", "APISEC-INJ-001", "sqli", "critical"),
            ("/users/{id}", "APISEC-INJ-001", "sqli", "critical"),
            ("/orders/{id}", "APISEC-INJ-001", "sqli", "critical"),
            ("/orders/{id}", "APISEC-PII-001", "pii.email", "low"),
        ])))
        assert all("group_key" not in r for r in records)
        grouper = AlertGrouper(AlertPolicy())
        raised = [alert for r in records if (alert := grouper.add(r, 5.0)) is not None]
        assert [(a.labels["route"], a.labels["alertname"], a.labels["service"]) for a in raised] == [
            ("/users/{id}", "sqli", "checkout"), ("/orders/{id}", "sqli", "checkout")]
        assert grouper.counters.deduplicated == 1 and grouper.counters.filtered == 1
        assert raised[0].rule["owasp_title"] == OWASP[raised[0].rule["owasp"]]

    def test_group_by_is_configurable_and_its_fields_become_labels(self) -> None:
        grouper = AlertGrouper(AlertPolicy(group_by=("rule_id", "subject.client")))
        first = grouper.add(record("acct-1"), 1.0)
        assert grouper.add(record("acct-2"), 2.0) is None  # same client: the same incident here
        assert first is not None and first.labels["subject_client"] == "203.0.113.7"
        assert "group_key" not in first.labels

    def test_open_groups_are_bounded_and_evictions_counted(self) -> None:
        grouper = AlertGrouper(AlertPolicy(max_groups=100, repeat_interval_s=10, resolve_after_s=50))
        for i in range(10_000):
            grouper.add(record(f"acct-{i}"), float(i) / 100)
            grouper.add(record(f"acct-{i}"), float(i) / 100 + 0.001)  # makes the group due for a resend
        assert grouper.open_groups == 100
        assert grouper.counters.evicted == 9_900
        assert len(grouper._schedule) <= 2 * 100 + 1024 + 1  # stale entries of evicted groups are pruned
        # The oldest was forgotten, the newest is still open (a finding for it is deduplicated).
        assert grouper.add(record("acct-0"), 101.0) is not None
        assert grouper.add(record("acct-9999"), 101.0) is None

    def test_policy_errors_name_the_key_and_why(self) -> None:
        with pytest.raises(ValueError, match="min_severity: unknown severity 'urgent'"):
            AlertPolicy(min_severity="urgent")
        with pytest.raises(ValueError, match="group_by: 'subject..client'"):
            AlertPolicy(group_by=("subject..client",))
        with pytest.raises(ValueError, match="group_by: expected a list"):
            AlertPolicy(group_by="rule_id")
        with pytest.raises(ValueError, match="resolve_after_s: expected a positive number of seconds, not -1"):
            AlertPolicy(resolve_after_s=-1)
        with pytest.raises(ValueError, match="max_groups: expected a positive integer, not 0"):
            AlertPolicy(max_groups=0)
        with pytest.raises(ValueError, match="max_backoff_s"):
            AlertPolicy(initial_backoff_s=5, max_backoff_s=1)


def _otlp_request(findings: list[tuple[str, str, str, str]]) -> ExportTraceServiceRequest:
    """Spans as the enrich processor writes them: one `apisec.finding` event per finding."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(_kv("service.name", "checkout"))
    scope_spans = resource_spans.scope_spans.add()
    for index, (route, rule_id, kind, severity) in enumerate(findings):
        span = scope_spans.spans.add(name=f"GET {route}", trace_id=bytes([index + 1]) * 16, span_id=bytes([index + 1]) * 8)
        span.attributes.extend([_kv(A.HTTP_ROUTE, route), _kv("http.request.method", "GET")])
        rule = get_rule(rule_id)
        event = span.events.add(name=A.FINDING_EVENT, time_unix_nano=1_700_000_000_000_000_000)
        event.attributes.extend([
            _kv(A.RULE_ID, rule_id), _kv(A.RULE_NAME, rule.title), _kv(A.RULE_CATEGORY, f"{rule.owasp} {OWASP[rule.owasp]}"),
            _kv(A.RULE_REFERENCE, rule.cwe), _kv(A.FINDING_KIND, kind), _kv(A.FINDING_SEVERITY, severity),
            _kv(A.FINDING_LOCATION, "request.query.q"),
        ])
    return request


def _kv(key: str, value: str) -> KeyValue:
    kv = KeyValue(key=key)
    kv.value.string_value = value
    return kv


# ---------------------------------------------------------------------------------------------
# Webhook receiver: generic JSON and Slack, against a real loopback HTTP server


class TestWebhook:
    def test_first_alert_arrives_within_two_seconds_with_the_documented_json(
        self, recorder: WebhookRecorder, routers: list[AlertRouter],
    ) -> None:
        router = router_for(routers, WebhookAlerter(f"{recorder.url}/hooks/apisec", headers={"Authorization": "Bearer t0k"}))
        emitted_at = time.monotonic()
        router.emit(record())
        (request,) = recorder.wait_for(lambda got: len(got) >= 1, timeout_s=10.0)
        assert request.at - emitted_at < 2.0, "the first alert of a group must not wait for a batch timer"
        assert request.path == "/hooks/apisec" and request.headers["Authorization"] == "Bearer t0k"
        assert request.headers["Content-Type"] == "application/json"
        assert (request.body["version"], request.body["source"]) == ("1", "otel-apisec")
        (alert,) = request.body["alerts"]
        assert alert["status"] == "firing" and alert["count"] == 1
        assert alert["labels"] == {"alertname": BRUTE.kind, "rule_id": BRUTE.id, "severity": "high", "service": "shop",
                                   "route": "/login", "group_key": "acct-1"}
        assert alert["rule"] == {"id": BRUTE.id, "kind": BRUTE.kind, "name": BRUTE.title, "severity": "high",
                                 "owasp": BRUTE.owasp, "owasp_title": OWASP[BRUTE.owasp], "cwe": BRUTE.cwe}
        assert (alert["trace_id"], alert["span_id"], alert["first_trace_id"]) == (TRACE, SPAN, TRACE)
        assert alert["subject"] == {"principal": PRINCIPAL_HASH, "client": "203.0.113.7"}
        assert alert["evidence"] == {"failures": 12, "window_s": 60}
        assert alert["first_seen"] == alert["last_seen"] < alert["ends_at"]
        assert alert["annotations"]["summary"] == BRUTE.title
        assert alert["annotations"]["owasp"] == f"{BRUTE.owasp} {OWASP[BRUTE.owasp]}"
        assert len(alert["group"]) == 16

    def test_one_attack_one_alert_one_update_one_resolve_and_two_groups_two_alerts(
        self, recorder: WebhookRecorder, routers: list[AlertRouter],
    ) -> None:
        router = router_for(routers, WebhookAlerter(recorder.url), repeat_interval_s=0.5, resolve_after_s=1.0)
        attack = record("acct-1")
        for _ in range(1000):  # well within the repeat interval
            router.emit(attack)
        router.emit(record("acct-2"))
        requests = recorder.wait_for(lambda got: sum(a["status"] == "resolved" for a in alerts_of(got)) == 2)
        by_group: dict[str, list[tuple[str, int]]] = {}
        for alert in alerts_of(requests):
            by_group.setdefault(alert["labels"]["group_key"], []).append((alert["status"], alert["count"]))
        assert by_group == {
            "acct-1": [("firing", 1), ("firing", 1000), ("resolved", 1000)],
            "acct-2": [("firing", 1), ("resolved", 1)],
        }
        stats = _wait(lambda: (stats := router.stats())["sent"] == 5 and stats)  # counted once the response is read
        assert (stats["raised"], stats["deduplicated"], stats["updates"], stats["resolved"]) == (2, 999, 1, 2)
        assert stats["failed"] == stats["dropped"] == 0 and stats["open_groups"] == 0

    def test_slack_format_is_text_and_blocks_with_mrkdwn_escaped(
        self, recorder: WebhookRecorder, routers: list[AlertRouter],
    ) -> None:
        router = router_for(routers, WebhookAlerter(f"{recorder.url}/services/T0/B0/s3cr3t", format="slack"))
        router.emit(record(route="/x/<!channel>&<https://evil.example|click>",
                           message="5 failed logins <@U123> from one client"))
        (request,) = recorder.wait_for(lambda got: len(got) >= 1)
        body = request.body
        assert set(body) == {"text", "blocks"}
        assert "[FIRING] HIGH" in body["text"] and BRUTE.title in body["text"] and BRUTE.id in body["text"]
        section, context = body["blocks"]
        assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
        facts = {field["text"].split("\n", 1)[0]: field["text"].split("\n", 1)[1] for field in section["fields"]}
        assert facts["*Service*"] == "shop" and facts["*Findings*"] == "1" and facts["*Trace*"] == TRACE
        assert facts["*Route*"] == "POST /x/&lt;!channel&gt;&amp;&lt;https://evil.example|click&gt;"
        everything = request.raw.decode()
        assert "<!channel>" not in everything and "<@U123>" not in everything and "<https://evil" not in everything
        assert "&lt;@U123&gt;" in section["text"]["text"]
        assert context["type"] == "context" and BRUTE.id in context["elements"][0]["text"]

    def test_alerts_to_one_receiver_share_one_kept_alive_connection(self, routers: list[AlertRouter]) -> None:
        """Successive alerts reuse the receiver's connection (one TLS handshake, not one per alert)."""
        backend = Backend()
        try:
            router = router_for(routers, WebhookAlerter(f"{backend.url}/hook"))
            for i in range(3):
                router.emit(record(f"acct-{i}"))
                _wait(lambda i=i: router.stats()["sent"] == i + 1)
            assert len(backend.requests) == 3 and backend.connections == 1
        finally:
            backend.close()

    def test_text_a_json_encoder_refuses_is_repaired_not_fatal_to_the_batch(
        self, recorder: WebhookRecorder, routers: list[AlertRouter],
    ) -> None:
        router = router_for(routers, WebhookAlerter(recorder.url))
        router.emit(record("acct-1", route="/files/\udc80x", message="odd \ud800 text"))
        router.emit(record("acct-2"))
        got = recorder.wait_for(lambda got: len(alerts_of(got)) >= 2)
        routes = sorted(alert["labels"]["route"] for alert in alerts_of(got))
        assert routes == ["/files/\ufffdx", "/login"]
        assert router.stats()["failed"] == 0


# ---------------------------------------------------------------------------------------------
# Failures: the host never waits and never sees an exception


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


class TestFailures:
    def test_receiver_down_counts_failures_and_never_blocks_or_raises(
        self, routers: list[AlertRouter], caplog: pytest.LogCaptureFixture,
    ) -> None:
        secret_path = "/services/T0/B0/s3cr3t-webhook-path"
        router = router_for(routers, WebhookAlerter(f"http://127.0.0.1:{_closed_port()}{secret_path}", format="slack"),
                            retry_for_s=0.3, initial_backoff_s=0.05, max_backoff_s=0.1)
        with caplog.at_level(logging.INFO, logger="otel_apisec.alerts"):
            for i in range(20):
                router.emit(record(f"acct-{i}"))
            router.emit(None)  # not a record: counted, not raised
            deadline = time.monotonic() + 10
            while router.stats()["failed"] < 20 and time.monotonic() < deadline:
                time.sleep(0.05)
            router.close(timeout_s=1.0)
        stats = router.stats()
        assert stats["failed"] == 20 and stats["retried"] >= 20 and stats["sent"] == 0
        assert stats["errors"] == 1 and stats["late"] == 0
        assert any("ConnectionRefusedError" in message for message in caplog.messages)
        assert "s3cr3t" not in caplog.text and "s3cr3t" not in str(stats), "a webhook URL's path is a secret"

    def test_a_hanging_receiver_blocks_neither_emit_nor_close(self, routers: list[AlertRouter]) -> None:
        with socket.socket() as listener:  # accepts connections (the kernel does), never answers
            listener.bind(("127.0.0.1", 0))
            listener.listen(64)
            port = listener.getsockname()[1]
            router = router_for(routers, WebhookAlerter(f"http://127.0.0.1:{port}/hook", timeout_s=30.0))
            started = time.monotonic()
            for i in range(200):
                router.emit(record(f"acct-{i}"))
            emitting = time.monotonic() - started
            started = time.monotonic()
            router.close(timeout_s=1.0)
            closing = time.monotonic() - started
        # Functional deadlines: a blocking emit would wait out the 30 s request timeout.
        assert emitting < 5.0 and closing < 5.0
        stats = router.stats()
        assert stats["dropped"] == 200 and stats["sent"] == 0 and stats["queue_depth"] == 0
        router.emit(record("late"))
        assert router.stats()["late"] == 1

    def test_a_retryable_error_is_retried_and_updates_of_a_waiting_group_replace_it(
        self, recorder: WebhookRecorder, routers: list[AlertRouter],
    ) -> None:
        recorder.status = 503
        router = router_for(routers, WebhookAlerter(recorder.url), repeat_interval_s=0.05, resolve_after_s=30,
                            initial_backoff_s=2.0, max_backoff_s=2.0)  # the retry comes 1 to 2 s after the 503
        router.emit(record())
        recorder.wait_for(lambda got: len(got) >= 1)
        time.sleep(0.1)
        router.emit(record())  # past the repeat interval: a new state of the group, waiting to be retried
        recorder.status = 200
        requests = recorder.wait_for(lambda got: len(got) >= 2)
        time.sleep(0.5)  # nothing else should come: the superseded first state is not sent as well
        delivered = alerts_of(recorder.requests[1:])
        assert [a["count"] for a in delivered] == [2], delivered
        stats = router.stats()
        assert stats["sent"] == 1 and stats["superseded"] >= 1 and stats["failed"] == 0
        assert all(r.body["alerts"][0]["group"] == requests[0].body["alerts"][0]["group"] for r in recorder.requests)

    def test_a_refused_alert_is_not_retried(self, recorder: WebhookRecorder, routers: list[AlertRouter]) -> None:
        recorder.status = 400
        router = router_for(routers, WebhookAlerter(recorder.url), initial_backoff_s=0.05, max_backoff_s=0.05)
        router.emit(record())
        recorder.wait_for(lambda got: len(got) >= 1)
        deadline = time.monotonic() + 10
        while router.stats()["failed"] < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)
        assert len(recorder.requests) == 1
        assert (router.stats()["failed"], router.stats()["retried"]) == (1, 0)

    def test_bad_receiver_settings_fail_at_construction_without_echoing_the_secret(self) -> None:
        with pytest.raises(ValueError, match="format must be json or slack"):
            WebhookAlerter("http://127.0.0.1:9/x", format="teams")
        with pytest.raises(ValueError, match="must be http") as error:
            WebhookAlerter("hooks.slack.com/services/T0/B0/s3cr3t")
        assert "s3cr3t" not in str(error.value)
        with pytest.raises(ValueError, match="generator_url"):
            AlertmanagerAlerter("http://127.0.0.1:9093", generator_url="javascript:alert(1)")
        with pytest.raises(ValueError, match="at least one receiver"):
            AlertRouter([])


class TestConfig:
    def test_a_router_from_a_mapping_delivers_to_each_receiver(
        self, recorder: WebhookRecorder, routers: list[AlertRouter],
    ) -> None:
        host = recorder.url.removeprefix("http://")
        router = router_from_config({
            "min_severity": "critical",
            "group_by": ["rule_id", "subject.client"],
            "receivers": [
                {"type": "webhook", "url": f"http://bot:p%40ss@{host}/generic"},
                {"type": "webhook", "url": f"{recorder.url}/slack", "format": "slack", "timeout_s": 2},
            ],
        })
        routers.append(router)
        assert router.policy.min_severity is Severity.CRITICAL and router.policy.group_by == ("rule_id", "subject.client")
        router.emit(record(severity=Severity.HIGH))  # below critical
        router.emit(record(severity=Severity.CRITICAL))
        got = recorder.wait_for(lambda got: len(got) >= 2)
        by_path = {r.path: r for r in got}
        assert set(by_path) == {"/generic", "/slack"}
        assert by_path["/generic"].headers["Authorization"] == "Basic " + base64.b64encode(b"bot:p@ss").decode()
        assert "Authorization" not in by_path["/slack"].headers
        (alert,) = by_path["/generic"].body["alerts"]
        assert alert["labels"]["severity"] == "critical" and alert["labels"]["subject_client"] == "203.0.113.7"
        assert "p%40ss" not in str(router.stats()) and "bot" not in str(router.stats())

    @pytest.mark.parametrize(("options", "message"), [
        ({"receivers": []}, r"alerts\.receivers: expected a non-empty list"),
        ({"receiver": [{"type": "webhook"}]}, r"alerts: unknown key\(s\) \['receiver'\]"),
        ({"receivers": [{"type": "teams", "url": "http://x"}]}, r"alerts\.receivers\[0\]\.type: expected one of"),
        ({"receivers": [{"type": "webhook"}]}, r"alerts\.receivers\[0\]\.url: required"),
        ({"receivers": [{"type": "webhook", "url": "http://x", "fromat": "slack"}]},
         r"receivers\[0\]: unknown key\(s\) \['fromat'\] for a webhook receiver \(allowed: url, format, headers, timeout_s\)"),
        ({"receivers": [{"type": "alertmanager", "url": "http://x", "timeout_s": "5"}]},
         r"receivers\[0\]: alert receiver timeout_s: expected a positive number of seconds, not '5'"),
        ({"receivers": [{"type": "webhook", "url": "http://x", "headers": {"X-Key": "a\r\nInjected: 1"}}]},
         r"receivers\[0\]: alert receiver header 'X-Key': the value must be a string on one line"),
        ({"repeat_interval_s": 0, "receivers": [{"type": "webhook", "url": "http://x"}]},
         r"alerts\.repeat_interval_s: expected a positive number"),
    ])
    def test_bad_config_names_the_key(self, options: dict[str, Any], message: str) -> None:
        with pytest.raises(ValueError, match=message) as error:
            router_from_config(options)
        assert "Injected" not in str(error.value)


# ---------------------------------------------------------------------------------------------
# A real Prometheus Alertmanager


def test_alertmanager_receives_updates_notifies_and_resolves(
    tmp_path: Path, recorder: WebhookRecorder, routers: list[AlertRouter],
) -> None:
    with webhook_recorder() as second, run_alertmanager(tmp_path, f"{recorder.url}/am") as am:
        alerter = AlertmanagerAlerter(am.url, generator_url="https://traces.example/trace/{trace_id}")
        # Several receivers at once: Alertmanager and a plain webhook get the same alerts.
        router = router_for(routers, alerter, WebhookAlerter(second.url), repeat_interval_s=0.3, resolve_after_s=2.0)
        router.emit(record("acct-am"))
        firing = _wait(lambda: am.alerts(filter='group_key="acct-am"'))
        (alert,) = firing
        assert alert["labels"] == {"alertname": BRUTE.kind, "rule_id": BRUTE.id, "severity": "high", "service": "shop",
                                   "route": "/login", "group_key": "acct-am"}
        assert alert["status"]["state"] == "active"
        assert alert["annotations"]["summary"] == BRUTE.title and alert["annotations"]["count"] == "1"
        assert alert["annotations"]["trace_id"] == TRACE and alert["annotations"]["owasp"].startswith(BRUTE.owasp)
        assert alert["generatorURL"] == f"https://traces.example/trace/{TRACE}"
        assert alert["startsAt"] < alert["endsAt"]

        # Alertmanager routes it to its webhook receiver.
        notified = recorder.wait_for(lambda got: any(r.body.get("status") == "firing" for r in got))
        (notification,) = [r.body for r in notified if r.body.get("status") == "firing"]
        assert notification["alerts"][0]["labels"]["group_key"] == "acct-am"
        assert notification["commonLabels"]["rule_id"] == BRUTE.id

        # A finding after the repeat interval updates the same alert: its count and its endsAt.
        time.sleep(0.4)
        router.emit(record("acct-am", trace_id="1" * 32))
        (updated,) = _wait(lambda: [a for a in am.alerts(filter='group_key="acct-am"') if a["annotations"]["count"] == "2"])
        assert updated["fingerprint"] == alert["fingerprint"] and updated["startsAt"] == alert["startsAt"]
        assert updated["endsAt"] > alert["endsAt"] and updated["annotations"]["trace_id"] == "1" * 32

        # Quiet for resolve_after_s: resolved in Alertmanager, which notifies its receiver.
        _wait(lambda: not am.alerts(filter='group_key="acct-am"'), timeout_s=15.0)
        resolved = recorder.wait_for(lambda got: any(r.body.get("status") == "resolved" for r in got), timeout_s=15.0)
        (done,) = [r.body for r in resolved if r.body.get("status") == "resolved"]
        assert done["alerts"][0]["labels"]["group_key"] == "acct-am" and done["alerts"][0]["status"] == "resolved"
        assert done["alerts"][0]["startsAt"] < done["alerts"][0]["endsAt"] < updated["endsAt"]  # ended now, not at the TTL

        assert [a["status"] for a in alerts_of(second.wait_for(lambda got: len(alerts_of(got)) == 3))] == [
            "firing", "firing", "resolved"]
        stats = _wait(lambda: (stats := router.stats())["sent"] == 6 and stats)
        assert stats["failed"] == stats["dropped"] == 0
        assert [r["name"] for r in stats["receivers"]] == [alerter.name, f"webhook/json {second.url}"]


def _wait(probe: Any, timeout_s: float = 10.0) -> Any:
    """Poll `probe()` until it returns something truthy (a functional deadline, not a speed test)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"condition not met in {timeout_s} s")
