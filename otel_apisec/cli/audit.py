"""`otel-apisec audit verify`: check the hash chain of the audit trail; exit 0 intact, 1 tampered, 2 usage."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import orjson

from otel_apisec.audit import KEY_ENV, AuditKeyError, ChainFilesError, VerifyResult, chain_files, verify
from otel_apisec.audit.keys import key_from_env, key_from_file

__all__ = ["add_audit_parser", "run_audit"]

_DESCRIPTION = """\
The audit trail is an append-only, hash-chained JSONL log of findings and alerts: each line's hash
covers the line before, so an edited, removed, inserted or reordered record breaks the chain.

examples:
  otel-apisec audit verify /var/lib/otel-apisec/audit.jsonl
"""

_VERIFY_DESCRIPTION = f"""\
Verify an audit log: every record's hash, every link to the record before it, and the seq order,
across rotated files. Every problem is printed as FILE:LINE: seq N: what.

FILE is the live log (its rotated files FILE.NNNNNNNNNNNN come along), a directory holding one
audit log, or several files (a shell glob works: they are put in chain order).

The key of an HMAC-keyed log comes from --key-env NAME, --key-file PATH (trailing whitespace
stripped), or {KEY_ENV} when that is set. Without a key the chain is plain SHA-256.

The last line printed, head, is the hash of the last record: keep it elsewhere (a ticket, a SIEM)
to notice later if records were cut off the end, the one change a hash chain cannot show.

exit codes: 0 intact, 1 tampering or damage found, 2 usage error, unreadable file, not an audit log.

examples:
  otel-apisec audit verify audit.jsonl
  otel-apisec audit verify /var/lib/otel-apisec/audit/ --key-file /run/secrets/audit-key
  otel-apisec audit verify audit.jsonl* --key-env AUDIT_KEY --format json
  otel-apisec audit verify audit.jsonl --allow-partial-start      # old rotated files deleted (keep)
"""


def add_audit_parser(commands: Any) -> None:
    audit = commands.add_parser("audit", help="verify the tamper-evident audit trail", description=_DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    check = actions.add_parser("verify", help="check an audit log's hash chain", description=_VERIFY_DESCRIPTION,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("files", nargs="+", metavar="FILE", help="audit log, its directory, or its files")
    source = check.add_mutually_exclusive_group()
    source.add_argument("--key-env", metavar="NAME", help=f"read the HMAC key from environment variable NAME "
                                                          f"(default: {KEY_ENV} when set)")
    source.add_argument("--key-file", metavar="PATH", help="read the HMAC key from PATH")
    check.add_argument("--allow-partial-start", action="store_true",
                       help="accept a chain whose first files were deleted (rotation with keep)")
    check.add_argument("--format", choices=("human", "json"), default="human", help="output format (default: human)")
    check.add_argument("--no-progress", action="store_true", help="never show the progress bar on stderr")


def _key(args: argparse.Namespace) -> tuple[bytes | None, str]:
    if args.key_file:
        return key_from_file(args.key_file), f"HMAC-SHA256, key from {args.key_file}"
    name = args.key_env or (KEY_ENV if os.environ.get(KEY_ENV) else None)
    if name:
        return key_from_env(name), f"HMAC-SHA256, key from ${name}"
    return None, "SHA-256, no key"


def run_audit(args: argparse.Namespace, out: IO[str] = sys.stdout, err: IO[str] = sys.stderr) -> int:
    from otel_apisec.cli.scan import LARGE_INPUT_BYTES

    try:
        key, key_text = _key(args)
        files = chain_files(args.files)
        total = sum(_size(path) for path in files)
        show = not args.no_progress and err.isatty() and total >= LARGE_INPUT_BYTES
        if show:
            bar, update = _progress_bar(total)
            with bar:
                result = verify(files, key, allow_partial_start=args.allow_partial_start, progress=update)
        else:
            result = verify(files, key, allow_partial_start=args.allow_partial_start)
    except (AuditKeyError, ChainFilesError) as exc:
        print(f"otel-apisec audit verify: error: {exc}", file=err)
        return 2
    except OSError as exc:
        print(f"otel-apisec audit verify: error: cannot read {exc.filename or ''}: {exc.strerror or exc}", file=err)
        return 2
    if args.format == "json":
        out.write(orjson.dumps({**result.to_dict(), "key": key_text}, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        _print_human(result, key_text, out)
    return 0 if result.ok else 1


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # open() reports it


def _print_human(result: VerifyResult, key_text: str, out: IO[str]) -> None:
    width = max(len(f.path) for f in result.files)
    for summary in result.files:
        print(f"  {summary.path:<{width}}  {summary.records:>9,} records", file=out)
    for problem in result.problems:
        print(problem, file=out)
    if result.problem_count > len(result.problems):
        print(f"... and {result.problem_count - len(result.problems):,} more problems", file=out)
    if result.hint:
        print(f"hint: {result.hint}", file=out)
    files = f"{len(result.files)} file{'s' if len(result.files) != 1 else ''}"
    seqs = f", seq {result.first_seq}..{result.last_seq}" if result.records else ""
    if result.ok:
        start = " (its start was deleted: accepted by --allow-partial-start)" if result.partial_start else ""
        print(f"intact: {result.records:,} records in {files}{seqs}{start} ({key_text})", file=out)
    else:
        first = result.problems[0]
        print(f"TAMPERED: {result.problem_count:,} problem{'s' if result.problem_count != 1 else ''} in "
              f"{result.records:,} records, {files}{seqs} ({key_text}); first at {first.file}:{first.line}", file=out)
    if result.head:
        print(f"head: seq {result.last_seq} {result.head}", file=out)


def _progress_bar(total: int) -> tuple[Any, Callable[[int], None]]:
    """A rich progress bar on stderr, bytes verified of the chain's total, and its update function."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("verifying"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                   console=Console(stderr=True), transient=True)
    task = bar.add_task("verify", total=total)
    return bar, lambda done: bar.update(task, completed=done)
