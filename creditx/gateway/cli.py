"""``creditx gateway …``: init, run, status, records.

    creditx gateway init --dir DIR --ca-dir CADIR [--listen HOST:PORT] [--name NAME]
    creditx gateway run --dir DIR
    creditx gateway status --dir DIR [--json] [--address A --cert C --key K --ca CA]
    creditx gateway records --dir DIR [--region R] [--type T] [--natural-key K]
                            [--fingerprint HEX] [--limit N] [--page-token T] [--json]

status/records find the address in DIR/run.json and the operator credentials in
DIR/operator/ (or take them as flags).
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path

from creditx.cli.output import add_json_flag, format_table, print_json
from creditx.standard.errors import InputError, RemoteError, UnavailableError


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
    i.add_argument(
        "--store",
        default=None,
        metavar="FILE|postgresql://…",
        help="the gateway database: a SQLite file in DIR (default gateway.db) or a PostgreSQL URL",
    )
    i.set_defaults(func=cmd_init)

    r = sub.add_parser("run", help="serve Exchange and Operator over mutual TLS until SIGTERM/SIGINT")
    r.add_argument("--dir", required=True, type=Path)
    r.set_defaults(func=cmd_run)

    from creditx.gateway.audit.cli import register_audit

    register_audit(sub)
    from creditx.gateway.lists.import_lists import register as register_import_lists

    register_import_lists(sub)  # DIST: import-lists FILE [--dir DIR] [--json]
    from creditx.gateway.store.cli import register as register_store

    register_store(sub)  # backup, restore, migrate-store

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
        add_json_flag(s)
        if name == "records":
            s.add_argument("--region", default="")
            s.add_argument("--type", default="", choices=["", "XZXK", "XZCF", "LIST"])
            s.add_argument("--natural-key", default="")
            s.add_argument("--fingerprint", default="", help="hex")
            s.add_argument("--limit", type=int, default=50)
            s.add_argument("--page-token", default="")
        s.set_defaults(func=func)


def cmd_init(args) -> int:
    from creditx.gateway.init import init_gateway_dir

    creds = args.ca_dir / "gateway" if (args.ca_dir / "gateway" / "tls.crt").exists() else args.ca_dir
    path = init_gateway_dir(args.dir, creds, listen=args.listen, name=args.name, store=args.store)
    print(f"wrote {path}; start with: creditx gateway run --dir {args.dir}")
    return 0


def cmd_run(args) -> int:
    from creditx.gateway.server import Gateway

    gw = Gateway(args.dir)
    run = gw.start()
    print(f"gateway listening on {run['address']} (mutual TLS); metrics {run['metrics']}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    print("shutting down: finishing in-flight batches", flush=True)
    gw.stop()
    return 0


def _operator_channel(args):
    import grpc

    from creditx.pki.tls import channel_credentials

    d = args.dir
    address = args.address
    if address is None:
        if d is None or not (d / "run.json").exists():
            raise InputError("no gateway address", hint="give --address HOST:PORT or --dir of a running gateway")
        address = json.loads((d / "run.json").read_text())["address"]
    op = (d / "operator") if d else None
    cert = args.cert or (op / "operator.crt" if op else None)
    key = args.key or (op / "operator.key" if op else None)
    ca = args.ca or (d / "tls" / "ca.crt" if d else None)
    for flag, p in (("--cert", cert), ("--key", key), ("--ca", ca)):
        if p is None or not p.exists():
            raise InputError(
                f"operator credentials: {flag} {p} not found",
                hint="issue one with `creditx certs issue-operator --out DIR/operator` or pass flags",
            )
    ch = grpc.secure_channel(
        address, channel_credentials(ca, cert, key), options=[("grpc.ssl_target_name_override", "localhost")]
    )
    try:
        grpc.channel_ready_future(ch).result(timeout=10)
    except grpc.FutureTimeoutError:
        raise UnavailableError(f"gateway at {address} not reachable", hint="is `creditx gateway run` up?") from None
    return ch


def _call(fn, req):
    import grpc

    try:
        return fn(req, timeout=30)
    except grpc.RpcError as exc:
        raise RemoteError(f"{exc.code().name}: {exc.details()}", hint="check the operator certificate") from None


def cmd_status(args) -> int:
    from google.protobuf.json_format import MessageToDict

    from creditx.v1 import operator_pb2, operator_pb2_grpc

    with _operator_channel(args) as ch:
        resp = _call(operator_pb2_grpc.OperatorStub(ch).Status, operator_pb2.StatusRequest())
    if args.json:
        print_json(MessageToDict(resp, preserving_proto_field_name=True, always_print_fields_with_no_presence=True))
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
                "region",
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
    from google.protobuf.json_format import MessageToDict

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
        d = MessageToDict(resp, preserving_proto_field_name=True)
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
