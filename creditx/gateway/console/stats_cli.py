"""``creditx gateway stats --dir DIR [--json]``: the province's figures from the maintained
counters (:mod:`creditx.gateway.stats`), read from the gateway's database (read-only, while the
gateway runs or not): records per city, department (数据来源单位), type, month and outcome;
timeliness against the 7-working-day rule; the most common rejection reasons per department."""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

from creditx.cli.output import add_json_flag, format_table, print_json
from creditx.standard.errors import InputError

OUTCOME_COLUMNS = ("ACCEPTED", "DUPLICATE", "SUPERSEDED", "REJECTED")


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("stats", help="records per city, department, type, month; timeliness; rejection reasons")
    s.add_argument("--dir", required=True, type=Path, help="gateway directory")
    add_json_flag(s)
    s.set_defaults(func=cmd_stats)


def read_statistics(directory: Path) -> dict:
    from creditx.gateway.config import load_config
    from creditx.gateway.stats import statistics
    from creditx.gateway.store.engine import is_url, open_conn, transaction

    cfg = load_config(directory)
    spec = cfg.database_spec(directory)
    if not is_url(spec):
        db = Path(spec)
        if not db.exists():
            raise InputError(f"{db} does not exist", hint="give the --dir of a gateway that has run")
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'stats_records'").fetchone():
            conn.close()
            raise InputError(f"{db} has no statistics tables yet", hint="start the gateway once to migrate it")
    else:
        conn = open_conn(spec)
    try:
        with transaction(conn, write=False):
            return statistics(conn)
    finally:
        conn.close()


def _table(title: str, data: dict[str, dict[str, int]], label: str) -> str:
    rows = [(k, v["total"], *(v.get(o, 0) for o in OUTCOME_COLUMNS)) for k, v in data.items()]
    return f"\n{title}\n" + format_table(rows, [label, "records", "accepted", "duplicate", "superseded", "rejected"])


def cmd_stats(args) -> int:
    st = read_statistics(args.dir)
    if args.json:
        print_json({k: v for k, v in st.items() if k != "rows"} | {"rows": st["rows"]})
        return 0
    rate = "-" if st["rejection_rate"] is None else f"{100 * st['rejection_rate']:.1f} %"
    print(f"{st['records']} records decided; rejection rate {rate}")
    print(_table("by city", st["by_region"], "region"))
    print(_table("by department (数据来源单位)", st["by_department"], "department"))
    print(_table("by record type", st["by_type"], "type"))
    print(_table("by month of receipt", st["by_month"], "month"))
    print(
        f"\ntimeliness: working days from decision to receipt (holiday calendar {st['calendar_years'][0]}–"
        f"{st['calendar_years'][-1]}; other years counted Monday–Friday, marked estimated)"
    )
    print(
        format_table(
            [
                (
                    t["department"],
                    t["records"],
                    t["within_7_working_days"],
                    "-" if t["share_within_7"] is None else f"{100 * t['share_within_7']:.1f} %",
                    t["median_working_days"],
                    t["estimated"],
                )
                for t in st["timeliness"]
            ],
            ["department", "accepted", "within 7", "share", "median", "estimated"],
        )
    )
    reach = st["list_changes_reached_every_city"]
    print(f"\nlist changes that reached every city: {reach['changes']}")
    print(
        format_table(
            [
                ("any time" if c["within_s"] is None else f"<= {c['within_s']} s", c["changes"])
                for c in reach["cumulative"]
            ],
            ["how fast", "changes"],
        )
    )
    print("\nmost common rejection reasons")
    print(
        format_table(
            [(d, ", ".join(f"{r['reason']}×{r['n']}" for r in rs)) for d, rs in st["top_rejection_reasons"].items()],
            ["department", "reasons"],
        )
    )
    return 0
