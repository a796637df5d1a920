"""The import structure of fleetopt: no cycles, no imports hidden in functions, lower layers never
importing higher ones.

Every module under fleetopt/ is parsed with ``ast`` and every import statement read, those inside
functions included, so that a cycle cannot hide behind a function-level import.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "fleetopt"

# Lowest first. A module may import modules of its own layer or of lower ones, never of a higher
# one. A module belongs to the layer of the longest name prefix listed.
LAYERS = [
    ("fleetopt.errors",),
    ("fleetopt.core.quarters", "fleetopt.core.units", "fleetopt.core.credit"),
    ("fleetopt.schema", "fleetopt"),  # the package itself re-exports LoadedModel, ModelError, load_model
    ("fleetopt.core",),
    ("fleetopt.runs.files", "fleetopt.runs.limits", "fleetopt.runs.location", "fleetopt.runs.kinds",
     "fleetopt.runs.file_text", "fleetopt.runs.code_stamp", "fleetopt.runs.run_files"),
    ("fleetopt.runs.resume", "fleetopt.runs.summary_schema", "fleetopt.runs.tables"),
    ("fleetopt.runs.folder",),
    ("fleetopt.runs.listing", "fleetopt.runs.output_files"),
    ("fleetopt.runs.registry", "fleetopt.runs.key_figures"),
    ("fleetopt.milp",),
    ("fleetopt.evaluate",),
    ("fleetopt.sweep", "fleetopt.compare", "fleetopt.stochastic"),
    ("fleetopt.report",),
    ("fleetopt.api",),
    ("fleetopt.cli", "fleetopt.__main__"),
]


def module_files() -> dict[str, Path]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


MODULES = module_files()


def _targets(module: str, node: ast.Import | ast.ImportFrom, is_package: bool) -> list[str]:
    """The fleetopt modules an import statement loads (a name imported from a package is its
    submodule when there is one, else the package)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.split(".")[0] == "fleetopt"]
    base = node.module or ""
    if node.level:  # relative import
        parts = module.split(".") if is_package else module.split(".")[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join(parts + ([base] if base else []))
    if base.split(".")[0] != "fleetopt":
        return []
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]


def imports(module: str) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for every fleetopt import of ``module``."""
    path = MODULES[module]
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for target in _targets(module, child, path.name == "__init__.py"):
                    found.append((target, child.lineno, in_function))
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            visit(child, inside)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), False)
    return found


GRAPH = {m: sorted({target for target, _, _ in imports(m)}) for m in MODULES}


def components() -> list[list[str]]:
    """The modules on import cycles: the strongly connected components of the import graph."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
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
            if len(component) > 1 or v in GRAPH[v]:
                components.append(sorted(component))

    for v in MODULES:
        if v not in index:
            connect(v)
    return components


def cycle_in(component: list[str]) -> list[str]:
    """One cycle through the component's first module, as a path back to it (breadth first)."""
    start, members = component[0], set(component)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        v = frontier.pop(0)
        for w in GRAPH[v]:
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [start, *reversed(path[:-1]), start] if v != start else [start, start]
            if w in members and w not in came_from:
                came_from[w] = v
                frontier.append(w)
    return component


def layer(module: str) -> int:
    best, rank = -1, None
    for n, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            matches = module == prefix or (prefix != "fleetopt" and module.startswith(prefix + "."))
            if matches and len(prefix) > best:
                best, rank = len(prefix), n
    assert rank is not None, f"{module} is in no layer: add it to LAYERS"
    return rank


def test_every_import_resolves_to_a_module():
    unknown = [(m, t) for m, targets in GRAPH.items() for t in targets if t not in MODULES]
    assert not unknown, f"imports of modules that do not exist: {unknown}"


def test_no_import_cycles():
    new = components()
    assert not new, "import cycles:\n" + "\n".join(" -> ".join(cycle_in(c)) for c in new)


def test_no_function_level_fleetopt_imports():
    hidden = [
        f"{MODULES[m].relative_to(PACKAGE.parent)}:{line}: imports {target} inside a function"
        for m in MODULES
        for target, line, in_function in imports(m)
        if in_function
    ]
    assert not hidden, "import these at the top of the module:\n" + "\n".join(hidden)


def test_lower_layers_never_import_higher_ones():
    upward = [
        f"{m} imports {target}"
        for m, targets in GRAPH.items()
        for target in targets
        if layer(target) > layer(m)
    ]
    assert not upward, "imports against the layer order (see LAYERS):\n" + "\n".join(upward)


def test_every_name_the_architecture_document_places_in_a_module_is_there():
    """docs/architecture.md says where each concept is defined and read as `module.py` `name`: a name
    renamed or gone from its module leaves the reader at a dead end (it named the sweep's
    `_evaluation_chunks` after the sweep stopped keeping its chunk sizes)."""
    doc = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = []
    for path, name in re.findall(r"`((?:\w+/)?\w+\.py)` `([A-Za-z_][\w.]*)`", doc):
        files = [f for f in PACKAGE.rglob(Path(path).name) if f.as_posix().endswith(path)]
        source = "".join(f.read_text(encoding="utf-8") for f in files)
        if not re.search(rf"\b{re.escape(name.split('.')[-1])}\b", source):
            missing.append(f"{path} {name}")
    assert missing == []
