"""Files safe to open (REC-064…066): every malformed file is an InputError (exit 2) naming the
file and the cause, XLSX bombs are refused before unpacking, XML entities are off, data on a
second sheet is refused by name, and CSV export cells cannot run as formulas."""

from __future__ import annotations

import zipfile

import openpyxl
import pytest

from creditx.standard.errors import InputError
from creditx.standard.tabular import FileLimits, neutralise_cell, read_table

HEADER = "行政相对人名称,行政相对人类别,统一社会信用代码,处罚决定书文号,处罚类别,处罚决定日期\n"
ROW = "济南某某公司,法人及非法人组织,91370102MA3C4N8A0X,济市监罚〔2025〕1号,罚款,2025-01-02\n"


def _rows(path, **kw):
    with read_table(path, **kw) as t:
        return list(t)


@pytest.mark.parametrize(
    "name, content, match",
    [
        ("big-cell.csv", (HEADER + "济南," + "x" * (200 * 1024) + ",a,b,c,d\n").encode(), "not a readable CSV"),
        ("first-byte-80.csv", b"\x80" + HEADER.encode("utf-8") + ROW.encode("utf-8"), "cannot be read"),
        ("renamed.csv", None, "XLSX workbook"),
        ("deep.jsonl", b"[" * 100000 + b"]" * 100000 + b"\n", "no JSON object"),
        ("bad.xlsx", b"PK\x03\x04 not really a zip", "not a readable XLSX"),
    ],
)
def test_malformed_files_are_input_errors(tmp_path, name, content, match):
    p = tmp_path / name
    if content is None:
        wb = openpyxl.Workbook()
        ws = wb.active
        assert ws is not None
        ws.append(["a", "b"])
        wb.save(p)
    else:
        p.write_bytes(content)
    with pytest.raises(InputError, match=match):
        _rows(p)


def test_a_nan_cell_is_text_not_invalid_operation():
    from creditx.standard.tabular import _text

    assert (_text(float("nan")), _text(float("inf")), _text(0.2), _text(1.0)) == ("nan", "inf", "0.2", "1")


def _workbook(path, extra_members: dict[str, bytes] | None = None, sheets: int = 1) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADER.strip().split(","))
    ws.append(ROW.strip().split(","))
    for i in range(1, sheets):
        other = wb.create_sheet(f"第{i + 1}页")
        other.append(HEADER.strip().split(","))
        other.append(ROW.strip().split(","))
    wb.save(path)
    if extra_members:
        with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as z:
            for name, data in extra_members.items():
                z.writestr(name, data)


def test_an_xlsx_zip_bomb_is_refused_before_it_is_unpacked(tmp_path):
    p = tmp_path / "bomb.xlsx"
    _workbook(p, {"xl/media/bomb.bin": b"\0" * (64 << 20)})
    assert p.stat().st_size < 1 << 20
    with pytest.raises(InputError, match="max_ratio"):
        _rows(p)
    with pytest.raises(InputError, match="max_unpacked_bytes"):
        _rows(p, limits=FileLimits(max_unpacked_bytes=1 << 20, max_ratio=10**9))


def test_xml_entities_are_refused_not_expanded(tmp_path):
    import re

    p = tmp_path / "laughs.xlsx"
    _workbook(p)
    with zipfile.ZipFile(p) as z:
        members = {i.filename: z.read(i.filename) for i in z.infolist()}
    sheet = "xl/worksheets/sheet1.xml"
    members[sheet] = re.sub(
        rb"^(<\?xml[^>]*\?>)?",
        lambda m: (m.group(1) or b"") + b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>',
        members[sheet],
        count=1,
    )
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    from xml.etree.ElementTree import fromstring as expanding

    from defusedxml import EntitiesForbidden  # type: ignore[import-untyped]  # no types-defusedxml in the dev deps
    from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped]  # no types-defusedxml in the dev deps

    assert expanding(members[sheet]) is not None  # well-formed XML: a parser with entities on reads it
    with pytest.raises(EntitiesForbidden):
        fromstring(members[sheet])
    with pytest.raises(InputError, match="not a readable XLSX"):
        _rows(p)


def test_data_on_a_second_sheet_is_read_with_its_name(tmp_path):
    p = tmp_path / "two.xlsx"
    _workbook(p, sheets=2)
    rows = _rows(p)
    assert len(rows) == 2 and [r.meta.get("sheet") for r in rows][1] == "第2页"


def test_a_notes_sheet_is_refused_by_name_not_silently_skipped(tmp_path):
    p = tmp_path / "notes.xlsx"
    _workbook(p)
    wb = openpyxl.load_workbook(p)
    wb.create_sheet("填表说明").append(["日期写 YYYY-MM-DD"])
    wb.save(p)
    with read_table(p) as t:
        rows = list(t)
        assert [name for name, _ in t.refused_sheets] == ["填表说明"]
    assert len(rows) == 1


def test_too_many_rows_names_the_bound(tmp_path):
    p = tmp_path / "many.csv"
    p.write_text(HEADER + ROW * 20, "utf-8")
    with pytest.raises(InputError, match="max_rows"):
        _rows(p, limits=FileLimits(max_rows=10))


@pytest.mark.parametrize(
    "value, safe",
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("济南", "济南"),
        ("", ""),
        (12, 12),
        (None, None),
    ],
)
def test_neutralise_cell(value, safe):
    assert neutralise_cell(value) == safe
