"""``creditx standard …`` commands: exit codes, human and JSON output, on real files."""

import argparse
import json
from pathlib import Path

import pytest

from creditx.cli.standard import register as add_standard_command
from creditx.standard.errors import InputError

TEMPLATES = Path(__file__).parent / "data" / "templates"


def run(capsys, *argv):
    # Only this role's parser: other roles' commands may be mid-work in the shared tree.
    parser = argparse.ArgumentParser(prog="creditx")
    add_standard_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["standard", *argv])
    code = args.func(args)
    out = capsys.readouterr().out
    return code, out


def test_check_id_valid_and_invalid(capsys):
    code, out = run(capsys, "check-id", "91370781MA3DKU6R4Q", "11010519491231002X", "MA3DKU6R4", "--json")
    assert code == 0
    assert [(r["kind"], r["valid"]) for r in json.loads(out)] == [("uscc", True), ("id_card", True), ("org_code", True)]
    code, out = run(capsys, "check-id", "91370781MA3DKU6R4Q", "91370781MA3DKU6R4P", "--json")
    assert code == 1
    bad = json.loads(out)[1]
    assert (bad["valid"], bad["reason"], bad["rule"]) == (False, "USCC_CHECKSUM", "REC-ID-02")
    assert "mistyped" in bad["message"]
    code, out = run(capsys, "check-id", "91370781MA3DKU6R4P")
    assert code == 1 and "INVALID" in out and "USCC_CHECKSUM" in out


def test_validate_json_report(capsys):
    code, out = run(
        capsys, "validate", str(TEMPLATES / "xzcf_fullwidth_utf8bom.csv"), "--today", "2024-06-30", "--json"
    )
    report = json.loads(out)
    assert code == 1
    assert (report["total"], report["valid"], report["invalid"]) == (8, 3, 5)
    assert report["record_type"] == "XZCF" and report["unknown_columns"] == ["内部流水号"]
    assert [(e["row"], e["field"], e["rule"]) for e in report["errors"]] == [
        (3, "CF_NR_FK", "REC-040"),
        (4, "CF_XDR_SHXYM", "REC-ID-02"),
        (6, "CF_XDR_GSZC", "REC-031"),
        (7, "CF_NR_ZKDX", "REC-043"),
        (8, "CF_JDRQ", "REC-027"),
    ]
    assert report["by_rule"] == {"REC-027": 1, "REC-031": 1, "REC-040": 1, "REC-043": 1, "REC-ID-02": 1}
    assert set(report["errors"][0]) == {"row", "field", "field_name", "rule", "reason", "message", "fix", "severity"}


def test_validate_limit_and_human_output(capsys):
    code, out = run(
        capsys, "validate", str(TEMPLATES / "xzxk_legacy_2015_gb18030.csv"), "--today", "2024-06-30", "--limit", "1"
    )
    assert code == 1
    assert "XK_XKLB" in out and "XK_XKJGDM" not in out.split("\n\n")[0]  # only one problem listed
    assert "5 rows, 1 valid, 4 invalid" in out and "REC-ID-02: 1" in out


def test_validate_jsonl_unreadable_line(capsys):
    code, out = run(capsys, "validate", str(TEMPLATES / "list_entries.jsonl"), "--today", "2024-06-30", "--json")
    report = json.loads(out)
    assert code == 1 and report["invalid"] == 3
    assert report["errors"][-1]["reason"] == "ROW_UNREADABLE" and report["errors"][-1]["row"] == 5


def test_validate_all_good_exits_zero(capsys, tmp_path):
    lines = (TEMPLATES / "list_entries.jsonl").read_text(encoding="utf-8").splitlines()[:2]
    path = tmp_path / "good.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out = run(capsys, "validate", str(path), "--today", "2024-06-30")
    assert code == 0 and "2 valid, 0 invalid" in out


def test_validate_bad_file_is_input_error(capsys, tmp_path):
    path = tmp_path / "x.doc"
    path.write_text("?")
    with pytest.raises(InputError, match="unknown file format"):
        run(capsys, "validate", str(path))


def test_catalogue(capsys):
    code, out = run(capsys, "catalogue", "--type", "XZCF", "--json")
    data = json.loads(out)
    assert code == 0 and list(data["record_types"]) == ["XZCF"] and len(data["list_types"]) == 12
    code, out = run(capsys, "catalogue", "--type", "LIST")
    assert "MD_YCYY" in out and "失信被执行人" in out


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "jsonl"])
def test_generate_then_validate(capsys, tmp_path, fmt):
    pytest.importorskip("creditx.standard.synth")
    path = tmp_path / f"gen.{fmt}"
    code, out = run(
        capsys,
        "generate",
        "--city",
        "370100",
        "--type",
        "XZCF",
        "--count",
        "40",
        "--format",
        fmt,
        "--invalid-share",
        "0.1",
        "--seed",
        "7",
        "--today",
        "2024-06-30",
        "-o",
        str(path),
        "--json",
    )
    assert code == 0 and json.loads(out)["rows"] == 40
    code, out = run(capsys, "validate", str(path), "--today", "2024-06-30", "--json")
    report = json.loads(out)
    assert report["total"] == 40 and report["invalid"] == 4, report["errors"]


def test_progress_line_shows_total_percentage_and_rate_and_ends_its_line():
    import io

    from creditx.cli.output import _Progress

    out = io.StringIO()
    bar = _Progress(2000, "importing x.csv", out)
    bar(500)
    bar(1500)
    bar.finish()
    text = out.getvalue()
    assert "500/2,000 rows ( 25.0 %)" in text and "2,000/2,000 rows (100.0 %)" in text and "rows/s" in text
    assert text.endswith("\n") and text.count("\n") == 1
