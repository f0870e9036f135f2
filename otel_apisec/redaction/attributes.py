"""Masking over SDK values: the in-process span processor's attributes and the log exporter's
bodies and attributes. `edit_strings` is the one walk over nested values (mappings, sequences,
bytes); span attributes are flat by the SDK's contract, so `Redactor.value` edits those directly.

`Redactor` masks one exchange's exposed values (credentials presented, PII and secrets found),
raw or percent-encoded, plus the rules every text gets (`rules.mask_credentials`), wherever they
appear; credential header attributes whole, URL attributes' sensitive query values and user-info.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from otel_apisec import attributes as A
from otel_apisec.redaction.rules import is_credential_header_attribute, mask_credentials, mask_url

__all__ = ["MAX_DEPTH", "Redactor", "edit_strings"]

MAX_DEPTH = 16
"""Nesting of mappings and sequences walked; a deeper container is masked whole (as in OTLP)."""


def _never(_key: str) -> bool:
    return False


def edit_strings(value: object, edit: Callable[[str], str], whole: Callable[[str], bool] = _never, depth: int = 0) -> Any:
    """`value` with `edit` applied to each string in it, in a fixed order (so a second walk with
    other edits meets the strings in the same order). A mapping's value under a key for which
    `whole(key)` holds becomes `***`; bytes are edited as UTF-8 text and become `***` when that
    changes them (their other bytes may not be text); sequences keep their type."""
    kind = type(value)  # exact types first: span attributes are str or tuples of str (an ABC check costs more)
    if kind is str:
        return edit(value)  # type: ignore[arg-type]
    if kind is tuple or kind is list:
        if depth > MAX_DEPTH:
            return A.REDACTED
        return kind(edit(item) if type(item) is str else edit_strings(item, edit, whole, depth + 1)
                    for item in value)  # type: ignore[attr-defined]
    if isinstance(value, str):
        return edit(value)
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
        return value if edit(text) == text else A.REDACTED
    if isinstance(value, (Mapping, list, tuple)) and depth > MAX_DEPTH:
        return A.REDACTED
    if isinstance(value, Mapping):
        return {key: A.REDACTED if whole(str(key)) else edit_strings(item, edit, whole, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(edit_strings(item, edit, whole, depth + 1) for item in value)
    return value


class Redactor:
    """Masks one exchange's exposed values (and the always-sensitive places) in span data.

    `strict` is for a request span whose exchange could not be analysed: its exposed values are
    unknown, so every query value in URL attributes is masked, whatever its key.
    """

    def __init__(self, exposed: Iterable[str] = (), strict: bool = False) -> None:
        self._strict = strict
        variants: set[str] = set()
        for value in exposed:
            variants.update({value, quote(value, safe=""), quote_plus(value, safe=""), quote(value)})
        # Longest first, so a value that contains another is masked whole.
        self._values = sorted(variants, key=len, reverse=True)

    def text(self, text: str) -> str:
        text = mask_credentials(text)
        for value in self._values:
            if value in text:
                text = text.replace(value, A.REDACTED)
        return text

    def url(self, text: str) -> str:
        """A URL attribute's value: sensitive query values (every one, `strict`) and user-info, then `text`."""
        return self.text(mask_url(text, self._strict))

    def value(self, key: str, value: object) -> object:
        """One attribute's value, by its key's rule."""
        if is_credential_header_attribute(key):
            return (A.REDACTED,) * len(value) if isinstance(value, (list, tuple)) else A.REDACTED
        if isinstance(value, str):
            return self.url(value) if key in A.URL_ATTRIBUTES else self.text(value)
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], str):
            return tuple(self.text(item) for item in value)  # the SDK's flat sequence: no walk needed
        if isinstance(value, (int, float)) or not value:  # bool is an int
            return value
        return edit_strings(value, self.text)  # anything nested (log-style values): the shared walk

    def attributes(self, attributes: Mapping[str, Any] | None) -> dict[str, Any]:  # values keep their attribute types
        return {key: self.value(key, value) for key, value in (attributes or {}).items()}
