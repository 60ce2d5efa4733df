"""Shared helpers for the node tests: a signer, simple rows, a stand-in validator for pure tests."""

from __future__ import annotations

import datetime as dt

from cryptography.hazmat.primitives.asymmetric import ec

from creditx.node.intake import IntakeRow
from creditx.standard.envelope import Signer
from creditx.standard.validation import Violation

TODAY = dt.date(2026, 6, 1)


def make_signer() -> Signer:
    return Signer(ec.generate_private_key(ec.SECP256R1()))


def cf_row(
    n: int,
    *,
    name: str = "济南某某餐饮有限公司",
    op: str = "I",
    version: str = "1",
    source_id: str | None = None,
    **fields: str,
) -> IntakeRow:
    meta = {"op": op, "version": version}
    meta["source_id"] = source_id if source_id is not None else f"370100-XZCF-{n:06d}"
    return IntakeRow(n, "XZCF", {"CF_XDR_MC": name, "CF_WSH": f"济市监罚〔2026〕{n}号", **fields}, meta)


def needs_name(record_type, fields, *, today):
    """A stand-in for creditx.standard.validation in pure unit tests: CF_XDR_MC is required."""
    if fields.get("CF_XDR_MC"):
        return []
    return [
        Violation(
            "CF_XDR_MC",
            "行政相对人名称",
            "REC-010",
            "REQUIRED_MISSING",
            "行政相对人名称 is required",
            "fill in the subject's name",
        )
    ]
