"""The documentation: every Python block runs as written, every page is on the site, the README stays short.

The site itself is built by ``mkdocs build --strict`` in the README's test command (broken links, a public object
without a docstring, a public name missing from the API reference fail it: ``docs/hooks.py``).
"""

from __future__ import annotations

import json
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


RUN_PAGES = """
import json, os, sys, traceback
pages, root = json.loads(open(sys.argv[1]).read()), sys.argv[2]
failures = {}
for index, (page, blocks) in enumerate(pages.items()):
    folder = os.path.join(root, str(index))
    os.makedirs(folder)
    os.chdir(folder)
    try:
        exec(compile("\\n\\n".join(blocks), page, "exec"), {"__name__": "__main__"})
    except BaseException:
        failures[page] = traceback.format_exc()
open(os.path.join(root, "failures.json"), "w").write(json.dumps(failures))
"""
"""Runs each page's blocks in order, in a namespace and a folder of its own, and writes each failure's traceback."""


@pytest.fixture(scope="module")
def page_failures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every page run in one interpreter: one start of torch and Lightning (about 12 s here) instead of one a page.

    Each page still starts from nothing of its own (a fresh namespace, its own working folder), as a reader who
    pastes its blocks into a new session would; what it imports is already imported.
    """
    root = tmp_path_factory.mktemp("pages")
    (root / "pages.json").write_text(json.dumps(dict(runnable())))
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, "-c", RUN_PAGES, str(root / "pages.json"), str(root)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return json.loads((root / "failures.json").read_text())


@pytest.mark.parametrize("page", [name for name, _ in runnable()])
def test_the_python_blocks_of_a_page_run_in_order(page: str, page_failures: dict[str, str]) -> None:
    """A page's blocks run one after the other in one interpreter, as a reader would paste them."""
    assert page not in page_failures, f"{page}:\n{page_failures.get(page, '')[-4000:]}"


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
