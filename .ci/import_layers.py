#!/usr/bin/env python3
"""The house rules on imports, checked from the source (nothing is imported or run): `make lint` and CI run it.

Rules (docs/architecture.md says why):

- ``app`` never imports ``indexers``, except the CLI root (``app/cli/``), which wires the indexer in;
- ``app/stores`` never imports ``app.retrieval``, ``app.answer``, ``app.api`` (nor the composition above them);
- ``indexers`` never imports the service's composition (``app.runtime``, ``app.compose``, ``app.main``,
  ``app.api``, ``app.cli``): it receives the stores it writes;
- ``benchmarks`` and ``testkit`` never import ``tests``;
- no circles: no module imports itself through others (every import counts, a function's own included; only
  those under ``if TYPE_CHECKING:`` do not).

Usage: ``python .ci/import_layers.py [ROOT]``; prints each breach as ``FILE:LINE: rule`` and exits 1, else 0.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGES = ("app", "indexers", "benchmarks", "testkit")
#: (files under this prefix, may not import modules under these prefixes, unless under these exceptions)
RULES: tuple[tuple[str, tuple[str, ...], tuple[str, ...], str], ...] = (
    ("app", ("indexers",), ("app.cli",), "app never imports indexers (only the CLI root does)"),
    ("app.stores", ("app.retrieval", "app.answer", "app.api", "app.runtime", "app.compose", "app.main", "app.cli"),
     (), "stores never import retrieval, answer, api or the composition above them"),
    ("indexers", ("app.runtime", "app.compose", "app.main", "app.api", "app.cli"), (),
     "indexers never import the service's composition"),
    ("benchmarks", ("tests",), (), "benchmarks never import tests (shared helpers live in testkit)"),
    ("testkit", ("tests",), (), "testkit never imports tests"),
)


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import outside ``if TYPE_CHECKING:``; ``from a import b`` yields
    ``a.b`` (a module or a name in ``a``: the caller keeps what names a known module)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                stack.extend(child.orelse)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, child.lineno
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = module.split(".") if is_package else module.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (child.level - 1)] if child.level > 1 else anchor
                    base = ".".join([*anchor, base] if base else anchor)
                yield base, child.lineno
                for alias in child.names:
                    yield f"{base}.{alias.name}", child.lineno
            stack.append(child)


def check(root: Path) -> list[str]:
    files = {module_name(root, p): p for pkg in (*PACKAGES, "tests") if (root / pkg).is_dir()
             for p in sorted((root / pkg).rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    breaches: list[str] = []
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        found: set[str] = set()
        for name, line in imports(tree, module, path.name == "__init__.py"):
            target = name if name in files else None
            if target is None and "." in name and name.rsplit(".", 1)[0] in files:
                target = name.rsplit(".", 1)[0]  # "from a.b import name": the module a.b
            if target is None and not any(_under(name, p) for p in (*PACKAGES, "tests")):
                continue
            imported = target or name
            for scope, forbidden, allowed, rule in RULES:
                if (_under(module, scope) and not any(_under(module, a) for a in allowed)
                        and any(_under(imported, f) for f in forbidden)):
                    breaches.append(f"{path.relative_to(root)}:{line}: imports {imported}: {rule}")
            if target is not None and target != module:
                found.add(target)
        graph[module] = found
    breaches += [f"{files[cycle[0]].relative_to(root)}:0: import circle {' -> '.join(cycle)}"
                 for cycle in circles({m: e for m, e in graph.items() if not _under(m, "tests")})]
    return sorted(set(breaches))


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan), each as a path back to its
    first module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(start: str) -> None:
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            advanced = False
            for nxt in edges:
                if nxt not in graph:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(_path(graph, set(component)))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def _path(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A cycle through the component's first module: breadth-first back to it."""
    first = min(component)
    previous: dict[str, str] = {}
    frontier = [first]
    while frontier:
        nxt_frontier = []
        for node in frontier:
            for nxt in sorted(graph[node] & component):
                if nxt == first:
                    path = [node]
                    while path[-1] != first:
                        path.append(previous[path[-1]])
                    return [*reversed(path), first]
                if nxt not in previous:
                    previous[nxt] = node
                    nxt_frontier.append(nxt)
        frontier = nxt_frontier
    return sorted(component)


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent
    breaches = check(root)
    for line in breaches:
        print(line)
    if breaches:
        print(f"import layers: {len(breaches)} breach(es)", file=sys.stderr)
        return 1
    print("import layers: clean")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
