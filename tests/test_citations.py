"""Every citation in the code resolves inside the repository: a ``docs/...`` path names a file that exists, a source
label (``ADN-INTRO``, ``ADN-TOOLS``, ...) is defined in docs/sources.md, and no docstring or comment points to a
document the repository does not hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CODE = sorted(
    path
    for folder in ("adops_async", "examples", "benchmarks")
    for path in (ROOT / folder).rglob("*")
    if path.suffix in (".py", ".lua") and "__pycache__" not in path.parts
)
LABELS = (
    *("OOY-INTRO", "PP-INTRO", "ANX-INTRO", "ADN-INTRO"),  # the vendors' own introductions
    *("OOY-MD", "OOY-WEB", "XDOC25", "XDOC", "NUMB", "ANX", "SIMP", "ADN-DOC", "ADN-TOOLS"),
)
LABEL = re.compile(r"\b({})\b".format("|".join(LABELS)))
DOC_PATH = re.compile(r"\bdocs/[\w./-]+\.md\b")
NOWHERE = re.compile(r"\b(DESIGN\.md|VENDORS\.md|SEED-\d+|\.\./shared)\b")


def defined_labels() -> set[str]:
    text = (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| ([A-Z][A-Z0-9-]+) \|", text, flags=re.MULTILINE))


@pytest.mark.parametrize("path", CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_citations_resolve(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert NOWHERE.findall(text) == []
    assert set(LABEL.findall(text)) <= defined_labels()
    missing = [cited for cited in DOC_PATH.findall(text) if not (ROOT / cited).is_file()]
    assert missing == []


def test_the_sources_page_defines_the_labels_in_use() -> None:
    assert {"OOY-INTRO", "PP-INTRO", "ANX-INTRO", "ADN-INTRO", "ADN-TOOLS", "XDOC"} <= defined_labels()
