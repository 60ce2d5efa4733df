"""RFC 8785 canonical JSON: the RFC's own examples, and a cross-check against the rfc8785 package."""

from __future__ import annotations

import json
import random
import struct
from typing import Any

import pytest
import rfc8785

from creditx.standard.canonical import canonicalize, es_number

# RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical serialisation.
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize("bits, expected", APPENDIX_B)
def test_rfc8785_appendix_b_numbers(bits, expected):
    x = struct.unpack(">d", bytes.fromhex(bits))[0]
    assert es_number(x) == expected
    assert canonicalize(x) == expected.encode()


def test_rfc8785_section_3_2_2_example():
    text = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        '"literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonicalize(json.loads(text)) == expected.encode()


def test_rfc8785_section_3_2_3_sorting_by_utf16_code_units():
    obj = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    keys = list(json.loads(canonicalize(obj)))
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    # code-point order (json.dumps sort_keys) would put the emoji last: the fast path must not be used
    assert list(json.loads(json.dumps(obj, sort_keys=True)))[-1] == "\U0001f600"


def test_record_shape_fast_path_matches_package():
    obj: dict[str, Any] = {
        "type": "XZCF",
        "op": "I",
        "fields": {f"CF_F{i:02d}": f'济南某某{i}\t"\\/\x7f\u2028\x01' for i in range(25)},
    }
    assert canonicalize(obj) == rfc8785.dumps(obj)


@pytest.mark.parametrize(
    "bad", [float("nan"), float("inf"), 2**53, -(2**53), {1: "a"}, "\ud800", {"\ud800": 1}, object(), {"a": {1, 2}}]
)
def test_rejects_non_json(bad):
    with pytest.raises(ValueError):
        canonicalize(bad)


ALPHABET = [
    "a",
    "Z",
    "0",
    " ",
    "\x00",
    "\x1f",
    "\x7f",
    '"',
    "\\",
    "/",
    "\u2028",
    "é",
    "中",
    "〔",
    "\uff08",
    "\ue000",
    "\uffff",
    "\U0001f600",
    "\U00020000",
    "\U0010ffff",
]


def _rand_str(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 6)))


def _rand_value(rng: random.Random, depth: int = 0):
    kind = rng.randint(0, 8 if depth < 3 else 5)
    if kind == 0:
        return _rand_str(rng)
    if kind == 1:
        return rng.randint(-(2**53) + 1, 2**53 - 1)
    if kind == 2:
        return struct.unpack(">d", rng.getrandbits(64).to_bytes(8, "big"))[0]
    if kind == 3:
        return rng.choice([None, True, False, 0, -0.0, 1.5, 1e21, 1e-7, 123456789012345680000.0])
    if kind == 4:
        return rng.uniform(-1e6, 1e6)
    if kind == 5:
        return rng.randint(-1000, 1000)
    if kind == 6:
        return [_rand_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {_rand_str(rng): _rand_value(rng, depth + 1) for _ in range(rng.randint(0, 6))}


def test_cross_check_random_documents_against_rfc8785_package():
    rng = random.Random(8785)
    checked = 0
    for _ in range(3000):
        v = _rand_value(rng)
        try:
            expected = rfc8785.dumps(v)
        except (rfc8785.CanonicalizationError, ValueError):
            with pytest.raises(ValueError):
                canonicalize(v)
            continue
        assert canonicalize(v) == expected, v
        checked += 1
    assert checked > 2500
