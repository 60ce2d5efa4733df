"""The province's 联合奖惩 report (HALL-042): per city (node region), department, list type and
measure — checks made, hits, and what departments did with the measures — read from the
gateway database, and the same figures for Prometheus. Read-only; works beside a running gateway."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass

from prometheus_client.core import CounterMetricFamily


@dataclass(frozen=True)
class CheckFigures:
    region: str
    department: str
    list_type: str  # "" = every check of the department
    checks: int
    hits: int


@dataclass(frozen=True)
class ActionFigures:
    region: str
    department: str
    list_type: str
    measure_id: str
    applied: int
    not_applied: int
    overridden: int


def check_figures(conn: sqlite3.Connection) -> list[CheckFigures]:
    return [
        CheckFigures(*r)
        for r in conn.execute(
            "SELECT node, department, list_type, checks, hits FROM sanction_checks ORDER BY node, department, list_type"
        )
    ]


def action_figures(conn: sqlite3.Connection) -> list[ActionFigures]:
    """One row per (region, department, list type, measure); a report on a measure triggered by two
    of the subject's list types counts under each."""
    acc: dict[tuple[str, str, str, str], list[int]] = {}
    idx = {"applied": 0, "not_applied": 1, "overridden": 2}
    for node, dept, types, measure, action, n in conn.execute(
        "SELECT node, department, list_types, measure_id, action, COUNT(*) FROM sanction_actions "
        "GROUP BY node, department, list_types, measure_id, action"
    ):
        for lt in types.split(","):
            acc.setdefault((node, dept, lt, measure), [0, 0, 0])[idx[action]] += n
    return [ActionFigures(*k, *v) for k, v in sorted(acc.items())]


def report(conn: sqlite3.Connection) -> dict[str, list[dict]]:
    return {"checks": [asdict(c) for c in check_figures(conn)], "actions": [asdict(a) for a in action_figures(conn)]}


class SanctionsCollector:
    """creditx_sanctions_checks / _hits / _actions, labelled like the report."""

    def __init__(self, connect) -> None:
        self.connect = connect

    def collect(self):
        checks = CounterMetricFamily("creditx_sanctions_checks", "Hall checks made", labels=["region", "department"])
        hits = CounterMetricFamily(
            "creditx_sanctions_hits", "Hall checks that hit a list", labels=["region", "department", "list_type"]
        )
        actions = CounterMetricFamily(
            "creditx_sanctions_actions",
            "Department action reports on measures",
            labels=["region", "department", "list_type", "measure", "action"],
        )
        conn = self.connect()
        try:
            for c in check_figures(conn):
                if c.list_type:
                    hits.add_metric([c.region, c.department, c.list_type], c.hits)
                else:
                    checks.add_metric([c.region, c.department], c.checks)
            for a in action_figures(conn):
                for action in ("applied", "not_applied", "overridden"):
                    actions.add_metric([a.region, a.department, a.list_type, a.measure_id, action], getattr(a, action))
        finally:
            conn.close()
        yield from (checks, hits, actions)
