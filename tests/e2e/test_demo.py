"""The README's main job: `creditx demo` runs a province to completion and its numbers add up."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from creditx.demo.procs import run_creditx
from creditx.standard.identifiers import check_id_number
from creditx.standard.tabular import read_table

pytestmark = pytest.mark.slow

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_readme_main_command_is_the_demo():
    m = re.search(r"<!-- main-command -->\s*```sh\n(.*?)```", README, re.S)
    assert m, "README has no main-command block"
    block = m.group(1)
    assert block.strip().endswith("creditx demo"), block


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    base = tmp_path_factory.mktemp("demo") / "p"
    proc = run_creditx("demo", "--cities", "3", "--records", "60", "--dir", str(base), "--json", timeout=300)
    assert proc.returncode == 0, proc.stderr
    return base, json.loads(proc.stdout)


def test_demo_runs_a_small_province_and_the_numbers_add_up(demo):
    _, result = demo
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


def _person_ids(city_dir: Path) -> set[str]:
    """The natural persons' ID numbers in a city's own import files (证件号码 fields, and licence
    numbers that are ID numbers)."""
    out: set[str] = set()
    for path in (city_dir / "inbox").glob("*.csv"):
        for row in read_table(path):
            for code, value in row.fields.items():
                if (code.endswith("ZJHM") or code == "XK_XKBH") and check_id_number(value).valid:
                    out.add(check_id_number(value).normalised)
    return out


def test_no_node_keeps_another_citys_person_id_numbers_anywhere_on_disk(demo):
    """NODE-047: every byte a node keeps — databases, WAL, logs, feeds, exports — holds no clear
    ID number of a natural person whose record came from another city."""
    _scan_nodes(*demo)


@pytest.mark.province16
def test_after_a_16_city_demo_no_node_keeps_another_citys_person_id_numbers(tmp_path):
    """NODE-047/DIST-076 at the province's size: all 16 cities, every node directory scanned.
    Deselected unless asked for (``-m province16``): 17 processes take minutes on a small machine."""
    base = tmp_path / "p"
    proc = run_creditx("demo", "--cities", "16", "--records", "30", "--dir", str(base), "--json", timeout=1500)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert len(result["cities"]) == 16 and result["drained"] and result["consistent"]
    _scan_nodes(base, result)


def _scan_nodes(base: Path, result: dict) -> None:
    dirs = {c["region"]: base / "nodes" / c["region"] for c in result["cities"]}
    ids = {r: _person_ids(d) for r, d in dirs.items()}
    assert all(ids.values()), "every city's files name natural persons"
    for region, d in dirs.items():
        foreign = set().union(*(v for r, v in ids.items() if r != region)) - ids[region]
        blobs = {p: p.read_bytes() for p in d.rglob("*") if p.is_file() and "inbox" not in p.parts}
        assert any(p.name == "node.db" for p in blobs) and any(p.suffix == ".log" for p in blobs)
        leaks = sorted(
            (str(p.relative_to(d)), n)
            for p, b in blobs.items()
            for n in foreign
            if any(form in b for form in _encodings(n))
        )
        assert leaks == [], f"{region} keeps other cities' ID numbers: {leaks[:5]}"
    # the replicas did receive other cities' persons' entries (masked), so the scan had something to find
    replicated = sum(1 for d in dirs.values() for line in _replica_rows(d) if "*" in line)
    assert replicated > 0


def _encodings(number: str) -> list[bytes]:
    """The number as stored in the clear: raw, hex, and base64 at each of the three alignments it
    can have inside a base64-encoded payload (an envelope's JSON form)."""
    raw = number.encode()
    forms = [raw, raw.hex().encode()]
    for i in range(3):
        part = raw[i : i + (len(raw) - i) // 3 * 3]
        forms.append(base64.b64encode(part))
    return forms


def _replica_rows(d: Path) -> list[str]:
    import sqlite3

    conn = sqlite3.connect(f"file:{d / 'node.db'}?mode=ro", uri=True)
    try:
        return [b for (b,) in conn.execute("SELECT body FROM replica_entries")]
    finally:
        conn.close()
