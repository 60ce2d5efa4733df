"""The requirement-check registry (chapter 10, CONF-001).

A *check* is one question the suite asks of an implementation under test. It names the
requirement IDs of the standard it covers, the chapter, and whether they are MUST or SHOULD
rules. Running it yields a :class:`Result`: PASS, FAIL, NOT_APPLICABLE or NOT_COVERED, and the
*evidence* — what the suite sent and what came back — so that a failing vendor sees exactly
which exchange went wrong.

NOT_COVERED is for requirements the suite names but cannot check yet: they are reported, never
counted as passed.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class Status(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"
    NOT_COVERED = "not_covered"


class Level(enum.Enum):
    MUST = "MUST"
    SHOULD = "SHOULD"


@dataclass(frozen=True)
class Evidence:
    """One exchange the verdict rests on: what was sent, what came back (short, printable)."""

    sent: str
    received: str

    def as_dict(self) -> dict[str, str]:
        return {"sent": self.sent, "received": self.received}


@dataclass
class Result:
    status: Status
    detail: str = ""
    evidence: list[Evidence] = field(default_factory=list)

    def add(self, sent: str, received: str) -> Result:
        self.evidence.append(Evidence(sent, received))
        return self


def passed(detail: str = "", *evidence: Evidence) -> Result:
    return Result(Status.PASS, detail, list(evidence))


def failed(detail: str, *evidence: Evidence) -> Result:
    return Result(Status.FAIL, detail, list(evidence))


def not_applicable(detail: str) -> Result:
    return Result(Status.NOT_APPLICABLE, detail)


@dataclass(frozen=True)
class Check:
    """One registered check. ``run(ctx)`` returns a Result; ``None`` as run means not yet covered."""

    id: str  # e.g. "NODE-RESUME-DISCONNECT": stable, used in JUnit test names
    requirements: tuple[str, ...]  # the standard's requirement IDs, e.g. ("SYNC-011",)
    chapter: str  # "05"
    level: Level
    title: str
    run: Callable[[Any], Result] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "requirements": list(self.requirements),
            "chapter": self.chapter,
            "level": self.level.value,
            "title": self.title,
        }


class Registry:
    """The checks of one suite (``node`` or ``gateway``), in the order they run."""

    def __init__(self, suite: str) -> None:
        self.suite = suite
        self._checks: dict[str, Check] = {}

    def check(
        self, id: str, requirements: tuple[str, ...], chapter: str, title: str, *, level: Level = Level.MUST
    ) -> Callable[[Callable[[Any], Result]], Callable[[Any], Result]]:
        """Decorator: register ``fn(ctx) -> Result`` as check ``id``."""

        def register(fn: Callable[[Any], Result]) -> Callable[[Any], Result]:
            self.add(Check(id, requirements, chapter, level, title, fn))
            return fn

        return register

    def not_covered(self, id: str, requirements: tuple[str, ...], chapter: str, title: str) -> None:
        """Name a requirement the suite does not check yet: reported as NOT_COVERED, never as passed."""
        self.add(Check(id, requirements, chapter, Level.MUST, title, None))

    def add(self, check: Check) -> None:
        if check.id in self._checks:
            raise ValueError(f"check {check.id} registered twice")
        if not check.requirements:
            raise ValueError(f"check {check.id} names no requirement ID")
        self._checks[check.id] = check

    def __iter__(self):
        return iter(self._checks.values())

    def __len__(self) -> int:
        return len(self._checks)

    def get(self, id: str) -> Check:
        return self._checks[id]
