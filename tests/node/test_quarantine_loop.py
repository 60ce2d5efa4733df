"""The clerk's round trip, as a new user does it: import → export the quarantine → fix the rows in
a spreadsheet (here csv / openpyxl, as a spreadsheet program would save them) → import the export
again → the quarantine is empty and every fixed row is in the outbox exactly once. Files are
written by hand in the template clerks use (Chinese headers), in CSV GB18030, CSV UTF-8 and XLSX."""

from __future__ import annotations

import csv
import json

import openpyxl
import pytest

from creditx.node.app import NodeApp
from tests.node.test_cli_app import creditx, node_dir  # noqa: F401 - the fixture

HEADER = [
    "行政相对人名称",
    "行政相对人类别",
    "行政相对人代码_1（统一社会信用代码）",
    "法定代表人",
    "行政处罚决定书文号",
    "违法行为类型",
    "违法事实",
    "处罚依据",
    "处罚类别",
    "处罚内容",
    "罚款金额（万元）",
    "处罚决定日期",
    "处罚有效期",
    "处罚机关",
    "处罚机关统一社会信用代码",
    "数据来源单位",
    "数据来源单位统一社会信用代码",
]
AUTH = ["东营市市场监督管理局", "11370500004273161F", "东营市市场监督管理局", "11370500004273161F"]


def _row(
    n: int,
    *,
    uscc: str = "91370502MA3RBA290K",
    category: str = "罚款",
    amount: str = "0.2",
    date: str = "2024/04/02",
    name: str = "山东星际云科技发展有限公司",
) -> list[str]:
    return [
        name,
        "法人及非法人组织",
        uscc,
        "王某某",
        f"东市监罚〔2024〕{n}号",
        "未按规定公示年度报告",
        "未在规定期限内公示年度报告",
        "《企业信息公示暂行条例》第十八条",
        category,
        "罚款",
        amount,
        date,
        "2027/04/02",
        *AUTH,
    ]


def _rows() -> list[list[str]]:
    """Two good rows and the mistakes clerks make: a wrong USCC check character, a fine written
    in yuan with a unit, a missing category, a formula-looking name."""
    return [
        _row(1),
        _row(2, uscc="91370502MA3RBA290X"),
        _row(3, amount="2000元"),
        _row(4, category=""),
        _row(5),
        _row(6, name='=HYPERLINK("http://x","点我")', uscc="91370502MA3RBA29"),
    ]


def _write(path, rows, fmt: str, encoding: str = "utf-8-sig") -> None:
    if fmt == "xlsx":
        wb = openpyxl.Workbook()
        ws = wb.active
        assert ws is not None
        ws.title = "处罚"
        ws.append(HEADER)
        for r in rows:
            ws.append(r)
        notes = wb.create_sheet("填表说明")  # an instructions sheet, as real templates carry
        notes.append(["本表用于报送行政处罚信息，请勿修改表头"])
        wb.save(path)
    else:
        with open(path, "w", newline="", encoding=encoding) as f:
            w = csv.writer(f)
            w.writerow(HEADER)
            w.writerows(rows)


def _read_export(path, fmt: str, encoding: str) -> tuple[list[str], list[list[str]]]:
    if fmt == "xlsx":
        wb = openpyxl.load_workbook(path)
        ws = wb.worksheets[0]
        data = [["" if c is None else str(c) for c in r] for r in ws.iter_rows(values_only=True)]
        return data[0], data[1:]
    with open(path, newline="", encoding=encoding) as f:
        data = list(csv.reader(f))
    return data[0], data[1:]


def _fix(header: list[str], row: list[str]) -> list[str]:
    """What the clerk does with each quarantined row, reading the problem columns."""
    col = {h: i for i, h in enumerate(header)}
    row = list(row)
    fields = row[col["问题字段"]]
    if "CF_XDR_SHXYM" in fields:
        row[col["行政相对人代码_1（统一社会信用代码）"]] = "91370502MA3RBA290K"
    if "CF_NR_FK" in fields:
        row[col["罚款金额（万元）"]] = "0.2"
    if "CF_CFLB" in fields:
        row[col["处罚类别"]] = "罚款"
    name = row[col["行政相对人名称"]]
    if name.startswith("'=") or not name:
        row[col["行政相对人名称"]] = "山东心种子教育咨询有限公司"
    return row


def _outbox(d) -> list[tuple[str, dict]]:
    app = NodeApp(d)
    try:
        return [
            (sid, json.loads(payload)["fields"])
            for sid, payload in app.store.conn.execute("SELECT source_id, payload FROM outbox ORDER BY source_seq")
        ]
    finally:
        app.close()


@pytest.mark.parametrize("fmt,encoding", [("csv", "gb18030"), ("csv", "utf-8-sig"), ("xlsx", "xlsx")])
def test_clerk_round_trip_empties_the_quarantine(node_dir, tmp_path, capsys, fmt, encoding):  # noqa: F811
    d, _ = node_dir
    src = tmp_path / f"cf.{fmt}"
    _write(src, _rows(), fmt, encoding)
    assert creditx("import", src, "--dir", d, "--json") == 1
    first = json.loads(capsys.readouterr().out)
    assert (first["accepted"], first["quarantined"], first["already_submitted"]) == (2, 4, 0)
    assert first["seq_ranges"] == [[1, 2]]
    if fmt == "xlsx":
        assert first["refused_sheets"] == [{"sheet": "填表说明", "reason": first["refused_sheets"][0]["reason"]}]
    assert {p["field"] for p in first["problems"]} >= {"CF_XDR_SHXYM", "CF_NR_FK", "CF_CFLB"}

    # the same file again: the good rows are recognised, the bad ones are not added twice
    assert creditx("import", src, "--dir", d, "--json") == 1
    again = json.loads(capsys.readouterr().out)
    assert (again["accepted"], again["already_submitted"], again["quarantined"], again["requarantined"]) == (0, 2, 4, 4)
    assert again["quarantine_records"] == 4

    out = tmp_path / "fix-me.csv"
    assert creditx("quarantine", "--dir", d, "--export", out, "--json") == 0
    [exported] = json.loads(capsys.readouterr().out)
    assert exported["records"] == 4 and exported["format"] == fmt
    path = exported["file"]
    assert path.endswith("." + fmt)
    header, rows = _read_export(path, fmt, "gb18030" if encoding == "gb18030" else "utf-8-sig")
    assert header[: len(HEADER)] == HEADER and header[len(HEADER) :] == [
        "隔离编号",
        "问题字段",
        "问题规则",
        "问题说明",
        "修改建议",
    ]
    assert len(rows) == 4 and all(r[header.index("修改建议")] for r in rows)
    if fmt == "csv":
        assert any(r[0].startswith("'=HYPERLINK") for r in rows)  # the formula is text, not run
    else:  # in XLSX it was a formula cell with no value: the name is missing, and said so
        assert any("CF_XDR_MC" in r[header.index("问题字段")] for r in rows)

    # fix half of them first: the counts fall, the unfixed ones stay (replaced, not added)
    fixed = [_fix(header, r) for r in rows]
    _save_edit(path, fmt, encoding, header, fixed[:2] + rows[2:])
    assert creditx("import", path, "--dir", d, "--json") == 1
    step = json.loads(capsys.readouterr().out)
    assert (step["accepted"], step["quarantined"], step["released_from_quarantine"]) == (2, 2, 2)
    assert step["quarantine_records"] == 2
    assert creditx("quarantine", "--dir", d, "--json") == 0
    assert json.loads(capsys.readouterr().out)["records"] == 2

    _save_edit(path, fmt, encoding, header, fixed)
    assert creditx("import", path, "--dir", d, "--json") == 0
    last = json.loads(capsys.readouterr().out)
    assert (last["accepted"], last["already_submitted"], last["quarantined"]) == (2, 2, 0)
    assert last["quarantine_records"] == 0
    assert creditx("quarantine", "--dir", d, "--json") == 0
    assert json.loads(capsys.readouterr().out)["records"] == 0

    outbox = _outbox(d)
    wsh = [f["CF_WSH"] for _, f in outbox]
    assert sorted(wsh) == sorted(f"东市监罚〔2024〕{n}号" for n in range(1, 7))  # every row once
    assert len({sid for sid, _ in outbox}) == 6
    assert {f["CF_NR_FK"] for _, f in outbox} == {"0.2"}


def _save_edit(path, fmt: str, encoding: str, header: list[str], rows: list[list[str]]) -> None:
    """Save as a spreadsheet program would: the same columns, the same format and encoding."""
    if fmt == "xlsx":
        wb = openpyxl.Workbook()
        ws = wb.active
        assert ws is not None
        ws.append(header)
        for r in rows:
            ws.append(r)
        wb.save(path)
        return
    with open(path, "w", newline="", encoding="gb18030" if encoding == "gb18030" else "utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def test_2015_file_round_trip(node_dir, tmp_path, capsys):  # noqa: F811
    """A hand-made 2015-template file: the mappable rows go through, each other row names the right
    field, and the exported rows — still in the 2015 columns and GB18030 — import once fixed."""
    from tests.test_legacy2015 import CF_2015, ROWS

    d, _ = node_dir
    src = tmp_path / "cf2015.csv"
    dfbm = CF_2015.index("DFBM")
    with open(src, "w", newline="", encoding="gb18030") as f:
        w = csv.writer(f)
        w.writerow(CF_2015)
        w.writerows([r[:dfbm] + ["370100"] + r[dfbm + 1 :] for r in ROWS])  # this node's own region (NODE-022)
    assert creditx("import", src, "--dir", d, "--json") == 1
    first = json.loads(capsys.readouterr().out)
    assert (first["accepted"], first["quarantined"], first["unknown_columns"]) == (4, 4, [])
    assert {(p["row"], p["field"]) for p in first["problems"]} >= {
        (4, "CF_CFLB"),
        (5, "CF_ZT"),
        (7, "CF_CFLB"),
        (8, "CF_NR_FK"),
    }
    assert creditx("quarantine", "--dir", d, "--export", tmp_path / "fix.csv", "--json") == 0
    [exported] = json.loads(capsys.readouterr().out)
    header, rows = _read_export(exported["file"], "csv", "gb18030")
    assert header[: len(CF_2015)] == CF_2015
    col = {h: i for i, h in enumerate(header)}
    for r in rows:
        if r[col["CF_CFLB1"]] in ("暂扣或者吊销许可证", "4"):
            r[col["CF_CFLB1"]] = "警告"
        if r[col["CF_ZT"]] == "1":
            r[col["CF_ZT"]] = "0"
        if r[col["CF_NR_FK"]] == "2000元":
            r[col["CF_NR_FK"]] = "0.2"
    _save_edit(exported["file"], "csv", "gb18030", header, rows)
    assert creditx("import", exported["file"], "--dir", d, "--json") == 0
    last = json.loads(capsys.readouterr().out)
    assert (last["accepted"], last["quarantined"], last["quarantine_records"]) == (4, 0, 0)
    outbox = _outbox(d)
    assert sorted(f["CF_WSH"] for _, f in outbox) == sorted(r[0] for r in ROWS)
    by_wsh = {f["CF_WSH"]: f for _, f in outbox}
    assert by_wsh["东市监罚〔2016〕6号"]["CF_CFLB"] == "警告"
    assert by_wsh["东市监罚〔2016〕5号"]["CF_XDR_ZJLX"] == "身份证"
    assert by_wsh["东市监罚〔2016〕1号"]["BZ"].count("处罚名称") == 1
