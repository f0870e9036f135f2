"""Layering rules that keep the detection core pure and reusable by every entry point."""

from __future__ import annotations

import ast
from pathlib import Path

import otel_apisec

PACKAGE = Path(otel_apisec.__file__).parent

# The layer of every top-level module and subpackage of otel_apisec (DESIGN.md, "Layers"). A
# module may import its own layer or a lower one, never a higher one; the longest matching
# name wins, so a few gateway modules can sit above the rest of the gateway.
LAYERS: dict[str, int] = {
    # 1 model: plain data and pure helpers over it.
    "otel_apisec.model": 1,
    "otel_apisec.attributes": 1,
    "otel_apisec.pseudonym": 1,
    "otel_apisec.urls": 1,
    "otel_apisec.paths": 1,
    # 2 detect: the detectors and the rule catalog. The finding model reads rule titles and OWASP
    # names from the catalog, and the package's own __init__ re-exports the analyzer.
    "otel_apisec": 2,
    "otel_apisec.detect": 2,
    "otel_apisec.findings": 2,
    # 3 correlate: stateful detectors over streams of calls, and their state stores.
    "otel_apisec.correlate": 3,
    # 4 estate: the inventory, spec drift and governance grade.
    "otel_apisec.estate": 4,
    # 5 the plumbing: the SDK side (capture, the span processor, the log exporter, settings and
    # metrics), the gateway side, the pieces they share, and the finding sinks.
    "otel_apisec.sdk.capture": 5,
    "otel_apisec.sdk.span_processor": 5,
    "otel_apisec.sdk.rebuild": 5,
    "otel_apisec.sdk.log_exporter": 5,
    "otel_apisec.sdk.settings": 5,
    "otel_apisec.sdk.telemetry": 5,
    "otel_apisec.ingest": 5,
    "otel_apisec.enrich": 5,
    "otel_apisec.redaction": 5,
    "otel_apisec.compiled_cache": 5,
    "otel_apisec.retry_after": 5,
    "otel_apisec.delivery": 5,
    "otel_apisec.alerts": 5,
    "otel_apisec.audit": 5,
    "otel_apisec.siem": 5,
    "otel_apisec.gateway": 5,
    # 6 entry points and configuration.
    "otel_apisec.gateway.config": 6,
    "otel_apisec.gateway.service": 6,
    "otel_apisec.gateway.selfmetrics": 6,
    "otel_apisec.sdk": 6,
    "otel_apisec.sdk.runtime": 6,
    "otel_apisec.sdk.distro": 6,
    "otel_apisec.sdk.api": 6,
    "otel_apisec.cli": 6,
    "otel_apisec.__main__": 6,
    "otel_apisec.examples": 6,
    "otel_apisec.testing": 6,
}
TESTING = "otel_apisec.testing"
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


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _layer(module: str) -> int | None:
    while module:
        if module in LAYERS:
            return LAYERS[module]
        module = module.rpartition(".")[0]
    return None


def _top(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _package_imports(module: str) -> set[str]:
    """The otel_apisec modules `module` imports, anywhere in it (in functions and under
    TYPE_CHECKING too). `from a import b` counts as importing `a.b` when that is a module."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            for alias in node.names:
                found.add(f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source)
    return {name for name in found if name == "otel_apisec" or name.startswith("otel_apisec.")}


class TestImportDirection:
    def test_every_module_has_a_layer(self) -> None:
        """The table places every module, and names nothing that is gone."""
        assert MODULES
        assert [m for m in MODULES if _layer(m) is None] == []
        assert [key for key in LAYERS if not any(m == key or m.startswith(f"{key}.") for m in MODULES)] == []

    def test_layers_import_only_downward(self) -> None:
        """No module imports one of a higher layer."""
        upward = []
        for module in MODULES:
            for imported in sorted(_package_imports(module)):
                here, there = _layer(module), _layer(imported)
                assert here is not None and there is not None, f"{module} -> {imported}"
                if there > here:
                    upward.append(f"{module} -> {imported} (layer {here} -> layer {there})")
        assert not upward, "imports pointing up:\n" + "\n".join(upward)

    def test_top_level_units_do_not_import_each_other(self) -> None:
        """Units of one layer may use one another, but never both ways round: a piece two of them
        share goes down into a lower layer (or into a third unit both import)."""
        edges = {(_top(m), _top(i)) for m in MODULES for i in _package_imports(m) if _top(m) != _top(i)}
        edges = {(a, b) for a, b in edges if a != "otel_apisec" and b != "otel_apisec"}  # the root only re-exports
        graph: dict[str, set[str]] = {}
        for a, b in edges:
            graph.setdefault(a, set()).add(b)

        def reaches(start: str, goal: str) -> bool:
            seen, todo = set(), [start]
            while todo:
                node = todo.pop()
                if node == goal:
                    return True
                if node not in seen:
                    seen.add(node)
                    todo.extend(graph.get(node, ()))
            return False

        cycles = sorted(f"{a} -> {b} -> ... -> {a}" for a, b in edges if reaches(b, a))
        assert edges
        assert not cycles, "units importing each other:\n" + "\n".join(cycles)

    def test_production_code_never_imports_testing(self) -> None:
        """`otel_apisec.testing` is for tests: nothing shipped depends on it."""
        def is_testing(name: str) -> bool:
            return name == TESTING or name.startswith(f"{TESTING}.")

        users = sorted(m for m in MODULES if not is_testing(m) and any(is_testing(i) for i in _package_imports(m)))
        assert not users, f"production modules importing {TESTING}: {users}"


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
        io_modules = {"stores", "geo.py"}
        offenders = {}
        for path in sorted((PACKAGE / "correlate").rglob("*.py")):
            if path.relative_to(PACKAGE / "correlate").parts[0] in io_modules:
                continue
            names = _imports(path)
            bad = sorted(n for n in names if (n.startswith((*FORBIDDEN, "redis")) and not n.startswith("opentelemetry.semconv"))
                         or n == "re")
            if bad:
                offenders[path.name] = bad
        assert offenders == {}
