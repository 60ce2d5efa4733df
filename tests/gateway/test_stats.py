"""Statistics as maintained counters: a real gateway decides real batches; `gateway stats`
(table and --json) and the Prometheus figures equal the records actually stored, counted
independently here from the records table; the counters survive a restart and are backfilled
by the migration on a database that predates them."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import Counter
from typing import Any

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from creditx.cli.main import main
from creditx.gateway.stats import DEPARTMENT_FIELD, backfill, statistics
from creditx.standard.workdays import china_calendar
from tests.gateway.push_client import PushClient, payloads, reseq

OUT = {1: "ACCEPTED", 2: "DUPLICATE", 3: "SUPERSEDED", 4: "REJECTED"}


def _push(gateway, pki):
    for region, seed in (("370100", 1), ("370200", 2)):
        c = PushClient(gateway.address, pki.nodes[region])
        c.handshake()
        c.push([c.batch(payloads(region, 30, invalid_share=0.2, seed=seed))])
        good = payloads(region, 4, start_seq=31, seed=seed + 50)
        c.push([c.batch(good, start_seq=31)])
        c.push([c.batch([reseq(p, 35 + i) for i, p in enumerate(good)], start_seq=35)])  # re-reported: duplicates
        c.close()


def _independent(db) -> tuple[Counter[str], Counter[tuple[str, str]], Counter[tuple[str, str]]]:
    """Counts straight from the records table (what the counters must equal)."""
    by_dept: Counter[str] = Counter()
    by_region_outcome: Counter[tuple[str, str]] = Counter()
    reasons: Counter[tuple[str, str]] = Counter()
    conn = sqlite3.connect(db)
    for region, rtype, outcome, reason, payload in conn.execute(
        "SELECT region, type, outcome, reason, payload FROM records"
    ):
        try:
            dept = json.loads(payload)["fields"].get(DEPARTMENT_FIELD[rtype], "") or "(unknown)"
        except (ValueError, KeyError, TypeError):
            dept = "(unknown)"
        by_dept[dept] += 1
        by_region_outcome[(region, OUT[outcome])] += 1
        if outcome == 4:
            reasons[(dept, reason)] += 1
    conn.close()
    return by_dept, by_region_outcome, reasons


def test_stats_equal_the_stored_records(gateway, pki, capsys):
    _push(gateway, pki)
    db = gateway.dir / "gateway.db"
    by_dept, by_region_outcome, reasons = _independent(db)
    capsys.readouterr()
    assert main(["gateway", "stats", "--dir", str(gateway.dir), "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert st["records"] == sum(by_dept.values()) == 76
    assert {d: v["total"] for d, v in st["by_department"].items()} == dict(by_dept)
    assert {(r, o): n for r, v in st["by_region"].items() for o, n in v.items() if o != "total"} == dict(
        by_region_outcome
    )
    assert st["by_outcome"]["DUPLICATE"] == 8 and st["by_outcome"]["REJECTED"] > 0
    assert st["rejection_rate"] == round(st["by_outcome"]["REJECTED"] / 76, 4)
    for dept, rs in st["top_rejection_reasons"].items():
        assert all(reasons[(dept, r["reason"])] == r["n"] for r in rs)
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m")
    assert set(st["by_month"]) == {today}
    accepted = st["by_outcome"]["ACCEPTED"]
    assert sum(t["records"] for t in st["timeliness"]) == accepted
    for t in st["timeliness"]:
        assert 0 <= t["within_7_working_days"] <= t["records"]
    assert main(["gateway", "stats", "--dir", str(gateway.dir)]) == 0
    table = capsys.readouterr().out
    assert "by department (数据来源单位)" in table and "370200" in table and "timeliness" in table
    fams = {f.name: f for f in text_string_to_metric_families(generate_latest(gateway.registry).decode())}
    prom = sum(s.value for s in fams["creditx_gateway_stats_records"].samples if s.name.endswith("_total"))
    assert prom == 76


def test_timeliness_counts_working_days_with_the_holiday_calendar(gateway, pki):
    c = PushClient(gateway.address, pki.nodes["370100"])
    c.handshake()
    c.push([c.batch(payloads("370100", 10))])
    c.close()
    conn = sqlite3.connect(gateway.dir / "gateway.db")
    cal = china_calendar()
    want: Counter[tuple[str, int]] = Counter()
    for payload, at in conn.execute("SELECT payload, received_at FROM records WHERE outcome = 1 AND type = 'XZCF'"):
        f = json.loads(payload)["fields"]
        received = (
            dt.datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(dt.timezone(dt.timedelta(hours=8))).date()
        )
        wd = cal.working_days_between(dt.date.fromisoformat(f["CF_JDRQ"]), received, cap=60)
        want[(f["CF_SJLY"], wd)] += 1
    got = Counter(
        {
            (d, wd): n
            for d, wd, n in conn.execute(
                "SELECT department, working_days, SUM(n) FROM stats_timeliness WHERE type = 'XZCF' "
                "GROUP BY department, working_days"
            )
        }
    )
    assert want and got == want


def test_migration_backfills_counters_from_existing_records(gateway, pki):
    _push(gateway, pki)
    conn = sqlite3.connect(gateway.dir / "gateway.db")
    before = statistics(conn)
    for t in ("stats_records", "stats_timeliness", "stats_reasons"):
        conn.execute(f"DELETE FROM {t}")
    backfill(conn)
    after = statistics(conn)
    assert after["by_department"] == before["by_department"] and after["timeliness"] == before["timeliness"]
    assert after["records"] == 76


def test_a_node_cannot_grow_the_counters_without_bound(monkeypatch):
    from creditx.gateway import stats

    monkeypatch.setattr(stats, "MAX_DEPARTMENTS_PER_REGION", 3)
    conn = sqlite3.connect(":memory:")
    stats.create_tables(conn)
    hook = stats.StatsHook()
    rows = [(4, "R", "XZCF", "370100", json.dumps({"fields": {"CF_SJLY": f"局{i}" * 40}}).encode()) for i in range(10)]
    hook.append(conn, "370100", rows, "2026-03-02T02:00:00Z")
    depts = {d for (d,) in conn.execute("SELECT department FROM stats_records")}
    assert len(depts) == 4 and "(other)" in depts and all(len(d) <= stats.MAX_DEPARTMENT_CHARS for d in depts)
    assert conn.execute("SELECT SUM(n) FROM stats_records").fetchone()[0] == 10


def test_field_value_reads_one_field_as_a_json_parser_would():
    from creditx.gateway.stats import field_value

    tricky: dict[str, Any] = {
        "v": 1,
        "fields": {
            "CF_XDR_MC": 'x\\"CF_SJLY\\":\\"forged\\"',
            "CF_SJLY": '济南市"市场"\\监管局',
            "CF_JDRQ": "2026-03-02",
        },
    }
    for text in (
        json.dumps(tricky, ensure_ascii=False, separators=(",", ":")),
        json.dumps(tricky),
        json.dumps(tricky, ensure_ascii=True),
    ):
        payload = text.encode()
        assert field_value(payload, "CF_SJLY") == tricky["fields"]["CF_SJLY"]
        assert field_value(payload, "CF_JDRQ") == "2026-03-02"
        assert field_value(payload, "XK_SJLY") == ""
    assert field_value(b"\xff\xfe not json", "CF_SJLY") == "" and field_value(None, "CF_SJLY") == ""


def test_facts_the_worker_decoded_count_as_the_payload_would():
    """The main process counts the department and decision date the verify worker read from the
    decoded record; without them (a record never decoded) it reads the payload: same counters."""
    from creditx.gateway import stats

    fields = {"CF_SJLY": "济南市市场监督管理局", "CF_JDRQ": "2026-02-25"}
    payload = json.dumps({"fields": fields}, ensure_ascii=False).encode()

    def counters(rows) -> list:
        conn = sqlite3.connect(":memory:")
        stats.create_tables(conn)
        stats.StatsHook().append(conn, "370100", rows, "2026-03-02T02:00:00Z")
        return [sorted(conn.execute(f"SELECT * FROM {t}")) for t in ("stats_records", "stats_timeliness")]

    from_payload = counters([(1, "", "XZCF", "370100", payload)] * 3)
    from_facts = counters([(1, "", "XZCF", "370100", None, fields["CF_SJLY"], fields["CF_JDRQ"])] * 3)
    assert from_facts == from_payload and from_payload[1] and "济南市市场监督管理局" in str(from_payload[0])
    undecoded = counters([(1, "", "XZCF", "370100", payload, None, None)])
    assert undecoded[0][0][-1] == 1 and undecoded[0][0][1] == "济南市市场监督管理局"
