"""Tabular import of national-template files (REC-060…REC-062), on hand-written files.

The files in tests/data/templates/ were written by hand the way city departments fill the
templates (see the README there); each test states exactly which rows must be rejected, for
which field and by which rule.
"""

import datetime as dt
import inspect
from collections.abc import Generator
from pathlib import Path
from typing import Any, cast

import openpyxl
import pytest

from creditx.standard.errors import InputError
from creditx.standard.tabular import normalise_date, read_table, sniff_encoding
from creditx.standard.validation import errors_only, validate_fields

TEMPLATES = Path(__file__).parent / "data" / "templates"
TODAY = dt.date(2024, 6, 30)


def verdicts(path, record_type="auto"):
    out: dict[int, object] = {}
    with read_table(path, record_type) as rows:
        for r in rows:
            if "parse_error" in r.meta:
                out[r.row] = "PARSE_ERROR"
                continue
            out[r.row] = sorted(
                (v.field, v.rule, v.reason) for v in errors_only(validate_fields(r.record_type, r.fields, today=TODAY))
            )
    return out


def test_xzcf_fullwidth_headers_utf8_bom():
    path = TEMPLATES / "xzcf_fullwidth_utf8bom.csv"
    rows = read_table(path)
    assert (rows.record_type, rows.encoding) == ("XZCF", "utf-8-sig")
    assert rows.unknown_columns == ["内部流水号"]
    first = next(rows)
    rows.close()
    assert first.row == 2
    assert first.fields["CF_XDR_SHXYM"] == "91370502MA3RBA290K"
    assert first.fields["CF_CFLB"] == "警告;罚款"  # full-width ； → ; (REC-024)
    assert first.fields["CF_JDRQ"] == "2024-04-02"  # 2024/04/02 → ISO (REC-062)
    assert first.meta == {"op": "I", "extra": {"内部流水号": "A-0001"}}
    assert verdicts(path) == {
        2: [],
        3: [("CF_NR_FK", "REC-040", "CONDITIONAL_MISSING")],
        4: [("CF_XDR_SHXYM", "REC-ID-02", "USCC_CHECKSUM")],
        5: [],
        6: [("CF_XDR_GSZC", "REC-031", "CONDITIONAL_MISSING")],
        7: [("CF_NR_ZKDX", "REC-043", "CONDITIONAL_MISSING")],
        8: [("CF_JDRQ", "REC-027", "DATE_IN_FUTURE")],
        10: [],  # row 9 is blank: skipped, still counted
    }


def test_xzxk_legacy_2015_codes_gb18030():
    path = TEMPLATES / "xzxk_legacy_2015_gb18030.csv"
    assert sniff_encoding(path) == "gb18030"
    rows = list(read_table(path))
    assert [r.record_type for r in rows] == ["XZXK"] * 5
    r2 = rows[0]
    assert r2.fields["XK_XDR_MC"] == "山东星际云科技发展有限公司"  # XK_XDR
    assert r2.fields["XK_XDR_ZZJG"] == "MA3RBA290"  # XK_XDR_ZDM
    assert r2.fields["XK_XKLB"] == "普通"  # XK_SPLB
    assert r2.fields["XK_YXQZI"] == "2021-02-28"  # XK_JZQ
    assert r2.fields["XK_XKJG"] == "东营市食品药品监督管理局"  # XK_XZJG
    assert r2.fields["XK_ZT"] == "1"  # 有效 → 1
    assert r2.meta == {"region": "370500", "update_time": "2016/03/02 10:00:00"}  # DFBM, SJC
    assert rows[2].fields["XK_YXQZI"] == "2099-12-31"  # 长期
    assert verdicts(path) == {
        2: [],
        3: [("XK_XKLB", "REC-022", "ENUM_INVALID")],
        4: [("XK_XDR_ZJHM", "REC-ID-23", "ID_CHECKSUM")],
        5: [("BZ", "REC-045", "NOTE_MISSING"), ("XK_YXQZI", "REC-028", "DATE_ORDER")],
        6: [("XK_XKJGDM", "REC-ID-02", "USCC_CHECKSUM")],
    }


def test_list_jsonl_with_chinese_keys():
    path = TEMPLATES / "list_entries.jsonl"
    rows = list(read_table(path))
    assert rows[1].fields["MD_LX"] == "SXBZXR"  # Chinese list name → code
    assert rows[1].meta == {"op": "U", "source_id": "L-2", "version": "2"}
    assert verdicts(path) == {
        1: [],
        2: [],
        3: [("MD_LX", "REC-050", "LIST_TYPE_UNKNOWN")],
        4: [("MD_YCJG", "REC-052", "REMOVAL_INCOMPLETE"), ("MD_YCYY", "REC-052", "REMOVAL_INCOMPLETE")],
        5: "PARSE_ERROR",
    }


def test_xlsx_with_title_row_and_date_cells(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["东营市行政许可信息报送表"])  # a title row above the header, as templates have
    ws.append(
        [
            "行政相对人名称 *",
            "行政相对人类别*",
            "行政相对人代码_1(统一社会信用代码)",
            "法定代表人",
            "行政许可决定文书名称",
            "行政许可决定文书号",
            "许可类别",
            "许可内容",
            "许可决定日期",
            "有效期自",
            "有效期至",
            "许可机关",
            "许可机关统一社会信用代码",
            "当前状态",
            "数据来源单位",
            "数据来源单位统一社会信用代码",
        ]
    )
    base = [
        "山东星际云科技发展有限公司",
        "法人及非法人组织",
        "91370502MA3RBA290K",
        "王某某",
        "许可决定书",
        "东市监食许〔2024〕15号",
        "普通",
        "食品经营",
        dt.datetime(2024, 3, 1),
        dt.date(2024, 3, 1),
        "2029/02/28",
        "东营市市场监督管理局",
        "11370500004273161F",
        1,
        "东营市市场监督管理局",
        "11370500004273161F",
    ]
    ws.append(base)
    ws.append(base[:8] + [45352, 45352, 20290228] + base[11:])  # serial numbers, YYYYMMDD as int
    ws.append(base[:2] + ["91370502MA3RBA290"] + base[3:])  # 17 characters
    ws.append(base[:10] + ["2024-02-29"] + base[11:])  # valid-until before valid-from
    path = tmp_path / "许可.xlsx"
    wb.save(path)
    rows = list(read_table(path))
    assert [r.row for r in rows] == [3, 4, 5, 6]
    assert rows[0].fields["XK_JDRQ"] == "2024-03-01" and rows[0].fields["XK_ZT"] == "1"
    assert rows[1].fields["XK_JDRQ"] == "2024-03-01" and rows[1].fields["XK_YXQZI"] == "2029-02-28"
    assert verdicts(path) == {
        3: [],
        4: [],
        5: [("XK_XDR_SHXYM", "REC-ID-01", "USCC_LENGTH")],
        6: [("XK_YXQZI", "REC-028", "DATE_ORDER"), ("XK_YXQZI", "REC-028", "DATE_ORDER")],
    }


def test_explicit_type_and_codes_as_headers(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text(
        "CF_XDR_MC,CF_WSH,CF_CFLB1,CF_CFLB2,CF_JG\n甲,罚〔2024〕1号,警告,罚款,警告并罚款\n", encoding="utf-8"
    )
    (row,) = read_table(path, "XZCF")
    assert row.fields == {"CF_XDR_MC": "甲", "CF_WSH": "罚〔2024〕1号", "CF_CFLB": "警告;罚款", "CF_NR": "警告并罚款"}
    with pytest.raises(InputError, match="no recognisable XZXK header"):
        read_table(path, "XZXK")


@pytest.mark.parametrize(
    "name,content,match",
    [
        ("a.pdf", b"%PDF", "unknown file format"),
        ("empty.csv", b"", "empty or has no header"),
        ("noheader.csv", "名称,日期,金额\n甲,2024-01-01,1\n".encode(), "no recognisable header"),
        ("broken.xlsx", b"PK not really a zip", "not a readable XLSX"),
        ("nothing.jsonl", b"[1, 2]\n", "no JSON object"),
    ],
)
def test_clear_errors(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=match) as exc:
        read_table(path)
    assert exc.value.hint


def test_missing_file_and_ambiguous_header(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_table(tmp_path / "nope.csv")
    path = tmp_path / "amb.csv"
    path.write_text("行政相对人名称,行政相对人类别,法定代表人,备注\n", encoding="utf-8")
    with pytest.raises(InputError, match="several record types") as exc:
        read_table(path)
    assert "--type" in exc.value.hint


@pytest.mark.parametrize(
    "raw,iso",
    [
        ("2024/3/1", "2024-03-01"),
        ("2024.03.01", "2024-03-01"),
        ("20240301", "2024-03-01"),
        ("2024年3月1日", "2024-03-01"),
        ("2024-03-01 08:30:00", "2024-03-01"),
        ("45352", "2024-03-01"),
        (dt.datetime(2024, 3, 1, 8), "2024-03-01"),
        ("长期", "2099-12-31"),
        ("2024/02/30", "2024/02/30"),
        ("三月", "三月"),
    ],
)
def test_normalise_date(raw, iso):
    assert normalise_date(raw) == iso


def test_streams_without_reading_everything(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("CF_XDR_MC,CF_WSH,CF_CFLB\n")
        for i in range(200_000):
            fh.write(f"甲{i},罚〔2024〕{i}号,警告\n")
    rows = read_table(path)
    assert next(rows).row == 2  # the first row arrives before the rest is read
    assert inspect.getgeneratorstate(cast(Generator[Any], rows._rows)) == inspect.GEN_SUSPENDED
    rows.close()
