"""Plain data shared by every layer: one HTTP exchange in, findings and derived facts out.

No OpenTelemetry import and no I/O here: detectors, the gateway and the scanner all speak
these types.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

__all__ = [
    "AuthFacts",
    "AuthOutcome",
    "AuthScheme",
    "Body",
    "Finding",
    "Headers",
    "HttpExchange",
    "Severity",
    "TokenFacts",
    "TokenState",
    "clean_text",
]


class Severity(enum.IntEnum):
    """Ordered so that `finding.severity >= Severity.HIGH` reads naturally."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            choices = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r} (choose from {choices})") from None


def clean_text(text: str) -> str:
    """`text` with lone surrogates (never valid on the wire) replaced by U+FFFD.

    Strings built by hand or by lenient JSON decoders can hold them, and UTF-8 encoders, RE2
    among them, refuse them. ASCII text, the common case, is returned as is at C speed.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        # A UTF-16 round trip joins split pairs back into their character and turns each
        # lone surrogate into one U+FFFD.
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


class Headers:
    """Multi-valued, case-insensitive header list that keeps the order it was given."""

    __slots__ = ("_items", "_index")

    def __init__(self, items: Iterable[tuple[str, str]] | Mapping[str, str] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._items: tuple[tuple[str, str], ...] = tuple((clean_text(str(k)), clean_text(str(v))) for k, v in pairs)
        index: dict[str, list[str]] = {}
        for name, value in self._items:
            index.setdefault(name.lower(), []).append(value)
        self._index = index

    def get(self, name: str, default: str | None = None) -> str | None:
        """First value of `name`, or `default`."""
        values = self._index.get(name.lower())
        return values[0] if values else default

    def get_all(self, name: str) -> list[str]:
        return list(self._index.get(name.lower(), ()))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def names(self) -> list[str]:
        """Lower-cased distinct names, in first-seen order."""
        return list(self._index)

    def __repr__(self) -> str:
        return f"Headers({list(self._items)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._items == other._items

    def __hash__(self) -> int:
        return hash(self._items)


@dataclass(frozen=True, slots=True)
class Body:
    """A captured body. `data` may be a bounded prefix of the real body (`truncated`)."""

    data: bytes
    content_type: str = ""
    truncated: bool = False

    @property
    def media_type(self) -> str:
        """`application/json` from `application/json; charset=utf-8`."""
        return self.content_type.split(";", 1)[0].strip().lower()

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class HttpExchange:
    """One API call as the detectors see it. Every field but `method` is optional."""

    method: str = "GET"
    scheme: str = "http"
    host: str = ""
    path: str = "/"
    route: str | None = None
    """Route template (`/users/{id}`) when the framework knows it."""
    query: tuple[tuple[str, str], ...] = ()
    """Decoded query pairs, repeated names kept."""
    request_headers: Headers = field(default_factory=Headers)
    cookies: tuple[tuple[str, str], ...] = ()
    """Request cookies as the producer gave them (HAR); when empty, detectors read the `Cookie`
    header through `detect.cookies.request_cookies`."""
    request_body: Body | None = None
    status: int | None = None
    response_headers: Headers = field(default_factory=Headers)
    response_body: Body | None = None
    client_address: str | None = None
    started_at: float | None = None
    """Unix time in seconds."""
    duration_ms: float | None = None
    parsed_cookies: tuple[tuple[str, str], ...] | None = field(default=None, init=False, repr=False, compare=False)
    """The `Cookie` headers as `detect.cookies.request_cookies` parsed them, kept so that every
    detector shares one parse; None until first asked."""

    def __post_init__(self) -> None:
        for name in ("method", "scheme", "host", "path"):
            object.__setattr__(self, name, clean_text(getattr(self, name)))
        if self.route is not None:
            object.__setattr__(self, "route", clean_text(self.route))
        for name in ("query", "cookies"):
            pairs = getattr(self, name)
            if not all(k.isascii() and v.isascii() for k, v in pairs):
                object.__setattr__(self, name, tuple((clean_text(k), clean_text(v)) for k, v in pairs))

    @property
    def is_tls(self) -> bool:
        return self.scheme.lower() in ("https", "wss")

    def keep_parsed_cookies(self, pairs: tuple[tuple[str, str], ...]) -> None:
        """Cache the parse of the `Cookie` headers (not compared or hashed: it follows from them)."""
        object.__setattr__(self, "parsed_cookies", pairs)


class AuthScheme(str, enum.Enum):
    BEARER = "bearer"
    BASIC = "basic"
    DIGEST = "digest"
    API_KEY = "api_key"
    SESSION_COOKIE = "session_cookie"
    OTHER = "other"
    NONE = "none"


class AuthOutcome(str, enum.Enum):
    SUCCESS = "success"
    FAILURE = "failure"
    ANONYMOUS = "anonymous"


class TokenState(str, enum.Enum):
    VALID = "valid"
    """Well-formed and inside its validity window (signature not verified)."""
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    MALFORMED = "malformed"
    NONE = "none"
    """No token was presented."""


@dataclass(frozen=True, slots=True)
class AuthFacts:
    """Who called and whether they authenticated. Never holds a raw credential."""

    scheme: AuthScheme = AuthScheme.NONE
    outcome: AuthOutcome = AuthOutcome.ANONYMOUS
    principal_hash: str | None = None
    """Keyed hash (HMAC) of the principal (JWT sub, Basic user, API key id, session id)."""
    is_login: bool = False
    """The request looks like a login attempt (route or body shape)."""
    login_succeeded: bool | None = None
    """For a login attempt: did it succeed (None when unknown or pending)."""
    login_pending: bool = False
    """For a login attempt: the answer asks for a second factor (neither a success nor a failure)."""


@dataclass(frozen=True, slots=True)
class TokenFacts:
    """Parsed state of a presented JWT. Claims that identify a person never appear here."""

    state: TokenState = TokenState.NONE
    alg: str | None = None
    expires_at: float | None = None
    issued_at: float | None = None
    not_before: float | None = None
    lifetime_s: float | None = None
    token_hash: str | None = None
    """Keyed hash of the whole token, to correlate reuse without keeping it."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule that fired at one place. Never carries the raw matched value."""

    rule_id: str
    kind: str
    severity: Severity
    owasp: str
    cwe: str
    location: str
    """`request.query.<name>`, `request.header.<name>`, `response.body.$.a[0].b`, ..."""
    message: str
    spans: tuple[tuple[int, int], ...] = ()
    """[start, end) offsets into the decoded text at `location` (PII and secrets)."""
    endpoint_scope: bool = False
    """A fact about the endpoint that answered (its posture: no HSTS, cookie flags), not about this
    exchange alone; copied from the rule's scope. The analyzer reports these once per endpoint
    response shape (`DetectConfig.posture_per_endpoint`)."""

    def to_dict(self) -> dict[str, object]:
        """The machine-readable contract used by `scan --format json|jsonl`; endpoint facts also
        carry `"scope": "endpoint"`."""
        record: dict[str, object] = {
            "rule_id": self.rule_id,
            "kind": self.kind,
            "severity": self.severity.label,
            "owasp": self.owasp,
            "cwe": self.cwe,
            "location": self.location,
            "spans": [list(s) for s in self.spans],
            "message": self.message,
        }
        if self.endpoint_scope:
            record["scope"] = "endpoint"
        return record
