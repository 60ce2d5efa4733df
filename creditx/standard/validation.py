"""Field validation of credit records against the catalogue (REC-020…REC-053).

``validate_fields(record_type, fields, today=…)`` is pure: no I/O, no clock — "today" comes in
as an argument, so the same record gives the same verdict everywhere (node intake, gateway
ingest, conformance suite). It returns every problem it finds, not only the first, so a city
can fix a row in one pass.

Invariants:

* every :class:`Violation` names the field code, its Chinese name, a requirement ID (``rule``),
  a reason code (``reason``), what is wrong (``message``) and what to do (``fix``);
* a field is checked for its own form (length, enumeration, date, amount, identifier) once,
  and conditional rules (REC-030…REC-053) only add what the record as a whole lacks;
* ``severity`` is "error" (the record is rejected) or "warning" (accepted, but reported —
  e.g. a fine that looks like yuan instead of 万元, REC-041).

Field values are strings in wire form: dates ISO 8601 ``YYYY-MM-DD`` (REC-023), several
values of a multi-enum field joined with ``;`` (REC-024), amounts decimal 万元 (REC-025).
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from creditx.standard import identifiers as ids
from creditx.standard.catalogue import MULTI_SPLIT, Catalogue, Field, RecordType, load_catalogue

LONG_TERM = _dt.date(2099, 12, 31)  # "长期" is written 2099-12-31 (REC-023)
YUAN_SUSPICION = Decimal("10000")  # a fine above 1亿 yuan written in 万元 is rare (REC-041)
# REC-025/REC-023: ASCII digits only (re.ASCII: without it \d also matches ١ or a full-width ２), no trailing newline
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z", re.ASCII)
_AMOUNT = re.compile(r"\d{1,12}(\.\d{1,6})?\Z", re.ASCII)

# Dates that record a decision already taken: never after "today" (REC-027).
DECISION_DATES = ("XK_JDRQ", "CF_JDRQ", "MD_LRRQ", "MD_YCRQ")
# (earlier, later) pairs that must be in order (REC-028).
DATE_ORDER = (
    ("XK_YXQZ", "XK_YXQZI", "REC-028"),
    ("XK_JDRQ", "XK_YXQZI", "REC-028"),
    ("CF_JDRQ", "CF_GSJZQ", "REC-028"),
    ("CF_JDRQ", "CF_YXQ", "REC-028"),
    ("MD_GLQX_Q", "MD_GLQX_Z", "REC-051"),
    ("MD_LRRQ", "MD_YCRQ", "REC-051"),
)
# Enumerated fields whose rule is more specific than REC-022.
ENUM_RULES = {"MD_LX": ("REC-050", "LIST_TYPE_UNKNOWN"), "MD_YCYY": ("REC-053", "ENUM_INVALID")}
REMOVAL_FIELDS = ("MD_YCRQ", "MD_YCYY", "MD_YCJG")  # all or nothing (REC-052)
CONFISCATION = ("没收违法所得", "没收非法财物")
SUSPENSION = ("暂扣许可证件", "吊销许可证件")


@dataclass(frozen=True)
class Violation:
    field: str
    field_name: str
    rule: str
    reason: str
    message: str
    fix: str
    severity: str = "error"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def errors_only(violations: list[Violation]) -> list[Violation]:
    """The violations that reject the record (warnings dropped)."""
    return [v for v in violations if v.severity == "error"]


class _Checker:
    """Collects violations for one record; one method per rule family."""

    def __init__(self, cat: Catalogue, rt: RecordType, fields: Mapping[str, str], today: _dt.date):
        self.cat, self.rt, self.today = cat, rt, today
        self.f = {k: ("" if v is None else str(v)).strip() for k, v in fields.items()}
        self.out: list[Violation] = []
        self.dates: dict[str, _dt.date] = {}

    def add(self, code: str, rule: str, reason: str, message: str, fix: str, severity: str = "error") -> None:
        try:
            name = self.rt.field(code).name_zh
        except KeyError:
            name = ""
        self.out.append(Violation(code, name, rule, reason, message, fix, severity))

    def has(self, code: str) -> bool:
        return bool(self.f.get(code))

    # --- the form of each field ------------------------------------------------------------

    def unknown_fields(self) -> None:
        known = set(self.rt.codes)
        for code in sorted(set(self.f) - known):
            self.out.append(
                Violation(
                    code,
                    "",
                    "REC-026",
                    "UNKNOWN_FIELD",
                    f"{code} is not a field of {self.rt.code}",
                    f"remove it or use one of the catalogue's {self.rt.code} field codes",
                )
            )

    def each_field(self) -> None:
        for fd in self.rt.fields:
            value = self.f.get(fd.code, "")
            if not value:
                if fd.required:
                    self.add(
                        fd.code,
                        "REC-020",
                        "REQUIRED_MISSING",
                        f"{fd.code} {fd.name_zh} is required for {self.rt.code}",
                        f"fill in {fd.name_zh}",
                    )
                continue
            if len(value) > fd.max_length and fd.kind != "enum":  # an enum says it better
                self.add(
                    fd.code,
                    "REC-021",
                    "TOO_LONG",
                    f"{fd.code} {fd.name_zh} has {len(value)} characters, at most {fd.max_length} allowed",
                    f"shorten {fd.name_zh} to {fd.max_length} characters",
                )
                continue
            getattr(self, "kind_" + fd.kind.replace("-", "_"))(fd, value)

    def kind_text(self, fd: Field, value: str) -> None:
        pass

    def kind_enum(self, fd: Field, value: str) -> None:
        enum = self.cat.enumeration(fd.enumeration or "")
        if value not in enum.values:
            rule, reason = ENUM_RULES.get(fd.code, ("REC-022", "ENUM_INVALID"))
            self.add(
                fd.code,
                rule,
                reason,
                f"{fd.code} {fd.name_zh} is {value!r}, not one of the allowed values",
                f"use one of: {' / '.join(enum.values)}",
            )

    def kind_multi_enum(self, fd: Field, value: str) -> None:
        enum = self.cat.enumeration(fd.enumeration or "")
        bad = [v for v in MULTI_SPLIT.split(value) if v and v not in enum.values]
        if bad:
            self.add(
                fd.code,
                "REC-022",
                "ENUM_INVALID",
                f"{fd.code} {fd.name_zh} contains {', '.join(map(repr, bad))}, not in the enumeration",
                f"use values from: {' / '.join(enum.values)}, separated by ';' (REC-024)",
            )

    def kind_date(self, fd: Field, value: str) -> None:
        try:
            if not _ISO_DATE.match(value):
                raise ValueError
            d = _dt.date.fromisoformat(value)
        except ValueError:
            self.add(
                fd.code,
                "REC-023",
                "DATE_INVALID",
                f"{fd.code} {fd.name_zh} is {value!r}, not a date in the form YYYY-MM-DD",
                "write the date as YYYY-MM-DD (long-term: 2099-12-31)",
            )
            return
        if d > LONG_TERM:
            self.add(
                fd.code,
                "REC-023",
                "DATE_INVALID",
                f"{fd.code} {fd.name_zh} {value} is after 2099-12-31",
                "write a long-term validity as 2099-12-31",
            )
            return
        self.dates[fd.code] = d

    def kind_amount(self, fd: Field, value: str) -> None:
        try:
            amount = Decimal(value) if _AMOUNT.match(value) else None
        except InvalidOperation:
            amount = None
        if amount is None or amount <= 0:
            self.add(
                fd.code,
                "REC-025",
                "AMOUNT_INVALID",
                f"{fd.code} {fd.name_zh} is {value!r}, not a positive decimal number of 万元",
                "write the amount in 万元 as a plain number, e.g. 2000 yuan → 0.2",
            )
        elif amount > YUAN_SUSPICION:
            self.add(
                fd.code,
                "REC-041",
                "AMOUNT_LIKELY_YUAN",
                f"{fd.code} {fd.name_zh} is {value} 万元 (= {amount * 10000:,.0f} yuan): it looks like yuan",
                "amounts are in 万元 (10,000 yuan): divide a yuan amount by 10000",
                "warning",
            )

    def kind_uscc(self, fd: Field, value: str) -> None:
        if value == ids.USCC_PLACEHOLDER and fd.code == self.rt.subject_field("SHXYM"):
            return  # checked by REC-031 against the subject category
        self._identifier(fd, ids.check_uscc(value))

    def kind_id(self, fd: Field, value: str) -> None:
        if fd.code.endswith("_ZZJG"):
            self._identifier(fd, ids.check_org_code(value))

    def _identifier(self, fd: Field, check: ids.IdCheck) -> None:
        if not check.valid:
            self.add(
                fd.code,
                check.rule,
                check.reason,
                f"{fd.code} {fd.name_zh}: {check.message}",
                f"copy {fd.name_zh} again from the registration certificate",
            )

    # --- rules across fields ---------------------------------------------------------------

    def dates_in_order(self) -> None:
        for code in DECISION_DATES:
            d = self.dates.get(code)
            if d is not None and d > self.today:
                self.add(
                    code,
                    "REC-027",
                    "DATE_IN_FUTURE",
                    f"{code} {self.rt.field(code).name_zh} {d} is after today ({self.today})",
                    "a decision date cannot be in the future: check the year and month",
                )
        for early, late, rule in DATE_ORDER:
            a, b = self.dates.get(early), self.dates.get(late)
            if a is not None and b is not None and a > b:
                self.add(
                    late,
                    rule,
                    "DATE_ORDER",
                    f"{late} {self.rt.field(late).name_zh} {b} is before {early} {self.rt.field(early).name_zh} {a}",
                    f"{self.rt.field(late).name_zh} must not be earlier than {self.rt.field(early).name_zh}",
                )

    def subject(self) -> None:
        sf = self.rt.subject_field
        category = self.f.get(sf("LB"), "")
        uscc, reg = sf("SHXYM"), sf("GSZC")
        if category == "法人及非法人组织":
            for code in (uscc, sf("FRDB")):
                if not self.has(code) or self.f[code] == ids.USCC_PLACEHOLDER:
                    self.add(
                        code,
                        "REC-030",
                        "CONDITIONAL_MISSING",
                        f"{code} {self.rt.field(code).name_zh} is required when the subject is 法人及非法人组织",
                        f"fill in {self.rt.field(code).name_zh}",
                    )
        elif category == "个体工商户":
            if not self.has(uscc):
                self.add(
                    uscc,
                    "REC-031",
                    "CONDITIONAL_MISSING",
                    f"{uscc} is required for a 个体工商户",
                    f"fill in the USCC, or {ids.USCC_PLACEHOLDER} if it has none (then 工商注册号)",
                )
            elif self.f[uscc] == ids.USCC_PLACEHOLDER and not self.has(reg):
                self.add(
                    reg,
                    "REC-031",
                    "CONDITIONAL_MISSING",
                    f"{reg} 工商注册号 is required when the USCC is the placeholder {ids.USCC_PLACEHOLDER}",
                    "fill in the 工商注册号 of the 个体工商户",
                )
        elif category == "自然人":
            for code in (sf("ZJLX"), sf("ZJHM")):
                if not self.has(code):
                    self.add(
                        code,
                        "REC-032",
                        "CONDITIONAL_MISSING",
                        f"{code} {self.rt.field(code).name_zh} is required when the subject is 自然人",
                        f"fill in {self.rt.field(code).name_zh}",
                    )
        if self.f.get(uscc) == ids.USCC_PLACEHOLDER and category != "个体工商户":
            self.add(
                uscc,
                "REC-031",
                "USCC_PLACEHOLDER",
                f"the placeholder {ids.USCC_PLACEHOLDER} is only for a 个体工商户, the subject is {category or 'not categorised'}",
                "fill in the subject's real USCC",
            )
        self._id_numbers(sf("ZJLX"), sf("ZJHM"))
        if self.rt.subject_prefix != "MD":
            p = self.rt.subject_prefix
            self._id_numbers(f"{p}_FR_ZJLX", f"{p}_FR_ZJHM")

    def _id_numbers(self, type_code: str, number_code: str) -> None:
        if self.f.get(type_code) == "身份证" and self.has(number_code):
            check = ids.check_id_number(self.f[number_code], today=self.today)
            if not check.valid:
                self.add(
                    number_code,
                    check.rule,
                    check.reason,
                    f"{number_code} {self.rt.field(number_code).name_zh}: {check.message}",
                    "copy the citizen ID number again from the ID card",
                )

    def penalty(self) -> None:
        kinds = {v for v in MULTI_SPLIT.split(self.f.get("CF_CFLB", "")) if v}
        needs = [
            ("罚款" in kinds, "CF_NR_FK", "REC-040", "罚款"),
            (bool(kinds & set(CONFISCATION)), "CF_NR_WFFF", "REC-042", "没收违法所得/没收非法财物"),
            (bool(kinds & set(SUSPENSION)), "CF_NR_ZKDX", "REC-043", "暂扣/吊销许可证件"),
        ]
        for needed, code, rule, why in needs:
            if needed and not self.has(code):
                self.add(
                    code,
                    rule,
                    "CONDITIONAL_MISSING",
                    f"{code} {self.rt.field(code).name_zh} is required when 处罚类别 includes {why}",
                    f"fill in {self.rt.field(code).name_zh}" + (" in 万元" if code != "CF_NR_ZKDX" else ""),
                )

    def other_needs_note(self) -> None:
        for fd in self.rt.fields:
            if fd.enumeration and self.has(fd.code):
                enum = self.cat.enumeration(fd.enumeration)
                values = set(MULTI_SPLIT.split(self.f[fd.code]))
                if values & set(enum.note_required) and not self.has("BZ"):
                    self.add(
                        "BZ",
                        "REC-045",
                        "NOTE_MISSING",
                        f"{fd.code} {fd.name_zh} is 其他, which needs a note in BZ 备注",
                        "say in 备注 what the 其他 category is",
                    )

    def list_entry(self) -> None:
        present = [c for c in REMOVAL_FIELDS if self.has(c)]
        if present and len(present) < len(REMOVAL_FIELDS):
            for code in REMOVAL_FIELDS:
                if not self.has(code):
                    self.add(
                        code,
                        "REC-052",
                        "REMOVAL_INCOMPLETE",
                        f"{code} {self.rt.field(code).name_zh} is missing, but the entry carries "
                        f"removal fields {', '.join(present)}",
                        "a removal needs 移出日期, 移出原因 and 移出机关 together; or none of them",
                    )


def validate_fields(
    record_type: str, fields: Mapping[str, str], *, today: _dt.date, catalogue: Catalogue | None = None
) -> list[Violation]:
    """Every violation of the catalogue's rules by one record's fields (errors and warnings).

    A clean record (the common case on the gateway's ingest path) is recognised by the
    compiled :class:`_Plan` without building anything; only a record that breaks some rule
    goes through the rule-by-rule :func:`validate_fields_reference`, so the violations,
    their order and their wording are exactly the reference's.
    """
    cat = catalogue or load_catalogue()
    if _plan(cat, record_type).clean(fields, today):
        return []
    return validate_fields_reference(record_type, fields, today=today, catalogue=cat)


def validate_fields_reference(
    record_type: str, fields: Mapping[str, str], *, today: _dt.date, catalogue: Catalogue | None = None
) -> list[Violation]:
    """The rules applied one by one, as the spec states them (the meaning of :func:`validate_fields`)."""
    cat = catalogue or load_catalogue()
    rt = cat.record_type(record_type)
    c = _Checker(cat, rt, fields, today)
    c.unknown_fields()
    c.each_field()
    c.dates_in_order()
    c.subject()
    c.other_needs_note()
    if rt.code == "XZCF":
        c.penalty()
    if rt.code == "LIST":
        c.list_entry()
    return c.out


# --- the compiled fast path -----------------------------------------------------------------
# Same predicates as _Checker, precomputed per (catalogue, record type): no catalogue lookups,
# no Violation objects; it only answers "does this record break no rule at all?".

_TEXT, _ENUM, _MULTI, _DATE, _AMOUNT_KIND, _USCC, _ORG, _NOCHECK = range(8)


@functools.lru_cache(maxsize=4096)
def _date_of(value: str) -> _dt.date | None:
    """A date that passes REC-023, else None."""
    if not _ISO_DATE.match(value):
        return None
    try:
        d = _dt.date.fromisoformat(value)
    except ValueError:
        return None
    return d if d <= LONG_TERM else None


@functools.lru_cache(maxsize=4096)
def _amount_clean(value: str) -> bool:
    """REC-025 holds and REC-041 does not warn."""
    if not _AMOUNT.match(value):
        return False
    return Decimal(0) < Decimal(value) <= YUAN_SUSPICION


class _Plan:
    """One record type's rules as flat tables (built once per catalogue and type)."""

    def __init__(self, cat: Catalogue, rt: RecordType) -> None:
        self.cat = cat
        sf = rt.subject_field
        self.known = frozenset(rt.codes)
        self.subject_uscc = sf("SHXYM")
        self.steps: dict[str, tuple[int, int, frozenset[str]]] = {}  # code -> (max length, kind, allowed)
        for fd in rt.fields:
            kind = {
                "text": _TEXT,
                "enum": _ENUM,
                "multi-enum": _MULTI,
                "date": _DATE,
                "amount": _AMOUNT_KIND,
                "uscc": _USCC,
            }.get(fd.kind, _NOCHECK)
            if fd.kind == "id" and fd.code.endswith("_ZZJG"):
                kind = _ORG
            allowed = frozenset(cat.enumeration(fd.enumeration).values) if fd.enumeration else frozenset()
            self.steps[fd.code] = (fd.max_length, kind, allowed)
        self.required = frozenset(fd.code for fd in rt.fields if fd.required)
        self.date_codes = tuple(fd.code for fd in rt.fields if fd.kind == "date")
        self.decision_dates = tuple(c for c in DECISION_DATES if c in self.known)
        self.date_order = tuple((a, b) for a, b, _ in DATE_ORDER if a in self.known and b in self.known)
        self.notes = tuple(
            (fd.code, frozenset(cat.enumeration(fd.enumeration).note_required))
            for fd in rt.fields
            if fd.enumeration and cat.enumeration(fd.enumeration).note_required
        )
        self.category, self.frdb, self.reg = sf("LB"), sf("FRDB"), sf("GSZC")
        self.id_pairs = ((sf("ZJLX"), sf("ZJHM")),) + (
            () if rt.subject_prefix == "MD" else ((f"{rt.subject_prefix}_FR_ZJLX", f"{rt.subject_prefix}_FR_ZJHM"),)
        )
        self.person = (sf("ZJLX"), sf("ZJHM"))
        self.penalty = rt.code == "XZCF"
        self.list_entry = rt.code == "LIST"

    def clean(self, fields: Mapping[str, str], today: _dt.date) -> bool:
        f = {k: ("" if v is None else str(v)).strip() for k, v in fields.items()}
        if not self.known.issuperset(f):
            return False  # REC-026
        if not self.required.issubset([k for k, v in f.items() if v]):
            return False  # REC-020
        steps = self.steps
        for code, v in f.items():  # REC-021…REC-025, REC-ID: each present field's own form
            if not v:
                continue
            max_length, kind, allowed = steps[code]
            if kind == _ENUM:
                if v not in allowed:
                    return False
            elif len(v) > max_length:
                return False
            elif kind == _TEXT or kind == _NOCHECK:
                continue
            elif kind == _USCC:
                if not (v == ids.USCC_PLACEHOLDER and code == self.subject_uscc) and not ids.uscc_valid(v):
                    return False
            elif kind == _DATE:
                if _date_of(v) is None:
                    return False
            elif kind == _AMOUNT_KIND:
                if not _amount_clean(v):
                    return False
            elif kind == _ORG:
                if not ids.org_code_valid(v):
                    return False
            elif kind == _MULTI:
                if not allowed.issuperset(filter(None, MULTI_SPLIT.split(v))):
                    return False
        return (
            self._dates_clean(f, today)
            and self._subject_clean(f, today)
            and self._notes_clean(f)
            and (not self.penalty or _penalty_clean(f))
            and (not self.list_entry or _removal_clean(f))
        )

    def _dates_clean(self, f: Mapping[str, str], today: _dt.date) -> bool:  # REC-027, REC-028, REC-051
        # every present date passed REC-023 above, so none is None here
        dates = {c: d for c in self.date_codes if (v := f.get(c)) and (d := _date_of(v)) is not None}
        if any(dates[c] > today for c in self.decision_dates if c in dates):
            return False
        return not any(a in dates and b in dates and dates[a] > dates[b] for a, b in self.date_order)

    def _subject_clean(self, f: Mapping[str, str], today: _dt.date) -> bool:  # REC-030…REC-032
        category, uscc = f.get(self.category, ""), f.get(self.subject_uscc, "")
        if category == "法人及非法人组织":
            if ids.USCC_PLACEHOLDER in (uscc, f.get(self.frdb)) or not uscc or not f.get(self.frdb):
                return False
        elif category == "个体工商户":
            if not uscc or (uscc == ids.USCC_PLACEHOLDER and not f.get(self.reg)):
                return False
        elif category == "自然人":
            if not f.get(self.person[0]) or not f.get(self.person[1]):
                return False
        if uscc == ids.USCC_PLACEHOLDER and category != "个体工商户":
            return False
        for type_code, number_code in self.id_pairs:
            if f.get(type_code) == "身份证" and f.get(number_code) and not ids.id_number_valid(f[number_code], today):
                return False
        return True

    def _notes_clean(self, f: Mapping[str, str]) -> bool:  # REC-045
        if f.get("BZ"):
            return True
        return not any(f.get(code) and not needs.isdisjoint(MULTI_SPLIT.split(f[code])) for code, needs in self.notes)


def _penalty_clean(f: Mapping[str, str]) -> bool:  # REC-040, REC-042, REC-043
    kinds = set(MULTI_SPLIT.split(f.get("CF_CFLB", "")))
    return not (
        ("罚款" in kinds and not f.get("CF_NR_FK"))
        or (not kinds.isdisjoint(CONFISCATION) and not f.get("CF_NR_WFFF"))
        or (not kinds.isdisjoint(SUSPENSION) and not f.get("CF_NR_ZKDX"))
    )


def _removal_clean(f: Mapping[str, str]) -> bool:  # REC-052
    present = sum(1 for c in REMOVAL_FIELDS if f.get(c))
    return present in (0, len(REMOVAL_FIELDS))


_PLANS: dict[tuple[int, str], _Plan] = {}


def _plan(cat: Catalogue, record_type: str) -> _Plan:
    p = _PLANS.get((id(cat), record_type))
    if p is None or p.cat is not cat:  # the plan holds its catalogue, so the id is not reused
        if len(_PLANS) > 64:
            _PLANS.clear()
        p = _PLANS[(id(cat), record_type)] = _Plan(cat, cat.record_type(record_type))
    return p
