"""``creditx gateway …``: init, run, status, records.

    creditx gateway init --dir DIR --ca-dir CADIR [--listen HOST:PORT] [--name NAME]
    creditx gateway run --dir DIR
    creditx gateway status --dir DIR [--json] [--address A --cert C --key K --ca CA]
    creditx gateway members list|add|grant|revoke --dir DIR …   (creditx.gateway.members_cli)
    creditx gateway records --dir DIR [--region R] [--type T] [--natural-key K]
                            [--fingerprint HEX] [--limit N] [--page-token T] [--json]

status/records find the address in DIR/run.json and the operator credentials in
DIR/operator/ (or take them as flags).
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from creditx.cli.output import add_json_flag, format_table, print_json
from creditx.ops.logs import add_log_flags
from creditx.standard.errors import InputError, RemoteError
from creditx.standard.record import RECORD_TYPES


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("gateway", help="run and inspect the provincial gateway")
    sub = p.add_subparsers(dest="gateway_command", required=True, metavar="SUBCOMMAND")

    i = sub.add_parser("init", help="create a gateway directory from the CA's gateway credentials")
    i.add_argument("--dir", required=True, type=Path)
    i.add_argument(
        "--ca-dir",
        required=True,
        type=Path,
        help="CA directory (its gateway/ folder is used) or an issue-gateway --out folder",
    )
    i.add_argument("--listen", default=None, help="HOST:PORT (default 127.0.0.1:0, any free port)")
    i.add_argument("--name", default=None, help="gateway id shown to nodes")
    i.add_argument("--metrics-listen", default=None, help="Prometheus HOST:PORT (default 127.0.0.1:9741; '' = off)")
    i.add_argument(
        "--health-listen", default=None, help="plaintext health-check HOST:PORT (default 127.0.0.1:9742; '' = off)"
    )
    i.add_argument(
        "--store",
        default=None,
        metavar="FILE|postgresql://…",
        help="the gateway database: a SQLite file in DIR (default gateway.db) or a PostgreSQL URL",
    )
    i.add_argument(
        "--console-listen", default=None, help="web status page HOST:PORT (default 127.0.0.1:9743; '' = off)"
    )
    i.set_defaults(func=cmd_init)

    r = sub.add_parser("run", help="serve Exchange and Operator over mutual TLS until SIGTERM/SIGINT")
    r.add_argument("--dir", required=True, type=Path)
    add_log_flags(r)
    r.set_defaults(func=cmd_run)

    from creditx.gateway.audit.cli import register_audit

    register_audit(sub)
    from creditx.gateway.lists.import_lists import register as register_import_lists

    register_import_lists(sub)  # DIST: import-lists FILE [--dir DIR] [--json]
    from creditx.gateway.store.cli import register as register_store

    register_store(sub)  # backup, restore, migrate-store
    from creditx.gateway.console.stats_cli import register as register_stats

    register_stats(sub)  # stats --dir DIR [--json]
    u = sub.add_parser("console-url", help="print the web status page's address with its access token")
    u.add_argument("--dir", required=True, type=Path)
    u.set_defaults(func=cmd_console_url)
    from creditx.gateway.members_cli import register as register_members

    register_members(sub)  # SEC-036: members list|add|grant|revoke
    from creditx.gateway.sanctions.cli import register as register_sanctions

    register_sanctions(sub)  # HALL-042: sanctions-report --dir DIR [--json]

    for name, func, helptext in (
        ("status", cmd_status, "every node's sync state"),
        ("records", cmd_records, "find stored records and decisions"),
    ):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("--dir", type=Path, help="gateway directory (run.json, operator/ credentials)")
        s.add_argument("--address")
        s.add_argument("--cert", type=Path, help="operator certificate")
        s.add_argument("--key", type=Path, help="operator key")
        s.add_argument("--ca", type=Path, help="CA certificate")
        s.add_argument(
            "--server-name",
            default=None,
            help="TLS name to check (default: tls_server_name in gateway.json, else from DIR/tls/tls.crt)",
        )
        add_json_flag(s)
        if name == "records":
            s.add_argument("--region", default="")
            s.add_argument("--type", default="", choices=["", *RECORD_TYPES])
            s.add_argument("--natural-key", default="")
            s.add_argument("--fingerprint", default="", help="hex")
            s.add_argument("--limit", type=int, default=50)
            s.add_argument("--page-token", default="")
        s.set_defaults(func=func)


def cmd_init(args) -> int:
    from creditx.gateway.init import init_gateway_dir

    creds = args.ca_dir / "gateway" if (args.ca_dir / "gateway" / "tls.crt").exists() else args.ca_dir
    ports = {
        k: v
        for k, v in (
            ("metrics_listen", args.metrics_listen),
            ("health_listen", args.health_listen),
            ("console_listen", args.console_listen),
        )
        if v is not None
    }
    path = init_gateway_dir(args.dir, creds, listen=args.listen, name=args.name, store=args.store, **ports)
    print(f"wrote {path}; start with: creditx gateway run --dir {args.dir}")
    return 0


def cmd_run(args) -> int:
    from creditx.gateway.config import load_config
    from creditx.gateway.exchange.pool import settle_heap
    from creditx.gateway.server import Gateway
    from creditx.ops.logs import configure_from

    cfg = load_config(args.dir)
    configure_from(args, cfg, args.dir)
    gw = Gateway(args.dir, cfg)
    run = gw.start()
    settle_heap()  # this process is the gateway's own: its start-up heap stays for its life
    print(
        f"gateway listening on {run['address']} (mutual TLS); metrics {run.get('metrics', 'off')}; "
        f"health {run.get('health', 'off')}; status page {run.get('console', 'off')} "
        f"(creditx gateway console-url --dir {args.dir})",
        flush=True,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    print("shutting down: finishing in-flight batches", flush=True)
    gw.stop()
    return 0


def cmd_console_url(args) -> int:
    from creditx.gateway.console.wiring import console_url

    print(console_url(args.dir))
    return 0


def _operator_channel(args):
    from creditx.gateway.operator.channel import open_channel, resolve_target

    return open_channel(
        resolve_target(
            args.dir, address=args.address, cert=args.cert, key=args.key, ca=args.ca, server_name=args.server_name
        )
    )


def _call(fn, req):
    import grpc

    try:
        return fn(req, timeout=30)
    except grpc.RpcError as exc:
        raise RemoteError(f"{exc.code().name}: {exc.details()}", hint="check the operator certificate") from None


def cmd_status(args) -> int:
    from creditx.cli.output import message_to_json
    from creditx.v1 import operator_pb2, operator_pb2_grpc

    with _operator_channel(args) as ch:
        resp = _call(operator_pb2_grpc.OperatorStub(ch).Status, operator_pb2.StatusRequest())
    if args.json:
        print_json(message_to_json(resp))
        return 0
    rows = [
        (
            n.region,
            n.name,
            "yes" if n.connected else "no",
            n.last_seen[:19],
            n.committed_seq,
            n.backlog,
            n.accepted,
            n.duplicate,
            n.superseded,
            n.rejected,
            ", ".join(f"{r.reason_code}×{r.count}" for r in n.recent_rejections[:3]),
            n.applied_list_seq,
            f"{n.list_lag_entries} / {n.list_lag_seconds:.1f}s",
            n.signing_cert_not_after[:10],
            n.auth_cert_not_after[:10],
        )
        for n in resp.nodes
    ]
    print(
        format_table(
            rows,
            [
                "member",  # SEC-092: the region for a city platform and the 370000 node
                "name",
                "conn",
                "last seen",
                "committed",
                "backlog",
                "acc",
                "dup",
                "sup",
                "rej",
                "top rejections",
                "lists",
                "list lag",
                "signing exp",
                "auth exp",
            ],
        )
    )
    print(
        f"audit log: {resp.audit_size} leaves, latest checkpoint at size {resp.checkpoint_size} "
        f"signed {resp.checkpoint_signed_at or 'never'}; list log head {resp.list_head}"
    )
    if resp.ingest_refusal:
        print(f"INGEST STOPPED: {resp.ingest_refusal}")
    elif resp.checkpoint_error:
        print(f"warning: checkpoint signing failing ({resp.checkpoint_error}); ingest stops after the grace period")
    return 0


def cmd_records(args) -> int:
    from creditx.cli.output import message_to_json
    from creditx.v1 import operator_pb2, operator_pb2_grpc

    try:
        fp = bytes.fromhex(args.fingerprint)
    except ValueError:
        raise InputError("--fingerprint must be hex (64 characters)", hint="copy it from an ack or --json") from None
    req = operator_pb2.FindRecordsRequest(
        region=args.region,
        type=args.type,
        natural_key=args.natural_key,
        fingerprint=fp,
        limit=args.limit,
        page_token=args.page_token,
    )
    with _operator_channel(args) as ch:
        resp = _call(operator_pb2_grpc.OperatorStub(ch).FindRecords, req)
    if args.json:
        d = message_to_json(resp)
        for r, m in zip(d.get("records", []), resp.records, strict=True):
            r["fingerprint"], r["payload"] = m.fingerprint.hex(), m.payload.decode("utf-8", "replace")
        print_json(d)
        return 0
    rows = [
        (
            r.id,
            r.node,
            r.source_seq,
            r.type,
            r.outcome,
            r.reason_code,
            r.version,
            "*" if r.current else "",
            r.fingerprint.hex()[:16],
            r.received_at,
        )
        for r in resp.records
    ]
    print(
        format_table(rows, ["id", "node", "seq", "type", "outcome", "reason", "ver", "cur", "fingerprint", "received"])
    )
    if resp.next_page_token:
        print(f"more: --page-token {resp.next_page_token}")
    return 0
