"""The fingerprint's one-pass encoding equals RFC 8785 (``canonicalize``) on the records it
takes, including escapes, controls, astral characters in values and non-ASCII field codes."""

from __future__ import annotations

import pytest

from creditx.standard.canonical import canonicalize
from creditx.standard.fingerprint import fingerprint_input

CASES = [
    {"CF_WSH": "济市监罚〔2025〕12号", "CF_XDR_MC": "某某商贸有限公司"},
    {"BZ": 'tab\there "quoted" \\ 😀 \u2028 \x7f \x01 \x1f', "CF_CFLB": "罚款"},
    {"MD_𝄞": "astral key sorts by UTF-16", "MD_\uffff": "above", "MD_A": "a"},
    {"CF_X": "𠀀𠀁 astral value"},
    {},
]


@pytest.mark.parametrize("fields", CASES)
def test_one_pass_equals_rfc8785(fields):
    assert fingerprint_input("XZCF", "I", fields) == canonicalize({"type": "XZCF", "op": "I", "fields": fields})


def test_lone_surrogate_is_refused_as_rfc8785_refuses_it():
    with pytest.raises(ValueError):
        fingerprint_input("XZCF", "I", {"CF_X": "\ud83d"})


def test_every_code_point_is_escaped_as_rfc8785_escapes_it():
    points = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for i in range(0, len(points), 4096):
        value = "".join(points[i : i + 4096])
        fields = {"CF_A": value, "CF_B": "x" + value[::-1]}
        assert fingerprint_input("XZCF", "I", fields) == canonicalize({"type": "XZCF", "op": "I", "fields": fields})
