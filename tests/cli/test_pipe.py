"""`creditx … | head` keeps the command's exit status: output after the reader went away is
discarded, the command finishes, and its status (1: problems found, 0: all good) is the one
the shell sees; nothing is printed about the broken pipe."""

from __future__ import annotations

import subprocess
import sys

import pytest

GOOD, BAD = "91370781MA3DKU6R4Q", "91370781MA3DKU6R4P"


@pytest.mark.slow
@pytest.mark.parametrize("last, status", [(GOOD, 0), (BAD, 1)], ids=["all-valid", "one-invalid-at-the-end"])
def test_head_keeps_the_exit_status(tmp_path, last, status):
    codes = " ".join([GOOD] * 4000 + [last])
    script = (
        f"{sys.executable} -c 'from creditx.cli.main import main; raise SystemExit(main())' "
        f"standard check-id {codes} | head -n 2; exit ${{PIPESTATUS[0]}}"
    )
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.stdout.count("\n") == 2
    assert run.returncode == status, run.stderr
    assert "Broken pipe" not in run.stderr and "Traceback" not in run.stderr
