"""``creditx gateway sanctions-report --dir DIR [--json]``: the province's 联合奖惩 report."""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

from creditx.cli.output import add_json_flag, format_table, print_json
from creditx.standard.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sanctions-report",
        help="联合奖惩: checks, hits and measures applied per city, department, list type and measure",
    )
    p.add_argument("--dir", required=True, type=Path, help="gateway directory")
    add_json_flag(p)
    p.set_defaults(func=cmd_report)


def open_readonly(directory: Path) -> sqlite3.Connection:
    from creditx.gateway.config import load_config

    path = load_config(directory).path(directory, "database")
    if not path.exists():
        raise InputError(f"{path} does not exist", hint="give --dir of an initialised gateway")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sanction_actions'").fetchone():
        conn.close()
        raise InputError(f"{path} has no sanctions tables yet", hint="start the gateway once (creditx gateway run)")
    return conn


def cmd_report(args) -> int:
    from creditx.gateway.sanctions.report import action_figures, check_figures, report

    conn = open_readonly(args.dir)
    try:
        if args.json:
            print_json(report(conn))
            return 0
        checks, actions = check_figures(conn), action_figures(conn)
    finally:
        conn.close()
    print("checks and hits")
    print(
        format_table(
            [
                (c.region, c.department, c.list_type or "(all)", c.checks if not c.list_type else "", c.hits)
                for c in checks
            ],
            ["region", "department", "list type", "checks", "hits"],
        )
    )
    print("\nmeasures")
    print(
        format_table(
            [
                (a.region, a.department, a.list_type, a.measure_id, a.applied, a.not_applied, a.overridden)
                for a in actions
            ],
            ["region", "department", "list type", "measure", "applied", "not applied", "overridden"],
        )
    )
    return 0
