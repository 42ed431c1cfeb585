"""Fail on an import cycle between top-level packages, or on the avatar runtime importing an app.

The layering of ``docs/architecture.md``: the console uses the apps, the apps use the runtime and
``common``, the runtime uses ``common`` only, and ``common`` uses nothing of ours. Every import
counts, wherever it is written (inside a function, under ``TYPE_CHECKING``, in a migration):
a lazy import is still a dependency.

    python scripts/check_imports.py [ROOT]

Exits 1 and prints each problem with the import lines behind it; 0 when the layering holds.
"""
import ast
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

NOT_PACKAGES = {"tests", "bench", "scripts"}  # they use the code; nothing imports them
RUNTIME = "avatar_runtime"
RUNTIME_MAY_IMPORT = {"common"}

Evidence = dict[tuple[str, str], list[str]]  # (importer, imported) -> ["kiosk/views.py:8 imports common.errors", ...]


def packages(root: Path) -> set[str]:
    return {p.name for p in root.iterdir() if (p / "__init__.py").is_file() and p.name not in NOT_PACKAGES}


def _imported_modules(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def package_imports(root: Path) -> Evidence:
    """Every import of one of our top-level packages from another, with where it is written."""
    ours = packages(root)
    evidence: Evidence = defaultdict(list)
    for package in sorted(ours):
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for lineno, module in _imported_modules(tree):
                target = module.split(".")[0]
                if target in ours and target != package:
                    evidence[(package, target)].append(f"{path.relative_to(root)}:{lineno} imports {module}")
    return evidence


def cycles(edges: set[tuple[str, str]]) -> list[set[str]]:
    """The groups of packages that import each other, directly or round a longer loop (Tarjan's SCCs)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for source, target in edges:
        graph[source].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def problems(root: Path) -> list[str]:
    evidence = package_imports(root)
    found = []
    for group in cycles(set(evidence)):
        lines = [f"import cycle between top-level packages: {', '.join(sorted(group))} import each other"]
        for (source, target), where in sorted(evidence.items()):
            if source in group and target in group:
                lines += [f"  {source} -> {target}", *(f"    {line}" for line in where)]
        found.append("\n".join(lines))
    for (source, target), where in sorted(evidence.items()):
        if source == RUNTIME and target not in RUNTIME_MAY_IMPORT:
            found.append("\n".join([f"the runtime imports an app ({target}); it may import only "
                                    f"{', '.join(sorted(RUNTIME_MAY_IMPORT))}", *(f"    {line}" for line in where)]))
    return found


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent
    found = problems(root)
    for problem in found:
        print(problem)
    if not found:
        print(f"imports: no cycle between {len(packages(root))} top-level packages; the runtime imports no app")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
