"""2015-template files (发改办财金〔2015〕2700号 codes) written by hand, with the mistakes clerks make,
read through creditx.standard.tabular and validated: the expected rows pass, every other row names
the right field, and nothing is guessed (REC-064)."""

from __future__ import annotations

import csv
import datetime as dt

import openpyxl

from creditx.standard.legacy2015 import is_2015_template
from creditx.standard.tabular import neutralise_cell, read_table
from creditx.standard.validation import validate_fields

TODAY = dt.date(2026, 6, 1)
CF_2015 = [
    "CF_WSH",
    "CF_CFMC",
    "CF_CFLB1",
    "CF_CFLB2",
    "CF_SY",
    "CF_YJ",
    "CF_XDR",
    "CF_XDR_SHXYM",
    "CF_XDR_ZDM",
    "CF_XDR_GSDJ",
    "CF_XDR_SWDJ",
    "CF_XDR_SFZ",
    "CF_FR",
    "CF_JG",
    "CF_JDRQ",
    "CF_XZJG",
    "CF_ZT",
    "DFBM",
    "SJC",
    "BZ",
    # columns the current standard requires that a 2015 export lacks, added by the department
    "CF_WFXW",
    "CF_NR_FK",
    "CF_YXQ",
    "CF_CFJGDM",
    "CF_SJLY",
    "CF_SJLYDM",
]
TAIL = ["未按规定公示年度报告", "", "2027/04/02", "11370500004273161F", "东营市市场监督管理局", "11370500004273161F"]


def cf(
    wsh,
    cflb1,
    cflb2="",
    *,
    name="山东星际云科技发展有限公司",
    uscc="91370502MA3RBA290K",
    zdm="",
    sfz="",
    zt="0",
    fine="0.2",
    cfmc="未按时公示年报案",
):
    row = [
        wsh,
        cfmc,
        cflb1,
        cflb2,
        "未在规定期限内公示年度报告",
        "《企业信息公示暂行条例》第十八条",
        name,
        uscc,
        zdm,
        "",
        "",
        sfz,
        "王某某" if uscc else "",
        "罚款",
        "2016/03/01",
        "东营市市场监督管理局",
        zt,
        "370500",
        "2016/03/02 10:00:00",
        "",
        *TAIL,
    ]
    row[CF_2015.index("CF_NR_FK")] = fine
    return row


ROWS = [
    cf("东市监罚〔2016〕1号", "1"),  # 2: code 1 = 罚款
    cf("东市监罚〔2016〕2号", "罚款", "0", zdm="MA3RBA290"),  # 3: text + code 0 = 警告, org code
    cf("东市监罚〔2016〕3号", "暂扣或者吊销许可证", fine=""),  # 4: suspension or revocation? not guessed
    cf("东市监罚〔2016〕4号", "1", zt="1"),  # 5: 当前状态 1 = 撤销: no current equivalent
    cf("东市监罚〔2016〕5号", "罚款", name="张某", uscc="", sfz="11010519491231002X"),  # 6: a natural person
    cf("东市监罚〔2016〕6号", "4", fine=""),  # 7: code 4, two measures in one code
    cf("东市监罚〔2016〕7号", "罚款", fine="2000元"),  # 8: the fine with a unit
    cf("东市监罚〔2016〕8号", "罚款", uscc="92140727MAE8C7WN66", name="祁县天天开心商贸行"),  # 9: 个体工商户
]


def _verdicts(path):
    out, rows = {}, {}
    with read_table(path) as table:
        for r in table:
            problems = [v for v in validate_fields(r.record_type, r.fields, today=TODAY) if v.severity == "error"]
            problems += list(r.meta.get("problems", ()))
            out[r.row] = sorted({(v.field, v.reason) for v in problems})
            rows[r.row] = r
        unknown = table.unknown_columns
    return out, rows, unknown


EXPECTED = {
    2: [],
    3: [],
    4: [("CF_CFLB", "ENUM_INVALID"), ("CF_CFLB", "LEGACY_AMBIGUOUS")],
    5: [("CF_ZT", "LEGACY_UNMAPPABLE")],
    6: [],
    7: [("CF_CFLB", "ENUM_INVALID"), ("CF_CFLB", "LEGACY_AMBIGUOUS")],
    8: [("CF_NR_FK", "AMOUNT_INVALID")],
    9: [],
}


def _check(path):
    verdicts, rows, unknown = _verdicts(path)
    assert verdicts == EXPECTED
    assert unknown == []  # every 2015 column is understood
    r2, r3, r6, r9 = rows[2], rows[3], rows[6], rows[9]
    assert r2.fields["CF_CFLB"] == "罚款" and r2.fields["CF_XDR_MC"] == "山东星际云科技发展有限公司"
    assert r2.fields["CF_XDR_LB"] == "法人及非法人组织" and r2.fields["CF_FRDB"] == "王某某"
    assert r2.fields["CF_NR"] == "罚款" and r2.fields["CF_CFJG"] == "东营市市场监督管理局"
    assert "处罚名称：未按时公示年报案" in r2.fields["BZ"]  # no current field: kept, labelled, in 备注
    assert "CF_ZT" not in r2.fields and "extra" not in r2.meta  # 0 正常: the penalty stands
    assert r2.meta["region"] == "370500" and r2.meta["update_time"].startswith("2016")
    assert r3.fields["CF_CFLB"] == "罚款;警告" and r3.fields["CF_XDR_ZZJG"] == "MA3RBA290"
    assert (r6.fields["CF_XDR_ZJHM"], r6.fields["CF_XDR_ZJLX"], r6.fields["CF_XDR_LB"]) == (
        "11010519491231002X",
        "身份证",
        "自然人",
    )
    assert r9.fields["CF_XDR_LB"] == "个体工商户"
    # what cannot be mapped stays as written, for the export and the clerk
    assert rows[4].fields["CF_CFLB"] == "暂扣或者吊销许可证"
    assert rows[5].meta["extra"]["CF_ZT"] == "1"
    hint = [v for v in rows[4].meta["problems"]][0]
    assert hint.rule == "REC-064" and "吊销许可证件" in hint.fix and "暂扣许可证件" in hint.fix


def test_2015_penalty_file_csv_gb18030(tmp_path):
    path = tmp_path / "cf2015.csv"
    with open(path, "w", newline="", encoding="gb18030") as f:
        w = csv.writer(f)
        w.writerow(CF_2015)
        w.writerows(ROWS)
    _check(path)


def test_2015_penalty_file_xlsx_every_sheet_read_or_refused(tmp_path):
    path = tmp_path / "cf2015.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "说明"
    ws.append(["填报说明：日期格式为YYYY/MM/DD"])  # words, no header: refused by name
    first = wb.create_sheet("第一批")
    first.append(CF_2015)
    for r in ROWS[:4]:
        first.append(r)
    wb.create_sheet("空白")  # empty: skipped
    second = wb.create_sheet("第二批")
    second.append(["行政处罚信息"])  # a title row above the header
    second.append(CF_2015)
    for r in ROWS[4:]:
        second.append(r)
    wb.save(path)
    with read_table(path) as table:
        rows = list(table)
        refused = table.refused_sheets
    assert [r.meta["sheet"] for r in rows] == ["第一批"] * 4 + ["第二批"] * 4
    assert [r.row for r in rows] == [2, 3, 4, 5, 3, 4, 5, 6]  # rows as the clerk sees them in each sheet
    assert [name for name, _ in refused] == ["说明"]
    assert "REC-061" in refused[0][1]


def test_a_workbook_without_any_template_sheet_is_refused_naming_each_sheet(tmp_path):
    import pytest

    from creditx.standard.errors import InputError

    path = tmp_path / "x.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "封面"
    ws.append(["2016年行政处罚信息", "报送单位"])
    wb.save(path)
    with pytest.raises(InputError) as exc:
        read_table(path)
    assert "'封面'" in exc.value.message


def test_revocation_alias_is_no_longer_recorded_as_suspension(tmp_path):
    path = tmp_path / "cf.csv"
    path.write_text(
        "行政处罚决定书文号,行政相对人名称,处罚类别,处罚内容\n罚〔2024〕1号,甲,暂扣或者吊销许可证,吊销\n",
        encoding="utf-8",
    )
    [r] = list(read_table(path))
    assert r.fields["CF_CFLB"] == "暂扣或者吊销许可证"  # not 暂扣许可证件
    assert [v.reason for v in r.meta["problems"]] == ["LEGACY_AMBIGUOUS"]


def test_field_name_variants_from_real_exports(tmp_path):
    path = tmp_path / "xk.csv"
    path.write_text(
        "行政相对人名称,XK_WSH,XK_FR,法定代表人身份证号,XK_XDR_GSDJ,许可截止期\n"
        "甲公司,许〔2024〕1号,李某,11010519491231002X,370500200012345,2030/01/01\n",
        encoding="utf-8",
    )
    [r] = list(read_table(path))
    assert r.fields["XK_FRDB"] == "李某"
    assert (r.fields["XK_FR_ZJHM"], r.fields["XK_FR_ZJLX"]) == ("11010519491231002X", "身份证")
    assert r.fields["XK_XDR_GSZC"] == "370500200012345" and r.fields["XK_YXQZI"] == "2030-01-01"
    path2 = tmp_path / "xk2.csv"
    path2.write_text(
        "XK_XDR_MC,XK_WSH,XK_FR_SFZH,XK_XKJG\n乙,许〔2024〕2号,11010519491231002X,某局\n", encoding="utf-8"
    )
    [r2] = list(read_table(path2))
    assert (r2.fields["XK_FR_ZJHM"], r2.fields["XK_FR_ZJLX"]) == ("11010519491231002X", "身份证")


def test_current_template_codes_are_not_read_as_2015_codes():
    assert not is_2015_template(["CF_XDR_MC", "CF_WSH", "CF_CFLB", "DFBM", "SJC"])
    assert is_2015_template(["CF_XDR", "CF_WSH", "CF_CFMC"])


def test_neutralise_cell():
    assert [neutralise_cell(v) for v in ("=1+1", "+86", "-5", "@SUM(A1)", "\tx", "\rx", "甲", "", "a=b")] == [
        "'=1+1",
        "'+86",
        "'-5",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "甲",
        "",
        "a=b",
    ]


def test_standard_validate_reports_2015_values_it_cannot_map(tmp_path, capsys):
    import argparse
    import json

    from creditx.cli.standard import register

    path = tmp_path / "cf2015.csv"
    with open(path, "w", newline="", encoding="gb18030") as f:
        w = csv.writer(f)
        w.writerow(CF_2015)
        w.writerows(ROWS)
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="c", required=True))
    args = parser.parse_args(["standard", "validate", str(path), "--json", "--today", "2026-06-01"])
    assert args.func(args) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["total"], report["valid"]) == (8, 4)
    assert {(e["row"], e["reason"]) for e in report["errors"]} >= {
        (4, "LEGACY_AMBIGUOUS"),
        (5, "LEGACY_UNMAPPABLE"),
        (7, "LEGACY_AMBIGUOUS"),
    }
