"""Identifier rules (REC-ID-01…REC-ID-24) on real published codes and on hand-made invalid ones.

The "real" codes were found published on the web (invoices, footers, court lists, company
pages) — kinds: enterprises with old-style and new-style "MA…" subject codes, 个体工商户 (92),
public institutions (12), social organisations (51, 53). Each passes both the GB 32100 check
character and the embedded GB 11714 check on positions 9-17.
"""

import datetime as dt

import pytest

from creditx.standard.identifiers import (
    USCC_PLACEHOLDER,
    check_any,
    check_id_number,
    check_org_code,
    check_uscc,
    detect_kind,
    id15_to_18,
    id_check_char,
    mask_id_number,
    org_code_check_char,
    uscc_check_char,
)

REAL_USCC = [
    "914403001922038216",  # Huawei (reference example)
    "9144030071526726XG",  # Tencent (reference example)
    "91110108MA01G0FB09",  # Beijing, new-style MA code (invoice seller)
    "91110116348294556H",  # Beijing enterprise
    "91370303MAKEJDBW7N",  # 淄博 enterprise, MA code
    "91370781MA3DKU6R4Q",  # 青州 enterprise, MA code
    "91370502MA3RBA290K",  # 东营 enterprise, MA code
    "92141127MA0KD1Y64A",  # 个体工商户 (cited as verifiable on cods.org.cn)
    "92230109MAKCUYD46K",  # 个体工商户, Harbin
    "92340111MAD2LARQ9N",  # 个体工商户, Hefei
    "92361130MA386N427K",  # 个体工商户, Jiangxi
    "92140727MAE8C7WN66",  # 个体工商户, 祁县
    "12100000470095016Q",  # 浙江大学 (public institution, central)
    "12100000425006117P",  # 复旦大学
    "12310000425022547M",  # 上海工程技术大学
    "12440600MB2C07549J",  # public institution, 佛山, MB code
    "51310110501144395U",  # social organisation (社会团体), Shanghai 杨浦
    "53100000500019795A",  # foundation registered with the Ministry of Civil Affairs
]


@pytest.mark.parametrize("code", REAL_USCC)
def test_real_published_codes_are_valid(code):
    r = check_uscc(code)
    assert r.valid, r.message
    assert r.warnings == ()
    assert check_org_code(code[8:17]).valid  # the embedded GB 11714 code (REC-ID-03)
    assert detect_kind(code) == "uscc" and check_any(code).valid


def test_xiamen_pilot_codes_pass_with_warning():
    # Real Xiamen codes from 2015 whose check character predates GB 32100 (REC-ID-06).
    for code in ("91350203M0001FUE2P", "91350203M0001QKT19"):
        r = check_uscc(code)
        assert r.valid and r.warnings[0].startswith("REC-ID-06")
    assert check_uscc("91370203M0001QKT19").reason == "USCC_CHECKSUM"  # only Xiamen's


@pytest.mark.parametrize(
    "code,reason,rule",
    [
        ("91370781MA3DKU6R4P", "USCC_CHECKSUM", "REC-ID-02"),  # last character changed
        ("91370781MA3DKU6R5Q", "USCC_CHECKSUM", "REC-ID-02"),  # one subject character changed
        ("91370718MA3DKU6R4Q", "USCC_CHECKSUM", "REC-ID-02"),  # two digits swapped
        ("91370781MA3DKU6R4", "USCC_LENGTH", "REC-ID-01"),
        ("91370781MA3DKU6RIQ", "USCC_CHARSET", "REC-ID-01"),  # I is never used
        ("91370781MAODKU6R4Q", "USCC_CHARSET", "REC-ID-01"),  # O for 0
        (USCC_PLACEHOLDER, "USCC_PLACEHOLDER", "REC-ID-01"),
        ("91370000MA3D3M001X", "USCC_ORG_CHECKSUM", "REC-ID-03"),  # passes GB 32100, not GB 11714
    ],
)
def test_hand_made_invalid_codes(code, reason, rule):
    r = check_uscc(code)
    assert (r.valid, r.reason, r.rule) == (False, reason, rule)
    assert r.message


def test_positions_3_8_letters_rejected():
    body = "91A70781MA3DKU6R4"
    r = check_uscc(body + uscc_check_char(body))
    assert r.reason == "USCC_DIVISION" and r.rule == "REC-ID-04"


def test_constructed_code_with_both_checks_and_unknown_department_warns():
    org = "MA3DKU6R" + org_code_check_char("MA3DKU6R")
    body = "B1371200" + org  # department B does not exist; 371200 莱芜 is historical: not checked
    r = check_uscc(body + uscc_check_char(body))
    assert r.valid and r.warnings and "REC-ID-05" in r.warnings[0]


def test_normalisation_of_what_importers_see():
    assert check_uscc(" ９１３７０７８１ＭＡ３ＤＫＵ６Ｒ４ｑ ").valid  # full-width, lower case, spaces
    assert check_org_code("MA3DKU6R-4").valid  # hyphen before the check character


def test_org_code():
    assert org_code_check_char("D2143569") == "X"  # GB 11714 worked example: D2143569-X
    assert check_org_code("D2143569X").valid
    assert check_org_code("D21435691").reason == "ORG_CHECKSUM"
    assert check_org_code("D2143569").reason == "ORG_LENGTH"


def test_id_numbers():
    assert check_id_number("11010519491231002X").valid
    assert id_check_char("11010519491231002") == "X"
    assert check_id_number("110105194912310021").reason == "ID_CHECKSUM"
    assert check_id_number("11010519491331002X").reason == "ID_BIRTH_DATE"
    assert check_id_number("910105194912310020").reason == "ID_ADDRESS"
    future = "110105" + "20300101" + "002"
    assert check_id_number(future + id_check_char(future), today=dt.date(2024, 1, 1)).reason == "ID_BIRTH_DATE"
    assert id15_to_18("110105491231002") == "11010519491231002X"
    assert check_id_number("110105491231002").valid
    assert mask_id_number("11010519491231002X") == "110105********002X"


def test_detect_kind():
    assert detect_kind("11010519491231002X") == "id_card"
    assert detect_kind("91370781MA3DKU6R4Q") == "uscc"
    assert detect_kind("MA3DKU6R4") == "org_code"
    assert detect_kind("12345") == "unknown"
    assert check_any("12345").reason == "ID_UNKNOWN_KIND"


def _mutations(code: str) -> list[str]:
    """``code`` and every one-character change of it, plus case, width, space and length changes."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZa -Ｘ"
    out = [code, code.lower(), " " + code, code + " ", code[:-1], code + "0", code.replace("0", "０")]
    out += [code[:i] + c + code[i + 1 :] for i in range(len(code)) for c in alphabet]
    return out


@pytest.mark.parametrize(
    "code",
    ["91370100MA3C5B1X7N", "11100000000013127D", "913502007841834M0K", "MA3C5B1X7", "370102199003071234"],
)
def test_boolean_checks_give_the_full_checks_verdict(code):
    """The plan's booleans (normal form proved from the check characters, else the full check)
    agree with the full checks on every near miss of a valid code."""
    from creditx.standard.identifiers import id_number_valid, org_code_valid, uscc_valid, uscc_valid_as_written

    today = dt.date(2026, 1, 1)
    for m in _mutations(code):
        assert uscc_valid(m) == check_uscc(m).valid, m
        full = check_uscc(m)  # as written: valid and already in its normal form, exactly
        assert uscc_valid_as_written(m) == (full.valid and full.normalised == m), m
        assert org_code_valid(m) == check_org_code(m).valid, m
        assert id_number_valid(m, today) == check_id_number(m, today=today).valid, m
