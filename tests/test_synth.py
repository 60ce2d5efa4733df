"""Tests of creditx.standard.synth: the generator's contract with validation, determinism, realism
and the writers' round trip through creditx.standard.tabular."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import weakref
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from creditx.standard.catalogue import Catalogue, ListType, load_catalogue
from creditx.standard.divisions import CITIES, city_of
from creditx.standard.errors import InputError
from creditx.standard.identifiers import USCC_PLACEHOLDER, check_id_number, check_uscc
from creditx.standard.synth import RECORD_TYPES, generate_rows, write_rows
from creditx.standard.synth.records import add_months, wan_yuan
from creditx.standard.validation import validate_fields

TODAY = dt.date(2025, 6, 1)
REGIONS = ["370000", *CITIES]


def list_type(cat: Catalogue, code: str) -> ListType:
    lt = cat.list_type(code)
    assert lt is not None, f"no list type {code}"
    return lt


def _pairs(record_type, fields, today=TODAY):
    return {(v.field, v.reason) for v in validate_fields(record_type, fields, today=today)}


# --- the contract the demo and the tests rely on -----------------------------------------


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_defects_are_reported_exactly_and_other_rows_validate_clean(region, record_type):
    rows = list(generate_rows(region, record_type, 120, seed=11, invalid_share=0.2, today=TODAY))
    assert sum(r.defect is not None for r in rows) == round(120 * 0.2)
    for r in rows:
        expected = {r.defect} if r.defect else set()
        assert _pairs(record_type, r.fields) == expected, (r.source_id, r.fields)


def test_every_kind_of_defect_occurs_and_is_reported():
    seen: Counter[str] = Counter()
    for record_type in RECORD_TYPES:
        for r in generate_rows("370200", record_type, 600, seed=3, invalid_share=0.5, today=TODAY):
            if r.defect:
                assert r.defect in _pairs(record_type, r.fields)
                seen[r.defect[1]] += 1
    assert set(seen) >= {
        "USCC_CHECKSUM",
        "ID_CHECKSUM",
        "CONDITIONAL_MISSING",
        "DATE_IN_FUTURE",
        "DATE_ORDER",
        "REQUIRED_MISSING",
        "ENUM_INVALID",
    }
    assert ("XK_XDR_GSZC", "CONDITIONAL_MISSING") in {
        r.defect for r in generate_rows("370200", "XZXK", 2000, seed=3, invalid_share=0.5, today=TODAY)
    }


def test_fine_in_yuan_is_drawn_only_on_request_and_is_a_warning():
    plain = {r.defect for r in generate_rows("370300", "XZCF", 800, seed=2, invalid_share=0.5, today=TODAY)}
    assert ("CF_NR_FK", "AMOUNT_LIKELY_YUAN") not in plain
    rows = [
        r
        for r in generate_rows("370300", "XZCF", 800, seed=2, invalid_share=0.5, today=TODAY, include_warnings=True)
        if r.defect == ("CF_NR_FK", "AMOUNT_LIKELY_YUAN")
    ]
    assert rows
    for r in rows:
        (v,) = validate_fields("XZCF", r.fields, today=TODAY)
        assert (v.field, v.reason, v.severity) == ("CF_NR_FK", "AMOUNT_LIKELY_YUAN", "warning")


@pytest.mark.parametrize("count,share", [(0, 0.5), (1, 1.0), (7, 0.5), (1000, 0.013), (333, 1.0), (50, 0.0)])
def test_broken_row_count_is_exact_and_spread(count, share):
    rows = list(generate_rows("370500", "XZCF", count, seed=9, invalid_share=share, today=TODAY))
    broken = [i for i, r in enumerate(rows) if r.defect]
    assert len(rows) == count and len(broken) == round(count * share)
    if len(broken) > 1:  # evenly spread: no gap (cyclically) much above count / broken
        gaps = [b - a for a, b in zip(broken, broken[1:], strict=False)] + [broken[0] + count - broken[-1]]
        assert max(gaps) <= count / len(broken) + 1


# --- determinism ---------------------------------------------------------------------------


def test_same_arguments_give_identical_rows_and_other_seeds_differ():
    args: dict[str, Any] = dict(seed=42, invalid_share=0.1, today=TODAY)
    a = list(generate_rows("370600", "LIST", 200, **args))
    assert a == list(generate_rows("370600", "LIST", 200, **args))
    b = list(generate_rows("370600", "LIST", 200, **{**args, "seed": 43}))
    assert sum(x.fields == y.fields for x, y in zip(a, b, strict=True)) == 0
    c = list(generate_rows("370700", "LIST", 200, **args))
    assert sum(x.fields == y.fields for x, y in zip(a, c, strict=True)) == 0


def test_valid_rows_do_not_depend_on_count_or_share():
    long = list(generate_rows("370800", "XZXK", 300, seed=5, invalid_share=0.3, today=TODAY))
    short = list(generate_rows("370800", "XZXK", 100, seed=5, today=TODAY))
    for x, y in zip(long, short, strict=False):
        if x.defect is None:
            assert x == y


def test_source_ids_are_stable_and_unique():
    rows = list(generate_rows("370100", "XZCF", 500, seed=1, today=TODAY))
    assert rows[0].source_id == "370100-XZCF-1-000001" and rows[-1].source_id == "370100-XZCF-1-000500"
    assert len({r.source_id for r in rows}) == 500
    again = [r.source_id for r in generate_rows("370100", "XZCF", 500, seed=1, today=TODAY)]
    assert again == [r.source_id for r in rows]  # deterministic
    assert {(r.op, r.version) for r in rows} == {("I", 1)}


def test_source_ids_differ_per_seed_and_run():
    ids = {}
    for seed, run in ((1, ""), (2, ""), (1, "r1"), (1, "r2")):
        ids[seed, run] = {r.source_id for r in generate_rows("370100", "XZCF", 50, seed=seed, today=TODAY, run=run)}
    for a in ids:
        for b in ids:
            if a != b:
                assert not ids[a] & ids[b], (a, b)


# --- realism -------------------------------------------------------------------------------


@pytest.mark.parametrize("region", list(CITIES))
def test_identifiers_carry_the_region(region):
    for record_type in RECORD_TYPES:
        p = {"XZXK": "XK_XDR_", "XZCF": "CF_XDR_", "LIST": "MD_ZT_"}[record_type]
        for r in generate_rows(region, record_type, 150, seed=4, today=TODAY):
            uscc = r.fields.get(p + "SHXYM")
            if uscc and uscc != USCC_PLACEHOLDER:
                assert check_uscc(uscc).valid and city_of(uscc[2:8]) == region, uscc
            if p + "ZJHM" in r.fields:
                number = r.fields[p + "ZJHM"]
                assert check_id_number(number, today=TODAY).valid and number.startswith("37")
                born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
                assert 20 <= (TODAY - born).days / 365.25 <= 71


def test_authorities_are_government_bodies_of_the_region_with_stable_codes():
    for region in REGIONS:
        rows = list(generate_rows(region, "XZCF", 80, seed=1, today=TODAY))
        for r in rows:
            code = r.fields["CF_CFJGDM"]
            assert code.startswith("11") and check_uscc(code).valid
            if "海关" not in r.fields["CF_CFJG"]:
                assert code[2:8] == region
        other = list(generate_rows(region, "XZCF", 80, seed=2, today=TODAY))
        codes = {r.fields["CF_CFJG"]: r.fields["CF_CFJGDM"] for r in rows}
        assert all(codes.get(r.fields["CF_CFJG"], r.fields["CF_CFJGDM"]) == r.fields["CF_CFJGDM"] for r in other)
    names = {r.fields["XK_XKJG"] for r in generate_rows("370100", "XZXK", 300, seed=1, today=TODAY)}
    assert "济南市行政审批服务局" in names


def test_subject_categories_in_realistic_proportions_with_placeholder_businesses():
    rows = list(generate_rows("370200", "XZCF", 3000, seed=8, today=TODAY))
    share = Counter(r.fields["CF_XDR_LB"] for r in rows)
    assert 0.35 < share["法人及非法人组织"] / 3000 < 0.65
    assert 0.1 < share["自然人"] / 3000 < 0.35 and 0.15 < share["个体工商户"] / 3000 < 0.5
    placeholders = [r for r in rows if r.fields.get("CF_XDR_SHXYM") == USCC_PLACEHOLDER]
    assert placeholders and all(len(r.fields["CF_XDR_GSZC"]) == 15 for r in placeholders)
    assert all(r.fields["CF_XDR_LB"] == "个体工商户" for r in placeholders)


def test_jinan_sometimes_has_legacy_laiwu_codes():
    codes = [
        r.fields["XK_XDR_SHXYM"]
        for r in generate_rows("370100", "XZXK", 3000, seed=1, today=TODAY)
        if r.fields["XK_XDR_LB"] == "法人及非法人组织"
    ]
    assert any(c[2:6] == "3712" for c in codes)
    assert sum(c[2:6] == "3712" for c in codes) < 0.1 * len(codes)


def test_penalties_state_fines_in_wan_yuan_consistent_with_the_text():
    for r in generate_rows("370900", "XZCF", 500, seed=6, today=TODAY):
        f = r.fields
        kinds = f["CF_CFLB"].split(";")
        assert ("CF_NR_FK" in f) == ("罚款" in kinds)
        if "CF_NR_FK" in f:
            yuan = Decimal(f["CF_NR_FK"]) * 10000
            assert f"罚款人民币{int(yuan)}元" in f["CF_NR"]
        decided = dt.date.fromisoformat(f["CF_JDRQ"])
        assert TODAY - dt.timedelta(days=3 * 366) <= decided < TODAY
        months = 36 if set(kinds) & {"吊销许可证件", "责令停产停业"} else 3 if kinds == ["警告"] else 12
        assert f["CF_GSJZQ"] == add_months(decided, months).isoformat()
    assert wan_yuan(2000) == "0.2" and wan_yuan(150) == "0.015" and wan_yuan(50000) == "5"


def test_document_numbers_look_real_and_natural_keys_are_unique():
    rows = list(generate_rows("370700", "XZCF", 2000, seed=1, today=TODAY))
    numbers = {r.fields["CF_WSH"] for r in rows}
    assert any(n.startswith("鲁(潍)应急罚〔") for n in numbers)
    assert any(n.startswith("潍环罚字〔") and "第" in n for n in numbers)
    keys = [(r.fields["CF_CFJGDM"], r.fields["CF_WSH"]) for r in rows]
    assert len(set(keys)) == len(keys)


def test_list_entries_cover_the_list_types_and_are_current():
    cat = load_catalogue()
    terms = {lt.code: lt.term_months for lt in cat.list_types}
    for region, expected in (("371300", set(terms) - {"SZZLJ"}), ("370000", set(terms))):
        rows = list(generate_rows(region, "LIST", 1500, seed=2, today=TODAY))
        assert {r.fields["MD_LX"] for r in rows} == expected
        for r in rows:
            f = r.fields
            start = dt.date.fromisoformat(f["MD_GLQX_Q"])
            term = list_type(cat, f["MD_LX"]).term_for(f["MD_LRYY"])  # SXBZXR: only some grounds have a term
            assert f["MD_GLQX_Z"] == (add_months(start, term).isoformat() if term else "2099-12-31")
            assert f["MD_GLQX_Z"] >= TODAY.isoformat() and f["MD_LRRQ"] < TODAY.isoformat()
            assert f["MD_CJCS"] == list_type(cat, f["MD_LX"]).measures
            if f["MD_RDJG"] == "青岛海关":
                assert f["MD_RDWSH"].startswith("青关")
        colours: dict[tuple, set[str]] = {}
        for r in rows:
            subject = tuple(r.fields.get(c) for c in ("MD_ZT_SHXYM", "MD_ZT_GSZC", "MD_ZT_ZJHM"))
            colours.setdefault(subject, set()).add(list_type(cat, r.fields["MD_LX"]).colour)
        assert all(len(c) == 1 for c in colours.values())  # never on a red and a black list at once
        assert any(n > 1 for n in Counter(r.fields["MD_ZT_MC"] for r in rows).values())  # repeat subjects


def test_licences_are_long_term_or_dated_and_status_follows_validity():
    rows = list(generate_rows("371000", "XZXK", 800, seed=3, today=TODAY))
    until = Counter(r.fields["XK_YXQZI"] == "2099-12-31" for r in rows)
    assert until[True] and until[False]
    for r in rows:
        assert r.fields["XK_ZT"] == ("1" if r.fields["XK_YXQZI"] >= TODAY.isoformat() else "2")


def test_bad_arguments_name_the_argument():
    cases = [(("371200", "XZCF", 1), "city"), (("370100", "XZZZ", 1), "record_type"), (("370100", "XZCF", -1), "count")]
    for args, word in cases:
        with pytest.raises(InputError, match=word):
            list(generate_rows(*args, seed=1, today=TODAY))
    with pytest.raises(InputError, match="invalid_share"):
        list(generate_rows("370100", "XZCF", 1, seed=1, invalid_share=1.5, today=TODAY))


# --- writers -------------------------------------------------------------------------------

WRITE_CASES = [
    ("csv", "utf-8", "zh"),
    ("csv", "gb18030", "zh"),
    ("csv", "utf-8", "codes"),
    ("xlsx", "utf-8", "zh"),
    ("jsonl", "utf-8", "zh"),
]


def _write(path, rows, **kw) -> int:
    with open(path, "wb") as out:
        return write_rows(out, rows, **kw)


@pytest.mark.parametrize("fmt,encoding,headers", WRITE_CASES)
@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_written_files_read_back_identically(tmp_path, record_type, fmt, encoding, headers):
    tabular = pytest.importorskip("creditx.standard.tabular")
    rows = list(generate_rows("371100", record_type, 60, seed=7, invalid_share=0.1, today=TODAY))
    path = tmp_path / f"out.{fmt}"
    assert _write(path, iter(rows), record_type=record_type, fmt=fmt, encoding=encoding, headers=headers) == 60
    table = tabular.read_table(path)
    back = list(table)
    assert [b.record_type for b in back] == [record_type] * 60
    assert [b.fields for b in back] == [r.fields for r in rows]
    assert [(b.meta["op"], str(b.meta["version"]), b.meta["source_id"]) for b in back] == [
        (r.op, str(r.version), r.source_id) for r in rows
    ]


def test_csv_headers_are_the_template_names_and_encoding_is_honoured(tmp_path):
    path = tmp_path / "cf.csv"
    _write(path, generate_rows("370100", "XZCF", 3, seed=1, today=TODAY), record_type="XZCF", encoding="gb18030")
    header = path.read_bytes().decode("gb18030").splitlines()[0].split(",")
    assert header[:3] == ["行政相对人名称", "行政相对人类别", "行政相对人代码_1（统一社会信用代码）"]
    assert "罚款金额（万元）" in header and header[-3:] == ["操作标识", "版本号", "源记录标识"]
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "jsonl"])
def test_writer_streams_without_holding_rows(tmp_path, fmt):
    alive: list[weakref.ref] = []
    most = 0

    def rows():
        nonlocal most
        for r in generate_rows("370100", "XZCF", 600, seed=1, today=TODAY):
            alive[:] = [w for w in alive if w() is not None]
            most = max(most, len(alive))
            alive.append(weakref.ref(r))
            yield r
        del r

    assert _write(tmp_path / f"x.{fmt}", rows(), record_type="XZCF", fmt=fmt) == 600
    assert most <= 2  # rows already written are released: nothing proportional to the count is kept


def test_writer_rejects_unknown_format_encoding_and_header_style(tmp_path):
    for kwargs, word in (
        ({"fmt": "xls"}, "fmt"),
        ({"encoding": "latin-1"}, "encoding"),
        ({"headers": "en"}, "headers"),
    ):
        with pytest.raises(InputError, match=word):
            write_rows(io.BytesIO(), [], record_type="XZCF", **kwargs)


def test_rows_are_lazy():
    gen = generate_rows("370100", "LIST", 10**9, seed=1, today=TODAY)
    assert len(list(itertools.islice(gen, 3))) == 3
