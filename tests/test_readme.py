"""The README is the repository's front page for a newcomer: short, one figure, the two commands
that .ci/run reads from it, and links that lead to the documentation site's pages."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
LINK = re.compile(r"(!?)\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """A heading's anchor, as MkDocs' table of contents (Python-Markdown's ``slugify``) makes it."""
    text = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(page: Path) -> set[str]:
    text = re.sub(r"(?ms)^```.*?^```", "", page.read_text(encoding="utf-8"))  # not code
    return {slug(h) for h in re.findall(r"^#{1,6} (.+?)\s*$", text, re.M)}


def test_the_readme_is_short_and_shows_one_figure():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    images = [target for bang, target in LINK.findall(text) if bang]
    assert images == ["docs/cartpole-ablation.png"]
    assert "](docs/index.md)" in text  # the site
    assert "mkdocs serve" in text


def test_the_readme_holds_the_commands_ci_runs():
    """The markers .ci/run reads: the test command in a fenced block, the docs command inline."""
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- test-command -->\n```bash\n(.+)\n```\n<!-- /test-command -->", text)
    assert block and "python -m pytest --slow" in block.group(1)
    docs = re.findall(r"<!-- docs-command -->`(.+?)`<!-- /docs-command -->", text)
    assert docs == ['pip install -e ".[docs]" && mkdocs build --strict']
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "<!-- test-command -->" in ci and "<!-- docs-command -->" in ci


def test_every_readme_link_leads_to_a_file_and_a_heading_that_exist():
    text = README.read_text(encoding="utf-8")
    links = [target for _, target in LINK.findall(text) if "://" not in target]
    assert len(links) >= 10
    for target in links:
        path, _, anchor = target.partition("#")
        assert (ROOT / path).is_file(), f"README.md links to {path}, which does not exist"
        if anchor:
            assert anchor in anchors(ROOT / path), f"README.md: {path} has no heading #{anchor}"
