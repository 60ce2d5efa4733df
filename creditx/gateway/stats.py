"""The province's statistics as maintained counters (gateway migration 7): updated inside each
batch's transaction, so a report or a Prometheus scrape reads a few small tables instead of
scanning the records.

Counted per decided record:

* ``stats_records(region, department, type, month, outcome, n)`` — ``department`` is the
  record's 数据来源单位 (CF_SJLY / XK_SJLY / MD_SJLY), ``month`` the month of receipt
  (Beijing time), ``outcome`` the gateway's decision;
* ``stats_timeliness(department, type, working_days, estimated, n)`` — accepted records by
  working days from the decision date (CF_JDRQ / XK_JDRQ / MD_LRRQ) to receipt, counted with
  the State Council holiday calendar (:mod:`creditx.standard.workdays`); ``estimated`` = 1
  when a year is outside the calendar's data;
* ``stats_reasons(department, reason, n)`` — rejections by reason code.

What a node sends must not grow these tables without bound: a department name is cut to
:data:`MAX_DEPARTMENT_CHARS` characters and a region counts at most
:data:`MAX_DEPARTMENTS_PER_REGION` distinct departments, the rest as ``(other)``; working days
are capped at :data:`WORKING_DAYS_CAP`. Plain SQL (``INSERT … ON CONFLICT DO UPDATE``) that
SQLite and PostgreSQL both run.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from creditx.standard.workdays import HolidayCalendar, china_calendar

DEPARTMENT_FIELD = {"XZCF": "CF_SJLY", "XZXK": "XK_SJLY", "LIST": "MD_SJLY"}
DECISION_DATE_FIELD = {"XZCF": "CF_JDRQ", "XZXK": "XK_JDRQ", "LIST": "MD_LRRQ"}
OUTCOMES = {1: "ACCEPTED", 2: "DUPLICATE", 3: "SUPERSEDED", 4: "REJECTED"}
MAX_DEPARTMENT_CHARS = 64
MAX_DEPARTMENTS_PER_REGION = 500
WORKING_DAYS_CAP = 60
TIMELY_WORKING_DAYS = 7  # 双公示: made public within 7 working days of the decision
UNKNOWN, OTHER = "(unknown)", "(other)"
BEIJING = dt.timezone(dt.timedelta(hours=8))

DDL = (
    "CREATE TABLE stats_records (region TEXT NOT NULL, department TEXT NOT NULL, type TEXT NOT NULL, "
    "month TEXT NOT NULL, outcome TEXT NOT NULL, n BIGINT NOT NULL, "
    "PRIMARY KEY (region, department, type, month, outcome))",
    "CREATE TABLE stats_timeliness (department TEXT NOT NULL, type TEXT NOT NULL, working_days INTEGER NOT NULL, "
    "estimated INTEGER NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (department, type, working_days, estimated))",
    "CREATE TABLE stats_reasons (department TEXT NOT NULL, reason TEXT NOT NULL, n BIGINT NOT NULL, "
    "PRIMARY KEY (department, reason))",
)


def create_tables(conn: Any) -> None:
    for stmt in DDL:
        conn.execute(stmt)


def _fields(payload: bytes | None) -> dict:
    if not payload:
        return {}
    try:
        obj = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return {}
    f = obj.get("fields") if isinstance(obj, dict) else None
    return f if isinstance(f, dict) else {}


def _text(v: object) -> str:
    return v.strip()[:MAX_DEPARTMENT_CHARS] if isinstance(v, str) and v.strip() else ""


def received_day(at: str) -> dt.date | None:
    try:
        return dt.datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(BEIJING).date()
    except ValueError:
        return None


class StatsHook:
    """Called by the store inside a batch's transaction (``store.stats_hook``)."""

    def __init__(self, calendar: HolidayCalendar | None = None) -> None:
        self.calendar = calendar or china_calendar()
        self._known: dict[str, set[str]] | None = None

    def _department(self, conn: Any, region: str, name: str) -> str:
        if self._known is None:
            self._known = defaultdict(set)
            for r, d in conn.execute("SELECT DISTINCT region, department FROM stats_records"):
                self._known[r].add(d)
        known = self._known[region]
        if name in known:
            return name
        if len(known) >= MAX_DEPARTMENTS_PER_REGION:
            return OTHER
        known.add(name)
        return name

    def append(self, conn: Any, node: str, rows: Iterable[tuple[int, str, str, str, bytes | None]], at: str) -> None:
        """``rows``: (outcome, reason, record type, region, payload) of each decided record."""
        records: Counter = Counter()
        timely: Counter = Counter()
        reasons: Counter = Counter()
        day = received_day(at)
        month = day.strftime("%Y-%m") if day else at[:7]
        for outcome, reason, rtype, region, payload in rows:
            fields = _fields(payload)
            rtype = rtype or UNKNOWN
            region = region or node
            dept = self._department(conn, region, _text(fields.get(DEPARTMENT_FIELD.get(rtype, ""))) or UNKNOWN)
            name = OUTCOMES.get(int(outcome), str(outcome))
            records[(region, dept, rtype, month, name)] += 1
            if name == "REJECTED":
                reasons[(dept, reason or UNKNOWN)] += 1
            elif name == "ACCEPTED" and day is not None:
                try:
                    decided = dt.date.fromisoformat(str(fields.get(DECISION_DATE_FIELD.get(rtype, ""), ""))[:10])
                except ValueError:
                    continue
                wd = self.calendar.working_days_between(decided, day, cap=WORKING_DAYS_CAP)
                est = int(not (self.calendar.covered(decided) and self.calendar.covered(day)))
                timely[(dept, rtype, wd, est)] += 1
        _upsert(conn, "stats_records", ("region", "department", "type", "month", "outcome"), records)
        _upsert(conn, "stats_timeliness", ("department", "type", "working_days", "estimated"), timely)
        _upsert(conn, "stats_reasons", ("department", "reason"), reasons)


def _upsert(conn: Any, table: str, key: Sequence[str], counts: Counter) -> None:
    if not counts:
        return
    cols = ", ".join(key)
    marks = ", ".join("?" * (len(key) + 1))
    conn.executemany(
        f"INSERT INTO {table} ({cols}, n) VALUES ({marks}) ON CONFLICT ({cols}) "
        f"DO UPDATE SET n = {table}.n + excluded.n",
        [(*k, n) for k, n in counts.items()],
    )


def backfill(conn: Any, hook: StatsHook | None = None) -> None:
    """Migration 7 on a gateway that already holds records: count them once."""
    hook = hook or StatsHook()
    by_batch: dict[tuple[str, str], list] = defaultdict(list)
    for node, outcome, reason, rtype, region, payload, at in conn.execute(
        "SELECT node, outcome, reason, type, region, payload, received_at FROM records ORDER BY id"
    ):
        by_batch[(node, at or "")].append((outcome, reason, rtype, region, bytes(payload) if payload else None))
    for (node, at), rows in by_batch.items():
        hook.append(conn, node, rows, at)


# --- reading ---------------------------------------------------------------------------------------


def statistics(conn: Any, *, top_reasons: int = 5) -> dict:
    """Every figure, as JSON-ready data (``creditx gateway stats --json`` and the status page)."""
    rows = [
        dict(zip(("region", "department", "type", "month", "outcome", "n"), r, strict=False))
        for r in conn.execute(
            "SELECT region, department, type, month, outcome, n FROM stats_records "
            "ORDER BY region, department, type, month, outcome"
        )
    ]

    def total(key: str) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for r in rows:
            d = out.setdefault(r[key], {"total": 0})
            d[r["outcome"]] = d.get(r["outcome"], 0) + r["n"]
            d["total"] += r["n"]
        return dict(sorted(out.items()))

    outcomes: Counter = Counter()
    for r in rows:
        outcomes[r["outcome"]] += r["n"]
    timeliness = []
    per_dept: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for dept, wd, est, n in conn.execute(
        "SELECT department, working_days, estimated, SUM(n) FROM stats_timeliness "
        "GROUP BY department, working_days, estimated ORDER BY department, working_days"
    ):
        per_dept[dept].append((wd, est, n))
    for dept, items in sorted(per_dept.items()):
        n = sum(c for _, _, c in items)
        within = sum(c for wd, _, c in items if wd <= TIMELY_WORKING_DAYS)
        timeliness.append(
            {
                "department": dept,
                "records": n,
                "within_7_working_days": within,
                "share_within_7": round(within / n, 4) if n else None,
                "median_working_days": _median([(wd, c) for wd, _, c in items]),
                "estimated": sum(c for _, est, c in items if est),
            }
        )
    reasons: dict[str, list[dict]] = {}
    for dept, reason, n in conn.execute(
        "SELECT department, reason, n FROM stats_reasons ORDER BY department, n DESC, reason"
    ):
        lst = reasons.setdefault(dept, [])
        if len(lst) < top_reasons:
            lst.append({"reason": reason, "n": n})
    decided = sum(outcomes.values())
    return {
        "records": sum(outcomes.values()),
        "by_outcome": dict(sorted(outcomes.items())),
        "rejection_rate": round(outcomes["REJECTED"] / decided, 4) if decided else None,
        "by_region": total("region"),
        "by_department": total("department"),
        "by_type": total("type"),
        "by_month": total("month"),
        "timeliness": timeliness,
        "top_rejection_reasons": reasons,
        "rows": rows,
        "calendar_years": sorted(china_calendar().years),
        "timely_working_days": TIMELY_WORKING_DAYS,
    }


def _median(counts: list[tuple[int, int]]) -> int | None:
    n = sum(c for _, c in counts)
    if not n:
        return None
    seen = 0
    for value, c in sorted(counts):
        seen += c
        if 2 * seen >= n:
            return value
    return None
