"""The example alert rules (docs/prometheus-alerts.yml) as data for the scrape tests: every
expression must name metrics that a real gateway or node exports."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

RULES = Path(__file__).resolve().parent.parent / "docs" / "prometheus-alerts.yml"


def expressions() -> list[str]:
    return [m.group(1).strip() for m in re.finditer(r"^\s+expr:\s*(.+)$", RULES.read_text("utf-8"), re.M)]


def metric_names(prefix: str) -> set[str]:
    return {name for e in expressions() for name in re.findall(rf"\b({prefix}\w+)", e)}


def promtool_problems() -> str | None:
    """promtool's complaint about the file, "" when it passes, None when promtool is absent."""
    tool = shutil.which("promtool")
    if tool is None:
        return None
    run = subprocess.run([tool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    return "" if run.returncode == 0 else run.stdout + run.stderr
