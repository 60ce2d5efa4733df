"""Repair and removal periods of a list entry, as the catalogue states them (SEC-045 … SEC-047).

Pure: a LIST record's fields and the catalogue in, a refusal or None out. The gateway's worker
check and the node's import call :func:`period_refusal`; the rule is written once, here.

* ``LIST_EARLY_REPAIR`` (SEC-045): a removal for 信用修复 dated before the list's earliest repair
  (listing date + ``earliest_repair_months``; SCJGYZWF and AQSCSX 12 months, TQNMGGZ 6).
* ``LIST_TERM_EXCEEDED`` (SEC-046): a management period (MD_GLQX_Q/Z) longer than the term the
  list allows for the entry's ground (``ListType.term_for``) plus its ``extension_months``.
* ``LIST_NOT_EXPIRED`` (SEC-047): a removal for 期满 before the period ends, or of an entry whose
  list gives its ground no term (JYYC; SXBZXR listed for 有履行能力而拒不履行).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from creditx.standard.catalogue import Catalogue
from creditx.standard.lists.expiry import add_months
from creditx.standard.registry import Refusal

EARLY_REPAIR = "LIST_EARLY_REPAIR"
TERM_EXCEEDED = "LIST_TERM_EXCEEDED"
NOT_EXPIRED = "LIST_NOT_EXPIRED"


def _date(fields: Mapping[str, str], key: str) -> date | None:
    try:
        return date.fromisoformat((fields.get(key) or "").strip())
    except ValueError:
        return None  # malformed dates are the catalogue validation's (REC-) to report


def period_refusal(fields: Mapping[str, str], catalogue: Catalogue) -> Refusal | None:
    lt = catalogue.list_type((fields.get("MD_LX") or "").strip())
    listed = _date(fields, "MD_LRRQ")
    if lt is None or listed is None:
        return None
    reason = (fields.get("MD_YCYY") or "").strip()
    removed = _date(fields, "MD_YCRQ")
    term = lt.term_for(fields.get("MD_LRYY") or "")
    if reason == "信用修复" and removed is not None and lt.earliest_repair_months:
        earliest = add_months(listed, lt.earliest_repair_months)
        if removed < earliest:
            return Refusal(
                EARLY_REPAIR,
                "SEC-045",
                "MD_YCRQ",
                f"{lt.code} entries may be repaired {lt.earliest_repair_months} months after listing at the "
                f"earliest ({earliest.isoformat()}); this removal is dated {removed.isoformat()}",
                "keep the entry listed until the earliest repair date, then send the repair",
            )
    start, end = _date(fields, "MD_GLQX_Q") or listed, _date(fields, "MD_GLQX_Z")
    if term is not None and end is not None:
        longest = add_months(start, term + lt.extension_months)
        if end > longest:
            return Refusal(
                TERM_EXCEEDED,
                "SEC-046",
                "MD_GLQX_Z",
                f"{lt.code} allows at most {term + lt.extension_months} months for this ground; the period "
                f"{start.isoformat()}–{end.isoformat()} ends after {longest.isoformat()}",
                "correct 管理期限至 to the decided term",
            )
    if reason == "期满" and removed is not None:
        if term is None:
            return Refusal(
                NOT_EXPIRED,
                "SEC-047",
                "MD_YCYY",
                f"{lt.code} gives this entry's ground no term, so it cannot be removed as 期满",
                "remove it with the reason that applies (信用修复, 撤销 or 主体注销)",
            )
        ends = end or add_months(start, term) - timedelta(days=1)
        if removed <= ends:
            return Refusal(
                NOT_EXPIRED,
                "SEC-047",
                "MD_YCRQ",
                f"the management period ends {ends.isoformat()}; a 期满 removal is dated after it, "
                f"not {removed.isoformat()}",
                "send the removal after the period has ended",
            )
    return None
