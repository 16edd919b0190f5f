"""Screenshots of the built documentation site with headless Chromium, to look at its pages as a reader does.

    mkdocs build --strict && python docs/site_screenshots.py --out /tmp/site-shots

Renders each page named below from ``site/`` (the site opens from the file system: ``use_directory_urls`` is off)
at a desktop width; the PNGs are for looking at, not committed. Chromium: ``apt-get install chromium``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [
    "index.html",
    "schedules.html",
    "find-lr.html",
    "without-a-trainer.html",
    "diagnostics.html",
    "reference/callbacks.html",
    "reference/core.html",
]


def main() -> None:
    """Write one PNG per page of ``PAGES``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--site", type=Path, default=ROOT / "site")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--size", default="1400,2200", help="the window, width,height in pixels")
    args = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("Chromium is needed: `apt-get install chromium`.")
    args.out.mkdir(parents=True, exist_ok=True)
    for page in PAGES:
        out = args.out / page.replace("/", "_").replace(".html", ".png")
        url = (args.site / page).resolve().as_uri()
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--window-size={args.size}", "--virtual-time-budget=5000", f"--screenshot={out}", url],
            check=True,
            capture_output=True,
            timeout=120,
        )  # fmt: skip
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
