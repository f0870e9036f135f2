"""The detector contract, the detection config and the analyzer that runs every detector.

Two kinds of detector:

* a `FieldDetector` scans text fields (query values, headers, JSON values, ...). It declares
  prefilter `triggers`; the analyzer runs it only on fields where one of them hit.
* an `ExchangeDetector` looks at a whole exchange (auth, tokens, posture, exposure) and may
  also yield `AuthFacts` / `TokenFacts` besides findings.

Detectors are pure: no I/O, no globals. The analyzer catches a failing detector, records it in
`Analysis.failed` and goes on, so one bad detector never loses the others' results.

Endpoint-scope rules (`Rule.scope`, the posture of an endpoint) are facts of the endpoint, not of
each exchange: a detector asks `DetectContext.endpoint_due(shape)` before checking them, and the
analyzer's `EndpointShapes` answers yes only for a new endpoint or a shape it has not shown lately
(`DetectConfig.posture_per_endpoint`).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, runtime_checkable

import orjson

from otel_apisec.detect.endpoint_shapes import DEFAULT_CAPACITY as DEFAULT_POSTURE_CACHE_SIZE
from otel_apisec.detect.endpoint_shapes import EndpointShapes, endpoint_key
from otel_apisec.detect.engine import CompiledCache, PatternSet, Trigger
from otel_apisec.detect.fields import (
    BodyFields,
    Direction,
    Field,
    Source,
    body_texts,
    exchange_fields,
    is_textual,
    parse_json,
    raw_json_texts_at,
)
from otel_apisec.model import AuthFacts, Body, Finding, HttpExchange, TokenFacts
from otel_apisec.pseudonym import deployment_key, keyed_hash

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_POSTURE_CACHE_SIZE",
    "DEFAULT_TIME_BUDGET_MS",
    "DETECTOR_NAMES",
    "Analysis",
    "Analyzer",
    "DetectConfig",
    "DetectContext",
    "ExchangeDetector",
    "FieldDetector",
    "TextScan",
]

ExchangeOutput = Finding | AuthFacts | TokenFacts
T = TypeVar("T")

# The one set of detection defaults: in-process settings (`otel_apisec.sdk.settings`), the gateway's
# `apisec/enrich` and `otel-apisec scan` import these, so a limit means the same everywhere.
DETECTOR_NAMES = ("injection", "pii", "secrets", "tokens", "auth", "posture", "exposure")
"""Every detector family, the names `DetectConfig.enabled` takes."""
DEFAULT_MAX_BODY_BYTES = 64 << 10
"""Bytes of a request or response body analysed; the rest is ignored (the body is marked truncated)."""
DEFAULT_TIME_BUDGET_MS = 50.0
"""Analysis CPU time per exchange where a request is waiting on it or spans stream in (in-process,
gateway); 0 there means no budget. A typical exchange takes under 1 ms."""


@dataclass(frozen=True, slots=True)
class DetectConfig:
    """Every detection knob and its default. The CLI, the distro and the gateway all build this."""

    hmac_key: bytes = b""
    """Key for pseudonyms (principals, tokens). Empty: a random key for this process, so
    hashes correlate within one run but not across runs or replicas."""
    enabled: frozenset[str] | None = None
    """Detector names to run (`injection`, `pii`, `secrets`, `auth`, `tokens`, `posture`,
    `exposure`); None runs all."""
    weak_secrets: frozenset[str] = frozenset()
    """Extra known-weak HMAC secrets and passwords, on top of the built-in list."""
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """Bodies are scanned up to this many bytes; the rest is ignored."""
    max_fields: int = 20_000
    """Fields taken from one body at most (keys and values)."""
    max_findings: int = 1_000
    """Findings kept per exchange; the rest are counted in `Analysis.dropped_findings`."""
    time_budget_ms: float | None = None
    """Per-exchange budget in CPU milliseconds of the analysing thread (so waiting for the GIL
    or for a busy machine does not count); detectors not started when it runs out are skipped
    and listed, except `auth` and `tokens`, whose facts every span carries. None: no budget, for
    library and offline use (`otel-apisec scan` wants every detector); the live paths, in-process
    and the gateway, default to `DEFAULT_TIME_BUDGET_MS`."""
    many_records_threshold: int = 100
    """A response listing at least this many records is reported as bulk exposure."""
    max_token_lifetime_s: int = 24 * 3600
    """A JWT valid for longer than this is reported."""
    max_weak_secret_hmacs_per_s: float | None = 50_000.0
    """HMACs per second spent checking accepted HS256/384/512 JWTs against the weak-secret lists,
    per Analyzer (a token bucket holding one second; one check may overdraw it). A token that does
    not fit is not checked now and not memoized, so a later sighting checks it. Each sighting of an
    unanswered token tries one slice of the ~19.5k-entry list (about 2,500 HMACs, ~4 ms, for an
    ordinary token; configured `weak_secrets` first). 0 disables the check,
    None removes the limit (the offline scanner uses None)."""
    min_password_length: int = 8
    """Basic-auth passwords shorter than this are reported."""
    now: float | None = None
    """Clock for token expiry; None uses the exchange's start time, else the current time."""
    posture_per_endpoint: bool = True
    """Endpoint-scope rules (response hygiene: HSTS, nosniff, CSP, cookie flags, banners, ...) are
    checked once per endpoint (host, method, route template) and response shape, and reported on
    that exchange as endpoint facts (`Finding.endpoint_scope`); later responses of the same shape
    skip them. False checks and reports them on every response, as before."""
    posture_cache_size: int = DEFAULT_POSTURE_CACHE_SIZE
    """Endpoints whose recent response shapes the Analyzer remembers (least recently used out; an
    endpoint that fell out is checked again at its next response)."""


@dataclass(slots=True)
class DetectContext:
    """What a detector may use besides the exchange: config, clock, pseudonyms, parsed bodies."""

    config: DetectConfig
    now: float
    hmac_key: bytes
    exchange: HttpExchange
    """The exchange being analyzed, for context a field alone lacks (the request host, sibling keys)."""
    state: dict[str, object] = field(default_factory=dict)
    """Per-Analyzer detector state that must not be evicted (rate budgets). Small, never raw values."""
    memo: BoundedMemo = field(default_factory=lambda: BoundedMemo(1))
    """Shared by all analyses of one Analyzer: cache costly per-value results (weak-secret
    checks of a token seen before). Keys must be pseudonyms or hashes, never raw values."""
    shapes: EndpointShapes | None = None
    """The Analyzer's recent response shapes per endpoint; None checks endpoint facts every time."""
    posture_checked: bool = False
    """`endpoint_due` said yes in this analysis: the endpoint-scope checks ran."""
    failed: list[str] = field(default_factory=list)
    """Steps of a detector that raised (`tokens.window`): the analyzer adds them to `Analysis.failed`."""
    _once: dict[str, object] = field(default_factory=dict)

    def guarded(self, step: str, compute: Callable[..., Iterable[T]], *args: object) -> list[T]:
        """Every output of `compute(*args)`, or none when it raises: one fact of a detector, computed
        apart so that a failure loses that fact only. The step is named in `Analysis.failed`.

        >>> findings = ctx.guarded("tokens.window", _window, token, ctx)
        """
        try:
            return list(compute(*args))
        except Exception:  # attacker input reached a bug: lose this fact, keep the detector's others
            if step not in self.failed:  # once per analysis, however many tokens hit it
                self.failed.append(step)
            return []

    def incomplete(self, step: str) -> None:
        """A bound cut `step` short (too many candidates in one field): its findings may miss values,
        so it is named in `Analysis.failed` like a step that raised, and maskers fail closed."""
        if step not in self.failed:
            self.failed.append(step)

    def endpoint_due(self, shape: Hashable) -> bool:
        """Whether the endpoint-scope checks are due on this exchange: its endpoint (host, method,
        route template) is new, or has not answered in `shape` lately. `shape` must cover every
        input of those checks (equal shapes, equal findings). A yes records the shape; call
        `endpoint_failed` if the checks then fail, so the next response checks again.

        >>> if ctx.endpoint_due(shape): yield from hygiene_checks(exchange)
        """
        due = self.shapes is None or self.shapes.claim(endpoint_key(self.exchange), shape)
        self.posture_checked = self.posture_checked or due
        return due

    def endpoint_failed(self, shape: Hashable) -> None:
        """The endpoint-scope checks `endpoint_due` allowed failed part-way: forget the shape."""
        if self.shapes is not None:
            self.shapes.release(endpoint_key(self.exchange), shape)

    def once(self, key: str, compute: Callable[[], T]) -> T:
        """`compute()` the first time `key` is asked for in this analysis, the stored result after:
        for facts several detectors derive from the same exchange (the JWTs it presents)."""
        if key not in self._once:
            self._once[key] = compute()
        return self._once[key]  # type: ignore[return-value]

    def pseudonym(self, value: str) -> str:
        """Keyed hash of a principal or token: correlatable, not recoverable."""
        return keyed_hash(self.hmac_key, value)

    def json_verbatim(self, body: Body) -> bytes | None:
        r"""The JSON body's bytes with every key and string value verbatim (no backslash), or None.

        A body with backslashes is re-serialized from its parse (orjson writes non-ASCII as
        UTF-8, so `\u00eb`-escaped bodies, Flask's default, lose every backslash); a string that
        still needs one (a quote, a backslash, a control character) gives None. Byte scans of the
        result see decoded text, so an escaped attack (`\u0027`) is seen decoded."""
        if b"\\" not in body.data:
            return body.data

        def verbatim() -> bytes | None:
            doc = self.body_json(body)
            if doc is None:
                return None
            try:
                data = orjson.dumps(doc)
            except (TypeError, orjson.JSONEncodeError):  # integers past 64 bits
                return None
            return None if b"\\" in data else data

        return self.once(f"json_verbatim:{id(body)}", verbatim)

    def body_json(self, body: Body | None) -> object | None:
        """The body parsed as JSON (cached per analysis), or None when it is not JSON."""
        if body is None or not body.data:
            return None
        return self.once(_json_key(body), lambda: _parse_json_prefix(body.data, self.config.max_body_bytes))

    def parsed_json(self, body: Body | None) -> tuple[object] | None:
        """`(body_json(body),)` if a detector asked for it and it is the whole body (not cut by
        `max_body_bytes` or at capture); None otherwise. Never parses."""
        if body is None or not body.data or body.truncated or len(body.data) > self.config.max_body_bytes:
            return None
        key = _json_key(body)
        return (self._once[key],) if key in self._once else None


def _json_key(body: Body) -> str:
    """The memo key of a body's JSON parse (`body_json`, `parsed_json`)."""
    return f"body_json:{id(body)}"


def _parse_json_prefix(data: bytes, limit: int) -> object | None:
    data = data[:limit]
    return parse_json(data) if data.lstrip()[:1] in (b"{", b"[") else None


class BoundedMemo:
    """A small LRU map; thread-safe enough for its use (lost updates only cost a recompute)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._data: OrderedDict[str, object] = OrderedDict()

    def get(self, key: str, default: object = None) -> object:
        try:
            self._data.move_to_end(key)
            return self._data[key]
        except KeyError:
            return default

    def put(self, key: str, value: object) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.capacity:
            self._data.popitem(last=False)


@runtime_checkable
class FieldDetector(Protocol):
    # Read-only, so that a detector may hold them as class attributes or a tuple of its own.
    @property
    def name(self) -> str: ...

    @property
    def triggers(self) -> Sequence[Trigger]: ...

    @property
    def directions(self) -> frozenset[Direction]: ...

    def scan(self, field: Field, hits: frozenset[int], ctx: DetectContext) -> Iterable[Finding]:
        """Findings in `field`. `hits` are indices into `triggers` that matched its text."""
        ...


@runtime_checkable
class ExchangeDetector(Protocol):
    name: str

    def __call__(self, exchange: HttpExchange, ctx: DetectContext) -> Iterable[ExchangeOutput]:
        ...


@dataclass(slots=True)
class Analysis:
    findings: list[Finding] = field(default_factory=list)
    auth: AuthFacts = field(default_factory=AuthFacts)
    token: TokenFacts = field(default_factory=TokenFacts)
    failed: list[str] = field(default_factory=list)
    """Detectors that raised (their findings for this exchange are missing), and detector steps
    that raised alone (`tokens.window`: only that step's findings are missing)."""
    skipped: list[str] = field(default_factory=list)
    """Detectors not run because the time budget ran out."""
    dropped_findings: int = 0
    exposed: set[str] = field(default_factory=set, repr=False)
    """The raw text each field finding's spans cover, kept so the export path can mask it
    wherever it appears. In-process only: never exported, never printed."""
    posture_checked: bool = False
    """The endpoint-scope checks ran on this exchange (a new endpoint, a response shape it has not
    shown lately, or `posture_per_endpoint` off): its findings with `endpoint_scope`, none
    included, are the endpoint's posture as of this response. False: they were skipped (same
    shape as before), or the posture detector did not get that far."""
    response_json: tuple[object] | None = field(default=None, repr=False)
    """`(document,)` when a detector parsed the whole response body as JSON (`document` None: it is
    not JSON); None when none did (no JSON trigger, no listing, or the body was cut by
    `max_body_bytes` or at capture). In-process only: later readers of the body (the SDK's
    response-ID hashes) take it instead of parsing the body again."""


@dataclass(slots=True)
class TextScan:
    """What the field detectors found in plain texts (`Analyzer.scan_texts`)."""

    spans: list[tuple[int, tuple[tuple[int, int], ...]]] = field(default_factory=list)
    """(index of the text, [start, end) offsets of one finding in it), one per finding."""
    failed: list[str] = field(default_factory=list)
    """As `Analysis.failed`: detectors or steps that raised or were cut short by a bound."""
    skipped: list[str] = field(default_factory=list)
    """As `Analysis.skipped`: detectors the time budget left unrun."""
    dropped_findings: int = 0

    @property
    def complete(self) -> bool:
        """Every detector ran to the end and no finding was dropped: texts without spans are clean."""
        return not (self.failed or self.skipped or self.dropped_findings)


_TEXT_LOCATION = Source.TEXT.value
_NO_EXCHANGE = HttpExchange()


class _Plan:
    """The field detectors for one direction and their triggers merged into one pattern set."""

    def __init__(self, detectors: Sequence[FieldDetector], cache: CompiledCache | None = None) -> None:
        self.detectors = tuple(detectors)
        owners: list[tuple[int, int]] = []
        triggers: list[Trigger] = []
        for d_index, detector in enumerate(self.detectors):
            for t_index, trigger in enumerate(detector.triggers):
                owners.append((d_index, t_index))
                triggers.append(trigger)
        self.owners = owners
        self.patterns = PatternSet(triggers, cache)

    def hits(self, texts: Sequence[bytes]) -> dict[tuple[int, int], set[int]]:
        """(text index, detector index) -> trigger indices of that detector that hit."""
        grouped: dict[tuple[int, int], set[int]] = {}
        for text_index, trigger in self.patterns.scan(texts):
            d_index, t_index = self.owners[trigger]
            grouped.setdefault((text_index, d_index), set()).add(t_index)
        return grouped


_FACT_DETECTORS = frozenset({"tokens", "auth"})


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


class Analyzer:
    """Runs a fixed set of detectors over exchanges. Build once (it compiles patterns), reuse.

    `compiled_cache` keeps compiled Hyperscan databases between processes (the CLI passes a
    cache folder); without it the first Analyzer of a process compiles them (about 1-2 s).

    >>> analysis = Analyzer().analyze(HttpExchange(method="GET", path="/", query=(("q", "1' OR '1'='1"),)))
    """

    def __init__(
        self,
        config: DetectConfig | None = None,
        field_detectors: Sequence[FieldDetector] | None = None,
        exchange_detectors: Sequence[ExchangeDetector] | None = None,
        compiled_cache: CompiledCache | None = None,
    ) -> None:
        from otel_apisec.detect import catalog  # families register their rules on import

        self.config = config or DetectConfig()
        self._hmac_key = deployment_key(self.config.hmac_key)
        self._memo = BoundedMemo(4096)
        self._state: dict[str, object] = {}
        self._shapes = EndpointShapes(self.config.posture_cache_size) if self.config.posture_per_endpoint else None
        enabled = self.config.enabled
        fields = catalog.FIELD_DETECTORS if field_detectors is None else field_detectors
        exchanges = catalog.EXCHANGE_DETECTORS if exchange_detectors is None else exchange_detectors
        fields = [d for d in fields if enabled is None or d.name in enabled]
        self.exchange_detectors = [d for d in exchanges if enabled is None or d.name in enabled]
        self._plans = {
            direction: _Plan([d for d in fields if direction in d.directions], compiled_cache)
            for direction in Direction
        }

    def context(self, exchange: HttpExchange) -> DetectContext:
        now = self.config.now or exchange.started_at or time.time()
        return DetectContext(self.config, now, self._hmac_key, exchange, self._state, self._memo, self._shapes)

    def analyze(self, exchange: HttpExchange) -> Analysis:
        ctx = self.context(exchange)
        analysis = Analysis()
        deadline = None
        if self.config.time_budget_ms is not None:
            deadline = time.thread_time() + self.config.time_budget_ms / 1000
        # Exchange detectors run first: they are cheap and give the facts every span carries
        # (auth outcome, token state), which a budget spent on a large body must not cost; the
        # two that produce those facts run whatever the budget (a garbage-collector pause can
        # eat it), and bound their own work. Their findings still follow the field findings, so
        # the report order does not change.
        exchange_outputs: list[ExchangeOutput] = []
        for detector in self.exchange_detectors:
            if deadline is not None and detector.name not in _FACT_DETECTORS and time.thread_time() > deadline:
                analysis.skipped.append(detector.name)
                continue
            try:
                exchange_outputs.extend(list(detector(exchange, ctx)))  # all of a detector's outputs, or none
            except Exception:  # a broken detector must not lose the others' results
                analysis.failed.append(detector.name)
        head_fields = list(exchange_fields(exchange, include_bodies=False))
        for direction in Direction:
            own = [f for f in head_fields if f.direction is direction]
            self._scan_fields(exchange, direction, own, ctx, analysis, deadline)
        for output in exchange_outputs:
            if isinstance(output, Finding):
                self._add(analysis, output)
            elif isinstance(output, AuthFacts):
                analysis.auth = output
            elif isinstance(output, TokenFacts):
                analysis.token = output
        analysis.failed.extend(ctx.failed)  # detector steps that failed alone (`tokens.window`)
        analysis.posture_checked = ctx.posture_checked
        analysis.response_json = ctx.parsed_json(exchange.response_body)
        return analysis

    def scan_texts(self, texts: Sequence[str]) -> TextScan:
        """The field detectors over plain texts (log lines, attribute values, names), each one field
        of `Source.TEXT` with no name and no exchange around it: not dressed up as query values.
        Same triggers, bounds (`max_findings`, candidates per shape) and time budget as `analyze`;
        linear in the texts. Detectors that only look at one direction run if they look at requests.

        >>> Analyzer(DetectConfig(enabled=frozenset({"pii"}))).scan_texts(["mail bob@example.com"]).spans
        [(0, ((5, 20),))]
        """
        scan = TextScan()
        plan = self._plans[Direction.REQUEST]
        if not plan.detectors or not texts:
            return scan
        ctx = self.context(_NO_EXCHANGE)
        deadline = None
        if self.config.time_budget_ms is not None:
            deadline = time.thread_time() + self.config.time_budget_ms / 1000
        try:
            grouped = plan.hits([_encode(text) for text in texts])
        except Exception:  # the engine itself failed: nothing is known about any text
            scan.failed.append("fields.text")
            return scan
        def text_field(index: int) -> Field:
            return Field(_TEXT_LOCATION, texts[index], Direction.REQUEST, Source.TEXT)

        seen: set[tuple[str, int, tuple[tuple[int, int], ...]]] = set()
        kept = 0
        for text_index, _field, finding in self._run_field_detectors(
            plan, grouped, text_field, ctx, deadline, scan.failed, scan.skipped
        ):
            key = (finding.rule_id, text_index, finding.spans)
            if key in seen:
                continue
            seen.add(key)
            if kept >= self.config.max_findings:
                scan.dropped_findings += 1
            else:
                kept += 1
                scan.spans.append((text_index, finding.spans))
        scan.failed.extend(ctx.failed)  # steps cut short by a bound (`pii.email.candidates`)
        return scan

    def _add(self, analysis: Analysis, finding: Finding) -> None:
        if len(analysis.findings) >= self.config.max_findings:
            analysis.dropped_findings += 1
        else:
            analysis.findings.append(finding)

    def _body_texts(
        self, body: Body, original: Body, direction: Direction, ctx: DetectContext,
        wanted: set[str] | None = None,
    ) -> BodyFields:
        """Parse once: JSON parsed here is what exchange detectors get from `ctx.body_json`."""
        parsed = ctx.body_json(original) if body.media_type.endswith("json") else None
        return body_texts(body, direction, self.config.max_fields, parsed, wanted)

    def _raw_json_hits(
        self, body: Body, original: Body, direction: Direction, plan: _Plan, ctx: DetectContext, base: int
    ) -> tuple[BodyFields, dict[tuple[int, int], set[int]]] | None:
        """Hit-directed parse of a JSON body without backslashes (None: use the full walk).

        Every match end in the raw bytes names the string it ends in; only keys and values equal
        to those strings become fields, with the triggers that hit them. This spares the walk,
        encoding and scan of every other text, which dominate on large bodies with few hits.
        """
        ends = plan.patterns.match_ends(body.data, budget=64 + len(body.data) // 256)
        if ends is None:
            return None
        by_text = raw_json_texts_at(body.data, ends)
        parsed = self._body_texts(body, original, direction, ctx, wanted=set(by_text))
        hits: dict[tuple[int, int], set[int]] = {}
        for index, text in enumerate(parsed.texts):
            triggers = by_text.get(text)
            if triggers is None:  # not parsed as JSON after all (invalid, truncated): scan it all
                return None
            for trigger in triggers:
                d_index, t_index = plan.owners[trigger]
                hits.setdefault((base + index, d_index), set()).add(t_index)
        return parsed, hits

    def _fields_and_hits(
        self, exchange: HttpExchange, direction: Direction, head_fields: list[Field], plan: _Plan,
        ctx: DetectContext,
    ) -> tuple[Callable[[int], Field], dict[tuple[int, int], set[int]]]:
        """Fields of one direction (as a lookup) and their trigger hits, in as few scans as possible.

        A JSON body without backslashes holds every key and string value verbatim, so its raw
        bytes are scanned alongside the other fields; only when a trigger hits them is the body
        parsed and its texts scanned. Other bodies are parsed up front.
        """
        head = len(head_fields)
        texts = [_encode(f.text) for f in head_fields]
        original = exchange.request_body if direction is Direction.REQUEST else exchange.response_body
        body = original
        if body is not None and len(body.data) > self.config.max_body_bytes:
            body = Body(body.data[: self.config.max_body_bytes], body.content_type, truncated=True)
        if body is None or original is None or not body.data:
            return head_fields.__getitem__, plan.hits(texts)
        media = body.media_type
        raw_body: Body | None = None
        if media.endswith("json") and is_textual(media):
            if b"\\" not in body.data:
                raw_body = body
            elif body is original:  # escaped, not cut: its verbatim form, when there is one
                verbatim = ctx.json_verbatim(original)
                raw_body = Body(verbatim, body.content_type) if verbatim is not None else None
        if raw_body is not None:
            body = raw_body
            hits = plan.hits([*texts, body.data])
            if not any(text_index == head for text_index, _ in hits):
                return head_fields.__getitem__, hits
            hits = {key: value for key, value in hits.items() if key[0] != head}
            directed = self._raw_json_hits(body, original, direction, plan, ctx, head)
            if directed is not None:
                parsed, body_hits = directed
            else:
                parsed = self._body_texts(body, original, direction, ctx)
                body_hits = {
                    (head + index, d_index): triggers
                    for (index, d_index), triggers in plan.hits([_encode(t) for t in parsed.texts]).items()
                }
            hits.update(body_hits)
        else:
            parsed = self._body_texts(body, original, direction, ctx)
            hits = plan.hits([*texts, *map(_encode, parsed.texts)])

        def field(index: int) -> Field:
            return head_fields[index] if index < head else parsed.field(index - head)

        return field, hits

    def _scan_fields(
        self,
        exchange: HttpExchange,
        direction: Direction,
        head_fields: list[Field],
        ctx: DetectContext,
        analysis: Analysis,
        deadline: float | None,
    ) -> None:
        plan = self._plans[direction]
        if not plan.detectors:
            return
        if deadline is not None and time.thread_time() > deadline:
            analysis.skipped.extend(d.name for d in plan.detectors)
            return
        try:
            field_at, grouped = self._fields_and_hits(exchange, direction, head_fields, plan, ctx)
        except Exception:
            analysis.failed.append(f"fields.{direction.value}")
            return
        seen: set[tuple[str, str, tuple[tuple[int, int], ...]]] = set()
        for _index, scanned, finding in self._run_field_detectors(
            plan, grouped, field_at, ctx, deadline, analysis.failed, analysis.skipped
        ):
            key = (finding.rule_id, finding.location, finding.spans)
            if key not in seen:
                seen.add(key)
                self._add(analysis, finding)
                # Spans index the value at the finding's location: a key field's value, else the text.
                text = scanned.value if scanned.is_key and scanned.value is not None else scanned.text
                for start, end in finding.spans:
                    analysis.exposed.add(text[start - scanned.offset:end - scanned.offset])

    @staticmethod
    def _run_field_detectors(
        plan: _Plan,
        grouped: dict[tuple[int, int], set[int]],
        field_at: Callable[[int], Field],
        ctx: DetectContext,
        deadline: float | None,
        failed: list[str],
        skipped: list[str],
    ) -> Iterator[tuple[int, Field, Finding]]:
        """(text index, field, finding) of each detector over the fields its triggers hit, in text
        order. A detector that raises is named in `failed` and not run again (a broken detector must
        not lose the others' results); past the deadline the rest are named in `skipped`."""
        broken: set[int] = set()
        for (text_index, d_index), triggers in sorted(grouped.items()):
            if d_index in broken:
                continue
            detector = plan.detectors[d_index]
            if deadline is not None and time.thread_time() > deadline:
                if detector.name not in skipped:
                    skipped.append(detector.name)
                continue
            scanned = field_at(text_index)
            try:
                found = list(detector.scan(scanned, frozenset(triggers), ctx))
            except Exception:
                broken.add(d_index)
                failed.append(detector.name)
                continue
            for finding in found:
                yield text_index, scanned, finding
