"""Injection detectors for request fields: SQLi, XSS, path traversal, command injection, SSRF,
NoSQLi, SSTI, JNDI (Log4Shell), LDAP injection, open redirect, restricted files, code injection
(Java, Node.js, PHP) and prototype pollution.

Each attack class declares cheap triggers; a field runs a class's check only when one of that
class's triggers hit its raw text, or when an encoding trigger hit (then every check runs on the
decoded text, since the raw text cannot tell which class is hiding under the encoding). This
keeps the invariant that no finding exists without a trigger hit on the raw field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from otel_apisec.detect.api import DetectContext
from otel_apisec.detect.engine import Trigger
from otel_apisec.detect.fields import Direction, Field, Source
from otel_apisec.detect.injection import (
    code,
    command,
    ldap,
    nosql,
    prototype,
    redirect,
    restricted,
    sql,
    ssrf,
    template,
    traversal,
    xss,
)
from otel_apisec.detect.injection.view import View, make_view
from otel_apisec.detect.rule import Rule
from otel_apisec.detect.rules import injection as rules
from otel_apisec.model import Finding

__all__ = ["DETECTOR", "InjectionDetector"]

Check = Callable[[View], "str | None"]

# Escapes that hide any class: once one is present, every check runs on the decoded text.
ENCODING_TRIGGERS: tuple[Trigger, ...] = (
    Trigger(r"%[0-9a-fu]", caseless=True),  # plain literals (`%2`, `%u`) stay cheap on `%25` floods
    Trigger(r"&#x?[0-9a-f]|&(lt|gt|quot|apos|amp|colon|tab|newline|"
        r"sol|bsol|lpar|rpar|num|excl|period|semi|equals|dollar|"
        r"lbrack|rbrack|lbrace|rbrace|grave|commat|percnt|ast|vert|nbsp)\b", caseless=True),
    Trigger(r"\\(u[0-9a-f]{4}|u\{[0-9a-f]{4}\}|x[0-9a-f]{2}|[0-3][0-7]{2})", caseless=True),
    Trigger(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xef\xbc[\x80-\xbf]|"
        r"\xe2\x80[\x80-\x8f\xa8\xa9\xaf]|\xc2\xa0|\xe3\x80\x80"),
)


@dataclass(frozen=True, slots=True)
class _Family:
    rule: Rule
    triggers: tuple[Trigger, ...]
    check: Check
    applies: Callable[[Field], bool] | None = None
    """A cheap test on the field alone (its name, its source) run before any decoding."""


FAMILIES: tuple[_Family, ...] = (
    _Family(rules.SQLI, sql.TRIGGERS, sql.check),
    _Family(rules.XSS, xss.TRIGGERS, xss.check),
    _Family(rules.PATH_TRAVERSAL, traversal.TRIGGERS, traversal.check),
    _Family(rules.COMMAND_INJECTION, command.TRIGGERS, command.check),
    _Family(rules.SSRF, ssrf.TRIGGERS, ssrf.check),
    _Family(rules.NOSQLI, nosql.TRIGGERS, nosql.check),
    _Family(rules.SSTI, template.SSTI_TRIGGERS, template.check_ssti),
    _Family(rules.JNDI_INJECTION, template.JNDI_TRIGGERS, template.check_jndi),
    _Family(rules.LDAP_INJECTION, ldap.TRIGGERS, ldap.check),
    _Family(rules.OPEN_REDIRECT, redirect.TRIGGERS, redirect.check, redirect.applies),
    _Family(rules.RESTRICTED_FILE, restricted.TRIGGERS, restricted.check),
    _Family(rules.CODE_INJECTION, code.TRIGGERS, code.check),
    _Family(rules.PROTOTYPE_POLLUTION, prototype.TRIGGERS, prototype.check),
)
# A literal several classes start with is one trigger owned by all of them: a flood of it
# (`${` x 500k) then costs Hyperscan one pattern's matches, not one per class.
SHARED_TRIGGERS: tuple[tuple[Trigger, tuple[Rule, ...]], ...] = (
    (Trigger(r"\$\{|\{\$"), (rules.SSTI, rules.JNDI_INJECTION, rules.COMMAND_INJECTION)),
)


def _layout(
    families: tuple[_Family, ...],
) -> tuple[tuple[Trigger, ...], tuple[tuple[int, ...], ...], int]:
    """All triggers in one tuple, the family indices owning each, and where encodings start."""
    triggers: list[Trigger] = []
    owners: list[tuple[int, ...]] = []
    for index, family in enumerate(families):
        triggers.extend(family.triggers)
        owners.extend([(index,)] * len(family.triggers))
    index_of = {family.rule.id: index for index, family in enumerate(families)}
    for trigger, owning in SHARED_TRIGGERS:
        triggers.append(trigger)
        owners.append(tuple(index_of[rule.id] for rule in owning if rule.id in index_of))
    return tuple(triggers) + ENCODING_TRIGGERS, tuple(owners), len(triggers)


class InjectionDetector:
    """The `injection` field detector: request fields only (attacks arrive in requests)."""

    name = "injection"
    directions = frozenset({Direction.REQUEST})

    def __init__(self, families: tuple[_Family, ...] = FAMILIES) -> None:
        self.families = families
        self.triggers, self._owners, self._first_encoding = _layout(families)

    def families_for(self, hits: Iterable[int]) -> list[_Family]:
        """The families to check for these trigger hits (all of them when an encoding hit)."""
        indices: set[int] = set()
        for hit in hits:
            if hit >= self._first_encoding:
                return list(self.families)
            indices.update(self._owners[hit])
        return [self.families[i] for i in sorted(indices)]

    def scan(self, field: Field, hits: frozenset[int], ctx: DetectContext) -> Iterator[Finding]:
        if field.source is Source.HEADER and (field.name in _PROTOCOL_HEADERS or (field.name or "").startswith("sec-")):
            return
        families = [f for f in self.families_for(hits) if f.applies is None or f.applies(field)]
        if not families:
            return
        view = make_view(field, ctx.exchange.host)
        for family in families:
            message = family.check(view)
            if message is not None:
                yield family.rule.finding(field.location, message)


# Headers whose syntax the protocol fixes and that no application reads as data: `Accept: */*`
# on every request would otherwise look like an SQL comment. (Like the OWASP CRS, which scans
# User-Agent and Referer among headers; here every other header, custom ones included, stays.)
_PROTOCOL_HEADERS = frozenset({
    "accept", "accept-encoding", "accept-language", "accept-charset", "connection", "content-length",
    "cache-control", "pragma", "te", "upgrade-insecure-requests", "if-none-match", "if-modified-since",
    "priority", "dnt",
})

DETECTOR = InjectionDetector()
