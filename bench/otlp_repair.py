"""The receivers' decode of a realistic 512-span OTLP batch: the fast path beside plain `FromString`
(what receivers called before the repair existed), and the repair path for one bad value and for
every span bad. Run: .venv/bin/python bench/otlp_repair.py"""
from __future__ import annotations

import timeit

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1 import trace_pb2

from otel_apisec.gateway.api import Signal

PLACEHOLDER = "Mozilla/5.0 PLACEHOLDER"


def kv(key: str, value: object) -> KeyValue:
    if isinstance(value, str):
        return KeyValue(key=key, value=AnyValue(string_value=value))
    if isinstance(value, list):
        item = KeyValue(key=key)
        item.value.array_value.values.extend(AnyValue(string_value=v) for v in value)
        return item
    return KeyValue(key=key, value=AnyValue(int_value=int(value)))


def batch(spans: int = 512, bad: bool = False, all_bad: bool = False) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(kv(k, v) for k, v in {
        "service.name": "orders-java", "service.version": "1.4.2", "host.name": "orders-7d9f8c-abcde",
        "telemetry.sdk.language": "java", "telemetry.sdk.version": "1.40.0"}.items())
    scope = resource_spans.scope_spans.add()
    scope.scope.name = "io.opentelemetry.tomcat-10.0"
    for i in range(spans):
        span = scope.spans.add(trace_id=i.to_bytes(16, "big"), span_id=(i + 1).to_bytes(8, "big"),
                               name="GET /api/orders/{id}", kind=trace_pb2.Span.SPAN_KIND_SERVER,
                               start_time_unix_nano=1_700_000_000_000_000_000 + i,
                               end_time_unix_nano=1_700_000_000_050_000_000 + i)
        user_agent = PLACEHOLDER if (bad and i == spans // 2) or all_bad else "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"
        span.attributes.extend(kv(k, v) for k, v in {
            "http.request.method": "GET", "url.scheme": "https", "url.path": f"/api/orders/{i}",
            "url.query": "expand=items&limit=20", "http.route": "/api/orders/{id}", "http.response.status_code": 200,
            "server.address": "api.example.com", "server.port": 443, "client.address": f"203.0.113.{i % 250}",
            "network.protocol.version": "1.1", "user_agent.original": user_agent,
            "http.request.header.accept": ["application/json"], "http.request.header.x-request-id": [f"req-{i:08d}"],
            "http.response.body.size": 1234}.items())
        event = span.events.add(name="exception", time_unix_nano=1_700_000_000_010_000_000)
        event.attributes.extend([kv("exception.type", "java.lang.IllegalStateException"), kv("exception.message", "x" * 40)])
        span.status.code = trace_pb2.Status.STATUS_CODE_UNSET
    return request


def main() -> None:
    good = batch().SerializeToString()
    bad = batch(bad=True).SerializeToString().replace(PLACEHOLDER.encode(), b"Mozilla/5.0 PLACE\xffOLDER")
    from otel_apisec.gateway.receivers.otlp.json import to_json
    good_json = to_json(Signal.TRACES, batch())
    bad_json = to_json(Signal.TRACES, batch(bad=True)).replace(PLACEHOLDER.encode(), b"Mozilla/5.0 PLACE\xffOLDER")
    kb, kb_json = len(good) / 1024, len(good_json) / 1024

    def best(fn, number: int) -> float:  # µs per call, best of 7
        return min(timeit.repeat(fn, number=number, repeat=7)) / number * 1e6

    from otel_apisec.gateway.receivers.otlp.json import parse_json_request
    from otel_apisec.gateway.receivers.otlp.repair import decode_protobuf, repair_protobuf

    def plain() -> object:  # what the receivers called before: one bad value refused the batch
        return ExportTraceServiceRequest.FromString(good)

    def fast() -> object:
        return decode_protobuf(Signal.TRACES, good, receiver="otlp", protocol="http/protobuf")

    print(f"batch: 512 spans, protobuf {kb:.1f} KB, JSON {kb_json:.1f} KB")
    for _ in range(3):  # interleaved, side by side: the machine is shared and noisy
        t0, t = best(plain, 200), best(fast, 200)
        print(f"protobuf good batch: FromString {t0:8.1f} µs, decode_protobuf {t:8.1f} µs ({t / t0:.2f}x)")
    t = best(lambda: parse_json_request(Signal.TRACES, good_json), 10)
    print(f"JSON fast path (good batch):     {t:8.1f} µs  = {t / kb_json:6.2f} µs/KB")
    t = best(lambda: repair_protobuf(Signal.TRACES, bad), 20)
    print(f"protobuf repair (one bad attr):  {t:8.1f} µs  = {t / kb:6.2f} µs/KB")
    t = best(lambda: decode_protobuf(Signal.TRACES, bad, receiver="bench", protocol="http/protobuf"), 20)
    print(f"protobuf decode, bad batch:      {t:8.1f} µs  = {t / kb:6.2f} µs/KB (fast try + repair + parse)")
    all_bad = batch(all_bad=True).SerializeToString().replace(PLACEHOLDER.encode(), b"Mozilla/5.0 PLACE\xffOLDER")
    t = best(lambda: repair_protobuf(Signal.TRACES, all_bad), 3)
    print(f"protobuf repair (512 bad attrs): {t:8.1f} µs  = {t / kb:6.2f} µs/KB (worst case: every probe fails)")
    from otel_apisec.gateway.receivers.otlp import repair as otlp_repair
    otlp_repair._PROBE_MIN_BYTES = 1 << 30
    t = best(lambda: repair_protobuf(Signal.TRACES, bad), 3)
    print(f"protobuf repair, no probing:     {t:8.1f} µs  = {t / kb:6.2f} µs/KB (the walk alone)")
    t = best(lambda: parse_json_request(Signal.TRACES, bad_json), 10)
    print(f"JSON decode, bad batch:          {t:8.1f} µs  = {t / kb_json:6.2f} µs/KB")


if __name__ == "__main__":
    main()
