"""Natural keys and document-number normalisation (REC-FP-010 … REC-FP-016)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from creditx.standard.natural_key import (
    NaturalKeyError,
    natural_key,
    normalise_doc_number,
    person_subject_id,
    subject_id,
)
from creditx.standard.record import Record

KEY = b"creditx-test-subject-key-v1-0000"
AUTH = "11370100004308711K"
USCC = "914403001922038216"


def cf(**fields) -> Record:
    base = {"CF_CFJGDM": AUTH, "CF_WSH": "济市监罚〔2025〕12号", "CF_XDR_SHXYM": USCC}
    base.update(fields)
    return Record("XZCF", "I", "370100", "s", 1, 1, {k: v for k, v in base.items() if v is not None})


@pytest.mark.parametrize(
    "raw",
    [
        "济市监罚〔2025〕12号",
        "济市监罚[2025]12号",
        "济市监罚【2025】12号",
        "济市监罚（2025）12号",
        "济市监罚［２０２５］１２号",
        " 济市监罚 (2025) 12 号\t",
        "济市监罚﹝2025﹞12号",
        "济市监罚〖2025〗12号",
    ],
)
def test_doc_number_variants_meet(raw):
    assert normalise_doc_number(raw) == "济市监罚〔2025〕12号"


def test_doc_number_upper_case_and_fullwidth_letters():
    assert normalise_doc_number("ｊｎ-ab\u3000１") == "JN-AB1"


def test_uscc_subject_and_key_form():
    assert natural_key(cf(), KEY) == f"XZCF|{AUTH}|济市监罚〔2025〕12号|{USCC}"
    # spelling variants of the same decision meet; versions/ops do not matter
    variant = Record("XZCF", "U", "370100", "t", 2, 9, dict(cf(CF_WSH="济市监罚[2025] 12号").fields))
    assert natural_key(variant, KEY) == natural_key(cf(), KEY)


def test_placeholder_uses_registration_number():
    r = cf(CF_XDR_SHXYM="00000000000000000X", CF_XDR_GSZC="370102600123456")
    assert natural_key(r, KEY).endswith("|R:370102600123456")
    with pytest.raises(NaturalKeyError) as e:
        natural_key(cf(CF_XDR_SHXYM="00000000000000000X"), KEY)
    assert (e.value.reason, e.value.rule, e.value.field) == ("NK_NO_REGISTRATION_NUMBER", "REC-FP-013", "CF_XDR_GSZC")


def test_natural_person_is_keyed_hash_not_the_number():
    r = cf(CF_XDR_SHXYM=None, CF_XDR_ZJLX="身份证", CF_XDR_ZJHM="11010519491231002x")
    k = natural_key(r, KEY)
    expected = hmac.new(KEY, "身份证:11010519491231002X".encode(), hashlib.sha256).hexdigest()
    assert k.endswith("|P:" + expected)
    assert "11010519491231002" not in k
    assert natural_key(r, b"another-key-another-key") != k
    # the 15-digit form of the same card is the same subject
    assert person_subject_id("身份证", "110105491231002", KEY) == person_subject_id("身份证", "11010519491231002X", KEY)


def test_list_key_includes_list_type():
    r = Record(
        "LIST",
        "I",
        "370100",
        "s",
        1,
        1,
        {"MD_LX": "SXBZXR", "MD_RDJGDM": AUTH, "MD_RDWSH": "(2025)鲁01执1号", "MD_ZT_SHXYM": USCC},
    )
    assert natural_key(r, KEY) == f"LIST|SXBZXR|{AUTH}|〔2025〕鲁01执1号|{USCC}"


def test_separator_inside_a_part_is_escaped():
    a = natural_key(cf(CF_WSH="A|B%"), KEY)
    assert a == f"XZCF|{AUTH}|A%7CB%25|{USCC}"


@pytest.mark.parametrize(
    "fields, reason, field",
    [
        ({"CF_CFJGDM": None}, "NK_NO_AUTHORITY", "CF_CFJGDM"),
        ({"CF_WSH": " "}, "NK_NO_DOCUMENT_NUMBER", "CF_WSH"),
        ({"CF_XDR_SHXYM": None}, "NK_NO_SUBJECT", "CF_XDR_SHXYM"),
        ({"CF_XDR_SHXYM": None, "CF_XDR_ZJHM": "11010519491231002X"}, "NK_NO_ID_TYPE", "CF_XDR_ZJLX"),
    ],
)
def test_missing_parts_are_named(fields, reason, field):
    with pytest.raises(NaturalKeyError) as e:
        natural_key(cf(**fields), KEY)
    assert (e.value.reason, e.value.field) == (reason, field)
    assert e.value.rule.startswith("REC-FP-")


def test_subject_key_too_short_is_refused():
    with pytest.raises(ValueError, match="REC-FP-016"):
        natural_key(cf(), b"short")
    with pytest.raises(NaturalKeyError):
        subject_id("XYZ", {}, KEY)
