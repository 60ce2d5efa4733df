"""The 2015 national 双公示 template (发改办财金〔2015〕2700号) mapped onto the current catalogue (REC-064).

Plain renames (CF_XDR_ZDM → CF_XDR_ZZJG, CF_FR → CF_FRDB, XK_JZQ → XK_YXQZI …) are header
aliases in the catalogue data and need nothing here. This module does what a rename cannot,
from the ``legacy_2015`` section of ``catalogue/v1.json``:

* columns that fill a field *and imply another*: 居民身份证号 (CF_XDR_SFZ) is an ID number whose
  type is 身份证; 法定代表人身份证号 (XK_FR_SFZH) likewise for the legal representative;
* columns with no current field whose text is kept, labelled, in 备注 BZ (项目名称, 处罚名称);
* 当前状态 codes 0 正常 / 1 撤销 / 2 异议 / 3 其他: for CF_ZT (no current field) 0 means the penalty
  stands and the others have no equivalent, so they are quarantined with a hint; XK_ZT kept its
  code, so 1 and 2 are read as today's 有效 / 无效 and only 0 / 正常 (→ 1) and the texts 撤销 /
  异议 / 其他 as 2015 values;
* the 2015 penalty-category codes of CF_CFLB1/CF_CFLB2, and category texts that name two
  different measures (暂扣或者吊销许可证: suspended *or* revoked) — those are never guessed: the
  row is quarantined (reason LEGACY_AMBIGUOUS) with what to write instead;
* 行政相对人类别 when absent, derived only from what the identifiers say: a USCC whose
  registration-category code is 92 is a 个体工商户, any other USCC a 法人及非法人组织, an ID
  number without any organisation code a 自然人 (GB 32100-2015 code structure).

A file counts as a 2015 template when a header is one the current template does not use
(``marker_headers``); only then are bare codes such as ``1`` read as 2015 codes. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from creditx.standard.catalogue import MULTI_SPLIT, Catalogue, load_catalogue, normalise_header
from creditx.standard.validation import Violation

RULE = "REC-064"


@dataclass(frozen=True)
class Derived:
    header: str  # as written in the file
    field: str = ""  # the field it fills
    implies: Mapping[str, str] = dataclasses.field(default_factory=dict)
    note: str = ""  # label for BZ
    status: str = ""  # XK_ZT / CF_ZT


def _derived_table(cat: Catalogue, record_type: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for entry in cat.legacy_2015.get("derived_headers", {}).get(record_type, ()):
        for h in entry["headers"]:
            out[normalise_header(h)] = entry
    return out


def header_target(record_type: str, header: str, catalogue: Catalogue | None = None) -> str | None:
    """The field a derived 2015 column fills (None for a note, a status or an unknown column)."""
    entry = _derived_table(catalogue or load_catalogue(), record_type).get(normalise_header(header))
    return entry.get("field") if entry else None


def is_2015_template(headers: Iterable[str], catalogue: Catalogue | None = None) -> bool:
    cat = catalogue or load_catalogue()
    markers = {normalise_header(h) for h in cat.legacy_2015.get("marker_headers", ())}
    return any(normalise_header(h) in markers for h in headers if h)


@dataclass(frozen=True)
class LegacyPlan:
    """What to do with the rows of one header (see :func:`plan`)."""

    record_type: str
    legacy: bool
    derived: tuple[Derived, ...]
    catalogue: Catalogue

    @property
    def consumed_headers(self) -> frozenset[str]:
        """Headers this plan reads: not 'unknown columns'."""
        return frozenset(d.header for d in self.derived)

    def convert(self, fields: dict[str, str], meta: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
        """The row in current terms; problems found go to ``meta["problems"]`` (Violations)."""
        fields, meta = dict(fields), dict(meta)
        extra = dict(meta.get("extra") or {})
        problems: list[Violation] = list(meta.get("problems") or ())
        notes: list[str] = []
        for d in self.derived:
            value = extra.get(d.header, "")
            if not value:
                continue
            if d.field:
                fields.setdefault(d.field, value)
                for k, v in d.implies.items():
                    fields.setdefault(k, v)
                extra.pop(d.header)
            elif d.note:
                notes.append(f"{d.note}：{value}")
                extra.pop(d.header)
            elif d.status:
                if self._status(d.status, value, fields, problems, d.header):
                    extra.pop(d.header)
        if self.legacy and self.record_type == "XZXK" and fields.get("XK_ZT") not in (None, "1", "2"):
            value = fields.pop("XK_ZT")  # XK_ZT kept its name; 1/2 are today's codes, 0 正常 / 撤销 … the 2015 ones
            if not self._status("XK_ZT", value, fields, problems, "XK_ZT"):
                extra["XK_ZT"] = value
        if notes:
            fields["BZ"] = "；".join(([fields["BZ"]] if fields.get("BZ") else []) + notes)
        if self.record_type == "XZCF" and fields.get("CF_CFLB"):
            self._categories(fields, problems)
        if self.legacy:
            self._subject_category(fields)
        if extra:
            meta["extra"] = extra
        else:
            meta.pop("extra", None)
        if problems:
            meta["problems"] = problems
        return fields, meta

    def _status(self, target: str, value: str, fields: dict[str, str], problems: list[Violation], header: str) -> bool:
        table = self.catalogue.legacy_2015["status_codes"]
        code = value.strip()
        code = code if code in table["values"] else table["value_aliases"].get(code, code)
        mapped = table["current"].get(target, {}).get(code)
        if mapped is not None:
            if mapped:
                fields[target] = mapped
            return True
        label = table["values"].get(code)
        problems.append(
            Violation(
                header,
                "当前状态",
                RULE,
                "LEGACY_UNMAPPABLE",
                f"2015 当前状态 {value!r}{f' ({label})' if label else ''} has no equivalent in a current record",
                table.get("fix", {}).get(
                    code, "write 0 (正常) if the decision stands; otherwise send a revocation (op D)"
                ),
            )
        )
        return False

    def _categories(self, fields: dict[str, str], problems: list[Violation]) -> None:
        legacy = self.catalogue.legacy_2015
        codes: Mapping[str, str] = legacy.get("penalty_codes", {}) if self.legacy else {}
        ambiguous: Mapping[str, str] = legacy.get("ambiguous_values", {}).get("penalty_category", {})
        enum = self.catalogue.enumeration("penalty_category")
        out: list[str] = []
        for part in (p.strip() for p in MULTI_SPLIT.split(fields["CF_CFLB"])):
            if not part:
                continue
            text = codes.get(part, part)
            hint = ambiguous.get(text)
            if hint:
                problems.append(
                    Violation(
                        "CF_CFLB",
                        "处罚类别",
                        RULE,
                        "LEGACY_AMBIGUOUS",
                        f"处罚类别 {part!r}{f' (2015 code: {text})' if text != part else ''} names more than one "
                        "measure; it is not guessed",
                        hint,
                    )
                )
                out.append(part)
                continue
            pieces = [p.strip() for p in MULTI_SPLIT.split(text) if p.strip()] if text != part else [text]
            out.extend(enum.canonical(p) or p for p in pieces)
        fields["CF_CFLB"] = ";".join(dict.fromkeys(out))

    def _subject_category(self, fields: dict[str, str]) -> None:
        p = "XK" if self.record_type == "XZXK" else "CF"
        if fields.get(f"{p}_XDR_LB"):
            return
        uscc = fields.get(f"{p}_XDR_SHXYM", "").strip().upper()
        if len(uscc) == 18:
            fields[f"{p}_XDR_LB"] = "个体工商户" if uscc.startswith("92") else "法人及非法人组织"
        elif fields.get(f"{p}_XDR_ZJHM") and not any(
            fields.get(f"{p}_XDR_{k}") for k in ("ZZJG", "GSZC", "SWDJ", "SYDW", "SHZZ")
        ):
            fields[f"{p}_XDR_LB"] = "自然人"


def plan(record_type: str, headers: Iterable[str], catalogue: Catalogue | None = None) -> LegacyPlan | None:
    """The plan for a file whose header is ``headers``; None when nothing needs doing."""
    cat = catalogue or load_catalogue()
    if record_type not in ("XZXK", "XZCF"):
        return None
    headers = [h for h in headers if h]
    table = _derived_table(cat, record_type)
    rt = cat.record_type(record_type)
    derived = []
    for h in headers:
        entry = table.get(normalise_header(h))
        if entry and rt.resolve_header(h) is None:
            derived.append(
                Derived(
                    h,
                    entry.get("field", ""),
                    dict(entry.get("implies", {})),
                    entry.get("note", ""),
                    entry.get("status", ""),
                )
            )
    legacy = is_2015_template(headers, cat)
    if not derived and not legacy and record_type != "XZCF":
        return None
    return LegacyPlan(record_type, legacy, tuple(derived), cat)
