"""The house's shape, checked: no import cycle (type-checking imports included), arrows pointing
down the stages, rooms of a size a reader can hold. Static (the source is parsed, nothing is
imported), so it runs in a second."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "vaxreport"

#: Lower layers first; a module may import its own layer and those listed before it.
LAYERS: list[tuple[str, ...]] = [
    ("exceptions", "percent", "frames", "schemas", "text", "refdata", "unit_history", "layout", "engine", "params",
     "io"),
    ("cleansing",),
    ("linkage",),
    ("facts",),
    ("reporting",),
    ("synth",),
    ("runner",),
    ("explore", "review_desk", "cli", "__init__"),
]
MAX_MODULE_LINES = 800
MAX_FUNCTION_LINES = 100


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "notebooks":
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(["vaxreport", *parts])] = path
    return out


def _imports(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """The package modules ``path`` imports, ``TYPE_CHECKING`` blocks included: a cycle through
    type hints is still two modules that cannot be read apart."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names if a.name.startswith("vaxreport"))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - child.level + 1] + [base]).strip(".")
                if base.startswith("vaxreport"):
                    found.add(base)
                    found.update(f"{base}.{a.name}" for a in child.names if f"{base}.{a.name}" in modules)
            visit(child)

    visit(tree)
    return {m for m in found if m in modules and m != name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, name, modules) for name, path in modules.items()}


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"{module} is in no layer of LAYERS: place it")


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return out


def _is_package_init(module: str, imported: str) -> bool:
    """A sub-package's ``__init__`` re-exporting its own modules is not a cycle of design."""
    return imported.startswith(module + ".") or module.startswith(imported + ".")


def test_no_import_cycle() -> None:
    graph = {m: {i for i in deps if not _is_package_init(m, i)} for m, deps in _graph().items()}
    cycles = [c for c in _strongly_connected(graph) if len(c) > 1]
    assert not cycles, f"import cycles: {cycles}"


def test_arrows_point_down_the_stages() -> None:
    upward = sorted(f"{m} -> {i}" for m, deps in _graph().items() for i in deps
                    if _layer(i) > _layer(m) and not _is_package_init(m, i))
    assert not upward, "imports pointing up the layers:\n" + "\n".join(upward)


@pytest.mark.parametrize("module", sorted(_modules()))
def test_module_size(module: str) -> None:
    lines = len(_modules()[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{module}: {lines} lines (split it along its sections)"


def test_functions_a_reader_can_hold() -> None:
    long = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{name}.{node.name}: {length} lines")
    assert not long, "functions to split:\n" + "\n".join(sorted(long))
