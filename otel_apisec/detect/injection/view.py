"""What every attack-class check looks at: one field's raw and decoded text, computed once."""

from __future__ import annotations

from dataclasses import dataclass

from otel_apisec.detect.fields import Field, Source
from otel_apisec.detect.injection.normalize import collapse_sql_comments, decode

__all__ = ["View", "make_view"]


@dataclass(frozen=True, slots=True)
class View:
    field: Field
    raw: str
    decoded: str
    """`raw` with encodings peeled (equal to `raw` when nothing was encoded)."""
    host: str = ""
    """The request's host (lower case, no port), '' when unknown."""

    @property
    def texts(self) -> tuple[str, ...]:
        """Distinct forms to check: raw first, then decoded."""
        return (self.raw,) if self.decoded == self.raw else (self.raw, self.decoded)

    @property
    def name(self) -> str:
        """The lower-cased parameter/key name the value sits under ('' when none)."""
        return (self.field.name or "").lower()

    @property
    def is_value(self) -> bool:
        return not self.field.is_key

    @property
    def in_path(self) -> bool:
        return self.field.source is Source.PATH

    def sql_forms(self) -> tuple[str, ...]:
        """Decoded text with SQL comments glued (`UN/**/ION`) and spaced (`SELECT/**/x`)."""
        glued = collapse_sql_comments(self.decoded, "")
        spaced = collapse_sql_comments(self.decoded, " ")
        return (glued,) if glued == spaced else (glued, spaced)


def make_view(field: Field, host: str = "") -> View:
    return View(field, field.text, decode(field.text), _bare_host(host))


def _bare_host(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0].rstrip(".") if host.count(":") == 1 else host.rstrip(".")
