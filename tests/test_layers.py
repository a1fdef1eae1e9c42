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


def _files(*places: str) -> list[Path]:
    """The Python files of each place: a folder (recursively) or one module."""
    paths = [ROOT / place for place in places]
    return sorted(f for path in paths for f in (path.rglob("*.py") if path.is_dir() else [path]))


def _hits(names: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(n == f or n.startswith(f"{f}.") for f in forbidden))


PURE = ("drumeval/data", "drumeval/metrics", "drumeval/plots", "drumeval/audio")
PORTS_AND_TRAINING = ("drumeval/models", "drumeval/training")
ABOVE_PURE = ("drumeval.generate", "drumeval.clips", "drumeval.study", "drumeval.analysis")
LIBRARY = tuple(  # everything under drumeval/ but the CLI
    str(path.relative_to(ROOT))
    for path in sorted((ROOT / "drumeval").iterdir())
    if path.name not in ("cli", "__main__.py") and (path.suffix == ".py" or path.is_dir())
)
GROUND = ("drumeval/paths.py", "drumeval/errors.py", "drumeval/progress.py", "drumeval/registry.py")

# id: (folders or modules, what they must not import)
RULES = {
    "data": (("drumeval/data",), ("drumeval.metrics", "drumeval.plots", "drumeval.audio")),
    "pure functions": (PURE, ("drumeval.models", "drumeval.training", *ABOVE_PURE)),
    "models": (("drumeval/models",), ("drumeval.metrics", "drumeval.plots", "drumeval.training")),
    "models and training": (PORTS_AND_TRAINING, ABOVE_PURE),
    "library": (LIBRARY, ("drumeval.cli",)),
    "drumeval": (("drumeval",), ("ui", "pages", "app")),
    "pages": (("pages",), ("db", "drumeval.data", "drumeval.models", "drumeval.training")),
    "ui": (("ui",), ("db",)),  # views reach the database through drumeval.study / analysis
}


@pytest.mark.parametrize(("places", "forbidden"), RULES.values(), ids=RULES.keys())
def test_floors_import_only_floors_below(places, forbidden):
    broken = {
        str(path.relative_to(ROOT)): hits
        for path in _files(*places)
        if (hits := _hits(_imports(path), forbidden))
    }
    assert not broken, broken


def test_the_ground_floor_imports_only_itself():
    ground = tuple(f"drumeval.{Path(module).stem}" for module in GROUND)
    broken = {}
    for module in GROUND:
        ours = _hits(_imports(ROOT / module), ("drumeval", "db"))
        if outside := [name for name in ours if name != "drumeval" and not _hits({name}, ground)]:
            broken[module] = outside
    assert not broken, broken


def test_the_rules_see_imports_inside_functions():
    assert "drumeval.metrics.near_empty" in _imports(ROOT / "drumeval" / "generate.py")
