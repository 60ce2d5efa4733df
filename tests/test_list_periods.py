"""Repair and removal periods of list entries (SEC-045 … SEC-047), from the catalogue's data."""

from __future__ import annotations

import pytest

from creditx.standard.catalogue import load_catalogue
from creditx.standard.lists.periods import period_refusal

CAT = load_catalogue()


def entry(lx: str, **f: str) -> dict[str, str]:
    return {"MD_LX": lx, "MD_LRRQ": "2025-01-10", "MD_LRYY": "x", "MD_GLQX_Q": "2025-01-10", **f}


@pytest.mark.parametrize(
    "fields, expected",
    [
        # SCJGYZWF: repair after 12 months at the earliest
        (entry("SCJGYZWF", MD_YCRQ="2025-01-11", MD_YCYY="信用修复"), ("LIST_EARLY_REPAIR", "SEC-045", "MD_YCRQ")),
        (entry("SCJGYZWF", MD_YCRQ="2026-01-10", MD_YCYY="信用修复"), None),
        # TQNMGGZ: 6 months
        (entry("TQNMGGZ", MD_YCRQ="2025-07-09", MD_YCYY="信用修复"), ("LIST_EARLY_REPAIR", "SEC-045", "MD_YCRQ")),
        (entry("TQNMGGZ", MD_YCRQ="2025-07-10", MD_YCYY="信用修复"), None),
        # SXBZXR: the court may delete at any time on performance
        (entry("SXBZXR", MD_YCRQ="2025-01-11", MD_YCYY="信用修复"), None),
        # SXBZXR term 24 months + up to 36 months' extension, for the grounds that carry a term
        (entry("SXBZXR", MD_LRYY="违反限制消费令", MD_GLQX_Z="2030-01-10"), None),
        (
            entry("SXBZXR", MD_LRYY="违反限制消费令", MD_GLQX_Z="2030-01-11"),
            ("LIST_TERM_EXCEEDED", "SEC-046", "MD_GLQX_Z"),
        ),
        (entry("AQSCSX", MD_GLQX_Z="2028-01-11"), ("LIST_TERM_EXCEEDED", "SEC-046", "MD_GLQX_Z")),
        # 期满 only after the period, and only for a ground with a term
        (
            entry("SCJGYZWF", MD_GLQX_Z="2028-01-09", MD_YCRQ="2027-06-01", MD_YCYY="期满"),
            ("LIST_NOT_EXPIRED", "SEC-047", "MD_YCRQ"),
        ),
        (entry("SCJGYZWF", MD_GLQX_Z="2028-01-09", MD_YCRQ="2028-01-10", MD_YCYY="期满"), None),
        (
            entry("SXBZXR", MD_LRYY="有履行能力而拒不履行", MD_YCRQ="2028-01-10", MD_YCYY="期满"),
            ("LIST_NOT_EXPIRED", "SEC-047", "MD_YCYY"),
        ),
        (entry("JYYC", MD_YCRQ="2028-01-10", MD_YCYY="期满"), ("LIST_NOT_EXPIRED", "SEC-047", "MD_YCYY")),
    ],
)
def test_periods(fields, expected):
    r = period_refusal(fields, CAT)
    assert (None if r is None else (r.reason, r.requirement, r.field)) == expected
    assert r is None or (r.message and r.fix)
