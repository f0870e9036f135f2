"""`otel-apisec inventory`, `openapi` and `report`: the API estate of recorded traffic.

Each input (HAR or JSONL of HAR entries, read as `scan` reads them) is analysed entry by entry;
each entry's `CallFacts` feed one `Inventory`, keyed by service (the request's host, or
`--service`). The snapshot is set against the specs given with `--spec`, graded, and written as
the JSON contract, a table, OpenAPI documents or one HTML report.

Evidence for recorded traffic is the entry index, counted across the inputs in the order given
(with one input it is the index `scan` prints).

Exit codes: 0 done, 2 usage error (bad option, unreadable input or spec), one line on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

import orjson

from otel_apisec.cli.scan import (
    LARGE_INPUT_BYTES,
    MAX_PRINTED_ERRORS,
    InputProgress,
    UsageError,
    build_config,
    open_input,
    open_output,
    warn,
)

if TYPE_CHECKING:  # the estate is imported when a command runs, not for every `otel-apisec` start
    from otel_apisec.estate.inventory import Estate, Inventory, ServiceEstate
    from otel_apisec.estate.spec import ApiSpec

__all__ = ["COMMANDS", "Traffic", "add_estate_parsers", "read_traffic", "run_estate"]

COMMANDS = ("inventory", "openapi", "report")
_PROGRESS_EVERY = 64

_INPUTS_HELP = "HAR files or JSONL of HAR entries (- for stdin), read as `scan` reads them"
_SPEC_HELP = ("an OpenAPI 2, 3.0 or 3.1 document (YAML or JSON) for a service: SERVICE=FILE, or FILE alone when "
              "the traffic has one service or --service is given (repeatable)")
_SERVICE_HELP = "put all the traffic under this service name (default: each request's host)"

_INVENTORY_DESCRIPTION = """\
The API estate of recorded traffic: every service (the request's host, or --service) and
endpoint (method + route template, inferred from raw paths), with calls, status codes, auth
schemes, unauthenticated successes, PII types, findings by severity, parameters, the governance
grade per service and endpoint, and, given a spec, each endpoint's status against it
(documented, shadow, zombie, orphan) and its parameter drift.

output formats:
  table  per service: grade and score, then its endpoints (default)
  json   the inventory contract, as the gateway's GET /api/v1/inventory serves it:
         {"generated_at", "services": [{"service", "grade", "score", "spec",
          "endpoints": [{"method", "route", "spec_status", "calls", "first_seen", "last_seen",
          "status_codes", "auth_schemes", "unauthenticated_calls", "unauthenticated_success",
          "pii_types", "findings", "grade", "score", "parameters", ...}]}],
          "inputs": [{"file", "first_entry", "entries", "unreadable"}]}
         Evidence (`example.entry`) is the entry index across the inputs, in the order given.

Values never appear: only names, types, counts and keyed hashes.

exit codes: 0 done, 2 usage error, unreadable input or unreadable spec.

examples:
  otel-apisec inventory session.har
  otel-apisec inventory session.har --spec petstore.yaml --format json -o inventory.json
  otel-apisec inventory a.har b.jsonl --spec api.example.com=openapi.yaml --spec pay.example.com=pay.json
  otel-apisec inventory capture.jsonl --service shop --spec shop-v2.yaml
"""

_OPENAPI_DESCRIPTION = """\
An OpenAPI 3.1 document per service, rebuilt from recorded traffic alone: paths, methods,
parameters with their types, request and response schemas, the security schemes seen, and
x-first-seen / x-last-seen per operation. Each document validates with openapi-spec-validator.

output:
  YAML by default; JSON when FILE ends in .json.
  One service: one document, to FILE or stdout.
  Several services: with -o DIRECTORY (an existing directory), one file per service,
  DIRECTORY/SERVICE.yaml; otherwise one YAML stream with one document per service, separated
  by `---`, in service order. JSON takes one service: use --service, or -o DIRECTORY.

exit codes: 0 done, 2 usage error or unreadable input.

examples:
  otel-apisec openapi session.har > openapi.yaml
  otel-apisec openapi session.har --service shop -o shop.json
  mkdir specs && otel-apisec openapi capture.jsonl -o specs/
"""

_REPORT_DESCRIPTION = """\
One self-contained HTML file (inline CSS, no script, no external resource: it opens offline)
with, per service: the governance grade and score, the category scores, every deduction with its
check, weight, points, endpoint, count and example entry, the inventory table, spec drift
(shadow, zombie and orphan endpoints, parameter drift) and compliance per regulation (GDPR,
PCI DSS, HIPAA, CCPA). Every value from the traffic is escaped.

exit codes: 0 done, 2 usage error, unreadable input or unreadable spec.

examples:
  otel-apisec report session.har -o report.html
  otel-apisec report session.har --spec petstore.yaml -o report.html
"""


def add_estate_parsers(commands: Any) -> None:
    """Add `inventory`, `openapi` and `report` to the `otel-apisec` subcommands."""
    formatter = argparse.RawDescriptionHelpFormatter
    inventory = commands.add_parser("inventory", help="the API estate of a HAR/JSONL capture",
                                    description=_INVENTORY_DESCRIPTION, formatter_class=formatter)
    _add_inputs(inventory, specs=True)
    inventory.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    inventory.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")

    openapi = commands.add_parser("openapi", help="rebuild OpenAPI 3.1 documents from a capture",
                                  description=_OPENAPI_DESCRIPTION, formatter_class=formatter)
    _add_inputs(openapi, specs=False)
    openapi.add_argument("-o", "--output", metavar="FILE|DIRECTORY",
                         help="write to FILE (.json: JSON, else YAML) or, one file per service, to DIRECTORY")

    report = commands.add_parser("report", help="one self-contained HTML report of the estate",
                                 description=_REPORT_DESCRIPTION, formatter_class=formatter)
    _add_inputs(report, specs=True)
    report.add_argument("-o", "--output", metavar="FILE", required=True, help="the HTML file to write")


def _add_inputs(parser: argparse.ArgumentParser, specs: bool) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help=_INPUTS_HELP)
    if specs:
        parser.add_argument("--spec", action="append", default=[], metavar="SERVICE=FILE|FILE", help=_SPEC_HELP)
    parser.add_argument("--service", metavar="NAME", help=_SERVICE_HELP)
    parser.add_argument("--no-progress", action="store_true",
                        help="never show the progress bar (shown on a terminal for large or piped input)")


def run_estate(args: argparse.Namespace) -> int:
    """Run one of `COMMANDS`; returns the exit code (2, with one line on stderr, on a usage error)."""
    try:
        if args.command == "inventory":
            return _run_inventory(args)
        if args.command == "openapi":
            return _run_openapi(args)
        return _run_report(args)
    except UsageError as exc:
        print(f"otel-apisec: error: {exc}", file=sys.stderr)
        return 2


# --- reading the traffic ---------------------------------------------------------------------


@dataclass
class InputFile:
    name: str
    first_entry: int
    entries: int = 0
    unreadable: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.name, "first_entry": self.first_entry, "entries": self.entries,
                "unreadable": self.unreadable}


@dataclass
class Traffic:
    """What the inputs gave: the inventory, and counts for the report."""

    inventory: Inventory
    inputs: list[InputFile] = field(default_factory=list)
    entries: int = 0
    errors: int = 0
    failures: Counter[str] = field(default_factory=Counter)


class _Countries:
    """Client countries, from the offline database, loaded only when an entry has a client address."""

    def __init__(self) -> None:
        self._lookup: Any = None

    def of(self, address: str | None) -> str | None:
        if not address:
            return None
        if self._lookup is None:
            from otel_apisec.correlate.geo import CountryLookup

            self._lookup = CountryLookup()
        country: str | None = self._lookup.country(address)
        return country


def read_traffic(paths: Sequence[str], service: str | None = None, progress: bool = True) -> Traffic:
    """Analyse every entry of `paths` into one inventory (raises UsageError on unreadable input)."""
    from otel_apisec.compiled_cache import default_cache
    from otel_apisec.detect import Analyzer
    from otel_apisec.estate.inventory import Inventory

    if sum(path == "-" for path in paths) > 1:
        raise UsageError("stdin (-) can be read only once")
    analyzer = Analyzer(build_config(), compiled_cache=default_cache())
    traffic = Traffic(Inventory())
    countries = _Countries()
    for path in paths:
        _read_one(path, service, progress, analyzer, traffic, countries)
    if traffic.errors > MAX_PRINTED_ERRORS:
        warn(f"{traffic.errors - MAX_PRINTED_ERRORS} more unreadable entries not shown")
    for name, count in sorted(traffic.failures.items()):
        warn(f"detector {name} failed on {count} entries; their findings are missing")
    return traffic


def _read_one(path: str, service: str | None, progress: bool, analyzer: Any, traffic: Traffic,
              countries: _Countries) -> None:
    from otel_apisec.estate.exchange_facts import MAX_SCHEMA_BODY_BYTES, call_facts, host_service
    from otel_apisec.ingest.har import Entry, EntryError, HarReader, NotHarError

    name = "stdin" if path == "-" else path
    source = InputFile(name, traffic.entries)
    traffic.inputs.append(source)
    with ExitStack() as stack:
        stream, size = open_input(path, stack)
        try:
            # Bodies up to the schema bound are kept; the analyzer reads its own prefix of them.
            reader = HarReader(stream, max_body_bytes=MAX_SCHEMA_BODY_BYTES)
        except NotHarError as exc:
            raise UsageError(f"{name}: {exc}") from None
        except OSError as exc:
            raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from None
        show = progress and sys.stderr.isatty() and (size is None or size >= LARGE_INPUT_BYTES)
        bar = stack.enter_context(InputProgress(reader, size, "reading")) if show else None
        try:
            for item in reader:
                index = traffic.entries
                traffic.entries += 1
                source.entries += 1
                if isinstance(item, Entry):
                    exchange = item.exchange
                    try:
                        analysis = analyzer.analyze(exchange)
                    except Exception as exc:  # an analyzer bug costs one entry, not the run
                        item = EntryError(item.index, item.line, f"analysis failed ({type(exc).__name__})")
                    else:
                        traffic.failures.update(analysis.failed)
                        name_of = service or host_service(exchange)
                        traffic.inventory.add(call_facts(exchange, analysis, name_of, index,
                                                         countries.of(exchange.client_address)))
                if isinstance(item, EntryError):
                    traffic.errors += 1
                    source.unreadable += 1
                    if traffic.errors <= MAX_PRINTED_ERRORS:
                        warn(f"{name}: {item.describe()}")
                if bar is not None and source.entries % _PROGRESS_EVERY == 0:
                    bar.update(source.entries)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from None


# --- specs -----------------------------------------------------------------------------------


def _spec_options(values: Sequence[str]) -> list[tuple[str | None, str]]:
    """(service or None, file) of each `--spec`. A value that names an existing file is a FILE
    even when it holds `=`."""
    options: list[tuple[str | None, str]] = []
    for value in values:
        if "=" in value and not os.path.isfile(value):
            service, _, path = value.partition("=")
            if not service.strip() or not path.strip():
                raise UsageError(f"--spec {value!r}: expected SERVICE=FILE or FILE")
            options.append((service.strip(), path))
        elif not value.strip():
            raise UsageError("--spec: expected SERVICE=FILE or FILE, got an empty value")
        else:
            options.append((None, value))
    return options


def _load_specs(values: Sequence[str]) -> list[tuple[str | None, ApiSpec]]:
    """Every `--spec`, loaded before the traffic is read, so that a bad spec fails at once."""
    from otel_apisec.estate.spec import SpecError, load_spec

    loaded = []
    for service, path in _spec_options(values):
        if not os.path.isfile(path):
            raise UsageError(f"--spec: cannot read {path}: no such file")
        try:
            loaded.append((service, load_spec(path)))
        except SpecError as exc:
            raise UsageError(f"--spec: {exc}") from None
        except OSError as exc:
            raise UsageError(f"--spec: cannot read {path}: {exc.strerror or exc}") from None
    return loaded


def _assign_specs(loaded: Sequence[tuple[str | None, ApiSpec]], services: Sequence[str],
                  override: str | None) -> dict[str, ApiSpec]:
    """Each spec's service: the one named, else the single service of the traffic (or --service)."""
    known = sorted(services) if override is None else [override]
    listed = ", ".join(known) or "none"
    specs: dict[str, ApiSpec] = {}
    for service, spec in loaded:
        if service is None:
            if len(known) != 1:
                raise UsageError(f"--spec {spec.source}: the traffic has {len(known)} services ({listed}); "
                                 "name one with SERVICE=FILE or use --service")
            service = known[0]
        elif service not in known:
            raise UsageError(f"--spec {service}=...: unknown service {service!r} (services in the traffic: {listed})")
        if service in specs:
            raise UsageError(f"--spec: two specs for service {service!r}")
        specs[service] = spec
    return specs


@dataclass
class _Snapshot:
    estate: Estate
    governance: Any
    traffic: Traffic


def _snapshot(args: argparse.Namespace, with_specs: bool) -> _Snapshot:
    from otel_apisec.estate.governance import assess

    loaded = _load_specs(args.spec) if with_specs else []
    traffic = read_traffic(args.inputs, args.service, progress=not args.no_progress)
    specs = _assign_specs(loaded, traffic.inventory.services(), args.service)
    estate = traffic.inventory.snapshot(specs)
    return _Snapshot(estate, assess(estate), traffic)


def _inventory_document(snap: _Snapshot) -> dict[str, Any]:
    from otel_apisec.estate.contract import inventory_document

    document = inventory_document(snap.estate, snap.governance)
    document["inputs"] = [source.to_dict() for source in snap.traffic.inputs]
    return document


# --- inventory -------------------------------------------------------------------------------


def _run_inventory(args: argparse.Namespace) -> int:
    snap = _snapshot(args, with_specs=True)
    document = _inventory_document(snap)
    with ExitStack() as stack:
        out = open_output(args.output, stack)
        if args.format == "json":
            out.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
        else:
            _print_table(document, out)
        out.flush()
    return 0


def _print_table(document: Mapping[str, Any], out: IO[str]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    terminal = out.isatty() if hasattr(out, "isatty") else False
    console = Console(file=out, width=None if terminal else 160, highlight=False, force_terminal=terminal or None,
                      soft_wrap=False)
    if not document["services"]:
        console.print("no API traffic in the input")
        return
    for service in document["services"]:
        # Text(), never markup: every value here came from the traffic.
        title = Text(f"{service['service']}  grade {service['grade'] or '-'}  score {_number(service['score'])}")
        if service.get("spec"):
            title.append(f"  spec {os.path.basename(service['spec'])}")
        table = Table(title=title, title_justify="left", show_lines=False)
        for column, justify in (("method", "left"), ("route", "left"), ("spec", "left"), ("calls", "right"),
                                ("statuses", "left"), ("auth", "left"), ("unauth 2xx", "right"), ("PII", "left"),
                                ("findings", "left"), ("grade", "center")):
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        for endpoint in service["endpoints"]:
            table.add_row(*(Text(cell) for cell in (
                endpoint["method"], endpoint["route"], endpoint["spec_status"] or "-", str(endpoint["calls"]),
                " ".join(f"{code}:{n}" for code, n in endpoint["status_codes"].items()) or "-",
                ",".join(endpoint["auth_schemes"]) or ("none" if endpoint["calls"] else "-"),
                str(endpoint["unauthenticated_success"]),
                ",".join(endpoint["pii_types"]) or "-",
                " ".join(f"{severity}:{n}" for severity, n in endpoint["findings"].items()) or "-",
                endpoint["grade"] or "-",
            )))
        console.print(table)
        console.print()


def _number(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() else f"{value:.1f}"
    return "-" if value is None else str(value)


# --- openapi ---------------------------------------------------------------------------------


def _file_name(service: str) -> str:
    """A file name for a service (a host name, possibly with a port): safe characters only."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in service)[:100].strip(".")
    return safe or "service"


def _run_openapi(args: argparse.Namespace) -> int:
    from otel_apisec.estate.openapi import build_openapi

    output: str | None = args.output
    directory = output is not None and (os.path.isdir(output) or output.endswith(("/", os.sep)))
    if directory and output is not None and not os.path.isdir(output):
        raise UsageError(f"-o {output}: no such directory")
    as_json = output is not None and not directory and output.lower().endswith(".json")
    snap = _snapshot(args, with_specs=False)
    services: list[ServiceEstate] = [s for s in snap.estate.services if s.endpoints]
    if not services:
        raise UsageError("no API traffic in the input: nothing to describe")
    if as_json and len(services) > 1:
        names = ", ".join(s.service for s in services)
        raise UsageError(f"JSON output takes one service and the traffic has {len(services)} ({names}): "
                         "use --service, or -o DIRECTORY")
    documents = [(s.service, build_openapi(s)) for s in services]
    if directory and output is not None:
        for service, document in documents:
            path = os.path.join(output, _file_name(service) + ".yaml")
            with ExitStack() as stack:
                open_output(path, stack).write(_yaml([document]))
        return 0
    with ExitStack() as stack:
        out = open_output(output, stack)
        if as_json:
            out.write(orjson.dumps(documents[0][1], option=orjson.OPT_INDENT_2).decode() + "\n")
        else:
            out.write(_yaml([document for _, document in documents]))
        out.flush()
    return 0


def _yaml(documents: list[dict[str, Any]]) -> str:
    import yaml

    # Round-trip through JSON first: plain dicts, lists and scalars only, so safe_dump never meets a tuple.
    plain = [orjson.loads(orjson.dumps(document)) for document in documents]
    return yaml.safe_dump_all(plain, sort_keys=False, allow_unicode=True, explicit_start=len(plain) > 1)


# --- report ----------------------------------------------------------------------------------


def _run_report(args: argparse.Namespace) -> int:
    from otel_apisec import __version__
    from otel_apisec.estate.html import render_report

    snap = _snapshot(args, with_specs=True)
    html = render_report(_inventory_document(snap), snap.governance.to_dict(),
                         f"otel-apisec {__version__}")
    with ExitStack() as stack:
        out = open_output(args.output, stack)
        out.write(html)
        out.flush()
    return 0
