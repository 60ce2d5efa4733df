"""Deliberate, realistic defects for generated rows, each with the violation it must cause.

Pure: ``apply_defect(record_type, fields, rng, today)`` changes ONE thing in a valid record
(a mistyped check character, a missing fine, a decision date in the future …) and returns the
``(field code, reason code)`` that ``creditx.standard.validation.validate_fields`` reports for it.
Invariant (tested in tests/test_synth.py): the validator reports that pair, and nothing
else, for every defective row. A defect that does not apply to a record (no fine to drop, no
natural person to mistype an ID for) is skipped and another is tried; dropping the subject's
name always applies.

Error defects make the record rejected. ``AMOUNT_LIKELY_YUAN`` (a fine written in yuan
instead of 万元, REC-041) is only a warning, so it is drawn only when asked for.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from decimal import Decimal

from creditx.standard.identifiers import USCC_ALPHABET, USCC_PLACEHOLDER

Defect = tuple[str, str]
_PREFIX = {"XZXK": "XK_XDR_", "XZCF": "CF_XDR_", "LIST": "MD_ZT_"}
_DECISION = {"XZXK": "XK_JDRQ", "XZCF": "CF_JDRQ", "LIST": "MD_LRRQ"}
# Fields that must not be earlier than the decision date (validation.DATE_ORDER).
_AFTER_DECISION = {"XZXK": ("XK_YXQZI",), "XZCF": ("CF_GSJZQ", "CF_YXQ"), "LIST": ()}
_PERIOD = {"XZXK": ("XK_YXQZ", "XK_YXQZI"), "XZCF": ("CF_JDRQ", "CF_GSJZQ"), "LIST": ("MD_GLQX_Q", "MD_GLQX_Z")}
_AUTHORITY_CODE = {"XZXK": "XK_XKJGDM", "XZCF": "CF_CFJGDM", "LIST": "MD_RDJGDM"}


def _mistype_check(code: str, alphabet: str, rng: random.Random) -> str:
    wrong = rng.choice([c for c in alphabet if c != code[-1]])
    return code[:-1] + wrong


def subject_uscc_checksum(t: str, f: dict[str, str], rng: random.Random, today: dt.date) -> Defect | None:
    code = _PREFIX[t] + "SHXYM"
    if f.get(code, USCC_PLACEHOLDER) == USCC_PLACEHOLDER:
        return None
    f[code] = _mistype_check(f[code], USCC_ALPHABET, rng)
    return code, "USCC_CHECKSUM"


def authority_uscc_checksum(t: str, f: dict[str, str], rng: random.Random, today: dt.date) -> Defect | None:
    code = _AUTHORITY_CODE[t]
    f[code] = _mistype_check(f[code], USCC_ALPHABET, rng)
    return code, "USCC_CHECKSUM"


def id_checksum(t: str, f: dict[str, str], rng: random.Random, today: dt.date) -> Defect | None:
    code = _PREFIX[t] + "ZJHM"
    if code not in f:
        return None
    f[code] = _mistype_check(f[code], "0123456789X", rng)
    return code, "ID_CHECKSUM"


def fine_missing(t: str, f: dict[str, str], rng: random.Random, today: dt.date) -> Defect | None:
    if "CF_NR_FK" not in f:
        return None
    del f["CF_NR_FK"]
    return "CF_NR_FK", "CONDITIONAL_MISSING"


def registration_missing(t: str, f: dict[str, str], rng: random.Random, today: dt.date) -> Defect | None:
    code = _PREFIX[t] + "GSZC"
    if code not in f:
        return None
    del f[code]
    return code, "CONDITIONAL_MISSING"


def name_missing(t: str, f: dict[str, str], rng: random.Random, today: dt.date) -> Defect | None:
    code = _PREFIX[t] + "MC"
    del f[code]
    return code, "REQUIRED_MISSING"


def category_invalid(t: str, f: dict[str, str], rng: random.Random, today: dt.date) -> Defect | None:
    code = _PREFIX[t] + "LB"
    if f.get(_PREFIX[t] + "SHXYM") == USCC_PLACEHOLDER:
        return None  # the placeholder would then be reported as well (REC-031)
    f[code] = rng.choice(("企业", "法人单位", "个人", "其他组织"))
    return code, "ENUM_INVALID"


def penalty_kind_invalid(t: str, f: dict[str, str], rng: random.Random, today: dt.date) -> Defect | None:
    if t != "XZCF" or "罚款" not in f["CF_CFLB"]:
        return None
    f["CF_CFLB"] = f["CF_CFLB"].replace("罚款", "罚金")  # the criminal fine, a common confusion
    return "CF_CFLB", "ENUM_INVALID"


def date_in_future(t: str, f: dict[str, str], rng: random.Random, today: dt.date) -> Defect | None:
    code = _DECISION[t]
    future = (today + dt.timedelta(days=rng.randrange(1, 120))).isoformat()
    if any(f[later] < future for later in _AFTER_DECISION[t]):
        return None  # would also break the order of dates (REC-028)
    f[code] = future
    return code, "DATE_IN_FUTURE"


def date_order(t: str, f: dict[str, str], rng: random.Random, today: dt.date) -> Defect | None:
    start, end = _PERIOD[t]
    f[end] = (dt.date.fromisoformat(f[start]) - dt.timedelta(days=rng.randrange(1, 400))).isoformat()
    return end, "DATE_ORDER"


def fine_in_yuan(t: str, f: dict[str, str], rng: random.Random, today: dt.date) -> Defect | None:
    """Warning only (REC-041): the fine's yuan figure written where 万元 belongs."""
    if "CF_NR_FK" not in f:
        return None
    yuan = Decimal(f["CF_NR_FK"]) * 10000
    if yuan <= 10000:
        return None  # too small to be told apart from a real 万元 amount
    f["CF_NR_FK"] = str(int(yuan))
    return "CF_NR_FK", "AMOUNT_LIKELY_YUAN"


DefectFn = Callable[[str, dict[str, str], random.Random, dt.date], Defect | None]
ERROR_DEFECTS: tuple[tuple[DefectFn, int], ...] = (
    (subject_uscc_checksum, 5),
    (id_checksum, 3),
    (fine_missing, 3),
    (registration_missing, 2),
    (date_in_future, 2),
    (date_order, 2),
    (name_missing, 2),
    (category_invalid, 1),
    (penalty_kind_invalid, 1),
    (authority_uscc_checksum, 1),
)
WARNING_DEFECTS: tuple[tuple[DefectFn, int], ...] = ((fine_in_yuan, 3),)


def apply_defect(
    record_type: str, fields: dict[str, str], rng: random.Random, today: dt.date, *, include_warnings: bool = False
) -> tuple[dict[str, str], Defect]:
    """A copy of ``fields`` with one defect, and the (field, reason) it must be reported as."""
    pool = list(ERROR_DEFECTS + (WARNING_DEFECTS if include_warnings else ()))
    while pool:
        fn = rng.choices([p[0] for p in pool], weights=[p[1] for p in pool])[0]
        out = dict(fields)
        defect = fn(record_type, out, rng, today)
        if defect is not None:
            return out, defect
        pool = [p for p in pool if p[0] is not fn]
    raise AssertionError("name_missing always applies")
