"""Render an HTML document to PNG or PDF with headless Chromium (Debian package ``chromium``).

Started as the project starts browsers everywhere: --headless --no-sandbox --disable-gpu
--no-first-run --disable-background-networking --disable-component-update --disable-sync and a
fresh --user-data-dir, so nothing of a desktop profile leaks in and nothing is fetched.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from creditx.standard.errors import InputError

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
A4_PX = (794, 1123)  # 210 × 297 mm at 96 dpi


def browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    raise InputError(
        "no headless browser to render the report with", hint="install one: apt-get install -y chromium fonts-noto-cjk"
    )


def _run(html_file: Path, *flags: str, timeout: float = 90.0) -> None:
    with tempfile.TemporaryDirectory(prefix="creditx-chromium-") as profile:
        argv = [
            browser(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *flags,
            html_file.resolve().as_uri(),
        ]
        proc = subprocess.run(argv, capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        raise InputError(f"chromium failed (exit {proc.returncode}): {proc.stderr.decode(errors='replace')[-500:]}")


def to_png(html_file: Path, png: Path, *, height: int = A4_PX[1] * 2) -> Path:
    _run(html_file, f"--screenshot={Path(png).resolve()}", f"--window-size={A4_PX[0]},{height}")
    return Path(png)


def to_pdf(html_file: Path, pdf: Path) -> Path:
    _run(html_file, f"--print-to-pdf={Path(pdf).resolve()}", "--no-pdf-header-footer")
    return Path(pdf)
