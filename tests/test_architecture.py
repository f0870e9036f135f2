"""Layering rules that keep the detection core pure and reusable by every entry point."""

from __future__ import annotations

import ast
from pathlib import Path

import otel_apisec

PACKAGE = Path(otel_apisec.__file__).parent
PURE = [PACKAGE / "model.py", *sorted((PACKAGE / "detect").rglob("*.py"))]
FORBIDDEN = ("opentelemetry", "socket", "requests", "urllib.request", "http.client", "subprocess", "grpc")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


class TestLayers:
    def test_detection_core_imports_no_plumbing_or_io(self) -> None:
        """model and detect import neither OpenTelemetry nor network/process modules."""
        offenders = {
            str(path.relative_to(PACKAGE)): sorted(n for n in _imports(path) if n.startswith(FORBIDDEN))
            for path in PURE
        }
        assert not {k: v for k, v in offenders.items() if v}

    def test_detection_core_opens_no_files(self) -> None:
        """No detector reads files: dictionaries come in through DetectConfig."""
        for path in PURE:
            tree = ast.parse(path.read_text())
            calls = [
                n for n in ast.walk(tree)
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "open"
            ]
            assert not calls, f"{path.name} calls open()"

    def test_core_never_uses_backtracking_re_on_input(self) -> None:
        """Detectors match with RE2/Hyperscan; stdlib `re` stays out of the detect package."""
        users = [p.name for p in sorted((PACKAGE / "detect").rglob("*.py")) if "re" in _imports(p)]
        assert users == [], f"stdlib re imported by {users}; use re2"

    def test_correlators_are_pure_logic_over_the_store(self) -> None:
        """Layer 3: the correlators import no OpenTelemetry plumbing (semantic-convention names
        aside), no network or process modules, no stdlib `re`; only the stores and the GeoIP
        lookup touch I/O."""
        io_modules = {"state_redis.py", "state_memory.py", "geo.py"}
        offenders = {}
        for path in sorted((PACKAGE / "correlate").glob("*.py")):
            if path.name in io_modules:
                continue
            names = _imports(path)
            bad = sorted(n for n in names if (n.startswith((*FORBIDDEN, "redis")) and not n.startswith("opentelemetry.semconv"))
                         or n == "re")
            if bad:
                offenders[path.name] = bad
        assert offenders == {}
