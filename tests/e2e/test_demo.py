"""The README's main job: `creditx demo` runs a province to completion and its numbers add up."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from creditx.demo.procs import run_creditx

pytestmark = pytest.mark.slow

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_readme_main_command_is_the_demo():
    m = re.search(r"<!-- main-command -->\s*```sh\n(.*?)```", README, re.S)
    assert m, "README has no main-command block"
    block = m.group(1)
    assert block.strip().endswith("creditx demo"), block


def test_demo_runs_a_small_province_and_the_numbers_add_up(tmp_path):
    proc = run_creditx("demo", "--cities", "3", "--records", "60", "--dir", str(tmp_path / "p"), "--json", timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["drained"] and result["consistent"]
    assert result["workdir"]["kept"] and result["workdir"]["bytes"] > 0  # a named --dir is kept, its size said
    assert [c["region"] for c in result["cities"]] == ["370100", "370200", "370300"]
    for city in result["cities"]:
        assert city["generated"] == (
            city["accepted"]
            + city["duplicate"]
            + city["superseded"]
            + city["rejected"]
            + city["already_submitted_at_node"]
        )
        assert city["duplicate"] > 0 and city["superseded"] > 0 and city["rejected_at_node"] > 0
    assert len(result["gateway"]["nodes"]) == 3
    # A black-list entry submitted at one city reached every node; its credit-repair removal too.
    lp = result["list_propagation"]
    assert lp["subject"]["list_type"] == "SXBZXR" and lp["subject"]["colour"] == "black"
    for act in ("added", "removed_by_credit_repair"):
        assert lp[act]["reached"] == 3 and all(v is not None for v in lp[act]["per_node_s"].values())
    assert all(v is not None for v in result["replicas_caught_up_s"].values())
    # Every node reported its replica at the list head to the gateway (DIST-043).
    head = int(result["gateway"]["list_head"])
    assert head > 0 and all(
        int(n["applied_list_seq"]) == head and int(n["list_lag_entries"]) == 0 for n in result["gateway"]["nodes"]
    )
