"""Deterministic generator of realistic Shandong credit records (行政许可, 行政处罚, 红/黑名单).

Used by the demo, the tests and the benchmarks::

    from creditx.standard.synth import generate_rows, write_rows
    rows = generate_rows("370100", "XZCF", 1000, seed=7, invalid_share=0.05, today=date(2025, 6, 1))
    with open("济南-处罚.csv", "wb") as out:
        write_rows(out, rows, record_type="XZCF", fmt="csv")

Invariants:

* deterministic: the same (city, record_type, count, seed, invalid_share, today) gives the same
  rows; only ``random.Random`` instances seeded from those arguments are used. A valid row
  does not depend on ``count`` or ``invalid_share``, so a longer run extends a shorter one;
* exactly ``round(count * invalid_share)`` rows carry one defect each, spread evenly through
  the sequence; ``GeneratedRow.defect`` names the (field code, reason code) that
  ``creditx.standard.validation.validate_fields`` reports for it, and every other row validates clean;
* streaming: rows are produced one at a time, nothing proportional to ``count`` is kept.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

from creditx.standard.divisions import CITIES, PROVINCE
from creditx.standard.errors import InputError
from creditx.standard.record import RECORD_TYPES
from creditx.standard.synth.defects import apply_defect
from creditx.standard.synth.records import RecordBuilder
from creditx.standard.synth.writers import write_rows

__all__ = ["GeneratedRow", "RECORD_TYPES", "generate_rows", "write_rows"]


@dataclass(frozen=True)
class GeneratedRow:
    fields: dict[str, str]  # field code → value, empty optional fields omitted
    source_id: str  # "370100-XZCF-7-000001" (or "370100-XZCF-7-RUN-000001"): unique per city, type, seed, run, index
    op: str = "I"
    version: int = 1
    defect: tuple[str, str] | None = None  # (field code, reason code) the validator reports


def _check_args(city: str, record_type: str, count: int, invalid_share: float) -> None:
    if city != PROVINCE and city not in CITIES:
        raise InputError(
            f"city {city!r} is not a Shandong region code (REC-ID-030)",
            hint=f"use 370000 or one of the 16 city codes: {', '.join(CITIES)}",
        )
    if record_type not in RECORD_TYPES:
        raise InputError(
            f"record_type {record_type!r} is not a record type (REC-001)", hint=f"use one of {', '.join(RECORD_TYPES)}"
        )
    if count < 0:
        raise InputError(f"count {count} is negative", hint="ask for 0 or more rows")
    if not 0.0 <= invalid_share <= 1.0:
        raise InputError(
            f"invalid_share {invalid_share} is outside 0…1",
            hint="give the share of broken rows as a fraction, e.g. 0.05 for 5%",
        )


def _spread(count: int, invalid_share: float, seed: int) -> tuple[int, int, int]:
    """(broken, offset, count) for ``_is_broken``: how many rows break, and where the spread starts."""
    broken = round(count * invalid_share)
    offset = random.Random(f"creditx-synth-spread|{seed}").randrange(count) if count else 0
    return broken, offset, count


def _is_broken(i: int, broken: int, offset: int, count: int) -> bool:
    # Broken rows sit at floor(j * count / broken) for j < broken (distinct since count >= broken),
    # rotated by ``offset``: test membership without keeping a set of positions.
    if broken == 0:
        return False
    k = (i - offset) % count
    j = -(-k * broken // count)
    return j < broken and (j * count) // broken == k


def generate_rows(
    city: str,
    record_type: str,
    count: int,
    *,
    seed: int,
    invalid_share: float = 0.0,
    today: dt.date,
    include_warnings: bool = False,
    run: str = "",
) -> Iterator[GeneratedRow]:
    """``count`` realistic rows of ``record_type`` for ``city`` (a city code or 370000).

    ``include_warnings`` also draws defects that are only warnings (a fine in yuan, REC-041);
    by default every defect makes the record rejected.

    Source ids name the seed and ``run`` (a caller's tag, e.g. a random one per invocation), so
    two generated files never share a source id unless they share city, type, seed and run.
    """
    if run and not re.fullmatch(r"[A-Za-z0-9]{1,16}", run):
        raise InputError(f"run tag {run!r} must be 1-16 letters or digits", hint="e.g. --run a1b2c3")
    _check_args(city, record_type, count, invalid_share)
    rng = random.Random(f"creditx-synth|{seed}|{city}|{record_type}")
    defect_rng = random.Random(f"creditx-synth-defects|{seed}|{city}|{record_type}")
    builder = RecordBuilder(city, record_type, rng, today)
    prefix = "-".join(p for p in (city, record_type, str(seed), run) if p)
    spread = _spread(count, invalid_share, seed)
    for i in range(count):
        fields = builder.build()
        defect = None
        if _is_broken(i, *spread):
            fields, defect = apply_defect(record_type, fields, defect_rng, today, include_warnings=include_warnings)
        yield GeneratedRow(fields, f"{prefix}-{i + 1:06d}", "I", 1, defect)
