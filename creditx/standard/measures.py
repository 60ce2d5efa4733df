"""The measures list (联合奖惩措施清单) of the exchange standard, loaded from versioned data.

The list itself is data, ``catalogue/measures-v1.json`` (``measures_version`` "1.0"): every
measure (措施) with its ID, text, legal basis (a memorandum or a law, and the article), kind
(惩戒 or 激励), whether it is mandatory, the list types that trigger it, and the categories of
matter (事项) and the departments it applies to. The province publishes it signed, beside the
record catalogue; nodes answer hall checks from the copy they took up. This module parses the
document into frozen objects and answers "which measures apply here". Pure: bytes in, objects out.

Invariants kept at parse time (a broken document is refused whole, with the measure and field):

* measure IDs are unique; every basis names a source of the document;
* every list type is one of the record catalogue's, a 惩戒 measure is triggered only by black
  lists and a 激励 measure only by red lists;
* every matter category and department a measure names is declared, every matter names a
  declared category.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from creditx.standard.canonical import canonicalize
from creditx.standard.catalogue import Catalogue, load_catalogue
from creditx.standard.errors import InputError

MEASURES_FILE = Path(__file__).with_name("catalogue") / "measures-v1.json"
MEASURES_PAYLOAD_TYPE = "application/vnd.creditx.measures+json;v=1"
PUNISH, REWARD = "惩戒", "激励"
KINDS = {PUNISH: "black", REWARD: "red"}


@dataclass(frozen=True)
class Source:
    key: str
    title: str
    number: str
    issuer: str
    note: str = ""

    def citation(self) -> str:
        return f"《{self.title}》" + (f"（{self.number}）" if self.number else "")


@dataclass(frozen=True)
class Measure:
    id: str
    kind: str  # 惩戒 | 激励
    mandatory: bool
    text: str
    source: Source
    article: str
    list_types: frozenset[str]
    matter_categories: frozenset[str]
    departments: frozenset[str]

    @property
    def basis(self) -> str:
        """The legal basis as a hall prints it: 《title》（number） article."""
        return self.source.citation() + (f" {self.article}" if self.article else "")


@dataclass(frozen=True)
class Matter:
    code: str
    name: str
    category: str


@dataclass(frozen=True)
class MeasuresCatalogue:
    version: str
    measures: tuple[Measure, ...]
    sources: Mapping[str, Source]
    categories: Mapping[str, str]
    matters: Mapping[str, Matter]
    departments: Mapping[str, str]
    raw: Mapping[str, object]

    def measure(self, measure_id: str) -> Measure | None:
        return next((m for m in self.measures if m.id == measure_id), None)

    def category_of(self, matter: str) -> str:
        """The matter category of a matter code, or ``matter`` itself if it is a category;
        InputError otherwise (the hall named something this list does not know)."""
        if matter in self.matters:
            return self.matters[matter].category
        if matter in self.categories:
            return matter
        raise InputError(
            f"matter {matter!r} is neither a matter code nor a matter category of measures list "
            f"{self.version} [HALL-010]",
            hint="use a code such as ZFCG-GYS-001 or a category such as GOV_PROCUREMENT",
        )

    def applicable(self, list_types: Iterable[str], *, category: str = "", department: str = "") -> list[Measure]:
        """The measures triggered by any of ``list_types`` that apply to the matter ``category``
        and to ``department`` (each filter skipped when empty); mandatory first, then by ID."""
        types = set(list_types)
        out = [
            m
            for m in self.measures
            if m.list_types & types
            and (not category or category in m.matter_categories)
            and (not department or department in m.departments)
        ]
        return sorted(out, key=lambda m: (not m.mandatory, m.id))

    def canonical(self) -> bytes:
        """RFC 8785 bytes of the document: what the province signs and nodes verify."""
        return canonicalize(self.raw)


def _fail(where: str, message: str) -> InputError:
    return InputError(
        f"measures list: {where}: {message} [HALL-001]", hint="fix the measures document; it is refused whole"
    )


def parse_measures(raw: Mapping[str, object] | bytes, catalogue: Catalogue | None = None) -> MeasuresCatalogue:
    """Parse and check a measures document (a mapping, or its JSON bytes)."""
    if isinstance(raw, (bytes, bytearray)):
        try:
            raw = json.loads(bytes(raw).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _fail("document", f"not UTF-8 JSON: {exc}") from None
    if not isinstance(raw, Mapping):
        raise _fail("document", "not a JSON object")
    colours = {lt.code: lt.colour for lt in (catalogue or load_catalogue()).list_types}
    try:
        version = str(raw["measures_version"])
        sources = {
            k: Source(k, v["title"], v.get("number", ""), v.get("issuer", ""), v.get("note", ""))
            for k, v in dict(cast(Any, raw["sources"])).items()  # dict() checks the shape: TypeError below
        }
        categories = dict(raw["matter_categories"])  # type: ignore[call-overload]
        departments = dict(raw["departments"])  # type: ignore[call-overload]
        matters = {k: Matter(k, v["name"], v["category"]) for k, v in dict(raw["matters"]).items()}  # type: ignore[call-overload]
        items = list(raw["measures"])  # type: ignore[call-overload]
    except (KeyError, TypeError) as exc:
        raise _fail("document", f"missing or malformed section {exc}") from None
    for mt in matters.values():
        if mt.category not in categories:
            raise _fail(f"matters.{mt.code}", f"category {mt.category!r} is not declared")
    seen: set[str] = set()
    measures = []
    for i, item in enumerate(items):
        where = f"measures[{i}]"
        try:
            mid, kind, basis = str(item["id"]), str(item["kind"]), item["basis"]
            m = Measure(
                mid,
                kind,
                bool(item["mandatory"]),
                str(item["text"]),
                sources.get(basis["source"]),  # type: ignore[arg-type]
                str(basis.get("article", "")),
                frozenset(item["list_types"]),
                frozenset(item["matter_categories"]),
                frozenset(item["departments"]),
            )
        except (KeyError, TypeError) as exc:
            raise _fail(where, f"missing or malformed field {exc}") from None
        where = f"measure {m.id}"
        if m.id in seen:
            raise _fail(where, "ID repeated")
        seen.add(m.id)
        if m.source is None:
            raise _fail(where, f"basis.source {basis['source']!r} is not in sources")
        if kind not in KINDS:
            raise _fail(where, f"kind {kind!r} is not 惩戒 or 激励")
        if not m.text.strip() or not m.list_types or not m.matter_categories or not m.departments:
            raise _fail(where, "text, list_types, matter_categories and departments must not be empty")
        for lt in sorted(m.list_types):
            if lt not in colours:
                raise _fail(where, f"list type {lt!r} is not in the record catalogue")
            if colours[lt] != KINDS[kind]:
                raise _fail(where, f"a {kind} measure cannot be triggered by the {colours[lt]} list {lt}")
        for c in sorted(m.matter_categories - set(categories)):
            raise _fail(where, f"matter category {c!r} is not declared")
        for d in sorted(m.departments - set(departments)):
            raise _fail(where, f"department {d!r} is not declared")
        measures.append(m)
    return MeasuresCatalogue(version, tuple(measures), sources, categories, matters, departments, raw)


@functools.cache
def load_measures() -> MeasuresCatalogue:
    """The measures list shipped with the standard (the province's starting list)."""
    return parse_measures(MEASURES_FILE.read_bytes())
