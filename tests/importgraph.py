"""The import graph of the code base, read from the source files with ``ast`` (nothing is imported).

Every import statement counts, wherever it is: at the top of a module, inside a function, under
``if TYPE_CHECKING:``. Relative imports are resolved against the importing module, and
``from package import name`` points at the module ``package.name`` when there is one (else at
``package``). :mod:`test_architecture` states the rules over this graph.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator


@dataclass(frozen=True)
class Edge:
    importer: str  # dotted module name
    imported: str  # dotted module name, resolved
    path: Path  # the importing file, relative to the root
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.importer} imports {self.imported}"


def module_name(root: Path, path: Path) -> str:
    """``miner/collect/store.py`` -> ``miner.collect.store``; a package's ``__init__.py`` is the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files(root: Path, folders: tuple[str, ...]) -> list[Path]:
    return sorted(p for folder in folders for p in (root / folder).rglob("*.py"))


def _resolve(root: Path, importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` names before its ``import`` part."""
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    if not is_package:
        base = base[:-1]  # a module's relative imports start from its package
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _is_module(root: Path, dotted: str) -> bool:
    path = root.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports(root: Path, folders: tuple[str, ...] = ("miner", "flows")) -> list[Edge]:
    """Every import of every module under ``folders`` (of ``root``), in file and line order."""
    edges = []
    for path in source_files(root, folders):
        importer = module_name(root, path)
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(root, importer, is_package, node)
                names = [f"{base}.{a.name}" if _is_module(root, f"{base}.{a.name}") else base for a in node.names]
            else:
                continue
            rel = path.relative_to(root)
            edges += [Edge(importer, name, rel, node.lineno) for name in dict.fromkeys(names)]
    return sorted(edges, key=lambda e: (str(e.path), e.line, e.imported))


def string_constants(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) of every string literal in a file, the literal parts of f-strings included."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value
