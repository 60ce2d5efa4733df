"""Builders of realistic XZXK / XZCF / LIST field sets for one region.

Pure: a :class:`RecordBuilder` holds a ``random.Random``, the region, ``today`` and the
running document-number counters; ``build()`` returns one record's fields (field code →
string, empty optional fields omitted). Invariants of every record built here:

* it passes ``creditx.standard.validation.validate_fields`` with no violation at all (REC-020…053):
  required and conditional fields present, identifiers valid, dates ISO 8601 and in order,
  decision dates in the last three years and never after ``today`` (REC-027/028);
* fines and confiscations are in 万元 (REC-025: 2,000 yuan → "0.2"), CF_CFLB values joined
  with ";" (REC-024), long-term validity written 2099-12-31;
* 公示截止期 follows the publication periods (NDRC Order 58 / 36): 3 months for a warning or
  通报批评 only, 3 years for serious penalties (停产停业, 吊销, 责令关闭, 限制从业), 1 year otherwise;
* about 30% of records concern a subject already seen in the run, as in real data;
* a list entry's management period runs from its listing date for the list type's term
  (catalogue ``term_months``), or to 2099-12-31 when the type has no fixed term, and is
  still current on ``today``.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, TypeVar

from creditx.standard.catalogue import load_catalogue
from creditx.standard.synth import subjects as subj
from creditx.standard.synth.authorities import Authority, authority, document_number
from creditx.standard.synth.draw import between, digits, pick, weighted
from creditx.standard.synth.places import DOC_ABBR, counties_of
from creditx.standard.synth.texts import ESTATES, LICENCES, LISTS, PENALTIES, PRODUCTS, ListTemplate

T = TypeVar("T")

LONG_TERM = "2099-12-31"
_CATEGORY = {"L": subj.LEGAL, "B": subj.BUSINESS, "P": subj.PERSON, "S": subj.LEGAL}
SERIOUS = {"责令停产停业", "吊销许可证件", "责令关闭", "限制从业"}
MINOR_ONLY = {"警告", "通报批评"}
# Share of records about a subject met before in the run (a firm with several licences, a
# repeat offender), drawn from the last RECENT_SUBJECTS of its category: memory stays bounded.
REPEAT_SHARE, RECENT_SUBJECTS = 0.3, 500
PLATE_LETTERS = {
    "370100": "A",
    "370200": "B",
    "370300": "C",
    "370400": "D",
    "370500": "E",
    "370600": "F",
    "370700": "G",
    "370800": "H",
    "370900": "J",
    "371000": "K",
    "371100": "L",
    "371300": "Q",
    "371400": "N",
    "371500": "P",
    "371600": "M",
    "371700": "R",
    "370000": "A",
}


def add_months(d: dt.date, months: int) -> dt.date:
    """``d`` plus ``months`` calendar months, the day clamped to the month's length."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def wan_yuan(yuan: int) -> str:
    """Yuan → the 万元 string of REC-025: 2000 → "0.2", 15000 → "1.5", 156 → "0.0156"."""
    s = format(Decimal(yuan) / Decimal(10000), "f")
    return s.rstrip("0").rstrip(".") if "." in s else s


def _cn_date(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


class _Lazy(dict[str, Any]):
    """Template values computed only when the template uses them (saves draws per row)."""

    def __getitem__(self, key: str) -> Any:
        return dict.__getitem__(self, key)()


def _cumulative(items: Iterable[tuple[T, int]]) -> tuple[list[T], list[int]]:
    values: list[T] = []
    weights: list[int] = []
    total = 0
    for value, weight in items:
        total += weight
        values.append(value)
        weights.append(total)
    return values, weights


class RecordBuilder:
    """Builds records of one type for one region; keeps decision numbers unique per authority."""

    def __init__(self, region: str, record_type: str, rng: random.Random, today: dt.date):
        self.region, self.record_type, self.rng, self.today = region, record_type, rng, today
        self.counters: dict[tuple[str, int], int] = {}
        self.recent: dict[str, list[subj.Subject]] = {}  # bounded: RECENT_SUBJECTS per category
        self.counties = counties_of(region)
        self.abbr = DOC_ABBR[region]
        self._licences = _cumulative(LICENCES)
        self._penalties = _cumulative(PENALTIES)
        lists = [t for t in LISTS if t.code != "SZZLJ" or region == "370000"]
        self._lists = _cumulative((t, t.weight) for t in lists)
        self._terms = {lt.code: (lt.term_months, lt.measures, lt.colour) for lt in load_catalogue().list_types}
        self._list_types = {lt.code: lt for lt in load_catalogue().list_types}
        self.build = {"XZXK": self.licence, "XZCF": self.penalty, "LIST": self.list_entry}[record_type]

    # --- shared pieces ---------------------------------------------------------------------

    def _pick(self, table: tuple[list[T], list[int]]) -> T:
        values, cum = table
        return weighted(self.rng, values, cum)

    def _next_number(self, key: str, year: int) -> int:
        n = self.counters.get((key, year))
        n = between(self.rng, 1, 300) if n is None else n + between(self.rng, 1, 4)
        self.counters[(key, year)] = n
        return n

    def _decision_date(self, max_days: int = 3 * 365) -> dt.date:
        return self.today - dt.timedelta(days=between(self.rng, 1, max_days))

    def _subject(self, kinds: str, industries: tuple[str, ...] = (), pool: str = "") -> subj.Subject:
        """A new subject, or (as in real data) one that already has a record in this run's ``pool``."""
        k = pick(self.rng, kinds)
        seen = self.recent.setdefault(pool + k, [])
        if seen and self.rng.random() < REPEAT_SHARE:
            return pick(self.rng, seen)
        industry = pick(self.rng, industries) if industries else None
        s = subj.make_subject(self.rng, self.region, self.today, _CATEGORY[k], industry=industry, social=(k == "S"))
        if len(seen) < RECENT_SUBJECTS:
            seen.append(s)
        else:
            seen[int(self.rng.random() * RECENT_SUBJECTS)] = s
        return s

    # --- 行政许可 --------------------------------------------------------------------------

    def licence(self) -> dict[str, str]:
        rng, t = self.rng, self._pick(self._licences)
        s = self._subject(t.subjects, t.industries)
        auth = authority(t.province_dept if self.region == "370000" else t.dept, self.region)
        decided = self._decision_date()
        county, county_name = pick(rng, self.counties)
        until = LONG_TERM if t.years is None else add_months(decided, 12 * t.years).isoformat()
        f = subj.subject_fields("XK", s)
        f["XK_XKWS"] = t.document
        f["XK_WSH"] = (
            f"{self.abbr}{t.doc_tag}〔{decided.year}〕{self._next_number(auth.name + t.doc_tag, decided.year)}号"
        )
        f["XK_XKLB"] = t.category
        f["XK_XKZS"] = t.certificate
        f["XK_XKBH"] = t.number.format_map(
            _Lazy(
                cc=lambda: county,
                a=lambda: self.abbr,
                y=lambda: decided.year,
                ymd=lambda: f"{decided:%Y%m%d}",
                uscc=lambda: s.uscc,
                idn=lambda: s.id_number,
                n2=lambda: digits(rng, 2),
                n4=lambda: digits(rng, 4),
                n6=lambda: digits(rng, 6),
                n7=lambda: digits(rng, 7),
                n8=lambda: digits(rng, 8),
                q=lambda: between(rng, 1, 9),
            )
        )
        f["XK_NR"] = pick(rng, t.contents).format_map(
            _Lazy(
                county=lambda: county_name,
                estate=lambda: pick(rng, ESTATES),
                q=lambda: between(rng, 1, 30),
                x=lambda: between(rng, 2000, 90000),
                days=lambda: pick(rng, (180, 365, 540, 730)),
            )
        )
        f["XK_JDRQ"] = f["XK_YXQZ"] = decided.isoformat()
        f["XK_YXQZI"] = until
        f["XK_XKJG"], f["XK_XKJGDM"] = auth.name, auth.uscc
        f["XK_ZT"] = "1" if until >= self.today.isoformat() else "2"
        f["XK_LYDW"], f["XK_LYDWDM"] = auth.name, auth.uscc
        return f

    # --- 行政处罚 --------------------------------------------------------------------------

    def penalty(self) -> dict[str, str]:
        rng, t = self.rng, self._pick(self._penalties)
        s = self._subject(t.subjects)
        auth = authority(t.dept, self.region)
        decided = self._decision_date()
        happened = decided - dt.timedelta(days=between(rng, 20, 120))
        county_name = pick(rng, self.counties)[1]
        kinds = list(t.kinds)
        if len(kinds) > 1 and kinds[0] == "警告" and rng.random() < 0.4:
            kinds = ["警告"]
        fine = None
        if "罚款" in kinds and t.fine:
            lo, hi = t.fine
            fine = between(rng, lo // 100, hi // 100 + 1) * 100
        gain = between(rng, 20, 5000)
        value = between(rng, 100, 200000)
        f = subj.subject_fields("CF", s)
        f["CF_WSH"] = document_number(auth, decided.year, self._next_number(auth.name, decided.year))
        f["CF_WFXW"] = t.violation
        f["CF_SY"] = t.facts.format_map(
            _Lazy(
                d1=lambda: _cn_date(happened),
                product=lambda: pick(rng, PRODUCTS),
                q=lambda: between(rng, 1, 13),
                v=lambda: value,
                g=lambda: gain,
                x=lambda: between(rng, 30, 300),
                county=lambda: county_name,
                y=lambda: happened.year,
                plate=lambda: f"鲁{PLATE_LETTERS[self.region]}{between(rng, 10000, 99999)}",
            )
        )
        f["CF_YJ"] = t.basis
        f["CF_CFLB"] = ";".join(kinds)
        content = []
        if "警告" in kinds:
            content.append("警告")
        if fine is not None:
            content.append(f"罚款人民币{fine}元")
            f["CF_NR_FK"] = wan_yuan(fine)
        if "没收违法所得" in kinds or "没收非法财物" in kinds:
            content.append(f"没收违法所得人民币{gain}元")
            f["CF_NR_WFFF"] = wan_yuan(gain)
        if "吊销许可证件" in kinds or "暂扣许可证件" in kinds:
            licence = f"营业执照（{s.uscc}）" if s.uscc else "从业资格证"
            content.append(f"吊销{licence}")
            f["CF_NR_ZKDX"] = licence
        if "责令停产停业" in kinds:
            content.append("责令停产停业整顿")
        f["CF_NR"] = "；".join(content)
        months = 36 if set(kinds) & SERIOUS else 3 if set(kinds) <= MINOR_ONLY else 12
        f["CF_JDRQ"] = decided.isoformat()
        f["CF_YXQ"] = f["CF_GSJZQ"] = add_months(decided, months).isoformat()
        f["CF_CFJG"], f["CF_CFJGDM"] = auth.name, auth.uscc
        f["CF_SJLY"], f["CF_SJLYDM"] = auth.name, auth.uscc
        return f

    # --- 红/黑名单 -------------------------------------------------------------------------

    def list_entry(self) -> dict[str, str]:
        rng, t = self.rng, self._pick(self._lists)
        term, measures, colour = self._terms[t.code]
        s = self._subject(t.subjects, pool=colour)  # nobody is on a red and a black list at once
        auth = authority(t.dept, "370000" if t.code == "SZZLJ" else self.region)
        listed = self._decision_date(min(term * 30 if term else 3 * 365, 3 * 365))
        f = subj.subject_fields("MD", s)
        f["MD_LX"] = t.code
        f["MD_LRRQ"] = listed.isoformat()
        f["MD_LRYY"] = pick(rng, t.reasons).format(py=listed.year - 1)
        term = self._list_types[t.code].term_for(f["MD_LRYY"])  # SXBZXR: a term only for some grounds
        f["MD_RDYJ"] = t.basis
        f["MD_RDWS"] = t.document
        f["MD_RDWSH"] = self._list_doc(t, auth, listed.year)
        f["MD_RDJG"], f["MD_RDJGDM"] = auth.name, auth.uscc
        f["MD_GLQX_Q"] = listed.isoformat()
        f["MD_GLQX_Z"] = add_months(listed, term).isoformat() if term else LONG_TERM
        f["MD_CJCS"] = measures
        f["MD_SJLY"], f["MD_SJLYDM"] = auth.name, auth.uscc
        return f

    def _list_doc(self, t: ListTemplate, auth: Authority, year: int) -> str:
        n = self._next_number(auth.name + t.code, year)
        if not t.doc:  # court enforcement case numbers: (2024)鲁01执1234号
            return document_number(auth, year, n)
        return t.doc.format(a=auth.abbr, y=year, n=n)
