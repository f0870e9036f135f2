"""The audit trail: the hash-chained JSONL writer, its verifier and `otel-apisec audit verify`."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from otel_apisec.audit import (
    GENESIS,
    AuditKeyError,
    AuditLog,
    AuditLogError,
    ChainFilesError,
    NotAnAuditLogError,
    VerifyResult,
    chain_files,
    verify,
)
from otel_apisec.audit.files import rotated_siblings

KEY = b"k" * 32
OTHER_KEY = b"o" * 32


def finding(i: int, **extra: object) -> dict[str, object]:
    """A record shaped like CorrelationFinding.record(): hashes and addresses only."""
    return {"rule_id": "APISEC-BOLA-001", "severity": "high", "message": f"finding {i}",
            "subject": {"principal": hashlib.sha256(str(i).encode()).hexdigest()[:16]},
            "evidence": {"distinct_ids": i, "ratio": i / 7}, "time": "2025-01-01T00:00:00.000Z", **extra}


def write_log(path: Path, count: int, key: bytes | None = None, **options: object) -> AuditLog:
    log = AuditLog(path, key=key, **options)
    for i in range(count):
        assert log.append("alert" if i % 5 == 0 else "finding", finding(i)) == log.last_seq
    log.close()
    return log


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def problems(result: VerifyResult) -> list[tuple[str, int, int | None, str]]:
    return [(Path(p.file).name, p.line, p.seq, p.kind) for p in result.problems]


# --- writing and verifying -----------------------------------------------------------------------


def test_many_records_verify_and_chain_from_genesis(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = write_log(path, 500)
    result = verify(path)
    assert result.ok, result.problems
    assert (result.records, result.first_seq, result.last_seq) == (500, 1, 500)
    assert result.head == log.head
    entries = [json.loads(line) for line in lines_of(path)]
    assert entries[0]["prev"] == GENESIS
    assert all(b["prev"] == a["hash"] for a, b in zip(entries, entries[1:], strict=False))
    assert [e["seq"] for e in entries] == list(range(1, 501))
    assert {e["kind"] for e in entries} == {"finding", "alert"}
    assert entries[3]["record"] == json.loads(json.dumps(finding(3)))
    assert entries[0]["time"].endswith("Z")


def test_a_correlation_finding_record_goes_in_as_emitted(tmp_path: Path) -> None:
    """The FindingSink contract: `emit(CorrelationFinding.record())` stores that dict, unchanged."""
    from otel_apisec.correlate.api import CorrelationFinding, Observation
    from otel_apisec.detect.auth import LOGIN_FAILED

    observation = Observation(time_s=1_700_000_000.25, method="POST", route="/login", status=401,
                              client="203.0.113.9", principal="5f1c0e3a9b7d2c4e", is_login=True,
                              trace_id="ab" * 16, span_id="cd" * 8)
    record = CorrelationFinding(LOGIN_FAILED, observation, {"principal": "5f1c0e3a9b7d2c4e"},
                                {"failures": 12, "window_s": 60.0}, "12 failed logins in 60 s").record()
    path = tmp_path / "audit.jsonl"
    with AuditLog(path, key=KEY) as log:
        log.emit(record)
        log.append("alert", {"alertname": "ApisecFinding", "rule_id": record["rule_id"], "status": "firing"})
    first, second = (json.loads(line) for line in lines_of(path))
    assert (first["kind"], first["record"]) == ("finding", record)
    assert (second["kind"], second["seq"], second["prev"]) == ("alert", 2, first["hash"])
    assert verify(path, KEY).ok


def test_the_documented_recipe_reproduces_every_hash(tmp_path: Path) -> None:
    """What the format docstring promises others: canonical JSON without `hash`, SHA-256 or HMAC."""
    for key in (None, KEY):
        path = tmp_path / f"audit-{key is not None}.jsonl"
        write_log(path, 3, key=key)
        log = AuditLog(path, key=key)
        log.append("finding", finding(9, note="café \u202e\x07"))  # non-ASCII, bidi and control text
        log.close()
        for raw in lines_of(path):
            assert raw.isascii()
            entry = json.loads(raw)
            body = json.dumps({k: v for k, v in entry.items() if k != "hash"}, sort_keys=True, separators=(",", ":"),
                              ensure_ascii=True).encode()
            expected = hashlib.sha256(body).hexdigest() if key is None else hmac.new(key, body, "sha256").hexdigest()
            assert entry["hash"] == expected
            assert raw == json.dumps(entry, sort_keys=True, separators=(",", ":")).encode() + b"\n"
        assert json.loads(lines_of(path)[-1])["record"]["note"] == "café \u202e\x07"


def test_edited_field_of_a_middle_record_is_caught_at_that_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_log(path, 100)
    lines = lines_of(path)
    lines[49] = lines[49].replace(b'"severity":"high"', b'"severity":"low"')
    path.write_bytes(b"".join(lines))
    result = verify(path)
    assert problems(result) == [("audit.jsonl", 50, 50, "digest")]
    assert "edited" in result.problems[0].message


def test_edit_with_a_recomputed_hash_breaks_the_next_link_and_needs_the_key_when_keyed(tmp_path: Path) -> None:
    for key in (None, KEY):
        path = tmp_path / f"audit-{key is not None}.jsonl"
        write_log(path, 20, key=key)
        lines = lines_of(path)
        entry = json.loads(lines[9])
        entry["record"]["severity"] = "low"
        body = {k: v for k, v in entry.items() if k != "hash"}
        entry["hash"] = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        lines[9] = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode() + b"\n"
        path.write_bytes(b"".join(lines))
        result = verify(path, key)
        # without the key the forged hash is not the record's HMAC: the record itself is flagged too
        expected = [("digest", 10), ("prev", 11)] if key else [("prev", 11)]
        assert [(kind, line) for _, line, _, kind in problems(result)] == expected


def test_deleted_line_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_log(path, 30)
    lines = lines_of(path)
    del lines[14]
    path.write_bytes(b"".join(lines))
    result = verify(path)
    assert problems(result) == [("audit.jsonl", 15, 16, "gap")]
    assert "from 14 to 16" in result.problems[0].message


def test_swapped_lines_are_caught_without_a_cascade(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_log(path, 30)
    lines = lines_of(path)
    lines[9], lines[10] = lines[10], lines[9]
    path.write_bytes(b"".join(lines))
    assert problems(verify(path)) == [("audit.jsonl", 10, 11, "gap"), ("audit.jsonl", 11, 10, "order")]


def test_truncated_tail_is_reported_and_a_clean_cut_changes_the_head(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = write_log(path, 10)
    data = path.read_bytes()
    path.write_bytes(data[:-40])
    assert problems(verify(path)) == [("audit.jsonl", 10, None, "truncated")]
    path.write_bytes(b"".join(lines_of(path)[:9]))  # cut at a line end: a chain cannot see it ...
    result = verify(path)
    assert result.ok and result.last_seq == 9
    assert result.head != log.head  # ... but a head kept elsewhere does


def test_reformatted_line_and_garbage_lines_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_log(path, 10)
    lines = lines_of(path)
    lines[2] = json.dumps(json.loads(lines[2])).encode() + b"\n"  # same content, spaces added
    lines[5] = b"not json at all\n"
    lines[7] = b'{"hash": 1}\n'
    path.write_bytes(b"".join(lines))
    result = verify(path)
    assert problems(result) == [("audit.jsonl", 3, 3, "canonical"), ("audit.jsonl", 6, None, "json"),
                                ("audit.jsonl", 8, None, "shape")]
    assert "missing field(s) kind, prev, record, seq, time" in result.problems[2].message


def test_wrong_or_missing_key_fails_with_a_hint(tmp_path: Path) -> None:
    keyed, plain = tmp_path / "keyed.jsonl", tmp_path / "plain.jsonl"
    write_log(keyed, 12, key=KEY)
    write_log(plain, 12)
    assert verify(keyed, KEY).ok
    wrong = verify(keyed, OTHER_KEY)
    assert wrong.problem_count == 12 and {p.kind for p in wrong.problems} == {"digest"}
    assert "wrong key" in (wrong.hint or "")
    missing = verify(keyed)
    assert missing.problem_count == 12 and "HMAC-keyed" in (missing.hint or "")
    not_keyed = verify(plain, KEY)
    assert not not_keyed.ok and "without a key" in (not_keyed.hint or "")


def test_keys_are_checked() -> None:
    with pytest.raises(AuditKeyError, match="at least 16"):
        AuditLog("/nonexistent/never-created.jsonl", key=b"short")


def test_bad_options_are_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_bytes must be a positive integer"):
        AuditLog(tmp_path / "a.jsonl", max_bytes=0)
    with pytest.raises(ValueError, match="keep must be"):
        AuditLog(tmp_path / "a.jsonl", keep=-1)
    with AuditLog(tmp_path / "a.jsonl") as log, pytest.raises(ValueError, match="kind must be one of finding, alert"):
        log.append("recovery", {})


# --- rotation ------------------------------------------------------------------------------------


def test_rotation_keeps_one_chain_across_files(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = write_log(path, 200, key=KEY, max_bytes=8_000)
    files = chain_files([path])
    assert len(files) >= 4 and files[-1] == path and log.rotations == len(files) - 1
    assert all(f.stat().st_size <= 8_000 for f in files)
    result = verify(path, KEY)
    assert result.ok, result.problems
    assert (result.records, [Path(f.path) for f in result.files]) == (200, files)
    first_of_second = json.loads(lines_of(files[1])[0])
    last_of_first = json.loads(lines_of(files[0])[-1])
    assert (first_of_second["seq"], first_of_second["prev"]) == (last_of_first["seq"] + 1, last_of_first["hash"])
    assert files[0].name == f"audit.jsonl.{last_of_first['seq']:012d}"
    # a shell glob lists the live file first; the directory form finds the same files
    assert verify([str(p) for p in sorted(tmp_path.glob("audit.jsonl*"))], KEY).ok
    assert [Path(f.path) for f in verify(tmp_path, KEY).files] == files


def test_tampering_in_a_rotated_file_names_that_file(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_log(path, 120, max_bytes=6_000)
    rotated = rotated_siblings(path)
    assert len(rotated) >= 3
    lines = lines_of(rotated[1])
    lines[3] = lines[3].replace(b'"finding ', b'"FINDING ')
    rotated[1].write_bytes(b"".join(lines))
    seq = json.loads(lines[3])["seq"]
    assert problems(verify(path)) == [(rotated[1].name, 4, seq, "digest")]


def test_deleted_rotated_file_and_pruned_start(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_log(path, 120, max_bytes=6_000)
    rotated = rotated_siblings(path)
    rotated[1].unlink()
    result = verify(path)
    assert [(name, line, kind) for name, line, _, kind in problems(result)] == [(rotated[2].name, 1, "gap")]

    pruned = tmp_path / "pruned" / "audit.jsonl"
    write_log(pruned, 120, max_bytes=6_000, keep=2)
    assert len(rotated_siblings(pruned)) == 2
    strict = verify(pruned)
    assert [(p.kind, p.line) for p in strict.problems] == [("start", 1)]
    assert "--allow-partial-start" in strict.problems[0].message
    lenient = verify(pruned, allow_partial_start=True)
    assert lenient.ok and lenient.partial_start and lenient.first_seq > 1 and lenient.last_seq == 120


# --- restart, failures, concurrency --------------------------------------------------------------


def test_reopen_resumes_seq_and_prev(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    first = write_log(path, 7, key=KEY)
    with AuditLog(path, key=KEY) as log:
        assert (log.last_seq, log.head) == (7, first.head)
        assert log.append("finding", finding(8)) == 8
    result = verify(path, KEY)
    assert result.ok and result.last_seq == 8
    with open(path, "ab") as handle:
        handle.write(b'{"hash":"01')  # a torn line too: a refused writer must not even cut it
    before = path.read_bytes()
    with pytest.raises(AuditLogError, match="cannot be continued.*another key"):
        AuditLog(path, key=OTHER_KEY)
    assert path.read_bytes() == before
    other = tmp_path / "findings.jsonl"
    other.write_text('{"rule_id": "X"}\n')
    with pytest.raises(AuditLogError, match="not an audit record: missing field"):
        AuditLog(other)
    assert other.read_text() == '{"rule_id": "X"}\n'


def test_reopen_after_a_crash_right_after_rotation(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_log(path, 10)
    path.rename(tmp_path / "audit.jsonl.000000000010")  # renamed, new file not yet created
    with AuditLog(path) as log:
        assert log.append("finding", finding(11)) == 11
    result = verify(path)
    assert result.ok and len(result.files) == 2 and result.last_seq == 11


def test_torn_last_line_is_cut_and_recorded_on_reopen(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "audit.jsonl"
    write_log(path, 5)
    with open(path, "ab") as handle:
        handle.write(b'{"hash":"0123')  # a crash mid-write
    with AuditLog(path) as log:
        assert log.append("finding", finding(6)) == 7
    assert "incomplete last line (13 bytes" in caplog.text
    entries = [json.loads(line) for line in lines_of(path)]
    assert entries[5]["kind"] == "recovery" and entries[5]["record"]["torn_bytes"] == 13
    assert verify(path).ok


def test_a_record_json_cannot_hold_is_counted_and_the_loss_recorded(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as log:
        assert log.append("finding", finding(1)) == 1
        assert log.append("finding", {"ratio": float("nan")}) is None
        assert log.append("finding", {"ids": {1, 2}}) is None
        assert log.failed == 2
        assert log.append("finding", finding(2)) == 3
    entries = [json.loads(line) for line in lines_of(path)]
    assert [e["kind"] for e in entries] == ["finding", "recovery", "finding"]
    assert entries[1]["record"]["lost_records"] == 2
    assert verify(path).ok


_DISK_FULL = """
import resource, signal, sys
from otel_apisec.audit import AuditLog
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
log = AuditLog(sys.argv[1])
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (3000, hard))
results = [log.append("finding", {"n": i, "pad": "x" * 200}) for i in range(20)]
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
results.append(log.append("finding", {"n": "after"}))
log.close()
print(results.count(None), log.failed, results[-1])
"""


def test_a_real_write_failure_leaves_a_valid_chain(tmp_path: Path) -> None:
    """A file-size limit (EFBIG, like a full disk) cuts a write short: the partial line is removed,
    the loss counted, and the next record after the limit is lifted states it."""
    path = tmp_path / "audit.jsonl"
    done = subprocess.run([sys.executable, "-c", _DISK_FULL, str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lost, failed, last_seq = done.stdout.split()
    assert int(lost) == int(failed) > 0 and last_seq != "None"
    assert "a record was not written" in done.stderr
    entries = [json.loads(line) for line in lines_of(path)]
    assert entries[-2]["kind"] == "recovery"  # the loss is stated before the next record
    assert sum(e["record"]["lost_records"] for e in entries if e["kind"] == "recovery") == int(lost)
    assert verify(path).ok


def test_threads_appending_leave_one_valid_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, key=KEY, max_bytes=20_000)
    threads = [threading.Thread(target=lambda t=t: [log.append("finding", {"thread": t, "i": i}) for i in range(150)])
               for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    result = verify(path, KEY)
    assert result.ok, result.problems
    assert log.stats() == {"written": 1200, "failed": 0, "rotations": len(result.files) - 1, "last_seq": 1200}
    assert result.records == 1200
    assert len(result.files) > 3
    seen = sorted((json.loads(line)["record"]["thread"], json.loads(line)["record"]["i"])
                  for f in result.files for line in lines_of(Path(f.path)))
    assert seen == [(t, i) for t in range(8) for i in range(150)]


def test_one_writer_per_log(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditLog(path), pytest.raises(AuditLogError, match="in use by another writer"):
        AuditLog(path)
    AuditLog(path).close()  # released on close


def test_what_is_not_an_audit_log(tmp_path: Path) -> None:
    other = tmp_path / "findings.jsonl"
    other.write_text('{"rule_id": "X"}\n')
    with pytest.raises(NotAnAuditLogError, match="not an audit log"):
        verify(other)
    with pytest.raises(ChainFilesError, match="no such file"):
        verify(tmp_path / "missing.jsonl")
    write_log(tmp_path / "a.jsonl", 2)
    write_log(tmp_path / "b.jsonl", 2)
    with pytest.raises(ChainFilesError, match=r"2 audit logs \(a.jsonl, b.jsonl\)"):
        verify(tmp_path)


# --- the command ---------------------------------------------------------------------------------


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "OTEL_APISEC_AUDIT_KEY"} | (env or {})
    return subprocess.run([sys.executable, "-m", "otel_apisec", "audit", "verify", *args],
                          capture_output=True, text=True, timeout=60, env=environ)


def test_cli_exit_codes(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_log(path, 60, key=KEY, max_bytes=4_000)
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY + b"\n")

    intact = run_cli(str(path), "--key-file", str(key_file))
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "intact: 60 records in" in intact.stdout and "HMAC-SHA256" in intact.stdout
    assert intact.stdout.count("audit.jsonl") >= 3  # every file checked is listed

    by_default_env = run_cli(str(tmp_path), env={"OTEL_APISEC_AUDIT_KEY": KEY.decode()})
    assert by_default_env.returncode == 0, by_default_env.stdout

    rotated = rotated_siblings(path)[0]
    lines = lines_of(rotated)
    lines[1] = lines[1].replace(b'"high"', b'"none"')
    rotated.write_bytes(b"".join(lines))
    tampered = run_cli(str(path), "--key-env", "AUDIT_KEY", env={"AUDIT_KEY": KEY.decode()})
    assert tampered.returncode == 1
    assert f"{rotated}:2: seq 2: record edited" in tampered.stdout and "TAMPERED: 1 problem" in tampered.stdout

    as_json = run_cli(str(path), "--key-file", str(key_file), "--format", "json")
    report = json.loads(as_json.stdout)
    assert as_json.returncode == 1 and report["ok"] is False and report["problems"][0]["line"] == 2

    wrong_key = run_cli(str(path), "--key-env", "AUDIT_KEY", env={"AUDIT_KEY": OTHER_KEY.decode()})
    assert wrong_key.returncode == 1 and "wrong key?" in wrong_key.stdout

    for args, env, message in [
        ((str(tmp_path / "nope.jsonl"),), None, "no such file"),
        ((str(key_file),), None, "is not an audit log"),
        ((str(path), "--key-env", "AUDIT_KEY"), None, "AUDIT_KEY is not set"),
        ((str(path), "--key-env", "AUDIT_KEY"), {"AUDIT_KEY": "short"}, "at least 16"),
    ]:
        done = run_cli(*args, env=env)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
