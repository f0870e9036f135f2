"""The injection family's rules: one per attack class, IDs APISEC-INJ-001 onwards."""

from __future__ import annotations

from otel_apisec.detect.rule import define
from otel_apisec.model import Severity

__all__ = [
    "CODE_INJECTION",
    "COMMAND_INJECTION",
    "JNDI_INJECTION",
    "LDAP_INJECTION",
    "NOSQLI",
    "OPEN_REDIRECT",
    "PATH_TRAVERSAL",
    "PROTOTYPE_POLLUTION",
    "RESTRICTED_FILE",
    "SQLI",
    "SSRF",
    "SSTI",
    "XSS",
]

_INJECTION = "API8:2023"

SQLI = define(
    "APISEC-INJ-001", "sqli", "SQL injection attempt", Severity.CRITICAL, _INJECTION, "CWE-89",
    "Use parameterized queries or an ORM; never build SQL from request text.",
)
XSS = define(
    "APISEC-INJ-002", "xss", "Cross-site scripting attempt", Severity.HIGH, _INJECTION, "CWE-79",
    "Encode output for its HTML/JS context and set a strict Content-Security-Policy.",
)
PATH_TRAVERSAL = define(
    "APISEC-INJ-003", "path_traversal", "Path traversal or local file inclusion attempt",
    Severity.HIGH, _INJECTION, "CWE-22",
    "Resolve paths against a fixed base directory and reject results outside it; prefer IDs to file names.",
)
COMMAND_INJECTION = define(
    "APISEC-INJ-004", "command_injection", "OS command injection attempt", Severity.CRITICAL,
    _INJECTION, "CWE-78",
    "Never pass request text to a shell; call programs with an argument list and an allow-list.",
)
SSRF = define(
    "APISEC-INJ-005", "ssrf", "Server-side request forgery attempt (internal or metadata address)",
    Severity.HIGH, "API7:2023", "CWE-918",
    "Fetch only allow-listed hosts, resolve and re-check the IP, and block internal and metadata ranges.",
)
NOSQLI = define(
    "APISEC-INJ-006", "nosqli", "NoSQL operator injection attempt", Severity.HIGH, _INJECTION,
    "CWE-943",
    "Validate input types (reject objects where scalars are expected) and strip `$` operators.",
)
SSTI = define(
    "APISEC-INJ-007", "ssti", "Server-side template injection attempt", Severity.CRITICAL,
    _INJECTION, "CWE-1336",
    "Never render request text as a template; pass it as data to a sandboxed template.",
)
JNDI_INJECTION = define(
    "APISEC-INJ-008", "jndi_injection", "JNDI lookup injection attempt (Log4Shell)",
    Severity.CRITICAL, _INJECTION, "CWE-917",
    "Upgrade Log4j to 2.17.1 or later and disable message lookups; block outbound LDAP/RMI.",
)
LDAP_INJECTION = define(
    "APISEC-INJ-009", "ldap_injection", "LDAP filter injection attempt", Severity.HIGH, _INJECTION,
    "CWE-90",
    "Escape LDAP filter metacharacters (RFC 4515) in every value placed in a filter.",
)
OPEN_REDIRECT = define(
    "APISEC-INJ-010", "open_redirect", "Open redirect attempt", Severity.HIGH, _INJECTION, "CWE-601",
    "Redirect only to relative paths or allow-listed hosts; reject scheme-relative and script URLs.",
)
RESTRICTED_FILE = define(
    "APISEC-INJ-011", "restricted_file",
    "Request for a restricted file (secrets, version control, configuration, backup or dump)",
    Severity.HIGH, _INJECTION, "CWE-552",
    "Serve only a public directory; keep .env, .git, credentials, configuration and backups out of the "
    "web root, and deny dotfiles and backup extensions at the server or gateway.",
)
CODE_INJECTION = define(
    "APISEC-INJ-012", "code_injection",
    "Code injection attempt into the application runtime (Java, Node.js or PHP)",
    Severity.CRITICAL, _INJECTION, "CWE-94",
    "Never evaluate request text (eval, OGNL/EL/SpEL, unserialize, node-serialize); deserialize only "
    "allow-listed types and bind request parameters to explicit fields, never to class properties.",
)
PROTOTYPE_POLLUTION = define(
    "APISEC-INJ-013", "prototype_pollution",
    "Prototype pollution attempt (__proto__ or constructor.prototype)", Severity.HIGH, _INJECTION,
    "CWE-1321",
    "Reject __proto__, constructor and prototype keys when merging or setting request data; use "
    "Object.create(null) or Map for dictionaries and freeze Object.prototype.",
)
