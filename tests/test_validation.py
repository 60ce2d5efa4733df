"""Record field validation (REC-020…REC-053): each rule rejects what it should and only that."""

import datetime as dt

import pytest

from creditx.standard.validation import Violation, errors_only, validate_fields

TODAY = dt.date(2024, 6, 30)


AUTH = "91370781MA3DKU6R4Q"  # real published code (see test_identifiers)
SUBJECT = "91370502MA3RBA290K"  # real published code (东营)

XZXK = {
    "XK_XDR_MC": "山东星际云科技发展有限公司",
    "XK_XDR_LB": "法人及非法人组织",
    "XK_XDR_SHXYM": SUBJECT,
    "XK_FRDB": "张三",
    "XK_XKWS": "食品经营许可决定书",
    "XK_WSH": "东市监食许〔2024〕15号",
    "XK_XKLB": "普通",
    "XK_NR": "食品经营许可",
    "XK_JDRQ": "2024-03-01",
    "XK_YXQZ": "2024-03-01",
    "XK_YXQZI": "2029-02-28",
    "XK_XKJG": "东营市市场监督管理局",
    "XK_XKJGDM": AUTH,
    "XK_ZT": "1",
    "XK_LYDW": "东营市市场监督管理局",
    "XK_LYDWDM": AUTH,
}
XZCF = {
    "CF_XDR_MC": "山东星际云科技发展有限公司",
    "CF_XDR_LB": "法人及非法人组织",
    "CF_XDR_SHXYM": SUBJECT,
    "CF_FRDB": "张三",
    "CF_WSH": "东市监罚〔2024〕7号",
    "CF_WFXW": "未按规定公示年度报告",
    "CF_SY": "经查……",
    "CF_YJ": "《企业信息公示暂行条例》第十八条",
    "CF_CFLB": "警告;罚款",
    "CF_NR": "警告并处罚款2000元",
    "CF_NR_FK": "0.2",
    "CF_JDRQ": "2024-04-02",
    "CF_YXQ": "2027-04-02",
    "CF_CFJG": "东营市市场监督管理局",
    "CF_CFJGDM": AUTH,
    "CF_SJLY": "东营市市场监督管理局",
    "CF_SJLYDM": AUTH,
}
LIST = {
    "MD_LX": "SCJGYZWF",
    "MD_ZT_MC": "山东星际云科技发展有限公司",
    "MD_ZT_LB": "法人及非法人组织",
    "MD_ZT_SHXYM": SUBJECT,
    "MD_FRDB": "张三",
    "MD_LRRQ": "2024-01-10",
    "MD_LRYY": "提交虚假材料取得登记",
    "MD_RDYJ": "《市场监督管理严重违法失信名单管理办法》第九条",
    "MD_RDWS": "列入严重违法失信名单决定书",
    "MD_RDWSH": "东市监列〔2024〕1号",
    "MD_RDJG": "东营市市场监督管理局",
    "MD_RDJGDM": AUTH,
    "MD_GLQX_Q": "2024-01-10",
    "MD_GLQX_Z": "2027-01-09",
    "MD_SJLY": "东营市市场监督管理局",
    "MD_SJLYDM": AUTH,
}


def triples(vs):
    return sorted((v.field, v.rule, v.reason) for v in vs)


@pytest.mark.parametrize("rtype,base", [("XZXK", XZXK), ("XZCF", XZCF), ("LIST", LIST)])
def test_valid_records_pass(rtype, base):
    assert validate_fields(rtype, base, today=TODAY) == []


def test_violation_carries_everything():
    (v,) = validate_fields("XZXK", {**XZXK, "XK_WSH": ""}, today=TODAY)
    assert v == Violation("XK_WSH", "行政许可决定文书号", "REC-020", "REQUIRED_MISSING", v.message, v.fix)
    assert "required" in v.message and v.fix
    assert v.as_dict()["severity"] == "error"


@pytest.mark.parametrize(
    "change,expected",
    [
        ({"XK_XDR_MC": "x" * 201}, [("XK_XDR_MC", "REC-021", "TOO_LONG")]),
        ({"XK_XKLB": "普 通2"}, [("XK_XKLB", "REC-022", "ENUM_INVALID")]),
        ({"XK_ZT": "有效"}, [("XK_ZT", "REC-022", "ENUM_INVALID")]),
        ({"XK_JDRQ": "2024/03/01"}, [("XK_JDRQ", "REC-023", "DATE_INVALID")]),
        ({"XK_YXQZ": "2024-02-30"}, [("XK_YXQZ", "REC-023", "DATE_INVALID")]),
        ({"XK_YXQZI": "9999-12-31"}, [("XK_YXQZI", "REC-023", "DATE_INVALID")]),
        ({"XK_YXQZI": "2099-12-31"}, []),
        ({"XK_JDRQ": "2024-07-01", "XK_YXQZ": "2024-07-01"}, [("XK_JDRQ", "REC-027", "DATE_IN_FUTURE")]),
        ({"XK_YXQZI": "2024-02-01"}, [("XK_YXQZI", "REC-028", "DATE_ORDER"), ("XK_YXQZI", "REC-028", "DATE_ORDER")]),
        ({"XK_XKJGDM": "91370781MA3DKU6R4P"}, [("XK_XKJGDM", "REC-ID-02", "USCC_CHECKSUM")]),
        ({"XK_LYDWDM": "91370781MA3DKU6R4"}, [("XK_LYDWDM", "REC-ID-01", "USCC_LENGTH")]),
        ({"XK_XDR_ZZJG": "MA3DKU6R5"}, [("XK_XDR_ZZJG", "REC-ID-12", "ORG_CHECKSUM")]),
        ({"XK_XDR_ZZJG": "MA3DKU6R4"}, []),
        ({"XK_FRDB": ""}, [("XK_FRDB", "REC-030", "CONDITIONAL_MISSING")]),
        ({"XK_XDR_SHXYM": ""}, [("XK_XDR_SHXYM", "REC-030", "CONDITIONAL_MISSING")]),
        (
            {"XK_XDR_SHXYM": "00000000000000000X"},
            [("XK_XDR_SHXYM", "REC-030", "CONDITIONAL_MISSING"), ("XK_XDR_SHXYM", "REC-031", "USCC_PLACEHOLDER")],
        ),
        ({"XK_XKLB": "其他"}, [("BZ", "REC-045", "NOTE_MISSING")]),
        ({"XK_XKLB": "其他", "BZ": "备案"}, []),
        ({"XK_FOO": "1"}, [("XK_FOO", "REC-026", "UNKNOWN_FIELD")]),
    ],
)
def test_xzxk_rules(change, expected):
    assert triples(validate_fields("XZXK", {**XZXK, **change}, today=TODAY)) == sorted(expected)


def test_individual_business():
    base = {**XZXK, "XK_XDR_LB": "个体工商户", "XK_FRDB": "", "XK_XDR_SHXYM": ""}
    assert triples(validate_fields("XZXK", base, today=TODAY)) == [("XK_XDR_SHXYM", "REC-031", "CONDITIONAL_MISSING")]
    base["XK_XDR_SHXYM"] = "00000000000000000X"
    assert triples(validate_fields("XZXK", base, today=TODAY)) == [("XK_XDR_GSZC", "REC-031", "CONDITIONAL_MISSING")]
    base["XK_XDR_GSZC"] = "370502600123456"
    assert validate_fields("XZXK", base, today=TODAY) == []
    base["XK_XDR_SHXYM"] = "92230109MAKCUYD46K"  # real 个体工商户 code
    assert validate_fields("XZXK", base, today=TODAY) == []


def test_natural_person():
    base = {**XZXK, "XK_XDR_LB": "自然人", "XK_FRDB": "", "XK_XDR_SHXYM": ""}
    assert triples(validate_fields("XZXK", base, today=TODAY)) == [
        ("XK_XDR_ZJHM", "REC-032", "CONDITIONAL_MISSING"),
        ("XK_XDR_ZJLX", "REC-032", "CONDITIONAL_MISSING"),
    ]
    base.update(XK_XDR_ZJLX="身份证", XK_XDR_ZJHM="11010519491231002X")
    assert validate_fields("XZXK", base, today=TODAY) == []
    base["XK_XDR_ZJHM"] = "110105194912310021"
    assert triples(validate_fields("XZXK", base, today=TODAY)) == [("XK_XDR_ZJHM", "REC-ID-23", "ID_CHECKSUM")]
    base.update(XK_XDR_ZJLX="护照号", XK_XDR_ZJHM="E12345678")  # not checked as a citizen ID
    assert validate_fields("XZXK", base, today=TODAY) == []


@pytest.mark.parametrize(
    "change,expected",
    [
        ({"CF_NR_FK": ""}, [("CF_NR_FK", "REC-040", "CONDITIONAL_MISSING")]),
        ({"CF_NR_FK": "0"}, [("CF_NR_FK", "REC-025", "AMOUNT_INVALID")]),
        ({"CF_NR_FK": "-1"}, [("CF_NR_FK", "REC-025", "AMOUNT_INVALID")]),
        ({"CF_NR_FK": "2,000"}, [("CF_NR_FK", "REC-025", "AMOUNT_INVALID")]),
        ({"CF_CFLB": "警告；没收违法所得"}, [("CF_NR_WFFF", "REC-042", "CONDITIONAL_MISSING")]),
        ({"CF_CFLB": "吊销许可证件"}, [("CF_NR_ZKDX", "REC-043", "CONDITIONAL_MISSING")]),
        ({"CF_CFLB": "吊销许可证件", "CF_NR_ZKDX": "食品经营许可证 JY13705020001234"}, []),
        ({"CF_CFLB": "警告;罚金"}, [("CF_CFLB", "REC-022", "ENUM_INVALID")]),
        ({"CF_CFLB": "限制从业;通报批评"}, []),
        ({"CF_CFLB": "其他"}, [("BZ", "REC-045", "NOTE_MISSING")]),
        ({"CF_GSJZQ": "2024-04-01"}, [("CF_GSJZQ", "REC-028", "DATE_ORDER")]),
        ({"CF_CFJGDM": "91370781MA3DKU6R4Q "}, []),
    ],
)
def test_xzcf_rules(change, expected):
    assert triples(validate_fields("XZCF", {**XZCF, **change}, today=TODAY)) == sorted(expected)


def test_fine_in_yuan_is_a_warning():
    vs = validate_fields("XZCF", {**XZCF, "CF_NR_FK": "20000"}, today=TODAY)
    assert triples(vs) == [("CF_NR_FK", "REC-041", "AMOUNT_LIKELY_YUAN")]
    assert vs[0].severity == "warning" and errors_only(vs) == []


@pytest.mark.parametrize(
    "change,expected",
    [
        ({"MD_LX": "红名单"}, [("MD_LX", "REC-050", "LIST_TYPE_UNKNOWN")]),
        ({"MD_GLQX_Z": "2023-01-09"}, [("MD_GLQX_Z", "REC-051", "DATE_ORDER")]),
        (
            {"MD_YCRQ": "2024-06-01"},
            [("MD_YCJG", "REC-052", "REMOVAL_INCOMPLETE"), ("MD_YCYY", "REC-052", "REMOVAL_INCOMPLETE")],
        ),
        ({"MD_YCRQ": "2024-06-01", "MD_YCYY": "信用修复", "MD_YCJG": "东营市市场监督管理局"}, []),
        (
            {"MD_YCRQ": "2024-06-01", "MD_YCYY": "改正", "MD_YCJG": "东营市市场监督管理局"},
            [("MD_YCYY", "REC-053", "ENUM_INVALID")],
        ),
        ({"MD_RDJGDM": "91370781MA3DKU6R4"}, [("MD_RDJGDM", "REC-ID-01", "USCC_LENGTH")]),
        ({"MD_LRRQ": "2024-12-01", "MD_GLQX_Q": "2024-12-01"}, [("MD_LRRQ", "REC-027", "DATE_IN_FUTURE")]),
    ],
)
def test_list_rules(change, expected):
    assert triples(validate_fields("LIST", {**LIST, **change}, today=TODAY)) == sorted(expected)


def test_today_is_an_argument():
    rec = {**XZXK, "XK_JDRQ": "2024-07-01", "XK_YXQZ": "2024-07-01"}
    assert validate_fields("XZXK", rec, today=dt.date(2024, 7, 1)) == []
    assert validate_fields("XZXK", rec, today=dt.date(2024, 6, 30)) != []


def test_does_not_mutate_input():
    rec = {**XZCF, "CF_NR_FK": " 0.2 "}
    snapshot = dict(rec)
    validate_fields("XZCF", rec, today=TODAY)
    assert rec == snapshot


def test_record_vectors_agree_with_the_rules():
    from creditx.standard.vectors.gen_records import build

    out = build(dt.date(2026, 1, 1))  # raises if any case's stated verdict differs
    assert {"identifiers.json", "validation.json"} == set(out)
    assert any(c["violations"] == [] for c in out["validation.json"])


# --- the compiled fast path says exactly what the rule-by-rule reference says ----------------


def _same_as_reference(rtype, fields, today):
    from creditx.standard.catalogue import load_catalogue
    from creditx.standard.validation import _plan, validate_fields_reference

    ref = validate_fields_reference(rtype, fields, today=today)
    assert validate_fields(rtype, fields, today=today) == ref, (rtype, fields)
    # the fast path alone must not call a record clean that breaks any rule, nor the reverse
    assert _plan(load_catalogue(), rtype).clean(fields, today) == (ref == []), (rtype, fields, ref)
    return ref


def test_fast_path_matches_reference_on_vectors():
    import json
    from pathlib import Path

    import creditx.standard.vectors as vectors

    cases = json.loads((Path(vectors.__file__).parent / "validation.json").read_text(encoding="utf-8"))
    verdicts = {bool(_same_as_reference(c["type"], c["fields"], dt.date.fromisoformat(c["today"]))) for c in cases}
    assert verdicts == {True, False}  # the vectors hold clean and broken records


@pytest.mark.parametrize("rtype", ["XZXK", "XZCF", "LIST"])
def test_fast_path_matches_reference_on_synth_with_defects(rtype):
    from creditx.standard.synth import generate_rows

    rows = list(generate_rows("370500", rtype, 600, seed=7, invalid_share=0.4, today=TODAY, include_warnings=True))
    broken = sum(bool(_same_as_reference(rtype, dict(r.fields), TODAY)) for r in rows)
    assert 0 < broken < len(rows)


MUTATIONS = [
    "",
    " ",
    "其他",
    "身份证",
    "00000000000000000X",
    "91370781MA3DKU6R4P",
    "MA3DKU6R5",
    "2024-02-30",
    "2099-12-31",
    "2100-01-01",
    "2024-07-01",
    "2023-01-01",
    "0",
    "20000",
    "0.2",
    "x" * 300,
    "警告;罚款",
    "没收违法所得",
    "吊销许可证件",
    "个体工商户",
    "自然人",
    "法人及非法人组织",
    "110105194912310021",
    "11010519491231002X",
    "信用修复",
    "SCJGYZWF",
    None,
    "１２",
]


@pytest.mark.parametrize("rtype,base", [("XZXK", XZXK), ("XZCF", XZCF), ("LIST", LIST)])
def test_fast_path_matches_reference_field_by_field(rtype, base):
    from creditx.standard.catalogue import load_catalogue

    codes = list(load_catalogue().record_type(rtype).codes) + ["XX_UNKNOWN"]
    for code in codes:
        for value in MUTATIONS:
            _same_as_reference(rtype, {**base, code: value}, TODAY)
    for value in MUTATIONS:  # pairs that only break cross-field rules together
        for a, b in (
            ("MD_YCRQ", "MD_YCYY"),
            ("CF_CFLB", "CF_NR_FK"),
            ("XK_XDR_LB", "XK_XDR_SHXYM"),
            ("CF_XDR_LB", "CF_FRDB"),
            ("MD_ZT_LB", "MD_ZT_ZJLX"),
            ("XK_XDR_ZJLX", "XK_XDR_ZJHM"),
        ):
            if a[:2] == next(iter(base))[:2]:  # a pair of this record type
                _same_as_reference(rtype, {**base, a: value, b: value}, TODAY)
                _same_as_reference(rtype, {**base, a: "身份证", b: value}, TODAY)
