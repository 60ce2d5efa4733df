"""Run a suite's checks in order, show progress on stderr, and collect the report."""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from creditx.conformance.checks import Check, Registry, Result, Status
from creditx.conformance.report import CheckOutcome, Report
from creditx.standard.errors import InputError


def run_checks(
    registry: Registry,
    ctx: Any,
    *,
    subject: dict[str, str],
    only: Iterable[str] = (),
    progress: TextIO | None | Literal["stderr"] = "stderr",  # resolved per call: stderr may be replaced
) -> Report:
    """Run every check of ``registry`` (or those named in ``only``) against ``ctx``.

    A check that raises is a FAIL whose evidence is the exception: the implementation under test
    made the suite's exchange impossible (or the suite has a bug; the text says which call).
    """
    wanted = set(only)
    unknown = wanted - {c.id for c in registry}
    if unknown:
        raise InputError(f"unknown check ids {sorted(unknown)}", hint=f"known: {', '.join(c.id for c in registry)}")
    checks = [c for c in registry if not wanted or c.id in wanted]
    stream = sys.stderr if progress == "stderr" else progress
    started = datetime.now(UTC)
    outcomes: list[CheckOutcome] = []
    for i, check in enumerate(checks, 1):
        t0 = time.monotonic()
        result = _run_one(check, ctx)
        outcomes.append(CheckOutcome(check, result, time.monotonic() - t0))
        if stream is not None:
            print(
                f"[{i}/{len(checks)}] {result.status.value.upper():<14} {check.id} "
                f"({', '.join(check.requirements)}) {time.monotonic() - t0:.1f}s",
                file=stream,
                flush=True,
            )
    return Report(registry.suite, subject, started, datetime.now(UTC), outcomes)


def _run_one(check: Check, ctx: Any) -> Result:
    if check.run is None:
        return Result(Status.NOT_COVERED, "this version of the suite does not check this requirement yet")
    try:
        return check.run(ctx)
    except InputError:  # the suite was used wrongly (a command not found …): exit status 2, no verdict
        raise
    except Exception as exc:  # noqa: BLE001 - every failure of the exchange is a verdict with evidence
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        return Result(
            Status.FAIL,
            f"the check could not complete: {type(exc).__name__}: {exc}",
        ).add(f"check step at {frame.name}:{frame.lineno}", f"{type(exc).__name__}: {exc}")
