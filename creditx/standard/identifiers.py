"""Identifier rules of the exchange standard (REC-ID-…): USCC, organisation code, citizen ID.

Pure functions over strings. Each check returns an :class:`IdCheck` that says what kind of
identifier it is, whether it is valid, and if not the reason code and requirement ID, so the
same result serves the CLI, record validation and the gateway.

* 统一社会信用代码 (GB 32100-2015): 18 characters from ``USCC_ALPHABET``; weights
  3^(i-1) mod 31; check = (31 − Σ mod 31) mod 31. Positions 9–17 are a GB 11714
  organisation code and must pass its own check (REC-ID-03). Unknown registration
  department / category pairs only warn (codes were added over time, REC-ID-05); Xiamen's
  pre-standard pilot codes (3502xx, "M0…") whose check character predates GB 32100 are
  accepted with a warning (REC-ID-06); and
  positions 3–8 are not checked against today's division list (old Laiwu codes stay valid).
* 组织机构代码 (GB 11714): 8 characters 0–9/A–Z + check; weights 3,7,9,10,5,8,4,2.
* 公民身份号码 (GB 11643): 18 digits (last may be X); 15-digit numbers are converted.

The checks are memoised (``functools.lru_cache``, bounded): the same authority codes recur in
almost every record the gateway validates, and an :class:`IdCheck` is immutable, so a cached
verdict is the verdict.
"""

from __future__ import annotations

import datetime as _dt
import functools
from dataclasses import dataclass, field
from typing import Any

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
ID_CHECK = "10X98765432"

# 个体工商户 without a USCC report this placeholder and then need 工商注册号 (REC-031).
USCC_PLACEHOLDER = "00000000000000000X"

# GB 32100 registration departments (position 1) and their organisation categories (position 2).
USCC_DEPARTMENTS: dict[str, tuple[str, dict[str, str]]] = {
    "1": ("机构编制", {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"}),
    "2": ("外交", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": (
        "司法行政",
        {
            "1": "律师执业机构",
            "2": "公证处",
            "3": "基层法律服务所",
            "4": "司法鉴定机构",
            "5": "仲裁委员会",
            "9": "其他",
        },
    ),
    "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
    "5": ("民政", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}),
    "6": ("旅游", {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻内地（大陆）代表机构", "9": "其他"}),
    "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会", {"1": "基层工会", "9": "其他"}),
    "9": ("工商", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
    "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
    "N": ("农业", {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"}),
    "Y": ("其他", {"1": ""}),
}

_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
_ORG_VALUE = {c: (int(c) if c.isdigit() else ord(c) - ord("A") + 10) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
_CACHE_SIZE = 1 << 16  # distinct identifiers remembered per process (~100 bytes each)

_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20
_ASCII_UPPER = {cp: cp - 32 for cp in range(ord("a"), ord("z") + 1)}  # str.upper of the ASCII letters only
MAX_IDENTIFIER_CHARS = 64  # REC-ID-07: longer text is not an identifier of any kind; not normalised


def _digits(s: str) -> bool:
    """REC-ID-07: ASCII 0-9 only. ``str.isdigit`` also takes ``²``, ``١`` (Arabic-Indic) and the like."""
    return s.isascii() and s.isdigit()


def _not_ascii(code: str, kind: str, norm: str, reason: str) -> IdCheck | None:
    """REC-ID-07: after full-width forms are folded (deliberately: GB 2312 input methods produce
    them), an identifier is ASCII; any other script's digits or letters are refused by name."""
    if norm.isascii():
        return None
    odd = next(c for c in norm if not c.isascii())
    return IdCheck(
        code,
        kind,
        False,
        "",
        reason,
        "REC-ID-07",
        f"character U+{ord(odd):04X} is not an ASCII digit or letter; identifiers use 0-9 and A-Z "
        "only (full-width forms are accepted); re-type the identifier",
    )


@dataclass(frozen=True)
class IdCheck:
    """The verdict on one identifier. ``reason``/``rule`` are empty when valid."""

    code: str  # as given
    kind: str  # "uscc" | "org_code" | "id_card" | "unknown"
    valid: bool
    normalised: str = ""
    reason: str = ""  # reason code, e.g. "USCC_CHECKSUM"
    rule: str = ""  # requirement ID, e.g. "REC-ID-02"
    message: str = ""  # what is wrong and what to do
    warnings: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "kind": self.kind,
            "valid": self.valid,
            "normalised": self.normalised,
            "reason": self.reason,
            "rule": self.rule,
            "message": self.message,
            "warnings": list(self.warnings),
        }


def normalise(code: str) -> str:
    """Full-width → half-width, strip spaces, upper-case (what importers see in the field).

    Upper-casing is ASCII-only (``"ß".upper()`` is ``"SS"``: it would change the length)."""
    folded = "".join(code.translate(_FULLWIDTH).split())
    return folded.upper() if folded.isascii() else folded.translate(_ASCII_UPPER)


# --- check characters -------------------------------------------------------------------


def uscc_check_char(body17: str) -> str:
    """The 18th character of a USCC whose first 17 characters are ``body17``."""
    if len(body17) != 17:
        raise ValueError(f"a USCC body has 17 characters, not {len(body17)}")
    try:
        total = sum(map(int.__mul__, map(_USCC_VALUE.__getitem__, body17), USCC_WEIGHTS))
    except KeyError as exc:
        raise ValueError(f"{exc.args[0]!r} is not a USCC character") from None
    return USCC_ALPHABET[(31 - total % 31) % 31]


def _org_value(c: str) -> int:
    v = _ORG_VALUE.get(c)
    if v is None:
        raise ValueError(f"{c!r} is not an organisation-code character")
    return v


def org_code_check_char(body8: str) -> str:
    """The 9th character of a GB 11714 organisation code whose first 8 are ``body8``."""
    try:
        total = sum(map(int.__mul__, map(_ORG_VALUE.__getitem__, body8), ORG_WEIGHTS)) if len(body8) == 8 else -1
    except KeyError:
        total = -1
    if total < 0:  # the slow loop names the fault
        total = sum(_org_value(c) * w for c, w in zip(body8, ORG_WEIGHTS, strict=True))
    c9 = 11 - total % 11
    return "X" if c9 == 10 else "0" if c9 == 11 else str(c9)


def id_check_char(body17: str) -> str:
    """The 18th character of a citizen ID number whose first 17 digits are ``body17``."""
    if not _digits(body17):
        raise ValueError("a citizen ID body is 17 ASCII digits")
    total = sum(int(c) * w for c, w in zip(body17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


# --- checks -------------------------------------------------------------------------------


def _bad(code: str, kind: str, norm: str, reason: str, rule: str, message: str) -> IdCheck:
    return IdCheck(code, kind, False, norm, reason, rule, message)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def check_org_code(code: str) -> IdCheck:
    """组织机构代码: 8 characters 0–9/A–Z and a check character (a hyphen before it is tolerated)."""
    if len(code) > MAX_IDENTIFIER_CHARS:
        return _bad(
            code, "org_code", "", "ORG_LENGTH", "REC-ID-11", f"{len(code)} characters is not an organisation code"
        )
    norm = normalise(code).replace("-", "")
    odd = _not_ascii(code, "org_code", norm, "ORG_CHARSET")
    if odd:
        return odd
    if len(norm) != 9:
        return _bad(
            code,
            "org_code",
            norm,
            "ORG_LENGTH",
            "REC-ID-11",
            f"an organisation code has 9 characters (8 + check), this has {len(norm)}",
        )
    body, check = norm[:8], norm[8]
    if not all(_digits(c) or "A" <= c <= "Z" for c in body) or not (_digits(check) or check == "X"):
        return _bad(
            code,
            "org_code",
            norm,
            "ORG_CHARSET",
            "REC-ID-11",
            "an organisation code uses 0-9 and A-Z, with 0-9 or X as the check character",
        )
    expected = org_code_check_char(body)
    if check != expected:
        return _bad(
            code,
            "org_code",
            norm,
            "ORG_CHECKSUM",
            "REC-ID-12",
            f"check character is {check!r} but GB 11714 gives {expected!r}: the code is mistyped",
        )
    return IdCheck(code, "org_code", True, norm)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def check_uscc(code: str) -> IdCheck:
    """统一社会信用代码 per GB 32100-2015, including the embedded organisation-code check."""
    if len(code) > MAX_IDENTIFIER_CHARS:
        return _bad(code, "uscc", "", "USCC_LENGTH", "REC-ID-01", f"a USCC has 18 characters, this has {len(code)}")
    norm = normalise(code)
    odd = _not_ascii(code, "uscc", norm, "USCC_CHARSET")
    if odd:
        return odd
    if len(norm) != 18:
        return _bad(code, "uscc", norm, "USCC_LENGTH", "REC-ID-01", f"a USCC has 18 characters, this has {len(norm)}")
    bad_chars = sorted({c for c in norm if c not in USCC_ALPHABET})
    if bad_chars:
        return _bad(
            code,
            "uscc",
            norm,
            "USCC_CHARSET",
            "REC-ID-01",
            f"characters {''.join(bad_chars)!r} are not used in a USCC (no I, O, Z, S, V): "
            "check for a mistyped 1/0/2/5/U",
        )
    if norm == USCC_PLACEHOLDER:
        return _bad(
            code,
            "uscc",
            norm,
            "USCC_PLACEHOLDER",
            "REC-ID-01",
            "this is the placeholder for a 个体工商户 without a USCC, not a code",
        )
    expected = uscc_check_char(norm[:17])
    warnings: list[str] = []
    if norm[17] != expected and _xiamen_pilot(norm):
        # REC-ID-06: Xiamen issued "M0…" codes in its 2015 pilot, before GB 32100 fixed the
        # check character; they are real, permanent codes, so they pass with a warning.
        warnings.append(
            f"REC-ID-06: check character {norm[17]!r} differs from GB 32100's {expected!r}; "
            "accepted as a Xiamen pilot code issued before the standard"
        )
    elif norm[17] != expected:
        return _bad(
            code,
            "uscc",
            norm,
            "USCC_CHECKSUM",
            "REC-ID-02",
            f"check character is {norm[17]!r} but GB 32100 gives {expected!r}: the code is mistyped",
        )
    if not _digits(norm[2:8]):
        return _bad(
            code,
            "uscc",
            norm,
            "USCC_DIVISION",
            "REC-ID-04",
            f"positions 3-8 must be a six-digit division code, not {norm[2:8]!r}",
        )
    org = check_org_code(norm[8:17])
    if not org.valid:
        return _bad(
            code,
            "uscc",
            norm,
            "USCC_ORG_CHECKSUM",
            "REC-ID-03",
            f"positions 9-17 ({norm[8:17]}) are not a valid GB 11714 organisation code: {org.message}",
        )
    dept = USCC_DEPARTMENTS.get(norm[0])
    if dept is None or norm[1] not in dept[1]:
        warnings.append(f"REC-ID-05: registration department/category {norm[:2]!r} is not in the GB 32100 table")
    return IdCheck(code, "uscc", True, norm, warnings=tuple(warnings))


# --- the same verdicts as booleans, for validation's compiled plan --------------------------
# A code in its normal form (what a clean record holds) is proved valid here from the check
# characters alone, without building an IdCheck (every new subject misses the caches); anything
# else gets the full check's verdict. Memoised too: authority codes recur in almost every record.

_USCC_CHARS = frozenset(USCC_ALPHABET)
_ORG_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ORG_CHECK_CHARS = frozenset("0123456789X")
_DIGIT_CHARS = frozenset("0123456789")


@functools.lru_cache(maxsize=_CACHE_SIZE)
def uscc_valid(code: str) -> bool:
    """``check_uscc(code).valid``."""
    return uscc_valid_as_written(code) or check_uscc(code).valid


def uscc_valid_as_written(code: str) -> bool:
    """A valid USCC that ``normalise`` leaves as it is (the form registers and nodes write): its
    ``check_uscc`` is valid and its ``normalised`` is ``code``. False says nothing more: the
    code may still be valid in another writing (lower case, full-width, spaces)."""
    return (
        len(code) == 18
        and _USCC_CHARS.issuperset(code)  # normalise() leaves it as it is
        and code != USCC_PLACEHOLDER
        and code[17] == uscc_check_char(code[:17])
        and _DIGIT_CHARS.issuperset(code[2:8])
        and code[16] in _ORG_CHECK_CHARS
        and org_code_check_char(code[8:16]) == code[16]
    )


@functools.lru_cache(maxsize=_CACHE_SIZE)
def org_code_valid(code: str) -> bool:
    """``check_org_code(code).valid``."""
    if (
        len(code) == 9
        and _ORG_CHARS.issuperset(code)
        and code[8] in _ORG_CHECK_CHARS
        and org_code_check_char(code[:8]) == code[8]
    ):
        return True
    return check_org_code(code).valid


@functools.lru_cache(maxsize=_CACHE_SIZE)
def id_number_valid(code: str, today: _dt.date | None = None) -> bool:
    """``check_id_number(code, today=today).valid``."""
    if (
        len(code) == 18
        and _DIGIT_CHARS.issuperset(code[:17])
        and code[0] in "12345678"
        and (code[17] in _DIGIT_CHARS or code[17] == "X")
        and code[17] == id_check_char(code[:17])
    ):
        born = _birth_date(code[6:14])
        if born is not None and born.year >= 1880 and (today is None or born <= today):
            return True
    return check_id_number(code, today=today).valid


def _xiamen_pilot(norm: str) -> bool:
    """A code from Xiamen's pre-standard pilot: registered in 3502xx, subject code "M0…" (REC-ID-06)."""
    return norm[2:6] == "3502" and norm[8:10] == "M0"


def _birth_date(s: str) -> _dt.date | None:
    try:
        return _dt.date(int(s[0:4]), int(s[4:6]), int(s[6:8]))
    except ValueError:
        return None


@functools.lru_cache(maxsize=_CACHE_SIZE)
def check_id_number(code: str, *, today: _dt.date | None = None) -> IdCheck:
    """公民身份号码 per GB 11643: 18 characters, or 15 digits (converted, see ``id15_to_18``)."""
    if len(code) > MAX_IDENTIFIER_CHARS:
        return _bad(
            code,
            "id_card",
            "",
            "ID_LENGTH",
            "REC-ID-21",
            f"a citizen ID number has 18 characters (or 15 digits), this has {len(code)}",
        )
    norm = normalise(code)
    odd = _not_ascii(code, "id_card", norm, "ID_CHARSET")
    if odd:
        return odd
    if len(norm) == 15 and _digits(norm):
        norm = id15_to_18(norm)
    if len(norm) != 18:
        return _bad(
            code,
            "id_card",
            norm,
            "ID_LENGTH",
            "REC-ID-21",
            f"a citizen ID number has 18 characters (or 15 digits), this has {len(norm)}",
        )
    if not _digits(norm[:17]) or not (_digits(norm[17]) or norm[17] == "X"):
        return _bad(
            code,
            "id_card",
            norm,
            "ID_CHARSET",
            "REC-ID-21",
            "a citizen ID number is 17 digits followed by a digit or X",
        )
    if norm[0] not in "12345678":
        return _bad(
            code,
            "id_card",
            norm,
            "ID_ADDRESS",
            "REC-ID-22",
            f"address code {norm[:6]} does not start with a province code (11-82)",
        )
    born = _birth_date(norm[6:14])
    if born is None or born.year < 1880 or (today is not None and born > today):
        # REC-PII-02: positions 7-14 are the masked part; the message does not quote them.
        return _bad(
            code,
            "id_card",
            norm,
            "ID_BIRTH_DATE",
            "REC-ID-22",
            "positions 7-14 are not a possible date of birth (YYYYMMDD from 1880 to today)",
        )
    expected = id_check_char(norm[:17])
    if norm[17] != expected:
        return _bad(
            code,
            "id_card",
            norm,
            "ID_CHECKSUM",
            "REC-ID-23",
            f"check character is {norm[17]!r} but GB 11643 gives {expected!r}: the number is mistyped",
        )
    return IdCheck(code, "id_card", True, norm)


def id15_to_18(code15: str) -> str:
    """First-generation 15-digit ID → 18 digits: century 19 inserted, check char appended (REC-ID-24)."""
    body = code15[:6] + "19" + code15[6:]
    return body + id_check_char(body)


def detect_kind(code: str) -> str:
    """Best guess of what an identifier is: "uscc", "org_code", "id_card" or "unknown".

    An 18-digit string can be either a USCC or an ID number; the one whose check passes wins,
    then the structure decides (an ID has a birth date in positions 7–14 and starts 1–8).
    """
    if len(code) > MAX_IDENTIFIER_CHARS:
        return "unknown"
    norm = normalise(code).replace("-", "") if len(normalise(code)) == 10 else normalise(code)
    if len(norm) == 9:
        return "org_code"
    if len(norm) == 15 and _digits(norm):
        return "id_card"
    if len(norm) != 18:
        return "unknown"
    id_shaped = _digits(norm[:17]) and (_digits(norm[17]) or norm[17] == "X")
    if id_shaped and check_id_number(norm).valid:
        return "id_card"
    if check_uscc(norm).valid:
        return "uscc"
    if id_shaped and norm[0] in "12345678" and _birth_date(norm[6:14]) is not None:
        return "id_card"
    return "uscc"


def check_any(code: str, *, today: _dt.date | None = None) -> IdCheck:
    """Detect the kind of ``code`` and check it as that kind."""
    kind = detect_kind(code)
    if kind == "uscc":
        return check_uscc(code)
    if kind == "org_code":
        return check_org_code(code)
    if kind == "id_card":
        return check_id_number(code, today=today)
    return _bad(
        code,
        "unknown",
        normalise(code),
        "ID_UNKNOWN_KIND",
        "REC-ID-01",
        "not a USCC (18 characters), organisation code (9) or citizen ID number (18 or 15 digits)",
    )


def mask_id_number(number: str) -> str:
    """Published form of a natural person's ID number: keep the first 6 and last 4 (REC-PII-02)."""
    norm = normalise(number)
    if len(norm) <= 10:
        return "*" * len(norm)
    return norm[:6] + "*" * (len(norm) - 10) + norm[-4:]
