"""Screenshots of TensorBoard for the README, from one run's log folder, with headless Chromium.

    python docs/screenshots.py runs/bert_sentiment/version_0      # writes docs/tensorboard.png, docs/hparams.png

Starts TensorBoard on the folder (loopback only), waits until it serves the run's tags, then has Debian's
Chromium (`apt-get install chromium`) render the Custom Scalars tab (smoothing 0, so the lr reads exactly) and
the HParams tab. Not a test: the README's figures come from the run this is pointed at.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).parent
PAGES = {  # file: (page, window size): the HParams table is one row, as wide as its columns
    "tensorboard.png": ("#custom_scalars&_smoothingWeight=0", "1500,1500"),
    "hparams.png": ("#hparams", "2100,420"),
}


def free_port() -> int:
    """A free TCP port on the loopback address."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_tags(port: int, seconds: float = 90) -> None:
    """Wait until the TensorBoard on ``port`` serves scalar tags (it has read the run)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/plugin/scalars/tags", timeout=5) as reply:
                if json.load(reply):
                    return
        except OSError:
            pass
        time.sleep(1)
    raise TimeoutError("TensorBoard served no tags")


def main() -> None:
    """Render the pages of ``PAGES`` for the run given on the command line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("logdir", type=Path, help="the run's folder (the one holding its event files)")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("Chromium is needed: `apt-get install chromium`.")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(args.logdir), "--host", "127.0.0.1",
         "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_tags(port)
        for name, (fragment, size) in PAGES.items():
            out = args.out / name
            subprocess.run(
                [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                 f"--window-size={size}", "--virtual-time-budget=20000", f"--screenshot={out}",
                 f"http://127.0.0.1:{port}/{fragment}"],
                check=True,
                capture_output=True,
                timeout=180,
            )  # fmt: skip
            print(f"wrote {out}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
