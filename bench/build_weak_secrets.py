"""Regenerate `weak_secrets.txt` from the ranked lists of the `zxcvbn` PyPI package (MIT).

    pip install --target /tmp/zx zxcvbn==4.5.0
    PYTHONPATH=/tmp/zx python bench/build_weak_secrets.py

The output is most-likely-first: one of the most common leaked passwords, then one common English
word (Wikipedia and US film/TV subtitle frequencies, interleaved), and so on, so that a check that
stops early has tried the likeliest secrets. Not imported at run time; only the text file ships
as the list (see `weak_secrets.NOTICE` for provenance and licence).
"""

from __future__ import annotations

from itertools import zip_longest
from pathlib import Path

MAX_ENTRIES = 19_000
"""Entries in the generated file; the hand-written list in `detect/weak_secrets.py` comes on top."""
PASSWORDS_PER_WORD = 1


def _word(value: str) -> bool:
    return 3 <= len(value) <= 24 and value.isascii() and value.isalpha()


def _password(value: str) -> bool:
    return 1 <= len(value) <= 64 and value.isascii() and value.isprintable() and "\n" not in value


def build() -> list[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    passwords = [p for p in FREQUENCY_LISTS["passwords"] if _password(p)]
    words = [
        w
        for pair in zip_longest(FREQUENCY_LISTS["english_wikipedia"], FREQUENCY_LISTS["us_tv_and_film"])
        for w in pair
        if w is not None and _word(w)
    ]
    out: list[str] = []
    seen: set[str] = set()
    p_iter, w_iter = iter(passwords), iter(words)
    while len(out) < MAX_ENTRIES:
        batch = [next(p_iter, None) for _ in range(PASSWORDS_PER_WORD)] + [next(w_iter, None)]
        if all(v is None for v in batch):
            break
        for value in batch:
            if value is not None and value not in seen and len(out) < MAX_ENTRIES:
                seen.add(value)
                out.append(value)
    return out


def main() -> None:
    target = Path(__file__).resolve().parents[1] / "otel_apisec" / "data" / "weak_secrets.txt"
    entries = build()
    target.write_text("".join(f"{e}\n" for e in entries), encoding="utf-8")
    print(f"{target}: {len(entries)} entries, {target.stat().st_size} bytes")


if __name__ == "__main__":
    main()
