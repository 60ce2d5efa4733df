"""``creditx node …``: a thin shell over :class:`node.app.NodeApp` (parse, call, print).

    creditx node init --dir DIR --region 370100 --gateway HOST:PORT --certs CREDDIR [--name NAME]
    creditx node run --dir DIR
    creditx node import FILE --dir DIR [--type auto|XZXK|XZCF|LIST] [--json]
    creditx node quarantine --dir DIR [--json] [--export FILE.csv]
    creditx node status --dir DIR [--json]
    creditx node rejects --dir DIR [--json]

Exit status as in standards/cli.py: 0 ok, 1 ran but found problems (quarantined rows), 2 usage.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path

from standards.cli import add_json_flag, format_table, print_json, progress


def register(subparsers: argparse._SubParsersAction) -> None:
    node = subparsers.add_parser("node", help="run and operate a city node",
                                 description="The city node: intake, outbox, upward sync, local API.")
    sub = node.add_subparsers(dest="node_command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", help="create a node directory with credentials and node.json")
    _dir(p)
    p.add_argument("--region", required=True, help="the node's division code, e.g. 370100 (370000: province)")
    p.add_argument("--gateway", required=True, metavar="HOST:PORT", help="the provincial gateway")
    p.add_argument("--certs", required=True, type=Path, metavar="CREDDIR",
                   help="output of creditx certs issue-node (ca.crt, auth.*, signing.*)")
    p.add_argument("--name", default="", help="node name (default node-REGION)")
    p.add_argument("--gateway-server-name", default="", help="TLS name of the gateway if not the HOST given")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("run", help="sync to the gateway and serve the local API until SIGTERM/SIGINT")
    _dir(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("import", help="import a CSV/XLSX/JSONL file in the national templates")
    p.add_argument("file", type=Path)
    _dir(p)
    p.add_argument("--type", default="auto", choices=["auto", "XZXK", "XZCF", "LIST"])
    add_json_flag(p)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("quarantine", help="list (or export) rows that failed validation")
    _dir(p)
    add_json_flag(p)
    p.add_argument("--export", type=Path, metavar="FILE.csv", help="write the quarantined rows to a CSV file")
    p.set_defaults(func=cmd_quarantine)

    p = sub.add_parser("status", help="outbox and sync status (works while the node is stopped)")
    _dir(p)
    add_json_flag(p)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("rejects", help="records the gateway rejected, and why")
    _dir(p)
    add_json_flag(p)
    p.set_defaults(func=cmd_rejects)

    p = sub.add_parser("receipts", help="check the gateway's audit log against the checkpoints this node saw")
    _dir(p)
    p.add_argument("--verify", action="store_true", help="also prove every acked record's decision is in the log")
    add_json_flag(p)
    p.set_defaults(func=cmd_receipts)


def _dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", required=True, type=Path, help="the node directory")


def _app(args):
    from node.app import NodeApp

    return NodeApp(args.dir)


def _read(args, read):
    """Open the node's store, read one thing from it, close it (the node may be stopped)."""
    app = _app(args)
    try:
        return read(app)
    finally:
        app.close()


def cmd_init(args) -> int:
    from node.config import init_node_dir

    cfg = init_node_dir(args.dir, region=args.region, gateway=args.gateway, certs=args.certs, name=args.name,
                        server_name=args.gateway_server_name)
    print(f"node {cfg.name} ({cfg.region}) initialised in {args.dir}; gateway {cfg.gateway}")
    print(f"next: creditx node run --dir {args.dir}")
    return 0


def cmd_run(args) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = _app(args)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    app.run(stop)
    return 0


def cmd_import(args) -> int:
    from node.local_api import nudge_running_node
    from standards.tabular import read_table

    app = _app(args)
    try:
        rows = read_table(args.file, args.type)
        size = args.file.stat().st_size
        bar = progress(None, f"importing {args.file.name}", enabled=size > 1 << 20 and not args.json)
        report = app.ingest(rows, source=str(args.file), advance=bar)
    finally:
        app.close()
    nudged = report.accepted > 0 and nudge_running_node(args.dir)
    if args.json:
        print_json(dict(report.as_dict(), file=str(args.file), nudged=nudged))
    else:
        print(f"{args.file}: {report.rows} rows, {report.accepted} into the outbox "
              f"(source_seq {report.first_seq}–{report.last_seq}), {report.quarantined} quarantined")
        if report.problems:
            print(format_table([(p["row"], p["field"], p["rule"], p["reason"], p["fix"]) for p in report.problems],
                               ["row", "field", "rule", "reason", "fix"]))
            if report.quarantined > len(report.problems):
                print(f"… see all: creditx node quarantine --dir {args.dir}")
        print("sync: the running node was asked to sync now" if nudged else
              "sync: no running node answered; records wait in the outbox for creditx node run")
    return 1 if report.quarantined else 0


def cmd_quarantine(args) -> int:
    from node.reports import export_quarantine

    rows = _read(args, lambda app: app.store.quarantine())
    if args.export:
        n = export_quarantine(rows, args.export)
        print(f"wrote {n} quarantined rows to {args.export}")
    elif args.json:
        print_json(rows)
    else:
        print(format_table([(r["file"], r["row"], r["field"], r["rule"], r["reason"], r["message"], r["fix"])
                            for r in rows], ["file", "row", "field", "rule", "reason", "message", "fix"]))
    return 0


def cmd_status(args) -> int:
    from node.reports import format_status

    s = _read(args, lambda app: app.status())
    print_json(s) if args.json else print(format_status(s))
    return 0


def cmd_rejects(args) -> int:
    rows = _read(args, lambda app: app.store.rejects())
    if args.json:
        print_json(rows)
    else:
        print(format_table([(r["source_seq"], r["source_id"], r["type"], r["reason"], r["requirement"], r["field"],
                             r["message"]) for r in rows],
                           ["seq", "source_id", "type", "reason", "requirement", "field", "message"]))
    return 0


def cmd_receipts(args) -> int:
    """AUD-030/031: exit 1 when a receipt fails or the log forked (alarms are kept in receipts.db)."""
    from datetime import datetime, timezone

    from node.receipts import run_receipts

    out = run_receipts(args.dir, verify=args.verify, now=datetime.now(timezone.utc).isoformat())
    if args.json:
        print_json(out)
    else:
        print(f"{out['origin']}: tree size {out['tree_size']}, {out['checkpoints_seen']} checkpoints kept, "
              f"consistent with every one seen before")
        if args.verify:
            print(f"{out['verified']} decisions proven in the log, {len(out['failed'])} failed")
            for f in out["failed"][:20]:
                print(f"  seq {f['source_seq']} (leaf {f['log_index']}): {f['why']}")
    return 1 if out["failed"] else 0
