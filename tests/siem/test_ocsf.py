"""SIEM export: finding records as OCSF Detection Finding events, checked against the official
OCSF schema (packaged offline by ocsf-json-schema), written to a file and POSTed to real HTTP(S)
servers on loopback."""

from __future__ import annotations

import base64
import copy
import functools
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import jwt
import orjson
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1 import trace_pb2

import otel_apisec
from otel_apisec import attributes as A
from otel_apisec.correlate.api import CorrelationFinding, Observation
from otel_apisec.detect import Analyzer, DetectConfig, get_rule
from otel_apisec.detect.rules.abuse import BRUTE_FORCE, TOKEN_REUSE
from otel_apisec.enrich import finding_events, span_attributes
from otel_apisec.gateway.finding_records import findings_from_request
from otel_apisec.gateway.processors.correlate.processor import correlation_event
from otel_apisec.model import Severity
from otel_apisec.pseudonym import keyed_hash
from otel_apisec.siem import OCSF_VERSION, OcsfFileSink, OcsfWebhookSink, to_ocsf
from otel_apisec.siem.schema import OcsfValidationError, ocsf_schema
from otel_apisec.siem.sinks import NDJSON
from otel_apisec.testing import key_values, make_exchange

SCHEMA = ocsf_schema()
ANALYZER = Analyzer(DetectConfig(hmac_key=b"ocsf-test-key"))
RAW_SUBJECT = "alice@example.com"
RAW_EMAIL = "jane.doe@example.org"
SIGNING_SECRET = "a-long-random-signing-secret-0123456789"
TOKEN = jwt.encode({"sub": RAW_SUBJECT, "exp": 4_102_444_800}, SIGNING_SECRET, algorithm="HS256")
END_NANOS = 1_700_000_000_123_000_000
TRACE_ID = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
SPAN_IDS = (bytes.fromhex("b7ad6b7169203331"), bytes.fromhex("00f067aa0ba902b7"))
RULE = BRUTE_FORCE


# ---------------------------------------------------------------------------------------------
# Records, built the way the gateway builds them


EXCHANGES = (
    ("POST /login", make_exchange("https://api.example.com/login", "POST", headers={"Authorization": f"Bearer {TOKEN}"},
                                  status=401, route="/login")),
    ("GET /search", make_exchange("https://api.example.com/search?q=1'+OR+'1'='1", response_json={"email": RAW_EMAIL},
                                  route="/search")),
)


def _span_request() -> ExportTraceServiceRequest:
    """Two enriched server spans, as in-process enrichment sends them to the gateway."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(key_values({"service.name": "shop-api"}))
    scope = resource_spans.scope_spans.add()
    for (name, exchange), span_id in zip(EXCHANGES, SPAN_IDS, strict=True):
        analysis = ANALYZER.analyze(exchange)
        span = trace_pb2.Span(
            trace_id=TRACE_ID, span_id=span_id, name=name, kind=trace_pb2.Span.SPAN_KIND_SERVER,
            start_time_unix_nano=END_NANOS - 5_000_000, end_time_unix_nano=END_NANOS,
            attributes=key_values({**span_attributes(analysis), "http.route": exchange.route,
                             "http.request.method": exchange.method}),
        )
        for event_name, attributes in finding_events(analysis):
            span.events.add(name=event_name, time_unix_nano=END_NANOS, attributes=key_values(attributes))
        scope.spans.append(span)
    return request


SPAN_RECORDS = list(findings_from_request(_span_request()))


def _login_attributes() -> dict[str, Any]:
    return span_attributes(ANALYZER.analyze(EXCHANGES[0][1]))


def _correlation(subject: dict[str, str] | None = None, rule: Any = RULE, **observation: Any) -> CorrelationFinding:
    """A cross-request finding whose principal and token are the keyed hashes enrichment wrote."""
    attrs = _login_attributes()
    obs = Observation(
        time_s=1_700_000_000.5, method="POST", route="/login", path="/login", status=401, client="203.0.113.9",
        principal=attrs[A.ENDUSER_PSEUDO_ID], token=attrs[A.TOKEN_HASH], auth_outcome="failure", is_login=True,
        login_succeeded=False, service="auth-api", trace_id=TRACE_ID.hex(), span_id=SPAN_IDS[0].hex(), **observation,
    )
    if subject is None:
        subject = {"client.address": obs.client, A.ENDUSER_PSEUDO_ID: obs.principal, A.TOKEN_HASH: obs.token}
    return CorrelationFinding(
        rule=rule, observation=obs, subject=subject, evidence={"failures": 25, "window_s": 60, "threshold": 20},
        message="25 failed logins in 60 s from one client", group_key=f"client={obs.client}",
    )


# ---------------------------------------------------------------------------------------------
# Mapping


class TestPerSpanMapping:
    def test_the_gateway_records_cover_several_rules(self) -> None:
        """The fixture is what the gateway's findings exporter yields for two real enriched spans."""
        assert len(SPAN_RECORDS) >= 8
        assert {"sqli", "pii.email", "auth.login_failed"} <= {r["kind"] for r in SPAN_RECORDS}

    @pytest.mark.parametrize("record", SPAN_RECORDS, ids=lambda r: f"{r['rule_id']}@{r['location']}")
    def test_each_record_maps_key_by_key(self, record: dict[str, Any]) -> None:
        """Each record key lands where the mapping table says, with OCSF's fixed class facts."""
        event = to_ocsf(record)
        assert (event["class_uid"], event["category_uid"], event["activity_id"], event["type_uid"]) == (2004, 2, 1, 200401)
        assert (event["status_id"], event["status"]) == (1, "New")
        assert event["time"] == END_NANOS // 1_000_000 == event["finding_info"]["created_time"]
        meta = event["metadata"]
        assert meta["version"] == OCSF_VERSION and meta["event_code"] == record["rule_id"]
        assert meta["product"] == {"name": "otel-apisec", "vendor_name": "otel-apisec", "version": otel_apisec.__version__}
        info = event["finding_info"]
        assert info["title"] == record["rule_name"] == get_rule(record["rule_id"]).title
        assert info["analytic"] == {"uid": record["rule_id"], "name": record["rule_name"], "type_id": 1, "type": "Rule"}
        assert info["types"][0] == record["kind"] and info["types"][1].startswith(record["owasp"] + " ")
        assert info["desc"] == event["message"] == f"{record['rule_name']} at {record['location']}"
        (related,) = info["related_events"]
        assert related["uid"] == record["span_id"] and related["title"] == record["span_name"]
        assert {"name": "trace_id", "value": TRACE_ID.hex()} in related["tags"]
        assert event["vulnerabilities"] == [{"cwe": {"uid": record["cwe"], "src_url": (
            f"https://cwe.mitre.org/data/definitions/{record['cwe'][4:]}.html")}, "title": record["rule_name"]}]
        assert event["resources"] == [{"name": "shop-api", "type": "service"}]
        (evidence,) = event["evidences"]
        assert evidence["api"]["operation"] == f"{record['method']} {record['route']}"
        assert evidence["http_request"] == {"http_method": record["method"], "url": {"path": record["route"]}}
        assert event["remediation"]["desc"] == get_rule(record["rule_id"]).remediation
        assert event["unmapped"] == {"location": record["location"], **({"scope": record["scope"]} if "scope" in record else {})}
        assert "observables" not in event  # a per-span record names no client or principal

    def test_severity_ids_follow_ocsf(self) -> None:
        """Our five severities become OCSF 1-5 in order; a label we do not know is 0 Unknown."""
        base = SPAN_RECORDS[0]
        labels = ("info", "low", "medium", "high", "critical", "bogus", "")
        ids = {label: to_ocsf({**base, "severity": label})["severity_id"] for label in labels}
        assert ids == {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5, "bogus": 0, "": 0}
        for label in ids:
            assert SCHEMA.errors(to_ocsf({**base, "severity": label})) == []

    def test_uid_is_stable_and_distinct(self) -> None:
        """The same finding exported twice has one uid (a SIEM can deduplicate); another has another."""
        uids = [to_ocsf(record)["finding_info"]["uid"] for record in SPAN_RECORDS]
        assert uids == [to_ocsf(copy.deepcopy(record))["finding_info"]["uid"] for record in SPAN_RECORDS]
        assert len(set(uids)) == len(uids)
        assert all(to_ocsf(r)["metadata"]["uid"] == to_ocsf(r)["finding_info"]["uid"] for r in SPAN_RECORDS)

    def test_unknown_rule_and_extra_keys(self) -> None:
        """A rule this process does not declare gets no remediation; keys added later go to unmapped."""
        record = {**SPAN_RECORDS[0], "rule_id": "APISEC-ZZZ-999", "tenant": "blue", "score": 7}
        event = to_ocsf(record)
        assert "remediation" not in event
        assert event["unmapped"] == {"location": record["location"], "tenant": "blue", "score": 7}
        assert SCHEMA.errors(event) == []

    @pytest.mark.parametrize(("change", "named"), [
        ({"rule_id": ""}, "'rule_id'"),
        ({"time": ""}, "'time'"),
        ({"time": "yesterday"}, "'time'"),
        ({"time": 1700000000}, "'time'"),
        ({"subject": ["203.0.113.9"]}, "'subject'"),
        ({"evidence": "25"}, "'evidence'"),
    ])
    def test_bad_records_name_the_key(self, change: dict[str, Any], named: str) -> None:
        with pytest.raises(ValueError, match=named):
            to_ocsf({**SPAN_RECORDS[0], **change})

    def test_time_without_zone_is_utc_and_offsets_count(self) -> None:
        base = SPAN_RECORDS[0]
        assert to_ocsf({**base, "time": "2023-11-14T22:13:20.123"})["time"] == 1_700_000_000_123
        assert to_ocsf({**base, "time": "2023-11-14T23:13:20.123+01:00"})["time"] == 1_700_000_000_123


class TestCorrelationMapping:
    def test_subject_evidence_and_group_key(self) -> None:
        """Client IP and hashed principal/token become evidence and observables; the numbers are evidence data."""
        finding = _correlation()
        record = finding.record()
        event = to_ocsf(record)
        obs = finding.observation
        assert event["severity_id"] == 4 and event["severity"] == "High"
        assert event["time"] == 1_700_000_000_500
        assert event["message"] == event["finding_info"]["desc"] == finding.message
        info = event["finding_info"]
        assert info["title"] == RULE.title
        assert info["analytic"] == {"uid": RULE.id, "name": RULE.title, "type_id": 2, "type": "Behavioral"}
        assert info["types"] == ["abuse.brute_force", "API2:2023 Broken Authentication"]
        assert info["related_events"][0]["uid"] == obs.span_id
        assert event["metadata"]["correlation_uid"] == f"{RULE.id}/{finding.group_key}"
        (evidence,) = event["evidences"]
        assert evidence["src_endpoint"] == {"ip": "203.0.113.9"}
        assert evidence["actor"] == {"user": {"uid": obs.principal}, "session": {"credential_uid": obs.token}}
        assert evidence["data"] == {"failures": 25, "window_s": 60, "threshold": 20}
        assert evidence["api"] == {"operation": "POST /login"}
        assert event["observables"] == [
            {"name": "evidences[0].src_endpoint.ip", "type_id": 2, "type": "IP Address", "value": "203.0.113.9"},
            {"name": "evidences[0].actor.user.uid", "type_id": 31, "type": "User Object: uid", "value": obs.principal},
            {"name": "evidences[0].actor.session.credential_uid", "type_id": 19, "type": "User Credential ID",
             "value": obs.token},
        ]
        assert event["resources"] == [{"name": "auth-api", "type": "service"}]
        assert event["vulnerabilities"][0]["cwe"]["uid"] == "CWE-307"
        assert event["remediation"] == {"desc": RULE.remediation}
        assert "unmapped" not in event  # every key of the record found its place
        assert SCHEMA.errors(event) == []

    def test_observable_names_point_at_the_values(self) -> None:
        """Each observable's `name` resolves, inside the event, to its `value`."""
        event = to_ocsf(_correlation().record())
        for observable in event["observables"]:
            target: Any = event
            for part in observable["name"].replace("[0]", ".0").split("."):
                target = target[int(part)] if part.isdigit() else target[part]
            assert target == observable["value"]

    def test_severity_override(self) -> None:
        finding = _correlation()
        critical = CorrelationFinding(finding.rule, finding.observation, finding.subject, finding.evidence,
                                      finding.message, severity=Severity.CRITICAL, group_key=finding.group_key)
        assert to_ocsf(critical.record())["severity_id"] == 5

    def test_token_only_subject(self) -> None:
        """Token reuse names only the token: it is the actor's session credential, with its observable."""
        token = _login_attributes()[A.TOKEN_HASH]
        event = to_ocsf(_correlation(subject={A.TOKEN_HASH: token}, rule=TOKEN_REUSE).record())
        (evidence,) = event["evidences"]
        assert evidence["actor"] == {"session": {"credential_uid": token}} and "src_endpoint" not in evidence
        assert [o["type_id"] for o in event["observables"]] == [19]
        assert SCHEMA.errors(event) == []

    def test_other_subjects(self) -> None:
        """A client that is not an IP is the endpoint's name (no IP observable); subject keys with
        no OCSF place (the endpoint, the client network) are kept in unmapped."""
        subject = {"client.address": "unix:/run/api.sock", "http.route": "/login", "apisec.client.network": "203.0.113.0/24"}
        event = to_ocsf(_correlation(subject=subject).record())
        (evidence,) = event["evidences"]
        assert "actor" not in evidence and evidence["src_endpoint"] == {"name": "unix:/run/api.sock"}
        assert event["unmapped"]["subject"] == {"http.route": "/login", "apisec.client.network": "203.0.113.0/24"}
        assert "observables" not in event
        assert SCHEMA.errors(event) == []

    def test_through_the_span_the_same_event(self) -> None:
        """The gateway puts a correlation finding on its span as an event; the record read back from
        the span maps to the same OCSF facts as the finding's own record, but for the client, which
        leaves the gateway as a keyed hash of its address."""
        finding = _correlation()
        key = b"ocsf-test-key"
        span = trace_pb2.Span(trace_id=TRACE_ID, span_id=SPAN_IDS[0], name="POST /login",
                              end_time_unix_nano=1_700_000_000_500_000_000,
                              attributes=key_values({"http.route": "/login", "http.request.method": "POST"}))
        span.events.append(correlation_event(finding, span.end_time_unix_nano, functools.partial(keyed_hash, key)))
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.extend(key_values({"service.name": "auth-api"}))
        resource_spans.scope_spans.add().spans.append(span)
        (record,) = findings_from_request(request)
        via_span, direct = to_ocsf(record), to_ocsf(finding.record())
        for name in ("severity_id", "time", "message", "metadata", "resources", "vulnerabilities", "remediation"):
            if name == "metadata":
                assert {**via_span[name], "uid": None, "correlation_uid": None} == {
                    **direct[name], "uid": None, "correlation_uid": None}
            else:
                assert via_span[name] == direct[name], name
        client = finding.subject["client.address"]
        assert via_span["evidences"] == [{**direct["evidences"][0], "src_endpoint": {"uid": keyed_hash(key, client)}}]
        assert client not in json.dumps(via_span)
        for name in ("title", "desc", "types", "analytic"):
            assert via_span["finding_info"][name] == direct["finding_info"][name], name
        assert via_span["finding_info"]["related_events"][0]["uid"] == SPAN_IDS[0].hex()
        assert via_span["unmapped"] == {"location": record["location"]}
        assert SCHEMA.errors(via_span) == []

    def test_ipv6_client(self) -> None:
        event = to_ocsf(_correlation(subject={"client.address": "2001:db8::7"}).record())
        assert event["evidences"][0]["src_endpoint"] == {"ip": "2001:db8::7"}
        assert SCHEMA.errors(event) == []


def _all_events() -> list[dict[str, Any]]:
    return [to_ocsf(r) for r in SPAN_RECORDS] + [to_ocsf(_correlation().record())]


class TestNoRawValues:
    def test_credentials_and_pii_never_appear(self) -> None:
        """The raw JWT, its subject, its signing secret, the leaked email and the attack never appear;
        the keyed hashes do (they are what a SIEM correlates on)."""
        text = json.dumps(_all_events())
        for raw in (TOKEN, TOKEN.split(".")[1], RAW_SUBJECT, SIGNING_SECRET, RAW_EMAIL, "jane.doe", "OR '1'='1"):
            assert raw not in text
        assert _login_attributes()[A.ENDUSER_PSEUDO_ID] in text


# ---------------------------------------------------------------------------------------------
# Validation against the packaged OCSF schema


def _required_paths(event: dict[str, Any]) -> list[tuple[str, str]]:
    """(object path, attribute) for every attribute the schema requires of the class and of each
    object our event holds, read off the schema itself."""
    definitions = SCHEMA.json_schema["$defs"]
    found: list[tuple[str, str]] = []

    def visit(instance: Any, schema: dict[str, Any], path: str) -> None:
        if "$ref" in schema:
            schema = definitions[schema["$ref"].rsplit("/", 1)[1]]
        if schema.get("type") == "array" and isinstance(instance, list):
            for index, item in enumerate(instance):
                visit(item, schema["items"], f"{path}[{index}]")
            return
        if not isinstance(instance, dict) or "properties" not in schema:
            return
        found.extend((path, name) for name in schema.get("required", ()))
        for name, value in instance.items():
            if name in schema["properties"]:
                visit(value, schema["properties"][name], f"{path}.{name}")

    visit(event, SCHEMA.json_schema, "$")
    return found


def _remove(event: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    broken = copy.deepcopy(event)
    target: Any = broken
    for part in path.removeprefix("$").replace("[", ".").replace("]", "").split(".")[1:]:
        target = target[int(part)] if part.isdigit() else target[part]
    del target[name]
    return broken


CORRELATION_EVENT = to_ocsf(_correlation().record())


class TestSchema:
    def test_schema_is_the_packaged_ocsf_release(self) -> None:
        assert SCHEMA.version == OCSF_VERSION and SCHEMA.raw["version"] == OCSF_VERSION
        assert SCHEMA.class_name == "detection_finding"
        assert {"class_uid", "category_uid", "activity_id", "type_uid", "severity_id", "time", "metadata",
                "finding_info"} <= set(SCHEMA.json_schema["required"])

    def test_generated_schema_is_valid_json_schema(self) -> None:
        """The JSON Schema generated from the OCSF export is itself valid draft 2020-12."""
        jsonschema.Draft202012Validator.check_schema(SCHEMA.json_schema)

    @pytest.mark.parametrize("event", _all_events(), ids=lambda e: e["metadata"]["event_code"])
    def test_every_event_is_valid(self, event: dict[str, Any]) -> None:
        assert SCHEMA.errors(event) == []
        SCHEMA.check(event)

    def test_every_enum_id_carries_its_schema_caption(self) -> None:
        """The mapping's OCSF constants, read back from the raw schema export (independently of the
        validator): each id is in its enum and each caption is that value's caption."""
        raw = SCHEMA.raw
        attributes = raw["classes"]["detection_finding"]["attributes"]
        objects = raw["objects"]

        def caption(definition: dict[str, Any], value: int) -> str:
            return definition["enum"][str(value)]["caption"]

        seen: set[tuple[str, int]] = set()
        for event in _all_events():
            for key, sibling in (("activity_id", "activity_name"), ("severity_id", "severity"), ("status_id", "status"),
                                 ("type_uid", "type_name")):
                assert event[sibling] == caption(attributes[key], event[key]), key
                seen.add((key, event[key]))
            assert event["class_name"] == raw["classes"]["detection_finding"]["caption"]
            assert event["category_name"] == raw["categories"]["attributes"]["findings"]["caption"]
            assert event["category_uid"] == raw["categories"]["attributes"]["findings"]["uid"]
            analytic = event["finding_info"]["analytic"]
            assert analytic["type"] == caption(objects["analytic"]["attributes"]["type_id"], analytic["type_id"])
            seen.add(("analytic", analytic["type_id"]))
            for observable in event.get("observables", []):
                assert observable["type"] == caption(objects["observable"]["attributes"]["type_id"], observable["type_id"])
                seen.add(("observable", observable["type_id"]))
        assert {("analytic", 1), ("analytic", 2), ("observable", 2), ("observable", 31), ("observable", 19)} <= seen

    def test_removing_any_required_attribute_fails(self) -> None:
        """Negative: for the class and every object in the event, dropping one required attribute
        is reported, naming it."""
        pairs = _required_paths(CORRELATION_EVENT)
        assert ("$", "finding_info") in pairs and ("$.finding_info", "uid") in pairs
        assert ("$.metadata", "product") in pairs and ("$.finding_info.analytic", "type_id") in pairs
        assert ("$.finding_info.related_events[0]", "uid") in pairs and ("$.vulnerabilities[0].cwe", "uid") in pairs
        for path, name in pairs:
            errors = SCHEMA.errors(_remove(CORRELATION_EVENT, path, name))
            assert any(f"'{name}' is a required property" in e and e.startswith(path) for e in errors), (path, name, errors)
            with pytest.raises(OcsfValidationError, match=name):
                SCHEMA.check(_remove(CORRELATION_EVENT, path, name))

    @pytest.mark.parametrize(("path", "value", "problem"), [
        ("severity_id", "4", "is not of type 'integer'"),
        ("severity_id", 7, "is not one of"),
        ("class_uid", 2005, "was expected"),
        ("activity_id", 2, "is not the caption of activity_id=2"),
        ("type_uid", 200402, "is not class_uid * 100 + activity_id"),
        ("severity", "Low", "is not the caption of severity_id=4"),
        ("time", "2023-11-14T22:13:20Z", "is not of type 'integer'"),
        ("bogus_attribute", "x", "Additional properties are not allowed"),
    ])
    def test_wrong_types_enums_and_siblings_fail(self, path: str, value: Any, problem: str) -> None:
        errors = SCHEMA.errors({**CORRELATION_EVENT, path: value})
        assert any(problem in e for e in errors), errors

    def test_nested_enum_and_pattern_fail(self) -> None:
        """Nested: an observable type_id outside the enum, its caption wrong, an IP that is not one
        (the ip_t pattern, run by RE2; the value is not echoed in the message)."""
        event = copy.deepcopy(CORRELATION_EVENT)
        event["observables"][0]["type_id"] = 1000
        event["observables"][1]["type"] = "User"
        event["evidences"][0]["src_endpoint"]["ip"] = "999.1.1.1"
        errors = SCHEMA.errors(event)
        assert any(e.startswith("$.observables[0].type_id") and "is not one of" in e for e in errors), errors
        assert any(e.startswith("$.observables[1].type") and "caption" in e for e in errors), errors
        (ip_error,) = [e for e in errors if e.startswith("$.evidences[0].src_endpoint.ip")]
        assert "pattern" in ip_error and "999.1.1.1" not in ip_error


# ---------------------------------------------------------------------------------------------
# File sink


def _records() -> list[dict[str, Any]]:
    return [*SPAN_RECORDS, _correlation().record()]


class TestFileSink:
    def test_appends_one_valid_event_per_line(self, tmp_path: Path) -> None:
        path = tmp_path / "siem" / "ocsf.jsonl"
        records = _records()
        sink = OcsfFileSink(path, validate=True)
        for record in records:
            sink.emit(record)
        sink.close()
        again = OcsfFileSink(path)  # a restart appends
        again.emit(records[0])
        again.close()
        lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
        assert lines == [to_ocsf(r) for r in records] + [to_ocsf(records[0])]
        assert sink.stats() == {"written": len(records), "errors": 0, "dropped": 0, "invalid": 0} and again.written == 1
        assert all(SCHEMA.errors(line) == [] for line in lines)

    def test_concurrent_writers_never_interleave(self, tmp_path: Path) -> None:
        sink = OcsfFileSink(tmp_path / "f.jsonl")
        records = _records()
        threads = [threading.Thread(target=lambda: [sink.emit(r) for _ in range(10) for r in records]) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        sink.close()
        lines = (tmp_path / "f.jsonl").read_bytes().splitlines()
        assert len(lines) == sink.written == 40 * len(records)
        assert all(orjson.loads(line)["class_uid"] == 2004 for line in lines)

    def test_bad_records_and_late_emits_are_counted_not_raised(self, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
        sink = OcsfFileSink(tmp_path / "f.jsonl")
        with caplog.at_level(logging.WARNING, logger="otel_apisec.siem.sinks"):
            sink.emit({"kind": "sqli"})  # no rule_id
            sink.emit({**SPAN_RECORDS[0], "evidence": {"x": {1, 2}}})  # not JSON
            sink.emit(SPAN_RECORDS[0])
            sink.close()
            sink.emit(SPAN_RECORDS[0])
        assert (sink.invalid, sink.written, sink.dropped) == (2, 1, 1)
        assert "'rule_id'" in caplog.text

    def test_write_errors_are_counted(self) -> None:
        """/dev/full refuses every write (ENOSPC): counted, logged, never raised into the caller."""
        if not Path("/dev/full").exists():
            pytest.skip("needs /dev/full")
        sink = OcsfFileSink("/dev/full")
        for record in SPAN_RECORDS[:3]:
            sink.emit(record)
        sink.close()
        assert (sink.errors, sink.written) == (3, 0)

    def test_unwritable_path_fails_at_start(self, tmp_path: Path) -> None:
        with pytest.raises(OSError):
            OcsfFileSink(tmp_path)  # a directory


# ---------------------------------------------------------------------------------------------
# Webhook sink against real HTTP servers on loopback


class Receiver:
    """A real HTTP server that records each POST and answers from a script of status codes
    (then 200), or never answers (hang=True)."""

    def __init__(self, statuses: list[int] | None = None, certificate: tuple[Path, Path] | None = None,
                 drop_idle: bool = False) -> None:
        self.statuses = list(statuses or [])
        self.requests: list[tuple[dict[str, str], str, bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real collectors do

            def do_POST(self) -> None:  # http.server naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests.append((dict(self.headers), self.path, body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                # Like a server whose keep-alive timeout expired: close without saying so.
                self.close_connection = drop_idle

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        scheme = "http"
        if certificate is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*certificate)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}/ingest?token=query-secret"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [orjson.loads(line) for _, _, body in self.requests for line in body.splitlines()]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    started: list[Receiver] = []
    yield started
    for receiver in started:
        receiver.stop()


def _receiver(receivers: list[Receiver], *args: Any, **kwargs: Any) -> Receiver:
    receiver = Receiver(*args, **kwargs)
    receivers.append(receiver)
    return receiver


def _accounted(sink: OcsfWebhookSink) -> int:
    return sink.sent + sink.dropped + sink.invalid


FAST = {"initial_backoff_s": 0.01, "max_backoff_s": 0.05}


class TestWebhookSink:
    def test_batches_of_valid_ndjson_events(self, receivers: list[Receiver]) -> None:
        receiver = _receiver(receivers)
        sink = OcsfWebhookSink(receiver.url, headers={"Authorization": "Splunk header-secret"}, batch_size=4, **FAST)
        records = _records() * 3
        for record in records:
            sink.emit(record)
        sink.close(timeout_s=10)
        assert sink.stats() == {"sent": len(records), "batches": len(receiver.requests), "retried": 0, "queued": 0,
                                "dropped": 0, "invalid": 0}
        assert receiver.events() == [to_ocsf(r) for r in records]
        assert all(SCHEMA.errors(event) == [] for event in receiver.events())
        assert sink.batches == len(receiver.requests) >= len(records) // 4
        for headers, path, body in receiver.requests:
            assert headers["Content-Type"] == NDJSON and headers["Authorization"] == "Splunk header-secret"
            assert headers["User-Agent"] == f"otel-apisec/{otel_apisec.__version__}"
            assert path == "/ingest?token=query-secret"
            assert body.endswith(b"\n") and 1 <= len(body.splitlines()) <= 4

    def test_502_and_503_are_retried_then_delivered(self, receivers: list[Receiver], caplog: pytest.LogCaptureFixture) -> None:
        receiver = _receiver(receivers, statuses=[502, 503])
        sink = OcsfWebhookSink(receiver.url, headers={"Authorization": "Splunk header-secret"}, batch_size=100, **FAST)
        with caplog.at_level(logging.INFO, logger="otel_apisec.siem.sinks"):
            for record in SPAN_RECORDS:
                sink.emit(record)
            sink.close(timeout_s=10)
        assert (sink.sent, sink.retried, sink.dropped) == (len(SPAN_RECORDS), 2, 0)
        bodies = [body for _, _, body in receiver.requests]
        assert bodies[0] == bodies[-1]  # the batch was sent again, whole
        assert len({orjson.loads(line)["finding_info"]["uid"] for body in bodies for line in body.splitlines()}) == len(
            SPAN_RECORDS)
        assert "HTTP 502" in caplog.text
        assert "header-secret" not in caplog.text and "query-secret" not in caplog.text and "ingest" not in caplog.text

    @pytest.mark.parametrize("status", [400, 500])
    def test_4xx_and_500_are_dropped_without_retry(self, receivers: list[Receiver], status: int) -> None:
        """400 will not get better; nor will a 500 (the batch broke the server): see delivery.retry."""
        receiver = _receiver(receivers, statuses=[status])
        sink = OcsfWebhookSink(receiver.url, **FAST)
        for record in SPAN_RECORDS:
            sink.emit(record)
        sink.close(timeout_s=10)
        assert (sink.sent, sink.dropped, sink.retried) == (0, len(SPAN_RECORDS), 0)
        assert len(receiver.requests) == 1

    def test_retries_are_bounded(self, receivers: list[Receiver]) -> None:
        receiver = _receiver(receivers, statuses=[502] * 10)
        sink = OcsfWebhookSink(receiver.url, max_retries=2, **FAST)
        sink.emit(SPAN_RECORDS[0])
        sink.close(timeout_s=10)
        assert (sink.sent, sink.dropped, sink.retried, len(receiver.requests)) == (0, 1, 2, 3)

    def test_server_down_close_returns_within_timeout(self, caplog: pytest.LogCaptureFixture) -> None:
        """Nothing listens: connection refused, retried with backoff; close gives up at its deadline."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        sink = OcsfWebhookSink(f"http://127.0.0.1:{port}/x", headers={"X-Api-Key": "header-secret"}, max_retries=1000,
                               initial_backoff_s=0.05, max_backoff_s=0.2)
        with caplog.at_level(logging.WARNING, logger="otel_apisec.siem.sinks"):
            for record in SPAN_RECORDS:
                sink.emit(record)
            start = time.monotonic()
            sink.close(timeout_s=1.0)
            took = time.monotonic() - start
        assert took < 1.0 + 1.5
        assert sink.sent == 0 and sink.dropped == len(SPAN_RECORDS) and sink.retried >= 1
        assert "ConnectionRefusedError" in caplog.text and "header-secret" not in caplog.text

    def test_hanging_server_close_returns_within_timeout(self) -> None:
        """The server accepts the connection and never answers: close cuts the connection at its deadline."""
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(8)
            sink = OcsfWebhookSink(f"http://127.0.0.1:{silent.getsockname()[1]}/x", timeout_s=60, **FAST)
            for record in SPAN_RECORDS:
                sink.emit(record)
            time.sleep(0.2)  # the sender is now waiting for a response
            start = time.monotonic()
            sink.close(timeout_s=1.0)
            took = time.monotonic() - start
        assert took < 1.0 + 1.5
        assert sink.sent == 0 and _accounted(sink) == len(SPAN_RECORDS)

    def test_full_queue_drops_and_counts(self) -> None:
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(8)
            sink = OcsfWebhookSink(f"http://127.0.0.1:{silent.getsockname()[1]}/x", queue_size=5, batch_size=1,
                                   timeout_s=60, **FAST)
            for _ in range(30):
                sink.emit(SPAN_RECORDS[0])
            assert sink.dropped >= 30 - 5 - 1 and sink.queued <= 5
            sink.close(timeout_s=0.5)
        assert sink.sent == 0 and _accounted(sink) == 30

    def test_idle_keep_alive_closed_by_server_is_reopened(self, receivers: list[Receiver]) -> None:
        """A server that closes kept-alive connections behind the client's back costs no retry."""
        receiver = _receiver(receivers, drop_idle=True)
        sink = OcsfWebhookSink(receiver.url, **FAST)
        for count, record in enumerate(SPAN_RECORDS[:3], start=1):
            sink.emit(record)
            _wait_for(lambda: len(receiver.requests) == count)  # noqa: B023 (called before the next iteration)
            time.sleep(0.05)  # the server's close reaches the client
        sink.close(timeout_s=10)
        assert (sink.sent, sink.retried, sink.dropped) == (3, 0, 0)
        assert receiver.events() == [to_ocsf(r) for r in SPAN_RECORDS[:3]]

    def test_https_with_a_private_ca(self, receivers: list[Receiver], certificate: tuple[Path, Path]) -> None:
        receiver = _receiver(receivers, certificate=certificate)
        sink = OcsfWebhookSink(receiver.url, ca_file=certificate[0], **FAST)
        sink.emit(_correlation().record())
        sink.close(timeout_s=10)
        assert sink.sent == 1 and receiver.events() == [to_ocsf(_correlation().record())]

    def test_https_untrusted_certificate_is_not_delivered(self, receivers: list[Receiver],
                                                          certificate: tuple[Path, Path]) -> None:
        receiver = _receiver(receivers, certificate=certificate)
        sink = OcsfWebhookSink(receiver.url, max_retries=0, **FAST)
        sink.emit(SPAN_RECORDS[0])
        sink.close(timeout_s=10)
        assert (sink.sent, sink.dropped) == (0, 1) and receiver.requests == []

    @pytest.mark.parametrize(("url", "kwargs", "named"), [
        ("ftp://siem.example/x", {}, "scheme must be http or https"),
        ("http:///x", {}, "no host"),
        ("http://siem.example:99999/x", {}, "bad port"),
        ("https://user:pw@siem.example/x", {"headers": {"authorization": "Bearer x"}}, "credentials both in the URL"),
        ("http://siem.example/x", {"headers": {"Bad Name": "v"}}, "'Bad Name'"),
        ("http://siem.example/x", {"headers": {"Authorization": "a\r\nInjected: 1"}}, "'Authorization'"),
        ("http://siem.example/x", {"batch_size": 0}, "batch_size"),
        ("http://siem.example/x", {"timeout_s": 0}, "timeout_s"),
        ("http://siem.example/x", {"ca_file": "/etc/ssl/certs/ca-certificates.crt"}, "ca_file"),
    ])
    def test_bad_configuration_is_refused(self, url: str, kwargs: dict[str, Any], named: str) -> None:
        with pytest.raises(ValueError, match=named) as refused:
            OcsfWebhookSink(url, **kwargs)
        assert "pw" not in str(refused.value) and "Injected" not in str(refused.value)


    def test_credentials_in_the_url_are_sent_as_basic_auth_and_never_logged(
        self, receivers: list[Receiver], caplog: pytest.LogCaptureFixture,
    ) -> None:
        """The one rule of `otel_apisec.urls`: userinfo becomes `Authorization: Basic`, the URL's host is all that is shown."""
        receiver = _receiver(receivers, statuses=[503])
        url = receiver.url.replace("://", "://siem:p%40ss-word@")
        with caplog.at_level(logging.INFO, logger="otel_apisec.siem.sinks"):
            sink = OcsfWebhookSink(url, **FAST)
            sink.emit(SPAN_RECORDS[0])
            sink.close(timeout_s=10)
        assert sink.sent == 1 and sink.retried == 1
        headers, path, _ = receiver.requests[-1]
        assert headers["Authorization"] == "Basic " + base64.b64encode(b"siem:p@ss-word").decode()
        assert path == "/ingest?token=query-secret"
        assert "p%40ss" not in caplog.text and "siem:" not in caplog.text and "HTTP 503" in caplog.text
        assert "p%40ss" not in sink.name and "ingest" not in sink.name


def _wait_for(condition: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)
