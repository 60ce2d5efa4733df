"""The record catalogue (REC-001…REC-012): shape of the data and header alias resolution."""

import json

import pytest

from creditx.standard.catalogue import CATALOGUE_DIR, load_catalogue, normalise_header, parse_catalogue
from creditx.standard.errors import InputError

XZXK_CODES = [
    "XK_XDR_MC",
    "XK_XDR_LB",
    "XK_XDR_SHXYM",
    "XK_XDR_GSZC",
    "XK_XDR_ZZJG",
    "XK_XDR_SWDJ",
    "XK_XDR_SYDW",
    "XK_XDR_SHZZ",
    "XK_FRDB",
    "XK_FR_ZJLX",
    "XK_FR_ZJHM",
    "XK_XDR_ZJLX",
    "XK_XDR_ZJHM",
    "XK_XKWS",
    "XK_WSH",
    "XK_XKLB",
    "XK_XKZS",
    "XK_XKBH",
    "XK_NR",
    "XK_JDRQ",
    "XK_YXQZ",
    "XK_YXQZI",
    "XK_XKJG",
    "XK_XKJGDM",
    "XK_ZT",
    "XK_LYDW",
    "XK_LYDWDM",
    "BZ",
]
LIST_CODES = [
    "MD_LX",
    "MD_ZT_MC",
    "MD_ZT_LB",
    "MD_ZT_SHXYM",
    "MD_ZT_GSZC",
    "MD_FRDB",
    "MD_ZT_ZJLX",
    "MD_ZT_ZJHM",
    "MD_LRRQ",
    "MD_LRYY",
    "MD_RDYJ",
    "MD_RDWS",
    "MD_RDWSH",
    "MD_RDJG",
    "MD_RDJGDM",
    "MD_GLQX_Q",
    "MD_GLQX_Z",
    "MD_CJCS",
    "MD_YCRQ",
    "MD_YCYY",
    "MD_YCJG",
    "MD_SJLY",
    "MD_SJLYDM",
    "BZ",
]


def test_version_and_types():
    cat = load_catalogue()
    assert cat.version == "1.0"
    assert set(cat.record_types) == {"XZXK", "XZCF", "LIST"}
    assert load_catalogue() is cat  # cached


def test_field_order_matches_reference():
    cat = load_catalogue()
    assert list(cat.record_type("XZXK").codes) == XZXK_CODES
    assert list(cat.record_type("LIST").codes) == LIST_CODES
    xzcf = cat.record_type("xzcf")
    for code in ("CF_WSH", "CF_CFLB", "CF_NR_FK", "CF_NR_WFFF", "CF_NR_ZKDX", "CF_YXQ", "CF_GSJZQ"):
        assert code in xzcf.codes
    assert xzcf.field("CF_CFLB").kind == "multi-enum"
    assert xzcf.field("CF_NR_FK").kind == "amount"
    assert xzcf.field("CF_NR_FK").name_zh == "罚款金额（万元）"


def test_unknown_type_is_input_error():
    with pytest.raises(InputError, match="REC-001"):
        load_catalogue().record_type("XYZ")


def test_list_types():
    cat = load_catalogue()
    assert len(cat.list_types) == 12
    red = {lt.code for lt in cat.list_types if lt.colour == "red"}
    assert red == {"AJNSR", "HGGJRZ", "SZZLJ"}
    aq, sx = cat.list_type("安全生产严重失信主体名单"), cat.list_type("sxbzxr")
    assert aq is not None and sx is not None
    assert aq.code == "AQSCSX" and aq.term_months == 36 and aq.earliest_repair_months == 12
    assert sx.term_months == 24
    assert cat.list_type("红名单") is None
    assert cat.removal_reasons == ("期满", "信用修复", "撤销", "主体注销")


def test_enumerations():
    cat = load_catalogue()
    pen = cat.enumeration("penalty_category")
    assert "限制从业" in pen.values and "限制从业" in pen.added_2021
    assert pen.canonical("吊销执照") == "吊销许可证件"
    assert pen.canonical("罚 款") is None
    assert cat.enumeration("id_type").values[0] == "身份证"
    assert cat.enumeration("subject_category").values == ("法人及非法人组织", "自然人", "个体工商户")
    assert cat.operations.values == ("I", "U", "D")


@pytest.mark.parametrize(
    "header,code",
    [
        ("行政相对人代码_1（统一社会信用代码）", "XK_XDR_SHXYM"),
        ("行政相对人代码_1(统一社会信用代码)", "XK_XDR_SHXYM"),
        (" 行政相对人代码_6 （社会组织登记证号） *", "XK_XDR_SHZZ"),
        ("行政相对人名称*", "XK_XDR_MC"),
        ("ｘｋ＿ｗｓｈ", "XK_WSH"),
        ("XK_XDR", "XK_XDR_MC"),
        ("XK_XDR_ZDM", "XK_XDR_ZZJG"),
        ("XK_SPLB", "XK_XKLB"),
        ("XK_JZQ", "XK_YXQZI"),
        ("XK_XZJG", "XK_XKJG"),
        ("DFBM", "meta:region"),
        ("SJC", "meta:update_time"),
        ("操作标识", "meta:op"),
        ("有 效 期 至", "XK_YXQZI"),
        ("许可内容说明", None),
    ],
)
def test_xzxk_header_aliases(header, code):
    assert load_catalogue().record_type("XZXK").resolve_header(header) == code


@pytest.mark.parametrize(
    "header,code",
    [
        ("CF_CFLB1", "CF_CFLB"),
        ("CF_CFLB2", "CF_CFLB"),
        ("CF_JG", "CF_NR"),
        ("CF_XZJG", "CF_CFJG"),
        ("罚款金额(万元)*", "CF_NR_FK"),
        ("没收违法所得、没收非法财物的金额【万元】", "CF_NR_WFFF"),
    ],
)
def test_xzcf_header_aliases(header, code):
    assert load_catalogue().record_type("XZCF").resolve_header(header) == code


def test_normalise_header():
    assert normalise_header("\ufeff 行政相对人代码_1 （统一社会信用代码） *") == "行政相对人代码1(统一社会信用代码)"


def test_conflicting_alias_rejected():
    raw = json.loads((CATALOGUE_DIR / "v1.json").read_text(encoding="utf-8"))
    raw["record_types"]["XZXK"]["fields"][1]["aliases"].append("行政相对人名称")
    with pytest.raises(ValueError, match="REC-010"):
        parse_catalogue(raw)


def test_wrong_version_rejected():
    raw = json.loads((CATALOGUE_DIR / "v1.json").read_text(encoding="utf-8"))
    raw["catalogue_version"] = "2.0"
    with pytest.raises(ValueError, match="catalogue_version"):
        parse_catalogue(raw)
