"""The content fingerprint of a record (REC-FP-001 … REC-FP-004), the key of deduplication.

``fingerprint(record) = SHA-256(JCS({"type": …, "op": …, "fields": {…}}))`` — 32 bytes.

Invariants:

* Defined on content, not bytes: the same record signed by two nodes, re-encoded with other
  whitespace or key order, or re-sent under another ``source_seq`` has the same fingerprint
  (REC-FP-001). ``region``, ``source_id``, ``version`` and ``source_seq`` are deliberately
  outside it: they say who sent what when, not what was decided.
* The canonical form is RFC 8785 (REC-FP-002) via :func:`creditx.standard.canonical.canonicalize`;
  field values are strings and empty fields are absent (SIG-029), so the JCS input is exactly
  the record's non-empty fields.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import orjson

from creditx.standard.canonical import canonicalize
from creditx.standard.record import FrozenFields, Record

_STR_ONLY = frozenset({str})
_SORT = orjson.OPT_SORT_KEYS


def fingerprint_input(record_type: str, op: str, fields: Mapping[str, str]) -> bytes:
    """REC-FP-001/002: the canonical bytes that are hashed.

    Serialised once, by orjson (compact, keys sorted, UTF-8 out, the fields not copied), when
    every field code is ASCII and every value a string (every validated record): then its
    output *is* RFC 8785 — no numbers; key order by code point equals order by UTF-16 code
    unit; and orjson escapes a string exactly as RFC 8785 §3.2.2.2 does (quote, backslash,
    the five short escapes, other C0 controls as lowercase \\u00xx, everything else literal;
    tests/test_fingerprint_fast.py checks every code point). Anything else (and a lone
    surrogate, which RFC 8785 and orjson both refuse) goes through :func:`canonicalize`.
    """
    plain = fields._d if isinstance(fields, FrozenFields) else {k: v for k, v in fields.items() if v != ""}
    obj = {"type": record_type, "op": op, "fields": plain}
    if (
        type(record_type) is str
        and type(op) is str
        and "".join(plain).isascii()
        and _STR_ONLY.issuperset(map(type, plain.values()))
    ):
        try:
            return orjson.dumps(obj, option=_SORT)
        except orjson.JSONEncodeError:
            pass  # canonicalize names the fault
    return canonicalize(obj)


def fingerprint(record: Record) -> bytes:
    """REC-FP-003: SHA-256 of the canonical content, 32 bytes."""
    return hashlib.sha256(fingerprint_input(record.type, record.op, record.fields)).digest()


def fingerprint_hex(record: Record) -> str:
    """REC-FP-003: the lowercase hex form used in text, logs and vectors."""
    return fingerprint(record).hex()
