"""``creditx node …``: a thin shell over :class:`creditx.node.app.NodeApp` (parse, call, print).

    creditx node init --dir DIR --region 370100 --gateway HOST:PORT --certs CREDDIR [--name NAME]
                      [--member USCC]   (a province-level department's own node, --region 370000)
    creditx node run --dir DIR
    creditx node import FILE --dir DIR [--type auto|XZXK|XZCF|LIST] [--json]
    creditx node quarantine --dir DIR [--json] [--export FILE]
    creditx node status --dir DIR [--json]
    creditx node rejects --dir DIR [--json]
    creditx node check SUBJECT --dir DIR [--json] [--history]
    creditx node replica --dir DIR [--json] [--reset]
    creditx node feed --dir DIR --department NAME [--from CURSOR] [--list-type T] [--json] [--ack]

Exit status as everywhere (ADR 0012): 0 ok, 1 ran but found problems (quarantined rows), 2 usage.
"""

from __future__ import annotations

import argparse
import signal
import threading
from datetime import UTC
from pathlib import Path

from creditx.cli.output import add_json_flag, format_table, print_json
from creditx.ops.logs import add_log_flags
from creditx.standard.record import RECORD_TYPES


def register(subparsers: argparse._SubParsersAction) -> None:
    node = subparsers.add_parser(
        "node", help="run and operate a city node", description="The city node: intake, outbox, upward sync, local API."
    )
    sub = node.add_subparsers(dest="node_command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", help="create a node directory with credentials and node.json")
    _dir(p)
    p.add_argument("--region", required=True, help="the node's division code, e.g. 370100 (370000: province)")
    p.add_argument(
        "--member",
        default="",
        help="a province-level department's own node: its 统一社会信用代码, as its certificates name it "
        "(SEC-092); default: the region",
    )
    p.add_argument(
        "--gateway",
        required=True,
        action="append",
        metavar="HOST:PORT",
        help="the provincial gateway; repeat it (or separate with commas) for a writer and its standbys on"
        " one database: the node follows the writer (SYNC-018)",
    )
    p.add_argument(
        "--certs",
        required=True,
        type=Path,
        metavar="CREDDIR",
        help="output of creditx certs issue-node (ca.crt, auth.*, signing.*)",
    )
    p.add_argument("--name", default="", help="node name (default node-REGION)")
    p.add_argument("--gateway-server-name", default="", help="TLS name of the gateway if not the HOST given")
    p.add_argument("--metrics-listen", default=None, help="Prometheus HOST:PORT (default 127.0.0.1:9751; '' = off)")
    p.add_argument(
        "--health-listen", default=None, help="plaintext health-check HOST:PORT (default 127.0.0.1:9752; '' = off)"
    )
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("run", help="sync to the gateway and serve the local API until SIGTERM/SIGINT")
    _dir(p)
    add_log_flags(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("import", help="import a CSV/XLSX/JSONL file in the national templates")
    p.add_argument("file", type=Path)
    _dir(p)
    p.add_argument("--type", default="auto", choices=["auto", *RECORD_TYPES])
    add_json_flag(p)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("quarantine", help="list (or export) rows that failed validation")
    _dir(p)
    add_json_flag(p)
    p.add_argument(
        "--export",
        type=Path,
        metavar="FILE",
        help="write the quarantined records in the template, format and encoding they came in "
        "(one file per template), with columns saying what to fix",
    )
    p.set_defaults(func=cmd_quarantine)

    p = sub.add_parser("status", help="outbox and sync status (works while the node is stopped)")
    _dir(p)
    add_json_flag(p)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("rejects", help="records the gateway rejected, and why")
    _dir(p)
    add_json_flag(p)
    p.set_defaults(func=cmd_rejects)

    p = sub.add_parser("check", help="is this subject on a red/black list? (from the local replica, DIST-060)")
    p.add_argument("subject", help="a USCC (统一社会信用代码) or a citizen ID number")
    _dir(p)
    add_json_flag(p)
    p.add_argument("--history", action="store_true", help="also list every applied change of the subject's entries")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("replica", help="the list replica: applied list_seq, entries by list type, checkpoint, lag")
    _dir(p)
    add_json_flag(p)
    p.add_argument(
        "--reset",
        action="store_true",
        help="discard the replica (and its alarm); the running node re-bootstraps from a snapshot",
    )
    p.set_defaults(func=cmd_replica)

    p = sub.add_parser(
        "evidence",
        help="ask the gateway for the signed origin record of one list change and check it (DIST-078)",
    )
    _dir(p)
    p.add_argument("list_seq", type=int, help="the change's list_seq (from `node check SUBJECT --history`)")
    p.add_argument("--out", type=Path, help="write the checked envelope (JSON) here, mode 0600; else print it")
    add_json_flag(p)
    p.set_defaults(func=cmd_evidence)

    p = sub.add_parser("feed", help="a department's list changes from its cursor (DIST-061)")
    _dir(p)
    p.add_argument("--department", required=True, help="a department named in node.json")
    p.add_argument(
        "--from",
        dest="from_cursor",
        type=int,
        default=None,
        metavar="CURSOR",
        help="start after this list_seq instead of the stored cursor",
    )
    p.add_argument("--list-type", action="append", default=[], metavar="T", help="only this list type (repeatable)")
    p.add_argument("--limit", type=int, default=1000, help="at most this many changes")
    p.add_argument("--ack", action="store_true", help="store the cursor after the printed changes")
    add_json_flag(p)
    p.set_defaults(func=cmd_feed)

    p = sub.add_parser("receipts", help="check the gateway's audit log against the checkpoints this node saw")
    _dir(p)
    p.add_argument("--verify", action="store_true", help="also prove every acked record's decision is in the log")
    add_json_flag(p)
    p.set_defaults(func=cmd_receipts)

    from creditx.node.halls.cli import register as register_halls

    register_halls(sub)  # tokens, objection, credit-report, verify-report (HALL-003/012/050)


def _dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", required=True, type=Path, help="the node directory")


def _app(args):
    from creditx.node.app import NodeApp

    return NodeApp(args.dir)


def _read(args, read):
    """Open the node's store, read one thing from it, close it (the node may be stopped)."""
    app = _app(args)
    try:
        return read(app)
    finally:
        app.close()


def cmd_init(args) -> int:
    from creditx.node.config import init_node_dir

    ports = {
        k: v
        for k, v in (("metrics_listen", args.metrics_listen), ("health_listen", args.health_listen))
        if v is not None
    }
    addresses = [a.strip() for arg in args.gateway for a in arg.split(",") if a.strip()]
    cfg = init_node_dir(
        args.dir,
        region=args.region,
        member=(args.member or "").strip().upper(),
        gateway=addresses[0] if addresses else "",
        gateways=tuple(addresses[1:]),
        certs=args.certs,
        name=args.name,
        server_name=args.gateway_server_name,
        **ports,
    )
    who = cfg.region if cfg.member == cfg.region else f"{cfg.region}, member {cfg.member}"
    print(f"node {cfg.name} ({who}) initialised in {args.dir}; gateway {', '.join(cfg.gateway_addresses)}")
    print(f"next: creditx node run --dir {args.dir}")
    return 0


def cmd_run(args) -> int:
    from creditx.node.config import load_config
    from creditx.ops.logs import configure_from

    configure_from(args, load_config(args.dir).ops, args.dir)
    app = _app(args)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    app.run(stop)
    return 0


def cmd_import(args) -> int:
    from creditx.cli.output import progress_line
    from creditx.node.import_report import count_rows, format_import
    from creditx.node.local_api import nudge_running_node
    from creditx.standard.tabular import read_table

    app = _app(args)
    try:
        rows = read_table(args.file, args.type)
        bar = progress_line(count_rows(args.file), f"importing {args.file.name}", enabled=not args.json)
        try:
            report = app.ingest(rows, source=str(args.file), advance=bar)
        finally:
            bar.finish()
        quarantine_left = app.store.counts()["quarantined"]
    finally:
        app.close()
    nudge = nudge_running_node(args.dir) if report.accepted else None
    extra = {
        "file": str(args.file),
        "unknown_columns": list(getattr(rows, "unknown_columns", []) or []),
        "refused_sheets": [{"sheet": n, "reason": r} for n, r in getattr(rows, "refused_sheets", [])],
        "quarantine_records": quarantine_left,
        "sync": "nothing new to send" if nudge is None else nudge,
    }
    if args.json:
        print_json(dict(report.as_dict(), **extra))
    else:
        print(format_import(report, extra, node_dir=str(args.dir)))
    return 1 if report.quarantined or extra["refused_sheets"] else 0


def cmd_quarantine(args) -> int:
    from creditx.node.quarantine import export_quarantine, quarantine_counts

    if args.export:
        files = _read(args, lambda app: export_quarantine(app.store, args.export))
        out = [
            {
                "file": str(f.path),
                "records": f.records,
                "format": f.format,
                "encoding": f.encoding,
                "record_type": f.record_type,
            }
            for f in files
        ]
        if args.json:
            print_json(out)
        elif not out:
            print("the quarantine is empty: nothing to export")
        for f in [] if args.json else files:
            print(
                f"wrote {f.records} quarantined {f.record_type} records to {f.path} ({f.format}, {f.encoding}); "
                f"fix them in place and import the file again: creditx node import {f.path} --dir {args.dir}"
            )
        return 0
    rows, counts = _read(args, lambda app: (app.store.quarantine(), quarantine_counts(app.store)))
    if args.json:
        print_json(
            {"records": counts["records"], "problems": counts["problems"], "files": counts["files"], "rows": rows}
        )
        return 0
    print(
        format_table(
            [
                (r["file"], r.get("sheet") or "", r["row"], r["field"], r["rule"], r["reason"], r["message"], r["fix"])
                for r in rows
            ],
            ["file", "sheet", "row", "field", "rule", "reason", "message", "fix"],
        )
    )
    print(
        f"{counts['records']} records in quarantine ({counts['problems']} problems)"
        + "".join(f"\n  {f['file']}: {f['records']}" for f in counts["files"])
    )
    return 0


def cmd_status(args) -> int:
    from creditx.node.reports import format_status

    s = _read(args, lambda app: app.status())
    print_json(s) if args.json else print(format_status(s))
    return 0


def cmd_rejects(args) -> int:
    rows = _read(args, lambda app: app.store.rejects())
    if args.json:
        print_json(rows)
    else:
        print(
            format_table(
                [
                    (
                        r["source_seq"],
                        r["source_id"],
                        r["type"],
                        r["reason"],
                        r["requirement"],
                        r["field"],
                        r["message"],
                    )
                    for r in rows
                ],
                ["seq", "source_id", "type", "reason", "requirement", "field", "message"],
            )
        )
    return 0


def cmd_receipts(args) -> int:
    """AUD-030/031: exit 1 when a receipt fails or the log forked (alarms are kept in receipts.db)."""
    from datetime import datetime

    from creditx.node.receipts import run_receipts

    out = run_receipts(args.dir, verify=args.verify, now=datetime.now(UTC).isoformat())
    if args.json:
        print_json(out)
    else:
        print(
            f"{out['origin']}: tree size {out['tree_size']}, {out['checkpoints_seen']} checkpoints kept, "
            f"consistent with every one seen before"
        )
        if args.verify:
            print(f"{out['verified']} decisions proven in the log, {len(out['failed'])} failed")
            for f in out["failed"][:20]:
                print(f"  seq {f['source_seq']} (leaf {f['log_index']}): {f['why']}")
    return 1 if out["failed"] else 0


def _when(ms: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="seconds") if ms else "never"


def cmd_check(args) -> int:
    import datetime as dt

    from creditx.node.replica.departments import check
    from creditx.node.replica.subjects import question_from_text
    from creditx.standard.lists.snapshot import entry_to_obj

    def read(app):
        q = question_from_text(args.subject, app.subject_key)  # InputError → exit 2 with the reason
        a = check(
            app.replica,
            q,
            now=dt.datetime.now(dt.UTC),
            max_age=dt.timedelta(seconds=app.config.limits.list_stale_after_s),
        )
        changes = app.replica.history_of([e.entry_id for e in a.memberships + a.history]) if args.history else []
        return q, a, changes

    q, a, changes = _read(args, read)
    out = {
        "subject": q.shown,
        "kind": q.kind,
        "listed": bool(a.memberships),
        "memberships": [entry_to_obj(e) for e in a.memberships],
        "history": [entry_to_obj(e) for e in a.history],
        "applied_list_seq": a.applied_list_seq,
        "last_update": a.last_update.isoformat(timespec="seconds") if a.last_update else None,
        "stale": a.stale,
    }
    if args.history:
        out["changes"] = changes
    if args.json:
        print_json(out)
        return 0
    print(
        f"{q.shown}: {'LISTED on ' + str(len(a.memberships)) + ' list(s)' if a.memberships else 'not listed'}"
        f" (replica at list_seq {a.applied_list_seq}, updated {out['last_update'] or 'never'}"
        f"{', STALE' if a.stale else ''})"
    )
    if a.memberships:
        print(
            format_table(
                [
                    (
                        e.list_type,
                        e.colour,
                        e.listed_on,
                        f"{e.period_start or ''}–{e.period_end or ''}",
                        e.authority,
                        e.basis,
                    )
                    for e in a.memberships
                ],
                ["list", "colour", "listed on", "period", "authority", "basis"],
            )
        )
    if a.history:
        print("history (removed):")
        print(
            format_table(
                [(e.list_type, e.colour, e.listed_on, e.removed_on, e.removal_reason, e.authority) for e in a.history],
                ["list", "colour", "listed on", "removed on", "reason", "authority"],
            )
        )
    if args.history and changes:
        print(
            format_table(
                [(c["list_seq"], c["kind"], c["reason"], _when(c["at_unix_ms"]), c["entry_id"]) for c in changes],
                ["list_seq", "change", "reason", "at", "entry"],
            )
        )
    return 0


def cmd_evidence(args) -> int:
    """DIST-078/079: the one way a node sees a natural person's origin record; never stored."""
    import json

    from creditx.node.replica.evidence import fetch_evidence
    from creditx.node.replica.trust import origin_key_resolver
    from creditx.pki import files

    app = _app(args)
    try:
        env, verified = fetch_evidence(
            app.lists_channel(),
            app.replica,
            args.list_seq,
            origin_key_resolver(app.dir),
            timeout=app.config.limits.rpc_timeout_s,
        )
    finally:
        app.close()
    text = env.to_json()
    out = {"list_seq": args.list_seq, "signature_verified": verified, "written_to": str(args.out or "")}
    if args.out is not None:
        files.write_atomic(args.out, text.encode(), files.PRIVATE_FILE_MODE)
    if args.json:
        print_json(out if args.out is not None else {**out, "envelope": json.loads(text)})
    elif args.out is not None:
        print(
            f"change {args.list_seq}: origin checked (signature {'verified' if verified else 'signer unknown'}), "
            f"written to {args.out}"
        )
    else:
        print(text)
    return 0


def cmd_replica(args) -> int:
    import time

    def read(app):
        if args.reset:
            app.replica.discard_snapshot()
        st, meta = app.replica.state(), app.replica.meta()
        return {
            "applied_list_seq": st.applied,
            "head_list_seq": meta.get("head", 0),
            "lag": max(0, int(meta.get("head", 0) or 0) - st.applied),
            "last_update": _when(st.last_update_ms),
            "seconds_since_update": round(time.time() - st.last_update_ms / 1000) if st.last_update_ms else None,
            "entries": app.replica.counts(),
            "snapshot_in_progress": st.snapshot.__dict__ if st.snapshot else None,
            "rebootstrap_from": st.rebootstrap_from,  # NODE-048: reset at this list_seq, snapshot due
            "checkpoint": {k: v for k, v in st.checkpoint.items() if k != "note"},
            "checkpoint_error": meta.get("checkpoint_error", ""),
            "alarm": st.alarm,
            "last_error": meta.get("last_error", ""),
        }

    r = _read(args, read)
    if args.json:
        print_json(r)
        return 0
    print(
        f"applied list_seq {r['applied_list_seq']} of head {r['head_list_seq']} (lag {r['lag']}), "
        f"last update {r['last_update']}"
    )
    print(
        format_table(
            [(lt, c["LISTED"], c["REMOVED"]) for lt, c in sorted(r["entries"].items())],
            ["list type", "listed", "removed"],
        )
    )
    cp = r["checkpoint"]
    print(
        f"last checkpoint: {cp.get('result', 'none')} at size {cp.get('size', '-')}, {_when(cp.get('at_ms', 0))}"
        + (f" ({r['checkpoint_error']})" if r["checkpoint_error"] else "")
    )
    snap = r["snapshot_in_progress"]
    if snap:
        pct = 100.0 * snap["next_chunk"] / max(snap["total"], 1)
        print(
            f"bootstrapping from the snapshot at list_seq {snap['at_list_seq']}: chunk {snap['next_chunk']} "
            f"of {snap['total']} ({pct:.0f} %) applied; a restarted node resumes from there"
        )
    if r.get("rebootstrap_from"):
        print(
            f"re-bootstrapping: reset at list_seq {r['rebootstrap_from']}; checks answer stale from the state "
            "held until the snapshot completes, then the departments get the state difference [DIST-062]"
        )
    if r["alarm"]:
        print(f"ALARM: {r['alarm']}")
    if r["last_error"]:
        print(f"last error: {r['last_error']}")
    return 1 if r["alarm"] else 0


def _skipped_text(s: dict) -> str:
    return (
        f"a snapshot at {s['snapshot_list_seq']} jumped over {s['from_list_seq']}..{s['to_list_seq']}: "
        f"{s['differences']} state-difference records follow [DIST-062]"
    )


def cmd_feed(args) -> int:
    from creditx.node.replica.departments import DEPARTMENT_CURSORS, feed_next
    from creditx.node.replica.store import item_obj
    from creditx.standard.errors import InputError

    def read(app):
        depts = {d.name: d for d in app.config.departments}
        if args.department not in depts:
            raise InputError(
                f"--department {args.department!r} is not configured in node.json [DIST-061]",
                hint=f"known departments: {sorted(depts)}",
            )
        dept = depts[args.department]
        types = frozenset(args.list_type) or dept.list_types
        start = args.from_cursor if args.from_cursor is not None else app.replica.cursor(DEPARTMENT_CURSORS, dept.name)
        changes, cursor = feed_next(app.replica, start, types, max_changes=args.limit)
        if args.ack and cursor > start:
            app.replica.advance_cursor(DEPARTMENT_CURSORS, dept.name, cursor)
        return [item_obj(c) for c in changes], cursor

    changes, cursor = _read(args, read)
    if args.json:
        print_json({"department": args.department, "changes": changes, "cursor": cursor, "acknowledged": args.ack})
        return 0
    print(
        format_table(
            [
                (
                    c["list_seq"],
                    c["kind"] + (" (state difference)" if "state_difference" in c else ""),
                    c.get("reason", ""),
                    c.get("list_type", ""),
                    c["entry"]["subject_name"] if "entry" in c else _skipped_text(c["skipped"]),
                    c["entry"]["entry_id"] if "entry" in c else "",
                )
                for c in changes
            ],
            ["list_seq", "change", "reason", "list", "subject", "entry"],
        )
    )
    print(f"cursor {cursor}" + (" (acknowledged)" if args.ack else "; acknowledge with --ack"))
    return 0
