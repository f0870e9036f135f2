"""The OWASP Core Rule Set family's rules (APISEC-CRS-NNN): what a CRS rule that matched means in
this catalog's terms, for the optional `apisec/crs` gateway processor (ModSecurity v3 running CRS).

One rule here per class of CRS rules, by the CRS rule-ID ranges (`REQUEST-942-…` holds 942000 to
942999). A CRS hit becomes a finding of the rule its ID maps to (`rule_for_crs_id`); the CRS IDs
themselves travel in `apisec.crs.rule_ids`. The anomaly-score evaluation and bookkeeping rules
(901, 905, 949, 959, 980, …) map to none: they say nothing of their own.
"""

from __future__ import annotations

import bisect

from otel_apisec.detect.rule import Rule, define
from otel_apisec.detect.rules import injection
from otel_apisec.model import Severity

__all__ = ["CRS_RULES", "rule_for_crs_id"]

_MISCONFIG = "API8:2023"


def _as_native(id: str, native: Rule, title: str) -> Rule:
    """A CRS class the native detectors also find: its kind, severity, OWASP category, CWE and
    remediation are the native rule's."""
    return define(id, native.kind, title, native.severity, native.owasp, native.cwe, native.remediation)


SCANNER = define(
    "APISEC-CRS-001", "scanner", "Security scanner or attack tool (CRS 913)", Severity.LOW, _MISCONFIG, "CWE-200",
    "Expect probing to follow; check the endpoints the scanner hit for the findings it was looking for.",
)
PROTOCOL_VIOLATION = define(
    "APISEC-CRS-002", "protocol_violation", "HTTP protocol violation (CRS 911, 920, 922)", Severity.LOW, _MISCONFIG,
    "CWE-20",
    "Reject malformed requests at the edge: invalid request lines, encodings, methods and multipart bodies.",
)
PROTOCOL_ATTACK = define(
    "APISEC-CRS-003", "protocol_attack",
    "HTTP protocol attack: request smuggling, response splitting, header injection (CRS 921)", Severity.HIGH,
    _MISCONFIG, "CWE-444",
    "Normalise requests at one proxy, refuse ambiguous Content-Length/Transfer-Encoding, never echo CR/LF into headers.",
)
PATH_TRAVERSAL = _as_native("APISEC-CRS-004", injection.PATH_TRAVERSAL, "Path traversal or local file access (CRS 930)")
RESTRICTED_FILE = _as_native("APISEC-CRS-005", injection.RESTRICTED_FILE, "Restricted file access (CRS 930130)")
REMOTE_FILE_INCLUSION = define(
    "APISEC-CRS-006", "remote_file_inclusion", "Remote file inclusion (CRS 931)", Severity.HIGH, _MISCONFIG, "CWE-98",
    "Never load code or templates from a URL the request names; allow-list what may be included.",
)
COMMAND_INJECTION = _as_native("APISEC-CRS-007", injection.COMMAND_INJECTION, "Remote command execution (CRS 932)")
PHP_INJECTION = define(
    "APISEC-CRS-008", "code_injection", "PHP injection (CRS 933)", Severity.CRITICAL, _MISCONFIG, "CWE-94",
    "Never evaluate, include or unserialize request data; disable dangerous PHP functions and wrappers.",
)
NODE_INJECTION = define(
    "APISEC-CRS-009", "code_injection", "Node.js injection (CRS 934)", Severity.CRITICAL, _MISCONFIG, "CWE-94",
    "Never deserialize request data with code-capable serializers (node-serialize); never eval request text.",
)
PROTOTYPE_POLLUTION = _as_native("APISEC-CRS-010", injection.PROTOTYPE_POLLUTION, "Prototype pollution (CRS 934130)")
XSS = _as_native("APISEC-CRS-011", injection.XSS, "Cross-site scripting (CRS 941)")
SQLI = _as_native("APISEC-CRS-012", injection.SQLI, "SQL injection (CRS 942)")
SESSION_FIXATION = define(
    "APISEC-CRS-013", "auth.session_fixation", "Session fixation (CRS 943)", Severity.HIGH, "API2:2023", "CWE-384",
    "Issue a new session identifier at login and ignore identifiers the client proposes.",
)
JAVA_INJECTION = define(
    "APISEC-CRS-014", "code_injection", "Java code injection or deserialization (CRS 944)", Severity.CRITICAL,
    _MISCONFIG, "CWE-502",
    "Never deserialize request data with Java serialization; disable expression evaluation on request values.",
)
DATA_LEAKAGE = define(
    "APISEC-CRS-015", "exposure.data_leakage", "Response leaks errors, listings or source (CRS 950-954)",
    Severity.MEDIUM, _MISCONFIG, "CWE-209",
    "Return generic errors, turn off directory listings and debug output in production.",
)
WEB_SHELL = define(
    "APISEC-CRS-016", "exposure.web_shell", "Response looks like a web shell (CRS 955)", Severity.CRITICAL,
    _MISCONFIG, "CWE-506",
    "Treat the host as compromised: find and remove the shell, then how it was uploaded.",
)
LDAP_INJECTION = _as_native("APISEC-CRS-017", injection.LDAP_INJECTION, "LDAP injection (CRS 921200)")

CRS_RULES: tuple[Rule, ...] = (
    SCANNER, PROTOCOL_VIOLATION, PROTOCOL_ATTACK, PATH_TRAVERSAL, RESTRICTED_FILE, REMOTE_FILE_INCLUSION,
    COMMAND_INJECTION, PHP_INJECTION, NODE_INJECTION, PROTOTYPE_POLLUTION, XSS, SQLI, SESSION_FIXATION, JAVA_INJECTION,
    DATA_LEAKAGE, WEB_SHELL, LDAP_INJECTION,
)

# Single IDs that differ from their range, then (first CRS ID, last CRS ID, rule), sorted and
# disjoint. CRS v3.3 and v4 share these ranges.
_SINGLE: dict[int, Rule] = {
    930130: RESTRICTED_FILE,
    934130: PROTOTYPE_POLLUTION,
    921200: LDAP_INJECTION,  # filed under protocol attacks in CRS 3.3
}
_RANGES: tuple[tuple[int, int, Rule], ...] = (
    (911000, 911999, PROTOCOL_VIOLATION),
    (913000, 913999, SCANNER),
    (920000, 920999, PROTOCOL_VIOLATION),
    (921000, 921999, PROTOCOL_ATTACK),
    (922000, 922999, PROTOCOL_VIOLATION),
    (930000, 930999, PATH_TRAVERSAL),
    (931000, 931999, REMOTE_FILE_INCLUSION),
    (932000, 932999, COMMAND_INJECTION),
    (933000, 933999, PHP_INJECTION),
    (934000, 934999, NODE_INJECTION),
    (941000, 941999, XSS),
    (942000, 942999, SQLI),
    (943000, 943999, SESSION_FIXATION),
    (944000, 944999, JAVA_INJECTION),
    (950000, 954999, DATA_LEAKAGE),
    (955000, 955999, WEB_SHELL),
)
_STARTS = [start for start, _end, _rule in _RANGES]


def rule_for_crs_id(crs_id: int) -> Rule | None:
    """The catalog rule a CRS rule ID reports as; None for scoring, bookkeeping and unknown IDs
    (a site's own rules, plugins)."""
    single = _SINGLE.get(crs_id)
    if single is not None:
        return single
    index = bisect.bisect_right(_STARTS, crs_id) - 1
    if index >= 0:
        start, end, rule = _RANGES[index]
        if start <= crs_id <= end:
            return rule
    return None
