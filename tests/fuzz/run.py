"""`make fuzz`: every fuzz target under atheris (coverage-guided libFuzzer), for a number of inputs each.

    .venv/bin/python -m tests.fuzz.run --runs 150000            # every target, 150k inputs each
    .venv/bin/python -m tests.fuzz.run --runs 20000 jwt cookies  # some targets

Each target runs in its own process (atheris.Fuzz never returns), seeded with `SEEDS`, with a
per-input timeout: an input slower than `--timeout` seconds is a crash too (a denial of service).
Prints executions, time and crashes per target; exits 1 when any target crashed. Crash inputs are
kept under `--artifacts` for replay (`python -m tests.fuzz.run --replay FILE TARGET`).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

_STATUS = re.compile(r"^#(\d+)\s")  # libFuzzer's progress lines: "#65536 pulse cov: ..."
_DONE = re.compile(r"^Done (\d+) runs in (\d+) second")


def _run_one(target: str, argv: list[str]) -> None:
    """Inside the child: instrument the package, then hand the target to libFuzzer."""
    import atheris

    with atheris.instrument_imports(include=["otel_apisec"]):
        from tests.fuzz.targets import TARGETS
    atheris.Setup([sys.argv[0], *argv], TARGETS[target])
    atheris.Fuzz()


def _fuzz(target: str, runs: int, timeout_s: int, artifacts: Path, progress: Progress) -> tuple[int, float, list[str]]:
    from tests.fuzz.targets import SEEDS

    task = progress.add_task(target, total=runs)
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{target}-") as corpus:
        for index, seed in enumerate(SEEDS[target]):
            Path(corpus, f"seed-{index}").write_bytes(seed)
        artifacts.mkdir(parents=True, exist_ok=True)
        argv = [f"-runs={runs}", f"-timeout={timeout_s}", "-rss_limit_mb=2048", "-max_len=65536",
                "-print_final_stats=1", f"-artifact_prefix={artifacts}/{target}-", corpus]
        started = time.monotonic()
        child = subprocess.Popen([sys.executable, "-m", "tests.fuzz.run", "--child", target, *argv],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace")
        executed, crashes, tail = 0, [], []
        assert child.stderr is not None
        for line in child.stderr:
            tail = (tail + [line.rstrip()])[-40:]
            if match := _STATUS.match(line):
                executed = int(match.group(1))
                progress.update(task, completed=min(executed, runs))
            elif match := _DONE.match(line):
                executed = int(match.group(1))
            elif "Test unit written to" in line:
                crashes.append(line.split("Test unit written to", 1)[1].strip())
        code = child.wait()
        elapsed = time.monotonic() - started
        progress.update(task, completed=runs)
        if code != 0 and not crashes:
            crashes.append(f"exit code {code}: " + " | ".join(tail[-8:]))
        return executed, elapsed, crashes


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:  # libFuzzer's own flags follow the target: not ours to parse
        _run_one(argv[1], argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", help="targets to run (default: all)")
    parser.add_argument("--runs", type=int, default=150_000, help="inputs per target (default 150000)")
    parser.add_argument("--timeout", type=int, default=10, help="seconds one input may take (default 10)")
    parser.add_argument("--artifacts", type=Path, default=Path("fuzz-artifacts"), help="where crash inputs go")
    parser.add_argument("--replay", type=Path, help="run one saved input through the target and show the error")
    args = parser.parse_args(argv)
    from tests.fuzz.targets import TARGETS

    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    if args.replay:
        TARGETS[args.targets[0]](args.replay.read_bytes())
        print("no error")
        return 0
    console = Console(stderr=True)
    table = Table(title="fuzz run")
    for column in ("target", "inputs", "seconds", "inputs/s", "crashes"):
        table.add_column(column, justify="left" if column == "target" else "right")
    total, failed = 0, False
    columns = (TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        for target in args.targets or list(TARGETS):
            executed, elapsed, crashes = _fuzz(target, args.runs, args.timeout, args.artifacts, progress)
            total += executed
            failed |= bool(crashes)
            table.add_row(target, f"{executed:,}", f"{elapsed:.0f}", f"{executed / max(elapsed, 1e-9):,.0f}",
                          str(len(crashes)) + ("" if not crashes else f" ({'; '.join(crashes)})"))
    Console().print(table)
    print(f"total: {total:,} inputs, {'CRASHES FOUND' if failed else 'no crash'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
