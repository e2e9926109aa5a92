"""The layout's promises: the analysis side loads nothing of the measuring side, no module imports
itself back through others, and what the analysis side and the README say about the built-in
mechanisms is what the registry declares."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ipcbench import roster

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ipcbench"

#: What reads saved results: report, compare, history, export, noise and everything they build on.
ANALYSIS = (
    "specs",
    "errors",
    "results",
    "stats",
    "fmt",
    "table",
    "roster",
    "frame",
    "facts",
    "recommend",
    "model",
    "findings",
    "method_check",
    "axes",
    "charts",
    "report",
    "gate",
    "runs",
    "render",
    "compare",
    "history",
    "export",
    "noise",
)
#: The modules that start and drive worker processes.
MEASURING = (
    "ipcbench.harness",
    "ipcbench.worker",
    "ipcbench.patterns",
    "ipcbench.runner",
    "ipcbench.ops",
    "ipcbench.mechanisms",
)


def _fresh(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("module", ANALYSIS)
def test_the_analysis_side_loads_nothing_of_the_measuring_side(module):
    code = f"import sys, ipcbench.{module}; print([m for m in {MEASURING!r} if m in sys.modules])"
    assert _fresh(code).strip() == "[]"


def _imports(path: Path) -> set[str]:
    """The ipcbench modules ``path`` imports, at its top or inside functions (both run), leaving out
    ``if TYPE_CHECKING:`` blocks (they never run)."""
    modules = set(_sources())
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for orelse in child.orelse:
                    visit(orelse)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name.split(".")[1] for a in child.names if a.name.startswith("ipcbench."))
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                if child.module == "ipcbench":
                    found.update(a.name for a in child.names if a.name in modules)
                elif child.module.startswith("ipcbench."):
                    found.add(child.module.split(".")[1])
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    found.discard(_node(path))
    return found


def _node(path: Path) -> str:
    """The import graph's node for a source file: a module, or the package a module belongs to (an
    import of any of a package's modules runs the package first, so they stand or fall together)."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _sources() -> dict[str, list[Path]]:
    """The package's sources by graph node (its benchmarks are not imported by it)."""
    nodes: dict[str, list[Path]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if _node(path) != "benchmarks":
            nodes.setdefault(_node(path), []).append(path)
    return nodes


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[set[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(component)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return out


def _graph() -> dict[str, set[str]]:
    return {node: set().union(*map(_imports, paths)) for node, paths in _sources().items()}


def test_no_import_cycle_anywhere():
    """Every import counts, top level or inside a function, so a cycle cannot hide in a late import."""
    graph = _graph()
    assert graph["findings"] >= {"facts", "frame", "model", "recommend"}  # the parser sees imports
    assert graph["api"] >= {"mechanisms", "ops"}  # ... late ones too: api loads the built-ins in a function
    assert _cycles(graph) == []


def test_patterns_and_the_worker_never_reach_into_the_rig():
    """Patterns see the rig through its round API only, and the worker process knows nothing of the
    parent's side: neither imports the module that defines the rig."""
    graph = _graph()
    for node in ("rounds", "patterns", "worker", "ops", "mechanisms", "registry"):
        assert "harness" not in graph[node], node
    assert "worker" not in graph["patterns"]
    for path in (PACKAGE / "patterns").glob("*.py"):
        private = re.findall(r"\brig\._\w+", path.read_text(encoding="utf-8"))
        assert not private, f"{path.name} reads the rig's private state: {private}"


def test_no_module_is_over_500_lines():
    lengths = {
        p.relative_to(PACKAGE).as_posix(): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")
    }
    assert not {name: n for name, n in lengths.items() if n > 500}


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [{"a", "b", "c"}]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def _registry() -> dict[str, dict[str, object]]:
    """The built-ins as a fresh process registers them: name -> patterns and kind, in order."""
    code = (
        "import json, ipcbench.mechanisms, ipcbench.ops; from ipcbench import api;"
        "out = {m.name: {'patterns': list(m.patterns), 'kind': m.kind, 'messaging': True}"
        " for m in api.MECHANISMS.values()};"
        "out.update({o.name: {'patterns': [o.pattern], 'kind': o.kind, 'messaging': False}"
        " for o in api.OPERATIONS.values()});"
        "print(json.dumps(out))"
    )
    registry: dict[str, dict[str, object]] = json.loads(_fresh(code))
    return registry


def test_the_roster_is_the_registry():
    """The analysis side's list of built-ins (kind and family, in order) is what they declare."""
    registry = _registry()
    assert list(roster.BUILT_IN) == list(registry)
    for name, (pattern, kind) in roster.BUILT_IN.items():
        assert (pattern, kind) == (registry[name]["patterns"][0], registry[name]["kind"]), name


def test_an_unknown_mechanism_is_importable_and_a_registered_one_keeps_its_own_kind(registry):
    from ipcbench import api, charts

    assert roster.kind("os_pipe") == roster.BASELINE and roster.kind("shm_ring") == roster.HAND_MADE
    assert roster.kind("test_ring") == roster.IMPORTABLE  # saved by a plugin not loaded here
    before = charts.colour("test_ring")
    api.register(
        api.Mechanism(
            name="test_ring",
            description="a channel declared by a test",
            make_channel=lambda resources: (None, None),
            bind_send=lambda end, size: print,
            bind_recv=lambda end, size: print,
            carries="bytes",
            point_to_point=True,
            kind="hand-made",
        )
    )
    assert roster.kind("test_ring") == roster.HAND_MADE
    assert list(roster.families())[-1] == "test_ring"  # after every built-in: their colours stay
    assert charts.colour("test_ring") in charts.CATALOG_COLOURS and charts.colour("pipe") == "#1f77b4"
    assert before in charts.FALLBACK


def _readme_tables() -> dict[str, list[list[str]]]:
    """Every Markdown table of the README, by its header row: the rows as cells."""
    tables: dict[str, list[list[str]]] = {}
    current: list[list[str]] | None = None
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            current = None
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if current is None:
            current = tables.setdefault(" | ".join(cells), [])
        elif not all(set(c) <= set("-:") for c in cells):
            current.append(cells)
    return tables


def _names(cell: str) -> list[str]:
    return re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", cell)


def test_the_readme_tables_list_every_built_in_and_nothing_else():
    """Every channel in the mechanisms table; every operation in the operations table, under its
    pattern; no name the registry does not hold."""
    registry = _registry()
    tables = _readme_tables()
    channels = [n for row in tables["mechanism | what it is"] for n in _names(row[0])]
    operations: dict[str, str] = {}
    pattern = ""
    for row in tables["pattern | mechanism | what one operation is"]:
        pattern = _names(row[0])[0] if row[0] else pattern
        for name in _names(row[1]):
            assert name not in operations, f"{name} is listed twice"
            operations[name] = pattern
    assert channels == [n for n, r in registry.items() if r["messaging"]]
    assert operations == {n: r["patterns"][0] for n, r in registry.items() if not r["messaging"]}
