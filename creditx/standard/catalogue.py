"""The record catalogue of the exchange standard (REC-001…), loaded from versioned data.

The catalogue itself is data, ``creditx/standard/catalogue/v1.json`` (``catalogue_version`` "1.0"):
the record types XZXK 行政许可, XZCF 行政处罚 and LIST 红/黑名单 with their ordered fields,
the enumerations, the 12 list types with their terms and measures, and the meta columns an
import file may carry. This module only loads it into frozen objects and answers questions
about it; periods and enumerations change by decree, so they stay in the data file.

Invariants kept at load time (a broken data file fails loudly, never silently):

* every field code is unique within its record type;
* every header alias (after :func:`normalise_header`) names exactly one field or meta column
  within a record type (REC-010);
* every ``enumeration`` a field names exists, and every field ``kind`` is one of ``KINDS``.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from creditx.standard.errors import InputError

CATALOGUE_DIR = Path(__file__).with_name("catalogue")
CATALOGUE_VERSION = "1.0"
KINDS = frozenset({"text", "date", "amount", "uscc", "id", "enum", "multi-enum"})
# Multi-valued fields (CF_CFLB) are written with ';' on the wire (REC-024); these are read too.
MULTI_SPLIT = re.compile(r"[;；,，、|/]+")
META_PREFIX = "meta:"

_BRACKETS = str.maketrans(
    {"【": "(", "】": ")", "〔": "(", "〕": ")", "[": "(", "]": ")", "［": "(", "］": ")", "﹙": "(", "﹚": ")"}
)


def normalise_header(header: str) -> str:
    """The comparison form of a column header (REC-010).

    NFKC (full-width → half-width, so （）→ ()), unify bracket styles, drop whitespace,
    underscores and required-column stars ``*`` wherever they are, upper-case Latin letters.
    """
    s = unicodedata.normalize("NFKC", header or "").translate(_BRACKETS)
    s = s.replace("\ufeff", "")
    return re.sub(r"[\s_*＊]+", "", s).upper()


@dataclass(frozen=True)
class Field:
    """One field of a record type. ``condition`` names the REC rule that makes it required."""

    code: str
    name_zh: str
    kind: str
    max_length: int
    required: bool = False
    condition: str | None = None
    enumeration: str | None = None
    aliases: tuple[str, ...] = ()
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name_zh": self.name_zh,
            "kind": self.kind,
            "max_length": self.max_length,
            "required": self.required,
            "condition": self.condition,
            "enumeration": self.enumeration,
            "aliases": list(self.aliases),
            "note": self.note,
        }


@dataclass(frozen=True)
class Enumeration:
    """A closed set of values; ``value_aliases`` are spellings an importer maps to a value."""

    name: str
    values: tuple[str, ...]
    value_aliases: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    note_required: tuple[str, ...] = ()  # values that need a note in BZ (REC-045)
    added_2021: tuple[str, ...] = ()

    def canonical(self, value: str) -> str | None:
        """The enumeration value ``value`` stands for, or None when it is not one."""
        v = unicodedata.normalize("NFKC", value).strip()
        if v in self.values:
            return v
        for alias, target in self.value_aliases.items():
            if unicodedata.normalize("NFKC", alias) == v:
                return target
        return None


@dataclass(frozen=True)
class ListType:
    code: str
    name_zh: str
    colour: str  # "red" | "black"
    issuer: str
    term_months: int | None
    earliest_repair_months: int | None
    measures: str
    removal: str = ""
    # When non-empty, term_months applies only to entries whose 列入原因 (MD_LRYY) names one of
    # these grounds; other entries of the list have no term (SXBZXR: 法释〔2017〕7号 第二条).
    term_reasons: tuple[str, ...] = ()
    extension_months: int = 0  # how far a decision may extend the term (SXBZXR: 1–3 years)

    def __post_init__(self) -> None:
        object.__setattr__(self, "term_reasons", tuple(self.term_reasons))

    def term_for(self, listing_reason: str) -> int | None:
        """The term in months of an entry listed for ``listing_reason`` (None: no term)."""
        if self.term_months is None:
            return None
        if self.term_reasons and not any(g in (listing_reason or "") for g in self.term_reasons):
            return None
        return self.term_months

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["term_reasons"] = list(self.term_reasons)
        return d


@dataclass(frozen=True)
class MetaColumn:
    key: str  # op | version | source_id | update_time | test | region
    name_zh: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class RecordType:
    code: str
    name_zh: str
    fields: tuple[Field, ...]
    natural_key: tuple[str, ...]
    subject_prefix: str
    # normalised header → field code, or "meta:<key>" for a meta column
    aliases: dict[str, str]

    def field(self, code: str) -> Field:
        for f in self.fields:
            if f.code == code:
                return f
        raise KeyError(f"{self.code} has no field {code!r}")

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.fields if f.required)

    def resolve_header(self, header: str) -> str | None:
        """Field code (or ``meta:<key>``) a column header stands for, None if unknown."""
        return self.aliases.get(normalise_header(header))

    def subject_field(self, suffix: str) -> str:
        """The subject-block field with this role, e.g. ``subject_field("LB")`` → XK_XDR_LB."""
        p = self.subject_prefix
        table = {
            "MC": "_XDR_MC",
            "LB": "_XDR_LB",
            "SHXYM": "_XDR_SHXYM",
            "GSZC": "_XDR_GSZC",
            "FRDB": "_FRDB",
            "ZJLX": "_XDR_ZJLX",
            "ZJHM": "_XDR_ZJHM",
        }
        if p == "MD":
            table = {k: "_ZT_" + k if k != "FRDB" else "_FRDB" for k in table}
        return p + table[suffix]

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name_zh": self.name_zh,
            "fields": [f.as_dict() for f in self.fields],
            "natural_key": list(self.natural_key),
        }


@dataclass(frozen=True)
class Catalogue:
    version: str
    record_types: dict[str, RecordType]
    enumerations: dict[str, Enumeration]
    list_types: tuple[ListType, ...]
    meta_columns: tuple[MetaColumn, ...]
    operations: Enumeration
    removal_reasons: tuple[str, ...]
    legacy_2015: dict[str, Any] = field(default_factory=dict)  # the 2015 template's mapping (REC-064, legacy2015.py)

    def record_type(self, code: str) -> RecordType:
        rt = self.record_types.get((code or "").strip().upper())
        if rt is None:
            raise InputError(
                f"unknown record type {code!r} (REC-001)", hint=f"use one of {', '.join(self.record_types)}"
            )
        return rt

    def enumeration(self, name: str) -> Enumeration:
        return self.enumerations[name]

    def list_type(self, code_or_name: str) -> ListType | None:
        """A list type by its code (SXBZXR) or Chinese name (失信被执行人); None if unknown."""
        v = unicodedata.normalize("NFKC", code_or_name or "").strip()
        for lt in self.list_types:
            if v.upper() == lt.code or v == lt.name_zh:
                return lt
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "catalogue_version": self.version,
            "record_types": {k: v.as_dict() for k, v in self.record_types.items()},
            "enumerations": {
                k: {"values": list(e.values), "value_aliases": e.value_aliases} for k, e in self.enumerations.items()
            },
            "list_types": [lt.as_dict() for lt in self.list_types],
            "removal_reasons": list(self.removal_reasons),
            "operations": list(self.operations.values),
            "meta_columns": [
                {"key": m.key, "name_zh": m.name_zh, "aliases": list(m.aliases)} for m in self.meta_columns
            ],
        }


def _enumeration(name: str, raw: dict[str, Any]) -> Enumeration:
    return Enumeration(
        name,
        tuple(raw["values"]),
        dict(raw.get("value_aliases", {})),
        dict(raw.get("labels", {})),
        tuple(raw.get("note_required", ())),
        tuple(raw.get("added_2021", ())),
    )


def _alias_map(code: str, fields: tuple[Field, ...], meta: tuple[MetaColumn, ...]) -> dict[str, str]:
    aliases: dict[str, str] = {}

    def add(header: str, target: str) -> None:
        key = normalise_header(header)
        if aliases.setdefault(key, target) != target:
            raise ValueError(f"catalogue: header {header!r} of {code} names both {aliases[key]} and {target} (REC-010)")

    for f in fields:
        for h in (f.code, f.name_zh, *f.aliases):
            add(h, f.code)
    for m in meta:
        for h in (m.name_zh, *m.aliases):
            add(h, META_PREFIX + m.key)
    return aliases


def parse_catalogue(raw: dict[str, Any]) -> Catalogue:
    """Build a :class:`Catalogue` from its JSON form, checking the invariants above."""
    if raw.get("catalogue_version") != CATALOGUE_VERSION:
        raise ValueError(f"catalogue_version {raw.get('catalogue_version')!r} is not {CATALOGUE_VERSION}")
    enums = {name: _enumeration(name, e) for name, e in raw["enumerations"].items()}
    list_types = tuple(ListType(**lt) for lt in raw["list_types"])
    enums["list_type"] = Enumeration(
        "list_type", tuple(lt.code for lt in list_types), {lt.name_zh: lt.code for lt in list_types}
    )
    meta = tuple(MetaColumn(m["key"], m["name_zh"], tuple(m["aliases"])) for m in raw["meta_columns"])
    types: dict[str, RecordType] = {}
    for code, rt in raw["record_types"].items():
        fields = tuple(
            Field(**{**f, "aliases": tuple(f.get("aliases", ())), "note": f.get("note", "")}) for f in rt["fields"]
        )
        if len({f.code for f in fields}) != len(fields):
            raise ValueError(f"catalogue: duplicate field code in {code}")
        for f in fields:
            if f.kind not in KINDS:
                raise ValueError(f"catalogue: {code}.{f.code} has unknown kind {f.kind!r}")
            if f.enumeration and f.enumeration not in enums:
                raise ValueError(f"catalogue: {code}.{f.code} names unknown enumeration {f.enumeration!r}")
        types[code] = RecordType(
            code, rt["name_zh"], fields, tuple(rt["natural_key"]), rt["subject_prefix"], _alias_map(code, fields, meta)
        )
    return Catalogue(
        raw["catalogue_version"],
        types,
        enums,
        list_types,
        meta,
        enums["operation"],
        tuple(raw["removal_reasons"]),
        raw.get("legacy_2015", {}),
    )


@functools.cache
def load_catalogue(version: str = "1") -> Catalogue:
    """The catalogue shipped with the standard (cached; the objects are immutable)."""
    path = CATALOGUE_DIR / f"v{version}.json"
    with path.open(encoding="utf-8") as fh:
        return parse_catalogue(json.load(fh))
