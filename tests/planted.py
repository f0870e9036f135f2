"""Hypothesis strategies for OTLP requests with planted secrets and PII, and the search for them.

A `Plant` is one secret or piece of personal data as it is written into the request (`text`:
`password=...`, `Basic ...`, a spaced card, an email after `/`, ...) and the strings that must not
come out (`secrets`: the value itself, its digits, its segments). Random parts come from a drawn
integer seed through SHA-256, so keys look random (the detectors veto placeholders like
`AKIAAAAA...`) while Hypothesis still shrinks the seed, the place and the surrounding text.

Requests: traces (resource, scope, spans with events, links and status, and one HTTP server span
for the enrich processor), logs (bodies as strings, bytes, arrays and kvlists) and metrics (point
attributes, exemplars); each planted value lands in a random place, as a string, bytes, or nested
in arrays and kvlists, with text around it that is sometimes longer than 64 KiB.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

from google.protobuf.json_format import MessageToJson
from google.protobuf.message import Message
from hypothesis import event
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

__all__ = [
    "Plant", "Planted", "api_key_plant", "basic_plant", "card_plant", "email_plant", "iban_plant", "jwt_plant", "leaks",
    "log_requests", "message_texts", "metric_requests", "pair_plant", "phone_plant", "requests", "trace_requests",
]

_ALPHA = "abcdefghijklmnopqrstuvwxyz"
_ALNUM = _ALPHA + _ALPHA.upper() + "0123456789"
_WORDS = ("order", "shipped", "user", "retry", "ok", "cart", "item", "42", "2024", "note", "the", "sent", "v2", "id")
# Between the surrounding text and a planted value: characters that end a token for every detector.
_SEPARATORS = (" ", "\n", "\t", ":", "=", ",", ";", "|", "(", ")", "<", ">", "[", "]", "{", "}", '"', "'", "&", "?", "#",
               "!", "/")  # fmt: skip
_VALUE_STOPS = (" ", "\n", "\t", ",", ";", "&", "#", ")", "]", "}", ">", '"', "'")
"""Characters that end an unquoted `key=value` value."""
WINDOW = 64 << 10


@dataclass(frozen=True)
class Plant:
    kind: str
    text: str
    """As written into the request."""
    secrets: tuple[str, ...]
    """What must not come out, in any form."""
    right: tuple[str, ...] = _SEPARATORS
    """Separators that may follow `text` (what ends the value for its detector)."""


@dataclass
class Planted:
    """One generated request and what was planted in it."""

    request: Message
    plants: list[Plant] = field(default_factory=list)

    @property
    def secrets(self) -> set[str]:
        return {secret for plant in self.plants for secret in plant.secrets}


def _random(seed: int, size: int, alphabet: str = _ALNUM) -> str:
    digest = hashlib.sha256(str(seed).encode()).digest()
    rng = random.Random(digest)
    return "".join(rng.choice(alphabet) for _ in range(size))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _luhn_completed(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = int(char)
        if index % 2 == 0:  # doubled: the check digit will sit to its right
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return digits + str((10 - total % 10) % 10)


def _iban(country: str, bban: str) -> str:
    numeric = "".join(str(int(char, 36)) for char in bban + country + "00")
    return f"{country}{98 - int(numeric) % 97:02d}{bban}"


def jwt_plant(seed: int) -> Plant:
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64url(json.dumps({"sub": _random(seed, 12), "exp": 4102444800}).encode())
    signature = _b64url(hashlib.sha256(str(seed).encode()).digest())
    token = f"{header}.{payload}.{signature}"
    return Plant("jwt", token, (token, payload, signature), right=tuple(s for s in _SEPARATORS if s not in "="))


def basic_plant(seed: int) -> Plant:
    user, password = _random(seed, 8, _ALPHA), _random(seed + 1, 14)
    credential = base64.b64encode(f"{user}:{password}".encode()).decode()
    return Plant("basic", f"Basic {credential}", (credential, password), right=tuple(s for s in _SEPARATORS if s not in "/="))


def pair_plant(seed: int, key: str, form: int) -> Plant:
    secret = _random(seed, 16)
    text = (f"{key}={secret}", f'"{key}": "{secret}"', f"{key}='{secret}'", f'{{"{key}":"{secret}"}}')[form]
    return Plant("pair", text, (secret,), right=_VALUE_STOPS if form == 0 else _SEPARATORS)


def api_key_plant(seed: int, form: int) -> Plant:
    key = (
        "AKIA" + _random(seed, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
        "ghp_" + _random(seed, 36),
        "sk_live_" + _random(seed, 24),
        "AIza" + _random(seed, 35),
        "xoxb-" + _random(seed, 10, "0123456789") + "-" + _random(seed + 1, 24),
        "glpat-" + _random(seed, 20),
    )[form]
    return Plant("api_key", key, (key,))


def card_plant(seed: int, form: int) -> Plant:
    prefix = ("4", "51", "37")[seed % 3]
    length = 15 if prefix == "37" else 16
    digits = _luhn_completed(prefix + _random(seed, length - len(prefix) - 1, "0123456789"))
    if form == 0:
        text = digits
    else:
        groups = [digits[:4], digits[4:10], digits[10:]] if length == 15 else [digits[i:i + 4] for i in range(0, 16, 4)]
        text = (" " if form == 1 else "-").join(groups)
    return Plant("card", text, (digits, text))


def email_plant(seed: int, form: int) -> Plant:
    domain = ("example.com", "mail.example.org", "corp.example.net")[seed % 3]
    email = f"{_random(seed, 6, _ALPHA)}.{_random(seed + 1, 5, _ALPHA + '0123456789')}@{domain}"
    text = (email, f"/users/{email}/orders", f"mailto:{email}", f"<{email}>")[form]
    return Plant("email", text, (email,))


def iban_plant(seed: int, form: int) -> Plant:
    if seed % 2:
        compact = _iban("GB", _random(seed, 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") + _random(seed, 14, "0123456789"))
    else:
        compact = _iban("DE", _random(seed, 18, "0123456789"))
    printed = " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))
    # The compact form is found under a telling key or after a context word only.
    text = (printed, f"IBAN: {compact}", f"iban={compact}")[form]
    return Plant("iban", text, (compact, printed))


def phone_plant(seed: int, form: int) -> Plant:
    digits = _random(seed, 3, "0123456789")
    number = (f"+44 20 7946 0{digits}", f"+1 415 555 0{digits}", f"+33 1 23 45 6{digits[:1]} {digits[1:]}")[form % 3]
    return Plant("phone", number, (number,))


_SEEDS = st.integers(0, 2**32)
PLANTS: st.SearchStrategy[Plant] = st.sampled_from((  # sampled, not `one_of`: no kind comes first
    st.builds(jwt_plant, _SEEDS),
    st.builds(basic_plant, _SEEDS),
    st.builds(pair_plant, _SEEDS, st.sampled_from(("password", "passwd", "api_key", "access_token", "client_secret", "token")),
              st.integers(0, 3)),
    st.builds(api_key_plant, _SEEDS, st.integers(0, 5)),
    st.builds(card_plant, _SEEDS, st.integers(0, 2)),
    st.builds(email_plant, _SEEDS, st.integers(0, 3)),
    st.builds(iban_plant, _SEEDS, st.integers(0, 2)),
    st.builds(phone_plant, _SEEDS, st.integers(0, 2)),
)).flatmap(lambda strategy: strategy)


def _filler(seed: int, size: int) -> str:
    """Words and spaces that start and end with a letter (a digit next to a planted number would
    make it a longer, different number)."""
    if size <= 0:
        return ""
    rng = random.Random(seed)
    parts: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(_WORDS)
        parts.append(word)
        length += len(word) + 1
    text = " ".join(parts)[:size]
    return "x" + text[1:-1] + "x" if size > 1 else "x"


@st.composite
def _surrounded(draw: st.DrawFn, plant: Plant) -> str:
    """The plant's text alone, or with text around it; sometimes past 64 KiB, sometimes
    straddling the scanner's first window edge."""
    shape = draw(st.sampled_from(("bare", "short", "short", "long", "edge")))
    event(f"text: {shape}")
    if shape == "bare":
        return plant.text
    seed = draw(st.integers(0, 1000))
    if shape == "short":
        before, after = draw(st.integers(0, 40)), draw(st.integers(0, 40))
    elif shape == "long":
        before, after = draw(st.sampled_from(((70_000, 10), (10, 70_000), (130_000, 5000))))
    else:
        before, after = WINDOW - len(plant.text) // 2 - 1, 100
    left, right = draw(st.sampled_from(_SEPARATORS)), draw(st.sampled_from(plant.right))
    head = _filler(seed, before) + left if before else ""
    tail = right + _filler(seed + 1, after) if after else ""
    if shape == "edge":
        head = head[-(WINDOW - len(plant.text) // 2):]
    return head + plant.text + tail


_KEYS = ("app.note", "user.comment", "message", "detail", "error.message", "exception.message", "db.statement",
         "custom.payload", "enduser.id", "http.url", "url.full", "app.tags")  # fmt: skip
_RESOURCE_KEYS = ("service.name", "service.instance.id", "host.name", "k8s.pod.name", "process.command_line",
                  "deployment.environment", "app.owner", "team.contact")  # fmt: skip
_NESTED_KEYS = ("user", "data", "payload", "contact", "items", "meta")


@st.composite
def _carrier(draw: st.DrawFn, text: str, depth: int | None = None) -> AnyValue:
    """`text` as a string or bytes value, or nested in arrays and kvlists (sometimes as a key)."""
    if depth is None:
        depth = draw(st.integers(0, 4))
    if depth == 0:
        as_bytes = draw(st.integers(0, 4)) == 0
        event("container: bytes" if as_bytes else "container: string")
        return AnyValue(bytes_value=text.encode()) if as_bytes else AnyValue(string_value=text)
    inner = draw(_carrier(text, depth - 1))
    value = AnyValue()
    if draw(st.booleans()):
        items = value.array_value.values
        items.add(string_value="plain")
        items.add().CopyFrom(inner)
        items.add(int_value=depth)
    else:
        entries = value.kvlist_value.values
        entries.add(key="n", value=AnyValue(int_value=depth))
        if draw(st.integers(0, 5)) == 0 and inner.WhichOneof("value") == "string_value":
            entries.add(key=inner.string_value, value=AnyValue(bool_value=True))  # the value is a key
        else:
            entries.add(key=draw(st.sampled_from(_NESTED_KEYS)), value=inner)
    return value


def _kv(key: str, value: AnyValue) -> KeyValue:
    return KeyValue(key=key, value=value)


def _string(key: str, text: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=text))


class _Plants:
    """Draws plants for one request and remembers them."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.plants: list[Plant] = []

    def text(self) -> str:
        plant = self.draw(PLANTS)
        event(f"plant: {plant.kind}")
        self.plants.append(plant)
        return self.draw(_surrounded(plant))

    def value(self) -> AnyValue:
        return self.draw(_carrier(self.text()))

    def attributes(self, keys: tuple[str, ...] = _KEYS) -> list[KeyValue]:
        key = self.draw(st.sampled_from(keys))
        return [_string("app.version", "1.2.3"), _kv(key, self.value())]


_TRACE_PLACES = ("resource", "scope", "span_name", "span_attribute", "event", "link", "status", "server_path",
                 "server_query", "server_header")  # fmt: skip
_LOG_PLACES = ("resource", "scope", "body", "body", "attribute", "event_name")
_METRIC_PLACES = ("resource", "scope", "point", "exemplar", "description")


def _resource_and_scope(plants: _Plants, holder: Message, index: int, places: list[str]) -> None:
    holder.resource.attributes.append(_string("service.name", f"shop-{index}"))
    if "resource" in places:
        holder.resource.attributes.extend(plants.attributes(_RESOURCE_KEYS))
    scope_field = next(f.name for f in holder.DESCRIPTOR.fields if f.name.startswith("scope_"))
    scoped = getattr(holder, scope_field).add()
    scoped.scope.name = "io.example.app"
    if "scope" in places:
        choice = plants.draw(st.sampled_from(("name", "version", "attribute")))
        if choice == "attribute":
            scoped.scope.attributes.extend(plants.attributes())
        else:
            setattr(scoped.scope, choice, plants.text())


@st.composite
def trace_requests(draw: st.DrawFn) -> Planted:
    plants = _Plants(draw)
    places = draw(st.lists(st.sampled_from(_TRACE_PLACES), min_size=1, max_size=5))
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    _resource_and_scope(plants, resource_spans, draw(st.integers(0, 3)), places)
    spans = resource_spans.scope_spans[0].spans
    seed = draw(st.integers(0, 2**32))
    server = Span(trace_id=hashlib.sha256(str(seed).encode()).digest()[:16], span_id=b"\x01" * 8,
                  kind=Span.SPAN_KIND_SERVER, start_time_unix_nano=1_700_000_000_000_000_000,
                  end_time_unix_nano=1_700_000_000_010_000_000, name="GET /api/items/{id}")
    path, query = "/api/items/7", "page=2"
    if "server_path" in places:
        plant = draw(PLANTS)
        plants.plants.append(plant)
        path = f"/users/{quote(plant.text, safe='@:=')}/orders"
        server.name = f"GET {path}"
    if "server_query" in places:
        plant = draw(PLANTS)
        plants.plants.append(plant)
        query = f"q={quote_plus(plant.text)}&page=2"
    server.attributes.extend([
        _string("http.request.method", "GET"), _string("url.scheme", "https"), _string("url.path", path),
        _string("url.query", query), _string("http.route", "/api/items/{id}"), _string("server.address", "api.example.com"),
        _string("client.address", "203.0.113.9"), KeyValue(key="http.response.status_code", value=AnyValue(int_value=200)),
    ])  # fmt: skip
    if "server_header" in places:
        server.attributes.append(_kv("http.request.header.x-note", plants.value()))
    spans.append(server)
    child = spans.add(trace_id=server.trace_id, span_id=b"\x02" * 8, parent_span_id=server.span_id,
                      kind=Span.SPAN_KIND_INTERNAL, name="load item")
    child.attributes.append(_string("db.system", "postgresql"))
    if "span_name" in places:
        child.name = plants.text()
    if "span_attribute" in places:
        child.attributes.extend(plants.attributes())
    if "event" in places:
        event = child.events.add(name="retry", time_unix_nano=1)
        if draw(st.booleans()):
            event.name = plants.text()
        else:
            event.attributes.extend(plants.attributes())
    if "link" in places:
        child.links.add(trace_id=b"\x03" * 16, span_id=b"\x04" * 8).attributes.extend(plants.attributes())
    if "status" in places:
        child.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message=plants.text()))
    return Planted(request, plants.plants)


@st.composite
def log_requests(draw: st.DrawFn) -> Planted:
    plants = _Plants(draw)
    places = draw(st.lists(st.sampled_from(_LOG_PLACES), min_size=1, max_size=5))
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    _resource_and_scope(plants, resource_logs, draw(st.integers(0, 3)), places)
    records = resource_logs.scope_logs[0].log_records
    record = records.add(severity_text="WARN", severity_number=13, time_unix_nano=1)
    record.body.string_value = "request handled"
    for place in places:
        if place == "body":
            record = records.add(severity_text="INFO", severity_number=9, time_unix_nano=2)
            record.body.CopyFrom(plants.value())
        elif place == "attribute":
            record.attributes.extend(plants.attributes())
        elif place == "event_name":
            record.event_name = plants.text()
    return Planted(request, plants.plants)


@st.composite
def metric_requests(draw: st.DrawFn) -> Planted:
    plants = _Plants(draw)
    places = draw(st.lists(st.sampled_from(_METRIC_PLACES), min_size=1, max_size=4))
    request = ExportMetricsServiceRequest()
    resource_metrics = request.resource_metrics.add()
    _resource_and_scope(plants, resource_metrics, draw(st.integers(0, 3)), places)
    metric = resource_metrics.scope_metrics[0].metrics.add(name="app.requests", unit="1")
    metric.sum.aggregation_temporality = 2
    metric.sum.is_monotonic = True
    point = metric.sum.data_points.add(as_int=3, time_unix_nano=1)
    point.attributes.append(_string("http.route", "/api/items/{id}"))
    for place in places:
        if place == "point":
            point.attributes.extend(plants.attributes())
        elif place == "exemplar":
            exemplar = point.exemplars.add(as_int=1, time_unix_nano=1)
            exemplar.filtered_attributes.extend(plants.attributes())
        elif place == "description":
            metric.description = plants.text()
    return Planted(request, plants.plants)


def requests() -> st.SearchStrategy[tuple[str, Planted]]:
    """(signal, planted request) for any of the three signals."""
    return st.one_of(
        trace_requests().map(lambda planted: ("traces", planted)),
        log_requests().map(lambda planted: ("logs", planted)),
        metric_requests().map(lambda planted: ("metrics", planted)),
    )


# --- searching --------------------------------------------------------------------------------
def forms(secret: str) -> set[str]:
    """The planted string and the encodings it could leave in: percent-encoded and base64."""
    raw = secret.encode()
    return {secret, quote(secret, safe=""), quote_plus(secret), quote(secret),
            base64.b64encode(raw).decode().rstrip("="), base64.urlsafe_b64encode(raw).decode().rstrip("=")}


def message_texts(message: Message) -> Iterator[str]:
    """Every string and bytes field of a protobuf message, at any depth (bytes decoded as UTF-8 with
    replacement), then its JSON form (bytes base64-encoded there)."""
    stack: list[Message] = [message]
    while stack:
        current = stack.pop()
        for descriptor, value in current.ListFields():
            values = value if descriptor.is_repeated else [value]
            for item in values:
                if isinstance(item, Message):
                    stack.append(item)
                elif isinstance(item, str):
                    yield item
                elif isinstance(item, bytes):
                    yield item.decode("utf-8", "replace")
    yield MessageToJson(message)


def leaks(secrets: Iterable[str], texts: Iterable[str | bytes]) -> list[str]:
    """Each secret found, in any of its `forms`, in any of `texts`, with the text around it."""
    wanted = {form: secret for secret in secrets for form in forms(secret)}
    found: dict[str, str] = {}
    for text in texts:
        data = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        for form, secret in wanted.items():
            at = data.find(form)
            if at >= 0 and secret not in found:
                found[secret] = f"{secret!r} in ...{data[max(0, at - 60):at + len(form) + 60]!r}..."
    return sorted(found.values())
