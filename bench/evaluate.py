"""Detection quality of the injection detector: recall per payload family, false positives on
benign traffic.

Each payload is sent where it would really arrive (a URL-encoded query parameter value, and a
JSON body value) through the real Analyzer; it counts as detected when the family's expected
finding kind fires. Benign values (bench/benign.py) are placed the same way for the
false-positive rate.

    .venv/bin/python bench/evaluate.py [--corpora ../shared/corpora] [--benign 5000]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from benign import benign_values
from rich.console import Console
from rich.progress import track
from rich.table import Table

from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.model import HttpExchange
from otel_apisec.testing import make_exchange

REPO = Path(__file__).resolve().parent.parent

EXPECTED: dict[str, str] = {
    "sqli": "sqli",
    "xss": "xss",
    "cmdi": "command_injection",
    "nosqli": "nosqli",
    "ldap": "ldap_injection",
    "ssti": "ssti",
    "traversal": "path_traversal",
    "lfi": "path_traversal",
    "open_redirect": "open_redirect",
}
# Placeholder markers in the lists, replaced by what a real attacker would put there.
PLACEHOLDERS = {"{FILE}": "etc/passwd"}
BASE = "https://api.example.com/v1/items"
BENIGN_PARAMS = [
    "q",
    "name",
    "comment",
    "title",
    "description",
    "address",
    "note",
    "search",
    "tag",
    "filter",
]
BENIGN_HEADERS = {"agent": "User-Agent", "accept": "Accept", "url": "Referer"}


@dataclass
class Score:
    payloads: int = 0
    query: int = 0
    json: int = 0
    both: int = 0


def load_payloads(folder: Path) -> list[str]:
    """Non-empty, non-comment lines of every file in `folder`, placeholders filled."""
    lines: list[str] = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            for marker, value in PLACEHOLDERS.items():
                line = line.replace(marker, value)
            lines.append(line)
    return lines


def placements(family: str, payload: str) -> tuple[HttpExchange, HttpExchange]:
    """The payload as a query parameter value and as a JSON body value."""
    param, key = ("next", "redirect_to") if family == "open_redirect" else ("q", "q")
    if family == "open_redirect" and payload.startswith("/") and "?" in payload and "=" in payload:
        query = make_exchange("https://api.example.com" + payload)  # a complete request target
    else:
        query = make_exchange(f"{BASE}?{param}={quote(payload, safe='')}")
    body = make_exchange(BASE, "POST", json={key: payload, "page": 1})
    return query, body


def kinds(analyzer: Analyzer, exchange: HttpExchange) -> set[str]:
    analysis = analyzer.analyze(exchange)
    if analysis.failed:
        raise SystemExit(f"detectors raised: {analysis.failed}")
    return {f.kind for f in analysis.findings}


def recall(analyzer: Analyzer, payloads_dir: Path, show_misses: int) -> dict[str, Score]:
    scores: dict[str, Score] = {}
    for family, expected in EXPECTED.items():
        folder = payloads_dir / family
        if not folder.is_dir():
            continue
        score = scores[family] = Score()
        misses: list[str] = []
        for payload in track(load_payloads(folder), description=f"{family:>13}", transient=True):
            query, body = placements(family, payload)
            in_query = expected in kinds(analyzer, query)
            in_json = expected in kinds(analyzer, body)
            score.payloads += 1
            score.query += in_query
            score.json += in_json
            score.both += in_query and in_json
            if not in_query and len(misses) < show_misses:
                misses.append(payload)
        for miss in misses:
            print(f"  missed {family}: {miss[:160]!r}")
    return scores


def false_positives(
    analyzer: Analyzer, count: int, seed: int
) -> tuple[int, int, Counter[str], list[str]]:
    """(values that fired anywhere, values tried, kinds that fired, examples)."""
    values = benign_values(count, seed)
    fired_values = 0
    fired: Counter[str] = Counter()
    examples: Counter[str] = Counter()
    for i, value in enumerate(track(values, description="       benign", transient=True)):
        param = BENIGN_PARAMS[i % len(BENIGN_PARAMS)]
        exchanges = [
            make_exchange(f"{BASE}?{param}={quote(value, safe='')}"),
            make_exchange(BASE, "POST", json={param: value, "items": [{"value": value}]}),
        ]
        header = BENIGN_HEADERS.get(_kind_of(value))
        if header:
            exchanges.append(make_exchange(BASE, headers={header: value}))
        found = set().union(*(kinds(analyzer, e) for e in exchanges))
        if found:
            fired_values += 1
            fired.update(found)
            examples[f"{sorted(found)} {value[:100]!r}"] += 1
    return (
        fired_values,
        len(values),
        fired,
        [f"{n}x {text}" for text, n in examples.most_common(15)],
    )


def _kind_of(value: str) -> str:
    if value.startswith(("Mozilla/", "curl/", "python-", "okhttp", "Postman", "Go-http")):
        return "agent"
    if value.startswith("https://"):
        return "url"
    if "*/*" in value:
        return "accept"
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpora",
        type=Path,
        default=REPO.parent / "shared" / "corpora",
        help="folder holding payloads/<family>/ (default: ../shared/corpora)",
    )
    parser.add_argument("--benign", type=int, default=5000, help="benign values for the FP rate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--show-misses", type=int, default=0, help="print up to N missed payloads per family"
    )
    args = parser.parse_args(argv)
    payloads_dir = args.corpora / "payloads"
    if not payloads_dir.is_dir():
        print(f"error: no payload corpus at {payloads_dir} (pass --corpora PATH)", file=sys.stderr)
        return 2

    analyzer = Analyzer(DetectConfig(hmac_key=b"evaluate", enabled=frozenset({"injection"})))
    scores = recall(analyzer, payloads_dir, args.show_misses)
    fired, tried, fired_kinds, examples = false_positives(analyzer, args.benign, args.seed)

    table = Table(title="Injection detector recall (payload detected when its kind fires)")
    for column in ("family", "payloads", "detected", "recall", "query", "json body"):
        table.add_column(column, justify="left" if column == "family" else "right")
    for family, s in scores.items():
        table.add_row(
            family,
            str(s.payloads),
            str(s.both),
            f"{s.both / s.payloads:.1%}",
            f"{s.query / s.payloads:.1%}",
            f"{s.json / s.payloads:.1%}",
        )
    console = Console()
    console.print(table)
    console.print("detected = fired both as a query parameter value and as a JSON body value")
    console.print(
        f"false positives: {fired}/{tried} benign values = {fired / tried:.2%} "
        f"(query + JSON body + header placements); kinds: {dict(fired_kinds)}"
    )
    for example in examples:
        console.print(f"  FP {example}", markup=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
