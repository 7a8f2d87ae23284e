"""The shape of ``helpers/``: no import circle (static imports, including those inside functions) and no huge module."""
from __future__ import annotations

import ast
from pathlib import Path

HELPERS = Path(__file__).resolve().parents[1] / "helpers"

MAX_LINES = 450
LARGER = {}
"""Modules allowed over MAX_LINES, each with the reason (empty: keep it so)."""


def _module_name(path: Path, root: Path = HELPERS) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def import_graph(root: Path = HELPERS) -> dict[str, set[str]]:
    """Module -> the ``helpers`` modules it imports anywhere in its code (top level or inside functions)."""
    modules = {_module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[:len(base) - (node.level - 1)]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                targets = [mod] + [f"{mod}.{a.name}" for a in node.names]  # `from . import x` imports module x
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for t in targets:
                while t and t not in modules:  # helpers.live.experiments.benchmark -> helpers.live.experiments
                    t = t.rpartition(".")[0]
                if t and t != name and t != "helpers":  # the package itself: only setup() and CourseError
                    graph[name].add(t)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle, each as a list of modules (depth-first search with a path stack)."""
    cycles, done = [], set()

    def visit(node: str, stack: list[str]) -> None:
        if node in stack:
            cycles.append(stack[stack.index(node):] + [node])
            return
        if node in done:
            return
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, stack + [node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    return cycles


def test_the_graph_sees_function_level_and_relative_imports(tmp_path):
    pkg = tmp_path / "helpers"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from .b import g\n")
    (pkg / "b.py").write_text("from .sub.c import h\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "c.py").write_text("from ..a import f\nfrom .. import b\n")
    graph = import_graph(pkg)
    assert graph["helpers.a"] == {"helpers.b"} and graph["helpers.sub.c"] == {"helpers.a", "helpers.b"}
    assert find_cycles(graph), "a -> b -> sub.c -> a is a circle"


def test_no_import_circle_in_helpers():
    cycles = find_cycles(import_graph())
    assert not cycles, "import circles in helpers/: " + "; ".join(" -> ".join(c) for c in cycles)


def test_no_module_over_the_size_limit():
    big = {_module_name(p): n for p in HELPERS.rglob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES and _module_name(p) not in LARGER}
    assert not big, f"modules over {MAX_LINES} lines (split them, or list them in LARGER with a reason): {big}"
