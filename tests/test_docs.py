"""The README and docs/ stay linked: every relative link and image points at a file that exists.

The README is a short entry point; the user guide, benchmark log and design notes live in
docs/*.md. These tests keep that split from rotting: a moved file, a renamed heading or a
README that grows back into a manual fails here.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
README_MAX_LINES = 200

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")
# [text](target) and ![alt](target); text may be empty once code spans are removed
LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _prose(text: str) -> str:
    """The text without fenced code blocks (their lines are not links or headings)."""
    return FENCE.sub("", text)


def _links(text: str) -> list[str]:
    return LINK.findall(CODE_SPAN.sub("", _prose(text)))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces → '-'."""
    text = heading.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    anchors = set()
    for heading in HEADING.findall(_prose(path.read_text(encoding="utf-8"))):
        slug = _slug(heading)
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def _is_external(target: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE))


def test_the_docs_exist() -> None:
    assert README.is_file()
    assert DOCS, "docs/*.md is empty"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_image_exists(page: Path) -> None:
    broken = []
    for target in _links(page.read_text(encoding="utf-8")):
        if _is_external(target):
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / unquote(path_part)).resolve() if path_part else page
        if not resolved.exists():
            broken.append(f"{target} (no file {resolved})")
            continue
        if anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target} (no heading #{anchor} in {resolved.name})")
    assert not broken, f"{page.relative_to(ROOT)}: broken links:\n" + "\n".join(broken)


def test_every_docs_page_is_linked_from_the_readme() -> None:
    targets = {t.partition("#")[0] for t in _links(README.read_text(encoding="utf-8"))}
    missing = [p.name for p in DOCS if f"docs/{p.name}" not in targets]
    assert not missing, f"README.md links no docs page named {missing}"


def test_the_readme_stays_short() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines < README_MAX_LINES, f"README.md has {lines} lines; move detail into docs/"


def test_the_link_checker_sees_links_and_anchors() -> None:
    text = "See [a](docs/x.md#y) and ![b](img.png), not `[c](code.md)` or\n```\n[d](e.md)\n```\n"
    assert _links(text) == ["docs/x.md#y", "img.png"]
    assert _slug("Scaling out: PostgreSQL + replicas behind a proxy") == (
        "scaling-out-postgresql--replicas-behind-a-proxy"
    )
    assert _slug("Database: SQLite by default, PostgreSQL via `DATABASE_URL`") == (
        "database-sqlite-by-default-postgresql-via-database_url"
    )
