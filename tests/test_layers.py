"""The layer rules of docs/architecture.md, read from the source: each floor imports only the
floors below it (every import counts, also those inside functions)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    """Every module a file imports, absolute (relative imports resolved against its package)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return names


def _files(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py"))


def _hits(names: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(n == f or n.startswith(f"{f}.") for f in forbidden))


# (folders, what they must not import)
RULES = [
    (("drumeval/models",), ("drumeval.metrics", "drumeval.plots", "drumeval.training")),
    (
        ("drumeval/models", "drumeval/training", "drumeval/metrics", "drumeval/plots"),
        ("drumeval.generate", "drumeval.clips", "drumeval.study", "drumeval.analysis"),
    ),
    (
        ("drumeval/data", "drumeval/metrics", "drumeval/plots", "drumeval/audio"),
        ("drumeval.models", "drumeval.training", "drumeval.generate", "drumeval.clips"),
    ),
    (("pages",), ("db", "drumeval.data", "drumeval.models", "drumeval.training")),
    (("drumeval",), ("ui", "pages", "app")),
]


@pytest.mark.parametrize(("folders", "forbidden"), RULES, ids=[rule[0][0] for rule in RULES])
def test_floors_import_only_floors_below(folders, forbidden):
    broken = {
        str(path.relative_to(ROOT)): hits
        for path in _files(*folders)
        if (hits := _hits(_imports(path), forbidden))
    }
    assert not broken, broken


def test_the_rules_see_imports_inside_functions():
    assert "drumeval.metrics.near_empty" in _imports(ROOT / "drumeval" / "generate.py")
