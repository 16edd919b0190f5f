"""The documentation: every Python block runs as written, every page is on the site, the README stays short.

The site itself is built by ``mkdocs build --strict`` in the README's test command (broken links, a public object
without a docstring, a public name missing from the API reference fail it: ``docs/hooks.py``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text())


def runnable() -> list[tuple[str, list[str]]]:
    """Each page with Python blocks, and its blocks (the README's complete example is `test_readme`'s)."""
    pages = [(str(page.relative_to(ROOT)), python_blocks(page)) for page in sorted(DOCS.rglob("*.md"))]
    readme = [block for block in python_blocks(ROOT / "README.md") if "trainer.fit(Digits()" not in block]
    return [(name, blocks) for name, blocks in [*pages, ("README.md", readme)] if blocks]


@pytest.mark.parametrize(("page", "blocks"), runnable(), ids=[name for name, _ in runnable()])
def test_the_python_blocks_of_a_page_run_in_order(page, blocks, tmp_path) -> None:
    """A page's blocks run one after the other in one interpreter, as a reader would paste them."""
    code = "\n\n".join(blocks)
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{page}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"


def test_pages_with_python_have_blocks_found() -> None:
    found = dict(runnable())
    assert {"docs/without-a-trainer.md", "docs/metrics.md", "docs/find-lr.md", "README.md"} <= set(found)


def nav_pages(entries: list) -> list[str]:
    pages: list[str] = []
    for entry in entries:
        for value in entry.values() if isinstance(entry, dict) else [entry]:
            pages += nav_pages(value) if isinstance(value, list) else [value]
    return pages


def test_every_page_is_in_the_sites_navigation_and_the_readme_links_each() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    listed = set(nav_pages(config["nav"]))
    pages = {str(page.relative_to(DOCS)) for page in DOCS.rglob("*.md")}
    assert pages == listed
    readme = (ROOT / "README.md").read_text()
    assert [page for page in sorted(pages) if f"(docs/{page})" not in readme] == []
    assert config["strict"] is True


def test_the_readme_is_at_most_250_lines() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 250
