"""ModSecurity v3 (PyPI `libmodsecurity`) running an OWASP Core Rule Set over the exchange a span
describes, in detection-only mode: which CRS rules match, and where.

What a span holds is not the request on the wire: only captured headers, bodies only where an
agent records them, the path already decoded by the server. So the request is rebuilt (`Host`
from the span, the path and query encoded again) and the CRS rules that judge a header's absence
are removed (`ABSENCE_RULES`): a span cannot tell a missing header from one not captured.

The matched text (`RuleMessage.match`, `.data`) is read only to find the variable's name and never
kept: a hit is its rule ID and a location.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from otel_apisec.model import HttpExchange

if TYPE_CHECKING:
    from libmodsecurity import RuleMessage, RulesSet

__all__ = [
    "ABSENCE_RULES", "DEFAULT_RULES_DIRS", "CrsEngine", "CrsError", "CrsHit", "find_rules_dir", "location_of",
]

DEFAULT_RULES_DIRS = (
    "/usr/share/modsecurity-crs/rules",  # Debian and Ubuntu `modsecurity-crs`
    "/usr/share/owasp-modsecurity-crs/rules",
    "/etc/modsecurity/crs/rules",
    "/usr/local/coreruleset/rules",
)
"""Where `rules_dir` is looked for when not set, first found wins."""

ABSENCE_RULES = (
    920180,  # POST without Content-Length or Transfer-Encoding (CRS 3)
    920280, 920290,  # missing or empty Host
    920310, 920311,  # empty Accept
    920320, 920330,  # missing or empty User-Agent
    920340,  # Content-Length without Content-Type
)
"""CRS rules that fire on a header's absence, which in a span means only that it was not captured."""

_OPTIONAL_FILES = ("REQUEST-910-IP-REPUTATION.conf",)
"""Rule files that need ModSecurity built with GeoIP/MaxMind: left out, with a note, when it is not."""
_SAFE_IN_PATH = "/:@!$&'()*+,;=-._~%"
_SAFE_IN_QUERY = "/:@!$'()*,;-._~?"
_MAX_URI = 8192
_MAX_HEADERS = 64
_MAX_NAME = 64
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.[]")
_FOUND_WITHIN = " found within "

# ModSecurity collections -> where in the exchange (the variable's name is appended when safe).
_COLLECTIONS = {
    "ARGS_GET": "request.query", "ARGS_GET_NAMES": "request.query", "ARGS_NAMES": "request.query",
    "ARGS_POST": "request.body", "ARGS_POST_NAMES": "request.body", "REQUEST_BODY": "request.body",
    "XML": "request.body", "FILES": "request.body", "FILES_NAMES": "request.body",
    "REQUEST_HEADERS": "request.header", "REQUEST_HEADERS_NAMES": "request.header",
    "REQUEST_COOKIES": "request.cookie", "REQUEST_COOKIES_NAMES": "request.cookie",
    "REQUEST_FILENAME": "request.path", "REQUEST_BASENAME": "request.path", "REQUEST_URI": "request.path",
    "REQUEST_URI_RAW": "request.path", "REQUEST_LINE": "request.path", "REQUEST_METHOD": "request.method",
    "REQUEST_PROTOCOL": "request.protocol", "RESPONSE_BODY": "response.body", "RESPONSE_HEADERS": "response.header",
}
_NAMED = frozenset({"ARGS_GET", "ARGS_POST", "REQUEST_HEADERS", "REQUEST_COOKIES", "RESPONSE_HEADERS"})


class CrsError(Exception):
    """The engine or its rules could not be loaded; the message says what to do."""


@dataclass(frozen=True, slots=True)
class CrsHit:
    rule_id: int
    severity: int
    """ModSecurity's: 2 critical, 3 error, 4 warning, 5 notice (0-7 in all)."""
    location: str


def find_rules_dir(configured: str = "") -> Path:
    """The CRS `rules` directory: `configured`, else the first of `DEFAULT_RULES_DIRS` that exists."""
    candidates = (configured,) if configured else DEFAULT_RULES_DIRS
    for candidate in candidates:
        path = Path(candidate)
        if path.is_dir() and any(path.glob("*.conf")):
            return path
    if configured:
        raise CrsError(f"rules_dir {configured!r}: no *.conf rule files there (point it at a CRS `rules` directory)")
    raise CrsError("no OWASP CRS rules found in " + ", ".join(DEFAULT_RULES_DIRS)
                   + "; install them (`apt-get install modsecurity-crs`) or set rules_dir to a CRS v3/v4 `rules` directory")


def location_of(data: str, exchange: HttpExchange) -> str:
    """Where a hit matched, from its log data (`… found within ARGS:q: …`); `request` when unknown.
    A variable name outside a plain charset, or longer than 64, is left out."""
    start = data.find(_FOUND_WITHIN)
    while start >= 0:
        rest = data[start + len(_FOUND_WITHIN): start + len(_FOUND_WITHIN) + 128]
        collection, _, tail = rest.partition(":")
        name = tail.partition(": ")[0] if tail else ""
        where = _COLLECTIONS.get(collection)
        if where is None and collection == "ARGS":
            query_names = {key for key, _ in exchange.query}
            where = "request.query" if name in query_names else "request.body"
            collection = "ARGS_GET" if name in query_names else "ARGS_POST"
        if where is not None:
            if collection in _NAMED and 0 < len(name) <= _MAX_NAME and _NAME_CHARS.issuperset(name):
                return f"{where}.{name.lower() if 'HEADERS' in collection else name}"
            return where
        start = data.find(_FOUND_WITHIN, start + 1)
    return "request"


def _setup(max_body_bytes: int, pcre_match_limit: int, paranoia_level: int, crs_version: int) -> str:
    """The engine's directives and the CRS setup variables (`crs-setup.conf`'s job): detection
    only, bounded bodies and regex work, JSON and XML bodies parsed, one paranoia level."""
    level = paranoia_level
    return "\n".join((
        "SecRuleEngine DetectionOnly",
        "SecRequestBodyAccess On",
        f"SecRequestBodyLimit {max_body_bytes}",
        f"SecRequestBodyNoFilesLimit {max_body_bytes}",
        "SecRequestBodyLimitAction ProcessPartial",
        "SecRequestBodyJsonDepthLimit 64",
        "SecArgumentsLimit 1000",
        "SecResponseBodyAccess On",
        "SecResponseBodyMimeType text/plain text/html text/xml application/json",
        f"SecResponseBodyLimit {max_body_bytes}",
        "SecResponseBodyLimitAction ProcessPartial",
        f"SecPcreMatchLimit {pcre_match_limit}",
        f"SecPcreMatchLimitRecursion {pcre_match_limit}",
        "SecAuditEngine Off",
        'SecDefaultAction "phase:1,log,auditlog,pass"',
        'SecDefaultAction "phase:2,log,auditlog,pass"',
        'SecRule REQUEST_HEADERS:Content-Type "@rx ^(?:application(?:/soap\\+|/)|text/)xml" '
        '"id:200000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML"',
        'SecRule REQUEST_HEADERS:Content-Type "@rx ^application/json" '
        '"id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"',
        f'SecAction "id:900990,phase:1,pass,nolog,t:none,setvar:tx.crs_setup_version={crs_version}"',
        f'SecAction "id:900000,phase:1,pass,nolog,t:none,setvar:tx.paranoia_level={level},'
        f'setvar:tx.executing_paranoia_level={level},setvar:tx.blocking_paranoia_level={level},'
        f'setvar:tx.detection_paranoia_level={level}"',
    ))


def _crs_version(files: Iterable[Path]) -> int:
    """`334` for rules that say `ver:'OWASP_CRS/3.3.4'` (REQUEST-901 checks the setup names one)."""
    for path in files:
        if "901" in path.name:
            text = path.read_text(errors="replace")
            at = text.find("OWASP_CRS/")
            if at >= 0:
                digits = "".join(ch for ch in text[at + 10: at + 20] if ch.isdigit())[:3]
                if digits:
                    return int(digits.ljust(3, "0"))
    return 330


class CrsEngine:
    """One ModSecurity engine and rule set; `inspect` is safe from several threads (one at a time)."""

    def __init__(
        self, rules_dir: Path, *, setup_file: Path | None = None, paranoia_level: int = 1,
        max_body_bytes: int = 65536, pcre_match_limit: int = 5000, removed_rules: Iterable[int] = (),
    ) -> None:
        try:
            from libmodsecurity import ModSecurity, RulesSet
        except ImportError as error:
            raise CrsError("the apisec/crs processor needs ModSecurity: pip install 'otel-apisec[crs]'") from error
        self.max_body_bytes = max_body_bytes
        files = sorted(rules_dir.glob("*.conf"))
        self.skipped: list[str] = []
        """Rule files left out (they need a ModSecurity feature this build lacks)."""
        rules = RulesSet()
        directives = _setup(max_body_bytes, pcre_match_limit, paranoia_level, _crs_version(files))
        self._load(rules, directives, "engine setup")
        if setup_file is not None:
            self._load_file(rules, setup_file)
        for path in files:
            if path.name in _OPTIONAL_FILES:
                probe = RulesSet()
                if probe.load_from_uri(str(path)) < 0:
                    self.skipped.append(path.name)
                    continue
            self._load_file(rules, path)
        removed = " ".join(str(rule_id) for rule_id in (*ABSENCE_RULES, *removed_rules))
        self._load(rules, f"SecRuleRemoveById {removed}", "rule removal")
        self.files = [path.name for path in files if path.name not in self.skipped]
        self._modsecurity = ModSecurity()
        self._modsecurity.set_connector_information("otel-apisec apisec/crs")
        self._rules = rules
        self._messages: list[RuleMessage] = []
        self._modsecurity.set_rule_message_callback(self._messages.append)
        self._lock = threading.Lock()

    @staticmethod
    def _load(rules: RulesSet, text: str, what: str) -> None:
        if rules.load(text) < 0:
            raise CrsError(f"ModSecurity refused the {what}: {rules.get_parser_error().strip()}")

    @staticmethod
    def _load_file(rules: RulesSet, path: Path) -> None:
        if not path.is_file():
            raise CrsError(f"{path}: no such file")
        if rules.load_from_uri(str(path)) < 0:
            error = rules.get_parser_error().strip()
            raise CrsError(f"{path}: ModSecurity cannot load it: {error}")

    def close(self) -> None:
        """Unregister the callback (the binding keeps the engine alive until then)."""
        self._modsecurity.set_rule_message_callback(None)

    def inspect(self, exchange: HttpExchange) -> list[CrsHit]:
        """The CRS rules that match the exchange, in the order they fired (the scoring rules too)."""
        from libmodsecurity import Transaction

        with self._lock:
            messages = self._messages
            messages.clear()
            transaction = Transaction(self._modsecurity, self._rules)
            transaction.process_connection(exchange.client_address or "0.0.0.0", 0, "0.0.0.0", 0)
            transaction.process_uri(_uri(exchange), exchange.method, "1.1")
            headers = list(exchange.request_headers)[:_MAX_HEADERS]
            names = {name.lower() for name, _ in headers}
            if exchange.host and "host" not in names:
                headers.append(("Host", exchange.host))
            body = exchange.request_body
            if body is not None and body.content_type and "content-type" not in names:
                headers.append(("Content-Type", body.content_type))
            for name, value in headers:
                transaction.add_request_header(name, value)
            transaction.process_request_headers()
            if body is not None:
                transaction.append_request_body(body.data[: self.max_body_bytes])
            transaction.process_request_body()
            if exchange.status is not None:
                response = exchange.response_body
                for name, value in list(exchange.response_headers)[:_MAX_HEADERS]:
                    transaction.add_response_header(name, value)
                if response is not None and response.content_type and exchange.response_headers.get("content-type") is None:
                    transaction.add_response_header("Content-Type", response.content_type)
                transaction.process_response_headers(exchange.status, "HTTP/1.1")
                if response is not None:
                    transaction.append_response_body(response.data[: self.max_body_bytes])
                    transaction.process_response_body()
            hits = [CrsHit(m.rule_id, m.severity, location_of(_log_data(m), exchange)) for m in messages]
            messages.clear()
            del transaction
        return hits


def _log_data(message: RuleMessage) -> str:
    """The message's log data; empty when it is not UTF-8 (the binding then raises on reading it:
    a transformation such as urlDecodeUni can turn `%bc` into a lone byte)."""
    try:
        return message.data
    except UnicodeDecodeError:
        return ""


def _uri(exchange: HttpExchange) -> str:
    """Path and query as on the wire: the decoded path encoded again where it must be."""
    uri = quote(exchange.path, safe=_SAFE_IN_PATH)
    if exchange.query:
        uri += "?" + "&".join(
            quote(name, safe=_SAFE_IN_QUERY) + "=" + quote(value, safe=_SAFE_IN_QUERY) for name, value in exchange.query
        )
    return uri[:_MAX_URI]
