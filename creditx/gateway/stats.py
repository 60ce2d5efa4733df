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
* ``stats_reasons(department, reason, n)`` — rejections by reason code;
* ``stats_list_reach(list_type, kind, le_s, n)`` — list changes that have reached every city,
  by how long that took from the gateway's decision (buckets of :data:`REACH_BUCKETS_S`),
  counted by :class:`creditx.gateway.console.reach.ListReach` as nodes report their position.

What a node sends must not grow these tables without bound: a department name is cut to
:data:`MAX_DEPARTMENT_CHARS` characters and a region counts at most
:data:`MAX_DEPARTMENTS_PER_REGION` distinct departments, the rest as ``(other)``; working days
are capped at :data:`WORKING_DAYS_CAP`. Plain SQL (``INSERT … ON CONFLICT DO UPDATE``) that
SQLite and PostgreSQL both run.
"""

from __future__ import annotations

import datetime as dt
import json
import re
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
    # list changes that reached every city, by how long that took (seconds, upper bound of a bucket)
    "CREATE TABLE stats_list_reach (list_type TEXT NOT NULL, kind TEXT NOT NULL, le_s INTEGER NOT NULL, "
    "n INTEGER NOT NULL, PRIMARY KEY (list_type, kind, le_s))",
)
REACH_BUCKETS_S = (1, 5, 15, 60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400, 1 << 31)


def create_tables(conn: Any) -> None:
    for stmt in DDL:
        conn.execute(stmt)


_FIELD_RES = {
    code: re.compile(rb'"' + code.encode() + rb'"\s*:\s*"((?:[^"\\]|\\.)*)"')
    for code in (*DEPARTMENT_FIELD.values(), *DECISION_DATE_FIELD.values())
}


def field_value(payload: bytes | None, code: str) -> str:
    """One string field of a record payload without parsing all of it (this runs inside the
    batch transaction). Sound for JSON: inside a string every quote is escaped, so
    ``"CODE":"`` only occurs where CODE is a key; field codes are unique to ``fields``."""
    if not payload:
        return ""
    m = _FIELD_RES[code].search(payload)
    if m is None:
        return ""
    raw = m.group(1)
    try:
        return json.loads(b'"' + raw + b'"') if b"\\" in raw else raw.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return ""


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
        # (decision date, day of receipt) → (working days, estimated): kept across batches, since
        # a department's decision dates repeat for days and the calendar walk is the hook's cost
        self._took: dict[tuple[str, dt.date], tuple[int, int]] = {}

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

    def _elapsed(self, stamp: str, day: dt.date) -> tuple[int, int]:
        try:
            decided = dt.date.fromisoformat(stamp)
        except ValueError:
            return (-1, 0)
        wd = self.calendar.working_days_between(decided, day, cap=WORKING_DAYS_CAP)
        return wd, int(not (self.calendar.covered(decided) and self.calendar.covered(day)))

    def append(self, conn: Any, node: str, rows: Iterable[tuple], at: str) -> None:
        """``rows``: (outcome, reason, record type, region, payload[, department, decision date])
        of each decided record. The department and decision date are the ones the verify worker
        read from the decoded record; where they are None (a record never decoded, a backfill)
        they are read from the payload."""
        records: Counter = Counter()
        timely: Counter = Counter()
        reasons: Counter = Counter()
        day = received_day(at)
        month = day.strftime("%Y-%m") if day else at[:7]
        for outcome, reason, rtype, region, payload, *facts in rows:
            department, decided_on = facts if facts else (None, None)
            rtype = rtype or UNKNOWN
            region = region or node
            code = DEPARTMENT_FIELD.get(rtype)
            if department is None:
                department = field_value(payload, code) if code else ""
            dept = self._department(conn, region, _text(department) or UNKNOWN)
            name = OUTCOMES.get(int(outcome), str(outcome))
            records[(region, dept, rtype, month, name)] += 1
            if name == "REJECTED":
                reasons[(dept, reason or UNKNOWN)] += 1
            elif name == "ACCEPTED" and day is not None:
                date_code = DECISION_DATE_FIELD.get(rtype)
                if decided_on is None:
                    decided_on = field_value(payload, date_code) if date_code else ""
                stamp = decided_on[:10]
                took = self._took.get((stamp, day))
                if took is None:
                    if len(self._took) > 8192:
                        self._took.clear()
                    took = self._took[(stamp, day)] = self._elapsed(stamp, day)
                if took[0] >= 0:
                    timely[(dept, rtype, *took)] += 1
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
        dict(zip(("region", "department", "type", "month", "outcome", "n"), r, strict=True))
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
    reach: dict[str, dict[str, int]] = {}
    buckets: Counter = Counter()
    for lt, kind, le, n in conn.execute("SELECT list_type, kind, le_s, n FROM stats_list_reach ORDER BY le_s"):
        reach.setdefault(lt, {}).setdefault(kind, 0)
        reach[lt][kind] += n
        buckets[le] += n
    reached = sum(buckets.values())
    cumulative: list[dict] = []
    seen = 0
    for le in REACH_BUCKETS_S:
        seen += buckets.get(le, 0)
        cumulative.append({"within_s": le if le < REACH_BUCKETS_S[-1] else None, "changes": seen})
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
        "list_changes_reached_every_city": {
            "changes": reached,
            "by_type": dict(sorted(reach.items())),
            "cumulative": cumulative,
            "median_within_s": _median(list(buckets.items())),
        },
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
