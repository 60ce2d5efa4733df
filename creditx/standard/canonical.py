"""RFC 8785 JSON Canonicalization Scheme (JCS), fast for the records this standard carries.

``canonicalize(obj) -> bytes`` is the input of the content fingerprint (REC-FP-002). It must be
correct for all JSON, and cheap for the common case (ADR 0005: the pure-Python ``rfc8785``
package costs as much as a signature check).

How it stays both:

* **Fast path.** ``json.dumps(sort_keys=True, ensure_ascii=False, separators=(",", ":"))`` (the C
  encoder) already produces RFC 8785 output when (a) no number is a float and every integer is
  in the IEEE 754 safe range ±(2^53−1) (RFC 8785 §3.2.2.3, I-JSON RFC 7493 §2.2), and (b) no key
  holds a character outside the BMP — Python sorts by code point, JCS by UTF-16 code unit
  (RFC 8785 §3.2.3), and the two orders differ only for astral characters (they sort above
  U+E000–U+FFFF in code points but below them in UTF-16). Its string escaping is RFC 8785
  §3.2.2.2 exactly: ``\\"``, ``\\\\``, ``\\b \\f \\n \\r \\t``, other C0 controls as ``\\u00xx``
  lowercase, everything else (including U+007F, U+2028) literal. A cheap scan checks (a); a
  length check of the output's UTF-16 form checks (b).
* **General path** otherwise: keys sorted by UTF-16 code units, numbers in ECMAScript
  ``Number.prototype.toString`` form (RFC 8785 §3.2.2.3) derived from Python's shortest
  round-trip ``repr``.

Rejected with ``ValueError``: NaN/±Infinity, integers outside ±(2^53−1), non-string keys, lone
surrogates (RFC 8785 §3.2.2.2 requires valid Unicode), and values that are not JSON types.
tests/test_canonical.py cross-checks against the ``rfc8785`` package and the RFC's examples.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

SAFE_INT = 2**53 - 1
_FAST_SCALARS = frozenset({str, int, bool, type(None)})
_FAST_KINDS = _FAST_SCALARS | {dict, list}
_STR_ONLY = frozenset({str})
_dumps = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False, check_circular=False
).encode


def canonicalize(obj: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``obj`` (dict/list/tuple/str/int/float/bool/None)."""
    if _fast_ok(obj, 0):
        text = _dumps(obj)
        # No astral character anywhere ⇔ every character is one UTF-16 code unit.
        if len(text.encode("utf-16-le", "surrogatepass")) == 2 * len(text):
            return _utf8(text)
    return _utf8("".join(_general(obj, [])))


def _fast_ok(obj: Any, depth: int) -> bool:
    """True when the C encoder's output is canonical: only plain dict/list/str/safe-int/bool/None,
    string keys. (Astral characters in keys are checked on the output.)"""
    if depth > 64:
        return False
    t = type(obj)
    if t is dict:
        if set(map(type, obj)) - {str}:
            return False
        vals = obj.values()
    elif t is list:
        vals = obj
    elif t is int:
        n: int = obj
        return -SAFE_INT <= n <= SAFE_INT
    else:
        return t in _FAST_SCALARS
    kinds = set(map(type, vals))
    if kinds <= _STR_ONLY:
        return True
    if not kinds <= _FAST_KINDS:
        return False
    return all(type(v) is str or _fast_ok(v, depth + 1) for v in vals)


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("RFC 8785 §3.2.2.2: input holds a lone surrogate, which has no UTF-8 form") from None


_dump_str = json.JSONEncoder(ensure_ascii=False).encode


def _utf16_key(k: str) -> bytes:
    # RFC 8785 §3.2.3: compare keys as arrays of UTF-16 code units (big-endian bytes sort the same)
    return k.encode("utf-16-be", "surrogatepass")


def _general(obj: Any, out: list[str]) -> list[str]:
    if obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, str):
        out.append(_dump_str(obj))
    elif isinstance(obj, int):
        if not -SAFE_INT <= obj <= SAFE_INT:
            raise ValueError(
                f"RFC 8785 §3.2.2.3: integer {obj} is outside the IEEE 754 safe range ±(2^53-1); send it as a string"
            )
        out.append(str(int(obj)))
    elif isinstance(obj, float):
        out.append(es_number(obj))
    elif isinstance(obj, Mapping):
        for k in obj:
            if not isinstance(k, str):
                raise ValueError(f"RFC 8785: object key {k!r} is not a string")
        out.append("{")
        for i, k in enumerate(sorted(obj, key=_utf16_key)):
            if i:
                out.append(",")
            out.append(_dump_str(k))
            out.append(":")
            _general(obj[k], out)
        out.append("}")
    elif isinstance(obj, (list, tuple)):
        out.append("[")
        for i, v in enumerate(obj):
            if i:
                out.append(",")
            _general(v, out)
        out.append("]")
    else:
        raise ValueError(f"RFC 8785: {type(obj).__name__} is not a JSON value")
    return out


def es_number(x: float) -> str:
    """ECMAScript Number::toString(x) (ECMA-262 §6.1.6.1.20), as RFC 8785 §3.2.2.3 requires."""
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError("RFC 8785 §3.2.2.3: NaN and Infinity are not JSON numbers")
    if x == 0:
        return "0"  # also for -0
    if x < 0:
        return "-" + es_number(-x)
    # Shortest round-trip digits s (k of them) and n with x = s × 10^(n−k), from Python's repr.
    r = repr(x)
    mant, _, exp = r.partition("e")
    intpart, _, frac = mant.partition(".")
    digits = (intpart + frac).lstrip("0")
    n = len(intpart) + int(exp or 0) - (len(intpart + frac) - len((intpart + frac).lstrip("0")))
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    head = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{head}e{sign}{abs(e)}"
