"""Entry point of the `otel-apisec` console script (argparse subcommands `scan`, `rules`, `inventory`, `openapi`,
`report`, `gateway` and `audit`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from otel_apisec import __version__
from otel_apisec.detect import DetectConfig
from otel_apisec.model import Severity

__all__ = ["build_parser", "main"]

_SEVERITIES = [s.label for s in Severity]

_DESCRIPTION = """\
API security findings from captured HTTP traffic (HAR files or JSONL of HAR entries).

examples:
  otel-apisec scan session.har
  otel-apisec scan session.har --format jsonl > findings.jsonl
  otel-apisec scan - --format json < capture.jsonl
  otel-apisec scan session.har --fail-on high        # exit 1 in CI on high/critical
  otel-apisec rules
  otel-apisec inventory session.har --spec openapi.yaml   # endpoints, drift, grade per service
  otel-apisec openapi session.har -o openapi.yaml          # a spec rebuilt from the traffic
  otel-apisec report session.har -o report.html            # one offline HTML report
  otel-apisec gateway --forward http://jaeger:4317
  otel-apisec audit verify audit.jsonl               # exit 1 if the audit trail was tampered with
"""

_SCAN_DESCRIPTION = """\
Scan a HAR document or a JSONL file (one HAR entry object per line) for API security
issues. The format is detected from the content, not the file name. A HAR document is one
JSON value and is read whole into memory; JSONL is streamed line by line (memory stays
bounded, lines over 64 MiB are skipped with an error). Unreadable entries are reported on
stderr (index, and line for JSONL), skipped and counted; the scan goes on.

output formats:
  human  tables grouped by endpoint and severity, then by rule, and a summary (default)
  json   one document: {"tool", "version", "entries", "results": [{"index", "findings"}],
         "errors": [{"index", "error"}], "summary"}
  jsonl  one line per input entry, in input order: {"index": N, "findings": [...]}
         or {"index": N, "error": "...", "findings": []}

exit codes: 0 scanned, 1 a finding reached --fail-on, 2 usage error or unreadable input.

examples:
  otel-apisec scan otel_apisec/examples/demo.har
  otel-apisec scan traffic.jsonl --format jsonl -o findings.jsonl
  mitmdump ... | otel-apisec scan - --format jsonl
  otel-apisec scan session.har --fail-on high --disable pii,exposure
  otel-apisec scan session.har --jwt-secrets our-leaked-secrets.txt
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number of bytes")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="otel-apisec", description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"otel-apisec {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    scan = commands.add_parser(
        "scan", help="scan a HAR or JSONL capture", description=_SCAN_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    scan.add_argument("file", metavar="FILE", help="HAR file, JSONL of HAR entries, or - for stdin")
    scan.add_argument("--format", choices=("human", "json", "jsonl"), default="human",
                      help="output format (default: human)")
    scan.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE (default: stdout)")
    scan.add_argument("--fail-on", metavar="SEVERITY", choices=_SEVERITIES,
                      help=f"exit 1 when a finding has at least this severity ({'|'.join(_SEVERITIES)})")
    scan.add_argument("--enable", metavar="DETECTOR[,...]", action="append",
                      help="run only these detector families (repeatable; see --help of rules)")
    scan.add_argument("--disable", metavar="DETECTOR[,...]", action="append",
                      help="do not run these detector families (repeatable)")
    scan.add_argument("--jwt-secrets", metavar="FILE",
                      help="extra weak HMAC secrets to try on JWTs, one per line, # comments")
    scan.add_argument("--max-body-bytes", metavar="N", type=_positive_int,
                      help=f"scan at most N bytes of each body (default: {DetectConfig().max_body_bytes})")
    scan.add_argument("--no-progress", action="store_true",
                      help="never show the progress bar (shown on a terminal for large or piped input)")

    rules = commands.add_parser(
        "rules", help="list every detection rule",
        description="List every rule: ID, kind, severity, OWASP API 2023 category, CWE and title.\n\n"
                    "detector families (for scan --enable/--disable): injection, pii, secrets, tokens,\n"
                    "auth, posture, exposure\n\nexamples:\n  otel-apisec rules\n"
                    "  otel-apisec rules --format json | jq '.[].id'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rules.add_argument("--format", choices=("table", "json"), default="table",
                       help="table (default) or a JSON array of rules")

    from otel_apisec.cli.estate import add_estate_parsers

    add_estate_parsers(commands)
    from otel_apisec.cli.gateway import add_gateway_parser

    add_gateway_parser(commands)
    from otel_apisec.cli.audit import add_audit_parser

    add_audit_parser(commands)
    return parser


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from otel_apisec.cli.scan import UsageError, build_config, run_scan

    if args.command == "rules":
        from otel_apisec.cli.rules import run_rules

        return run_rules(args.format, sys.stdout)
    if args.command in ("inventory", "openapi", "report"):
        from otel_apisec.cli.estate import run_estate

        return run_estate(args)
    if args.command == "gateway":
        from otel_apisec.cli.gateway import run_gateway

        return run_gateway(args)
    if args.command == "audit":
        from otel_apisec.cli.audit import run_audit

        return run_audit(args)
    if args.command != "scan":
        parser.print_help(sys.stderr)
        return 2
    try:
        config = build_config(args.enable, args.disable, args.jwt_secrets, args.max_body_bytes)
        return run_scan(
            args.file,
            output_format=args.format,
            fail_on=Severity.parse(args.fail_on) if args.fail_on else None,
            config=config,
            output=args.output,
            progress=not args.no_progress,
        )
    except UsageError as exc:
        print(f"otel-apisec: error: {exc}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code instead of exiting."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return _run(args, parser)
    except KeyboardInterrupt:
        return 130
    except SystemExit as exc:  # rich exits this way when the reader of its output goes away
        return exc.code if isinstance(exc.code, int) else 1
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from failing at exit.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # what a shell reports for a process ended by SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
