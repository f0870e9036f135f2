"""`otel-apisec scan`: run the analyzer over a HAR document or JSONL of HAR entries.

Machine formats (a contract other tools read):

* `jsonl`: one line per input entry, in input order:
  `{"index": N, "findings": [...]}`, or `{"index": N, "error": "...", "findings": []}`.
* `json`: one document `{"tool", "version", "entries", "results", "errors", "summary"}`.

Exit codes: 0 done, 1 a finding reached `--fail-on`, 2 usage error or unreadable input.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from typing import IO, BinaryIO

import orjson
from rich.console import Console

from otel_apisec import __version__
from otel_apisec.cli.report import HumanReport
from otel_apisec.compiled_cache import default_cache
from otel_apisec.detect import Analyzer, DetectConfig, load_catalog
from otel_apisec.ingest.har import Entry, EntryError, HarReader, NotHarError
from otel_apisec.model import Finding, HttpExchange, Severity

__all__ = ["InputProgress", "UsageError", "build_config", "detector_names", "open_input", "open_output", "run_scan", "warn"]

LARGE_INPUT_BYTES = 4 << 20
"""Inputs at least this big (or of unknown size, like stdin) get a progress bar on a terminal."""
MAX_PRINTED_ERRORS = 20
"""Entry errors printed one by one on stderr; the rest are only counted."""
_PROGRESS_EVERY = 64


class UsageError(Exception):
    """A bad option or unreadable input: one line on stderr, exit 2."""


def detector_names() -> list[str]:
    from otel_apisec.detect import catalog

    return sorted({d.name for d in catalog.FIELD_DETECTORS} | {d.name for d in catalog.EXCHANGE_DETECTORS})


def _name_list(values: list[str] | None, option: str, valid: list[str]) -> set[str]:
    names = {n.strip() for value in values or () for n in value.split(",") if n.strip()}
    unknown = sorted(names - set(valid))
    if unknown:
        raise UsageError(f"{option}: unknown detector {', '.join(unknown)} (valid: {', '.join(valid)})")
    return names


def _read_secrets(path: str) -> frozenset[str]:
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8")
    except OSError as exc:
        raise UsageError(f"--jwt-secrets: cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"--jwt-secrets: {path} is not UTF-8 text") from None
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    )


def build_config(
    enable: list[str] | None = None,
    disable: list[str] | None = None,
    jwt_secrets: str | None = None,
    max_body_bytes: int | None = None,
) -> DetectConfig:
    """The DetectConfig the command-line options describe (raises UsageError)."""
    valid = detector_names()
    enabled = _name_list(enable, "--enable", valid) or set(valid)
    enabled -= _name_list(disable, "--disable", valid)
    if not enabled:
        raise UsageError("--enable/--disable leave no detector to run")
    kwargs: dict[str, object] = {
        "enabled": None if enabled == set(valid) else frozenset(enabled),
        # Offline, completeness beats CPU protection: every distinct token is checked.
        "max_weak_secret_hmacs_per_s": None,
    }
    if jwt_secrets is not None:
        kwargs["weak_secrets"] = _read_secrets(jwt_secrets)
    if max_body_bytes is not None:
        kwargs["max_body_bytes"] = max_body_bytes
    return DetectConfig(**kwargs)  # type: ignore[arg-type]


class Summary:
    """Counts for the summary: entries, errors, findings by severity, rule and kind."""

    def __init__(self) -> None:
        self.entries = 0
        self.errors = 0
        self.by_severity: Counter[Severity] = Counter()
        self.by_rule: Counter[str] = Counter()
        self.by_kind: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.dropped = 0
        self.worst: Severity | None = None

    def add(self, findings: list[Finding]) -> None:
        for finding in findings:
            self.by_severity[finding.severity] += 1
            self.by_rule[finding.rule_id] += 1
            self.by_kind[finding.kind] += 1
            if self.worst is None or finding.severity > self.worst:
                self.worst = finding.severity

    def to_dict(self) -> dict[str, object]:
        return {
            "entries": self.entries,
            "scanned": self.entries - self.errors,
            "errors": self.errors,
            "findings": sum(self.by_rule.values()),
            "by_severity": {s.label: self.by_severity[s] for s in sorted(Severity, reverse=True)},
            "by_rule": dict(sorted(self.by_rule.items())),
            "by_kind": dict(sorted(self.by_kind.items())),
            "detector_failures": dict(sorted(self.failures.items())),
            "dropped_findings": self.dropped,
        }


# --- output writers: one per format ----------------------------------------------------------


def _error_text(error: EntryError) -> str:
    return f"line {error.line}: {error.message}" if error.line is not None else error.message


class _JsonlWriter:
    def __init__(self, out: IO[str]) -> None:
        self._out = out

    def entry(self, index: int, exchange: HttpExchange, findings: list[Finding]) -> None:
        line = orjson.dumps({"index": index, "findings": [f.to_dict() for f in findings]})
        self._out.write(line.decode() + "\n")

    def error(self, error: EntryError) -> None:
        line = orjson.dumps({"index": error.index, "error": _error_text(error), "findings": []})
        self._out.write(line.decode() + "\n")

    def finish(self, summary: Summary, source: str) -> None:
        pass


class _JsonWriter:
    """Serializes each result as it comes (compact bytes), assembles one document at the end."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self._results: list[bytes] = []
        self._errors: list[dict[str, object]] = []

    def entry(self, index: int, exchange: HttpExchange, findings: list[Finding]) -> None:
        self._results.append(orjson.dumps({"index": index, "findings": [f.to_dict() for f in findings]}))

    def error(self, error: EntryError) -> None:
        self._errors.append({"index": error.index, "error": _error_text(error)})

    def finish(self, summary: Summary, source: str) -> None:
        head = orjson.dumps({"tool": "otel-apisec", "version": __version__, "entries": summary.entries})
        doc = b"".join((
            head[:-1], b',"results":[', b",".join(self._results), b'],"errors":', orjson.dumps(self._errors),
            b',"summary":', orjson.dumps(summary.to_dict()), b"}\n",
        ))
        self._out.write(doc.decode())


class _HumanWriter:
    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self._report = HumanReport({rule.id: rule for rule in load_catalog()})

    def entry(self, index: int, exchange: HttpExchange, findings: list[Finding]) -> None:
        self._report.add(index, exchange, findings)

    def error(self, error: EntryError) -> None:
        pass  # already on stderr; counted in the summary

    def finish(self, summary: Summary, source: str) -> None:
        terminal = self._out.isatty() if hasattr(self._out, "isatty") else False
        console = Console(file=self._out, width=None if terminal else 160, highlight=False,
                          force_terminal=terminal or None, soft_wrap=False)
        self._report.render(console, source, summary.to_dict())


_Writer = _JsonlWriter | _JsonWriter | _HumanWriter
WRITERS: dict[str, Callable[[IO[str]], _Writer]] = {
    "human": _HumanWriter,
    "json": _JsonWriter,
    "jsonl": _JsonlWriter,
}


# --- progress --------------------------------------------------------------------------------


class InputProgress:
    """A rich progress bar on stderr: entries done and entries per second."""

    def __init__(self, reader: HarReader, size: int | None, label: str = "scanning") -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._reader = reader
        self._by_bytes = reader.total is None
        self._progress = Progress(
            TextColumn(label),
            BarColumn(),
            TextColumn("{task.fields[done]} entries, {task.fields[rate]} entries/s"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        total = (size or None) if self._by_bytes else reader.total
        self._task = self._progress.add_task("scan", total=total, done=0, rate="-")
        self._start = time.perf_counter()

    def __enter__(self) -> InputProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(self, done: int) -> None:
        elapsed = max(time.perf_counter() - self._start, 1e-9)
        completed = self._reader.bytes_read if self._by_bytes else done
        self._progress.update(self._task, completed=completed, done=done, rate=f"{done / elapsed:,.0f}")


# --- the command -----------------------------------------------------------------------------


def open_input(path: str, stack: ExitStack) -> tuple[BinaryIO, int | None]:
    if path == "-":
        return sys.stdin.buffer, None
    try:
        handle = stack.enter_context(open(path, "rb"))
        return handle, os.fstat(handle.fileno()).st_size
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def open_output(path: str | None, stack: ExitStack) -> IO[str]:
    if path is None or path == "-":
        return sys.stdout
    try:
        return stack.enter_context(open(path, "w", encoding="utf-8", newline="\n"))
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def warn(message: str) -> None:
    print(f"otel-apisec: {message}", file=sys.stderr)


def run_scan(
    path: str,
    output_format: str = "human",
    fail_on: Severity | None = None,
    config: DetectConfig | None = None,
    output: str | None = None,
    progress: bool = True,
) -> int:
    """Scan one input and write the report. Returns the exit code (raises UsageError)."""
    config = config or DetectConfig()
    analyzer = Analyzer(config, compiled_cache=default_cache())  # built once: compiles or loads patterns
    with ExitStack() as stack:
        stream, size = open_input(path, stack)
        try:
            reader = HarReader(stream, max_body_bytes=config.max_body_bytes)
        except NotHarError as exc:
            raise UsageError(f"{path}: {exc}") from None
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
        out = open_output(output, stack)
        writer = WRITERS[output_format](out)
        summary = Summary()
        show = progress and sys.stderr.isatty() and (size is None or size >= LARGE_INPUT_BYTES)
        bar = InputProgress(reader, size) if show else None
        try:
            if bar is not None:
                with bar:  # stopped before the report is written
                    _scan_entries(reader, analyzer, writer, summary, bar)
            else:
                _scan_entries(reader, analyzer, writer, summary, None)
        except BrokenPipeError:
            raise  # the reader of our output left; main() exits quietly
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
        if summary.errors > MAX_PRINTED_ERRORS:
            warn(f"{summary.errors - MAX_PRINTED_ERRORS} more unreadable entries not shown")
        for name, count in sorted(summary.failures.items()):
            warn(f"detector {name} failed on {count} entries; their findings are missing")
        writer.finish(summary, "stdin" if path == "-" else os.path.basename(path))
        out.flush()
    if fail_on is not None and summary.worst is not None and summary.worst >= fail_on:
        return 1
    return 0


def _scan_entries(
    reader: HarReader, analyzer: Analyzer, writer: _Writer, summary: Summary, bar: InputProgress | None
) -> None:
    for item in reader:
        summary.entries += 1
        if isinstance(item, Entry):
            try:
                analysis = analyzer.analyze(item.exchange)
            except Exception as exc:  # an analyzer bug must cost one entry, not the run
                item = EntryError(item.index, item.line, f"analysis failed ({type(exc).__name__})")
            else:
                summary.add(analysis.findings)
                summary.failures.update(analysis.failed)
                summary.dropped += analysis.dropped_findings
                writer.entry(item.index, item.exchange, analysis.findings)
        if isinstance(item, EntryError):
            summary.errors += 1
            if summary.errors <= MAX_PRINTED_ERRORS:
                warn(item.describe())
            writer.error(item)
        if bar is not None and summary.entries % _PROGRESS_EVERY == 0:
            bar.update(summary.entries)
