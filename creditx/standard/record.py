"""The record codec: one credit record as the signed payload of an envelope (SIG-020 … SIG-029).

A record travels as UTF-8 JSON (docs/ARCHITECTURE.md, "The record on the wire")::

    {"v":1,"type":"XZCF","op":"I","region":"370100","source_id":"…",
     "version":1,"source_seq":42,"fields":{"CF_WSH":"…",…}}

Invariants kept here:

* A :class:`Record` is always well-formed: its constructor runs the same checks as
  :func:`decode_record`, so nothing malformed can be encoded, signed or stored.
* ``fields`` is an immutable, hashable, picklable mapping of field code → non-empty string.
* :func:`encode_record` is deterministic: compact separators, keys sorted, UTF-8 without
  ``\\u`` escapes for non-ASCII, empty fields omitted (SIG-029). Receivers never re-encode:
  the signature covers the bytes as received (SIG-001).
* :func:`decode_record` accepts exactly one meaning per payload: duplicate member names,
  unknown members, NaN/Infinity, lone surrogates and non-integer numbers are rejected (SIG-021).

Decoding is on the gateway's hot path; ``bench/crypto.py`` measures it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, ValuesView
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

import orjson

from creditx.standard.divisions import is_region
from creditx.standard.errors import RemoteError

RECORD_PAYLOAD_TYPE = "application/vnd.creditx.record+json;v=1"
RECORD_FORMAT_VERSION = 1
MAX_RECORD_BYTES = 64 * 1024  # SIG-020
MAX_SOURCE_ID_CHARS = 128  # SIG-026
MAX_INT = 2**63 - 1  # SIG-027: fits a signed 64-bit column on every store
MAX_INT_DIGITS = 19  # SIG-019: 2^63-1 has 19 digits; longer number text is refused before int()
MAX_DEPTH = 8  # SIG-019: a record nests two deep (record -> fields); anything deeper is refused unparsed
MAX_FIELD_CODE_CHARS = 64  # SIG-028: catalogue codes are ~12 characters
MAX_FIELDS = 512  # SIG-019: the catalogue's widest type has ~60 fields

RECORD_TYPES = ("XZXK", "XZCF", "LIST")
OPS = ("I", "U", "D")
# SIG-028: the field-code prefix each record type owns; "BZ" (备注) is shared by all.
FIELD_PREFIX = {"XZXK": "XK_", "XZCF": "CF_", "LIST": "MD_"}
SHARED_FIELDS = frozenset({"BZ"})
MEMBERS = ("v", "type", "op", "region", "source_id", "version", "source_seq", "fields")
_MEMBER_SET = frozenset(MEMBERS)


class RecordError(RemoteError):
    """A record payload breaks the record format. ``reason`` is the reason code, ``rule`` the
    requirement ID, ``field`` the JSON member or field code at fault ("" for the whole payload)."""

    def __init__(self, reason: str, rule: str, field: str, message: str) -> None:
        where = f" ({field})" if field else ""
        super().__init__(f"{reason} [{rule}]{where}: {message}", hint=message)
        self.reason = reason
        self.rule = rule
        self.field = field
        self.detail = message

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across verification worker processes
        return (type(self), (self.reason, self.rule, self.field, self.detail))


class FrozenFields(Mapping[str, str]):
    """An immutable, hashable, picklable field-code → value mapping, kept in sorted key order."""

    __slots__ = ("_d", "_h")

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        self._d = dict(sorted((items or {}).items()))
        self._h: int | None = None

    @classmethod
    def _of_sorted(cls, d: dict[str, str]) -> FrozenFields:
        """Take ``d`` as it is: the caller knows its keys are already in sorted order (a payload
        that is its own canonical encoding, :func:`decode_record`) and hands it over."""
        ff = object.__new__(cls)
        ff._d, ff._h = d, None
        return ff

    def __getitem__(self, key: str) -> str:
        return self._d[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __contains__(self, key: object) -> bool:
        return key in self._d

    # Read views straight from the dict: Mapping's generic ones go key by key through Python
    # (__iter__ + __getitem__), which cost the gateway's validation ~60 µs a record.
    def get(self, key: str, default: Any = None) -> Any:
        return self._d.get(key, default)

    def items(self) -> ItemsView[str, str]:
        return self._d.items()  # a read-only view; the dict itself is never handed out

    def keys(self) -> KeysView[str]:
        return self._d.keys()

    def values(self) -> ValuesView[str]:
        return self._d.values()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenFields):
            return self._d == other._d
        if isinstance(other, Mapping):
            return self._d == dict(other)
        return NotImplemented

    def __hash__(self) -> int:
        if self._h is None:
            self._h = hash(frozenset(self._d.items()))
        return self._h

    def __repr__(self) -> str:
        return f"FrozenFields({self._d!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenFields, (self._d,))

    def to_dict(self) -> dict[str, str]:
        return dict(self._d)


_STR_ONLY = frozenset({str})


def _is_int(v: Any) -> bool:
    return type(v) is int  # bool is a subclass of int and is not a number here


@dataclass(frozen=True)
class Record:
    """One credit record. Construction validates (SIG-022 … SIG-028) and raises RecordError."""

    type: str
    op: str
    region: str
    source_id: str
    version: int
    source_seq: int
    fields: Mapping[str, str] = field(default_factory=FrozenFields)

    def __post_init__(self) -> None:
        if not isinstance(self.fields, FrozenFields):
            if not isinstance(self.fields, Mapping):
                raise RecordError(
                    "REC_FIELDS_NOT_OBJECT", "SIG-028", "fields", "'fields' must be an object of field code -> string"
                )
            # SIG-029: empty fields are omitted, so "absent" and "empty" have one meaning.
            object.__setattr__(self, "fields", FrozenFields({k: v for k, v in self.fields.items() if v != ""}))
        check_record(self)


def check_record(r: Record) -> None:
    """Raise RecordError for the first rule ``r`` breaks (one place for the record rules)."""
    if not isinstance(r.type, str) or r.type not in FIELD_PREFIX:
        raise RecordError(
            "REC_UNKNOWN_TYPE", "SIG-023", "type", f"type {r.type!r} is not one of {', '.join(RECORD_TYPES)}"
        )
    if not isinstance(r.op, str) or r.op not in OPS:
        raise RecordError(
            "REC_UNKNOWN_OP", "SIG-024", "op", f"op {r.op!r} is not one of I (new), U (correction), D (revocation)"
        )
    if not isinstance(r.region, str) or not is_region(r.region):
        raise RecordError(
            "REC_BAD_REGION",
            "SIG-025",
            "region",
            f"region {r.region!r} is not 370000 or one of the 16 Shandong city codes",
        )
    if not isinstance(r.source_id, str) or not r.source_id or len(r.source_id) > MAX_SOURCE_ID_CHARS:
        raise RecordError(
            "REC_BAD_SOURCE_ID",
            "SIG-026",
            "source_id",
            f"source_id must be a non-empty string of at most {MAX_SOURCE_ID_CHARS} characters",
        )
    for name in ("version", "source_seq"):
        v = getattr(r, name)
        if not _is_int(v) or v < 0 or v > MAX_INT:
            raise RecordError(
                "REC_BAD_" + name.upper(), "SIG-027", name, f"{name} must be an integer from 0 to 2^63-1, got {v!r}"
            )
    prefix = FIELD_PREFIX[r.type]
    fields = r.fields._d if isinstance(r.fields, FrozenFields) else r.fields
    # Fast path (decode is on the gateway's hot path): the whole check in C-level loops; the
    # slow loop below runs only to name the first offending field.
    values = fields.values()
    try:
        if (
            set(map(type, values)) <= _STR_ONLY
            and "" not in values
            and all(
                map(str.startswith, fields, repeat(prefix, len(fields)))
                if "BZ" not in fields
                else (k.startswith(prefix) or k in SHARED_FIELDS for k in fields)
            )
            and max(map(len, fields), default=0) <= MAX_FIELD_CODE_CHARS
        ):
            return
    except TypeError:  # a non-string key; the loop below names it
        pass
    for code, value in fields.items():
        if not isinstance(code, str) or not (code.startswith(prefix) or code in SHARED_FIELDS):
            raise RecordError(
                "REC_FIELD_PREFIX",
                "SIG-028",
                safe_text(code, MAX_FIELD_CODE_CHARS),
                f"field code {safe_text(repr(code))} does not belong to type {r.type} "
                f"(codes start with {prefix!r}, or are BZ)",
            )
        if len(code) > MAX_FIELD_CODE_CHARS:
            raise RecordError(
                "REC_FIELD_CODE_TOO_LONG",
                "SIG-019",
                safe_text(code, MAX_FIELD_CODE_CHARS),
                f"a field code of {len(code)} characters; codes are at most {MAX_FIELD_CODE_CHARS}",
            )
        if not isinstance(value, str):
            raise RecordError(
                "REC_FIELD_NOT_STRING",
                "SIG-028",
                safe_text(code),
                f"field {code} must be a string, got {type(value).__name__}; write numbers and dates as text",
            )
        if not value:
            raise RecordError(
                "REC_FIELD_EMPTY", "SIG-029", safe_text(code), f"field {code} is empty; omit empty fields instead"
            )


def encode_record(r: Record) -> bytes:
    """The payload bytes of ``r`` (SIG-029): compact, keys sorted, UTF-8, empty fields omitted."""
    obj = {
        "v": RECORD_FORMAT_VERSION,
        "type": r.type,
        "op": r.op,
        "region": r.region,
        "source_id": r.source_id,
        "version": r.version,
        "source_seq": r.source_seq,
        "fields": {k: v for k, v in r.fields.items() if v != ""},
    }
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    if len(d) != len(pairs):
        seen: set[str] = set()
        dup = ""
        for k, _ in pairs:
            if k in seen:
                dup = k
                break
            seen.add(k)
        raise RecordError(
            "REC_DUPLICATE_KEY", "SIG-021", dup, f"member {dup!r} appears twice; a signed payload must have one meaning"
        )
    return d


def _no_constant(name: str) -> Any:
    raise RecordError("REC_NOT_JSON", "SIG-021", "", f"{name} is not valid JSON (RFC 8259 §6)")


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise RecordError(
            "REC_INT_TOO_LONG",
            "SIG-019",
            "",
            f"a number of {len(text)} digits is outside 0..2^63-1 (at most {MAX_INT_DIGITS} digits)",
        )
    return int(text)


def _no_float(text: str) -> Any:
    raise RecordError(
        "REC_NOT_INTEGER", "SIG-027", "", f"number {text} is not an integer; the record holds only integers and strings"
    )


_decoder = json.JSONDecoder(
    object_pairs_hook=_pairs_hook, parse_constant=_no_constant, parse_float=_no_float, parse_int=_int
)
# JSON strings (escapes included) and the brackets outside them: enough to measure nesting.
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def safe_text(s: object, limit: int = 200) -> str:
    """``s`` as text that any store and terminal can hold: lone surrogates and control
    characters escaped, cut to ``limit`` characters (field names and messages quote peer data)."""
    text = s if isinstance(s, str) else repr(s)
    if len(text) > limit:
        text = text[:limit] + "…"
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def nesting_depth(payload: bytes) -> int:
    """The deepest bracket nesting of a JSON text, brackets inside strings not counted."""
    depth = deepest = 0
    for m in _TOKENS.finditer(payload):
        t = m.group()
        if t in (b"{", b"["):
            depth += 1
            deepest = max(deepest, depth)
        elif t in (b"}", b"]"):
            depth -= 1
    return deepest


def decode_record(payload: bytes, *, max_bytes: int = MAX_RECORD_BYTES) -> Record:
    """Parse and check a record payload; raise RecordError naming reason, rule and field."""
    if len(payload) > max_bytes:
        raise RecordError(
            "REC_TOO_LARGE",
            "SIG-020",
            "",
            f"payload is {len(payload)} bytes, the limit is {max_bytes}; split long text fields",
        )
    obj = _canonical_object(payload)
    if obj is not None:  # the payload is its own encoding: fields come parsed and in order
        return _checked_object(payload, obj, FrozenFields._of_sorted)
    return _checked_object(payload, _parse(payload), FrozenFields)


_SORT = orjson.OPT_SORT_KEYS
_FAST_TOP = frozenset({str, int, dict})
_MAX_19_DIGITS = 10**MAX_INT_DIGITS - 1


def _canonical_object(payload: bytes) -> dict[str, Any] | None:
    """The record object of a payload that is byte for byte the encoding :func:`encode_record`
    writes (what every honest node sends), parsed by orjson; None for anything else, which then
    goes through the general parser and gets its exact reason.

    Why the answer is the general parser's: orjson refuses invalid UTF-8, a BOM, NaN/Infinity
    and lone surrogates itself; a duplicate member, another key order, whitespace, an escape
    that need not be one or ``-0`` make the re-encoding differ from the payload; a float, a
    number outside 19 digits (orjson gives a float above 2^64), or any nesting but ``fields``
    holding strings is sent to the general parser by the type checks. What is left is JSON
    both parsers read as the same object: two levels deep, strings and integers only."""
    try:
        obj = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if type(obj) is not dict or not _FAST_TOP.issuperset(map(type, obj.values())):
        return None
    fields = obj.get("fields")
    if type(fields) is not dict or not _STR_ONLY.issuperset(map(type, fields.values())):
        return None
    for k, v in obj.items():
        if type(v) is dict and k != "fields" or type(v) is int and not -_MAX_19_DIGITS <= v <= _MAX_19_DIGITS:
            return None
    try:
        if orjson.dumps(obj, option=_SORT) != payload:
            return None
    except orjson.JSONEncodeError:
        return None
    return obj


def _parse(payload: bytes) -> Any:
    """The general parser (SIG-019…021): every fault named by its own reason."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError(
            "REC_NOT_UTF8", "SIG-020", "", f"payload is not UTF-8 (byte {exc.start}); re-encode the record as UTF-8"
        ) from None
    # SIG-019: a legal record has 2 levels; measure only when there could be more (hot path).
    if payload.count(b"{") + payload.count(b"[") > MAX_DEPTH and nesting_depth(payload) > MAX_DEPTH:
        raise RecordError(
            "REC_TOO_DEEP",
            "SIG-019",
            "",
            f"JSON nests deeper than {MAX_DEPTH} levels; a record is one object holding 'fields'",
        )
    try:
        obj = _decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise RecordError("REC_NOT_JSON", "SIG-021", "", f"payload is not JSON: {exc}") from None
    except (RecursionError, ValueError) as exc:  # belt and braces: the checks above should catch these
        raise RecordError("REC_NOT_JSON", "SIG-021", "", f"payload cannot be parsed: {type(exc).__name__}") from None
    return obj


def _checked_object(payload: bytes, obj: Any, frozen: Callable[[dict[str, Any]], FrozenFields]) -> Record:
    """The member rules (SIG-022, SIG-028, SIG-019, SIG-021) on a parsed payload, then the record."""
    if type(obj) is not dict:
        raise RecordError("REC_NOT_OBJECT", "SIG-021", "", "payload must be one JSON object")
    if obj.keys() != _MEMBER_SET:
        missing = sorted(_MEMBER_SET - obj.keys())
        if missing:
            raise RecordError("REC_MISSING_MEMBER", "SIG-022", missing[0], f"member {missing[0]!r} is required")
        extra = sorted(obj.keys() - _MEMBER_SET)[0]
        raise RecordError(
            "REC_UNKNOWN_MEMBER",
            "SIG-022",
            extra,
            f"member {extra!r} is not part of record format v1; put data in 'fields'",
        )
    if obj["v"] != RECORD_FORMAT_VERSION or not _is_int(obj["v"]):
        raise RecordError(
            "REC_UNSUPPORTED_VERSION",
            "SIG-022",
            "v",
            f"record format v={obj['v']!r} is not supported; this implementation reads v=1",
        )
    fields = obj["fields"]
    if type(fields) is not dict:
        raise RecordError(
            "REC_FIELDS_NOT_OBJECT", "SIG-028", "fields", "'fields' must be an object of field code -> string"
        )
    if len(fields) > MAX_FIELDS:
        raise RecordError(
            "REC_TOO_MANY_FIELDS", "SIG-019", "fields", f"'fields' has {len(fields)} members, the limit is {MAX_FIELDS}"
        )
    # SIG-021: a lone surrogate (only reachable through a \u escape) has no UTF-8 form.
    if b"\\ud" in payload or b"\\uD" in payload:
        _check_surrogates(fields, obj["source_id"])
    return Record(
        obj["type"], obj["op"], obj["region"], obj["source_id"], obj["version"], obj["source_seq"], frozen(fields)
    )


def _check_surrogates(fields: dict[str, Any], source_id: Any) -> None:
    for code, value in [("source_id", source_id), *fields.items(), *((k, k) for k in fields)]:
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise RecordError(
                    "REC_LONE_SURROGATE",
                    "SIG-021",
                    safe_text(code, MAX_FIELD_CODE_CHARS),
                    "text holds an unpaired UTF-16 surrogate escape; send valid Unicode",
                ) from None
