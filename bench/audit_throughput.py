"""Throughput of the audit trail: `AuditLog.append` (records/s) and `verify` (records/s, MB/s), one core.

    .venv/bin/python bench/audit_throughput.py            # 100,000 records, about a minute
    .venv/bin/python bench/audit_throughput.py --quick    # 20,000 records

Records are shaped like `CorrelationFinding.record()` (about 700 bytes a line). Writes go to a
temporary directory (the page cache; `fsync=True` is timed on fewer records: it measures the
disk). Appends are from one thread; verify reads the files back (warm cache). Figures are the
median of 3 runs.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
from pathlib import Path

from otel_apisec.audit import AuditLog, verify

KEY = b"bench-key-" + b"x" * 22


def record(i: int) -> dict[str, object]:
    return {
        "rule_id": "APISEC-BOLA-001", "kind": "auth.bola_enumeration", "severity": "high", "owasp": "API1:2023",
        "owasp_title": "Broken Object Level Authorization", "cwe": "CWE-639",
        "rule_name": "One principal walks through many object IDs", "message": "42 distinct ids in 60 s",
        "time": "2025-01-01T00:00:00.000Z", "service_name": "orders", "trace_id": f"{i:032x}", "span_id": f"{i:016x}",
        "route": "/orders/{id}", "method": "GET",
        "subject": {"principal": hashlib.sha256(str(i % 97).encode()).hexdigest()[:32], "client": "203.0.113.7"},
        "evidence": {"distinct_ids": 42, "window_s": 60, "ratio": 0.93}, "group_key": f"bola:{i % 97}",
    }


def timed_append(directory: Path, records: list[dict[str, object]], key: bytes | None, fsync: bool) -> tuple[float, Path]:
    """(records/s, log path) for one fresh log."""
    path = Path(tempfile.mkdtemp(dir=directory)) / "audit.jsonl"
    log = AuditLog(path, key=key, fsync=fsync)
    start = time.perf_counter()
    for rec in records:
        log.append("finding", rec)
    elapsed = time.perf_counter() - start
    log.close()
    return len(records) / elapsed, path


def timed_verify(path: Path, key: bytes | None, count: int) -> float:
    start = time.perf_counter()
    result = verify(path, key)
    elapsed = time.perf_counter() - start
    assert result.ok and result.records == count, result.problems
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    count = 20_000 if parser.parse_args().quick else 100_000
    records = [record(i) for i in range(count)]
    print(f"{count:,} records, median of 3 runs")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for label, key in (("SHA-256", None), ("HMAC-SHA256", KEY)):
            runs = [timed_append(directory, records, key, False) for _ in range(3)]
            path = runs[0][1]
            size = sum(p.stat().st_size for p in path.parent.iterdir() if p.is_file())
            print(f"append  {label:<12} {statistics.median(r for r, _ in runs):>10,.0f} records/s"
                  f"   ({size / count:,.0f} bytes a line)")
            elapsed = statistics.median(timed_verify(path, key, count) for _ in range(3))
            print(f"verify  {label:<12} {count / elapsed:>10,.0f} records/s   ({size / elapsed / 1e6:,.0f} MB/s)")
        few = records[:2_000]
        rate = statistics.median(timed_append(directory, few, KEY, True)[0] for _ in range(3))
        print(f"append  HMAC + fsync {rate:>10,.0f} records/s   ({len(few):,} records, on the disk of {tmp})")


if __name__ == "__main__":
    main()
