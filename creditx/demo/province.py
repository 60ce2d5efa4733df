"""``creditx demo``: a whole province on loopback — the README's main job.

Makes a CA and certificates, starts a gateway and one node per city (all 16 Shandong cities by
default) as separate processes, feeds each node generated national-template files with a share
of realistically broken rows (plus re-reported duplicates and corrections), lets them sync, and
prints the province's status table and a per-city summary. Then it submits a new black-list
entry at one city and times its arrival at every node's replica, and likewise its removal by
credit repair (:mod:`creditx.demo.lists`). The numbers must add up per city:

    generated = accepted + duplicate + superseded + rejected      (rejected = at node + at gateway)

The demo drives the parts the way an operator and a city would: ``creditx certs`` through the
certs library, ``creditx gateway``/``creditx node`` as child processes, the node's local API
over its Unix socket, the gateway's operator API with an operator certificate. It never
imports ``node`` (ADR 0002: gateway and node meet only on the wire).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc

from creditx.cli.output import add_json_flag, format_table, print_json
from creditx.demo import lists as demo_lists
from creditx.demo.procs import Child, run_creditx, start_gateway, start_node, stop_all
from creditx.demo.workdir import finish
from creditx.pki.ca import init_ca
from creditx.pki.issue import issue_gateway, issue_node, issue_operator
from creditx.standard.divisions import CITIES
from creditx.standard.errors import InputError
from creditx.standard.synth import generate_rows, write_rows

# How a city's records split over the record types, and what is re-reported.
TYPE_SHARES = (("XZCF", 0.45), ("XZXK", 0.40), ("LIST", 0.15))
DUPLICATE_SHARE = 0.03  # the same penalty reported again under another source id
CORRECTION_SHARE = 0.03  # a later version of a penalty (op U): supersedes the first


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo", help="run a whole province (gateway + city nodes) on loopback", description=__doc__.splitlines()[0]
    )
    p.add_argument("--cities", type=int, default=16, help="how many cities, 1-16 (default 16)")
    p.add_argument("--records", type=int, default=600, help="records generated per city (default 600)")
    p.add_argument("--invalid-share", type=float, default=0.05, help="share of broken rows (default 0.05)")
    p.add_argument("--seed", type=int, default=2026, help="seed for the generated data")
    p.add_argument("--dir", type=Path, help="working directory (default: a new temporary one)")
    p.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds")
    p.add_argument("--keep-running", action="store_true", help="stay up for exploring until Ctrl-C")
    p.add_argument(
        "--console-listen",
        default="127.0.0.1:0",
        metavar="HOST:PORT",
        help="the gateway's status page (default: any free port, printed; '' = off)",
    )
    keep = p.add_mutually_exclusive_group()
    keep.add_argument("--keep", action="store_true", help="keep the working directory at the end (its size is shown)")
    keep.add_argument("--clean", action="store_true", help="remove the working directory at the end")
    p.add_argument(
        "--store",
        default=None,
        metavar="postgresql://…",
        help="run the gateway on this PostgreSQL database instead of a SQLite file",
    )
    add_json_flag(p)
    p.set_defaults(func=cmd_demo)


@dataclasses.dataclass
class City:
    region: str
    name: str
    dir: Path
    files: list[Path] = dataclasses.field(default_factory=list)
    generated: int = 0
    quarantined: int = 0
    already_submitted: int = 0  # re-imported rows the node recognised: nothing added
    node_rejects: dict[str, int] = dataclasses.field(default_factory=dict)


def cmd_demo(args) -> int:
    if not 1 <= args.cities <= len(CITIES):
        raise InputError(f"--cities {args.cities} is out of range", hint=f"give 1 to {len(CITIES)}")
    if args.records < 10:
        raise InputError("--records must be at least 10", hint="e.g. --records 600")
    base = args.dir or Path(tempfile.mkdtemp(prefix="creditx-demo-"))
    if args.dir and base.exists() and any(base.iterdir()):
        raise InputError(f"{base} is not empty", hint="give a new or empty --dir (the demo makes a fresh province)")
    base.mkdir(parents=True, exist_ok=True)
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, flush=True))
    children: list[Child] = []
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    result: dict = {}
    try:
        result = run(args, base, say, children, stop)
        if not args.json:
            print_report(result)
        if args.keep_running:
            say(
                f"\nThe province keeps running in {base}. Try:\n"
                f"  creditx gateway status --dir {base / 'gateway'}\n"
                f"  creditx node status --dir {base / 'nodes' / '370100'}\n"
                f"  creditx node rejects --dir {base / 'nodes' / '370100'}\n"
                f"  creditx gateway stats --dir {base / 'gateway'}\n"
                f"  creditx gateway console-url --dir {base / 'gateway'}   (the status page)\n"
                "Ctrl-C stops it."
            )
            stop.wait()
    finally:
        stop_all(children)
        interactive = not args.json and sys.stdin.isatty() and sys.stderr.isatty()
        # A failed run keeps its files by default: the processes' logs say what went wrong.
        failed = not result.get("consistent", False)
        result["workdir"] = finish(
            base, keep=args.keep, clean=args.clean, named=args.dir is not None or failed, interactive=interactive
        )
    if args.json:
        print_json(result)
    return 0 if result["consistent"] else 1


def run(args, base: Path, say, children: list[Child], stop: threading.Event) -> dict:
    today = dt.date.today()
    now = dt.datetime.now(dt.UTC)
    regions = list(CITIES)[: args.cities]
    t0 = time.monotonic()

    say(f"creditx demo: {len(regions)} cities × {args.records} records in {base}")
    ca = init_ca(base / "ca", at=now, name="山东省公共信用信息交换根CA (demo)")
    gw_creds = issue_gateway(ca, at=now)
    gw_dir = base / "gateway"
    run_creditx(
        "gateway",
        "init",
        "--dir",
        str(gw_dir),
        "--ca-dir",
        str(gw_creds.dir),
        "--name",
        "sd-gateway",
        "--metrics-listen",
        "127.0.0.1:0",
        "--health-listen",
        "127.0.0.1:0",
        *(("--store", args.store) if args.store else ()),
        "--console-listen",
        args.console_listen,
    )
    issue_operator(ca, name="operator", at=now, out=gw_dir / "operator")
    gateway, run_info = start_gateway(gw_dir)
    children.append(gateway)
    say(f"gateway listening on {run_info['address']} (metrics {run_info.get('metrics', '-')})")
    if run_info.get("console"):
        token = (gw_dir / "console.token").read_text("utf-8").strip()
        say(f"status page: {run_info['console']}?token={token} (accept the demo CA's certificate in the browser)")

    cities = [City(r, CITIES[r], base / "nodes" / r) for r in regions]
    for i, city in enumerate(cities):
        creds = issue_node(ca, region=city.region, name=f"node-{city.region}", at=now)
        run_creditx(
            "node",
            "init",
            "--dir",
            str(city.dir),
            "--region",
            city.region,
            "--metrics-listen",
            "127.0.0.1:0",
            "--health-listen",
            "127.0.0.1:0",
            "--gateway",
            run_info["address"].replace("127.0.0.1", "localhost"),
            "--certs",
            str(creds.dir),
            "--name",
            f"node-{city.region}",
        )
        make_city_files(city, args.records, args.seed + i, args.invalid_share, today)
    say(f"certificates issued, {sum(c.generated for c in cities)} records generated")

    with ThreadPoolExecutor(max_workers=4) as pool:
        children.extend(pool.map(start_node, [c.dir for c in cities]))
    say(f"{len(cities)} nodes running; importing national-template files …")
    t_sync = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(import_city, cities))

    drained = wait_drained(cities, deadline=time.monotonic() + args.timeout, stop=stop, say=say)
    t_done = time.monotonic()
    head = int(gateway_status(gw_dir).get("list_head", 0))
    say(f"list log at list_seq {head}; waiting for every node's replica to catch up …")
    node_dirs = [c.dir for c in cities]
    caught_up = demo_lists.time_until(
        node_dirs, lambda d: demo_lists.applied_list_seq(d) >= head, t0=t_done, deadline=time.monotonic() + args.timeout
    )
    say("a new 失信被执行人 entry is submitted at 济南; timing its arrival at every node …")
    propagation = demo_lists.propagate(
        node_dirs, cities[0].dir, today=today, seed=args.seed, timeout=min(args.timeout, 120.0)
    )
    cities[0].generated += 2  # the listing and its credit-repair removal, submitted at 济南

    # The province as operators see it at the end: every node reports its replica position.
    final = wait_lists_reported(gw_dir, deadline=time.monotonic() + 30)
    result = summarise(cities, final, drained, base=base, sync_s=t_done - t_sync, total_s=time.monotonic() - t0)
    result["replicas_caught_up_s"] = caught_up
    result["list_propagation"] = propagation
    result["consistent"] = result["consistent"] and all(
        propagation[k]["reached"] == len(cities) for k in ("added", "removed_by_credit_repair")
    )
    return result


def gateway_status(gw_dir: Path) -> dict:
    """`creditx gateway status --json`: the operator's view, through the operator API."""
    return json.loads(run_creditx("gateway", "status", "--dir", str(gw_dir), "--json").stdout)


def wait_lists_reported(gw_dir: Path, *, deadline: float) -> dict:
    """The gateway's status once every node has reported its replica at the list head (nodes
    report within about a second of applying), or the last status seen at the deadline."""
    while True:
        status = gateway_status(gw_dir)
        head = int(status.get("list_head", 0))
        if all(int(n.get("applied_list_seq", 0)) >= head for n in status.get("nodes", [])):
            return status
        if time.monotonic() > deadline:
            return status
        time.sleep(0.2)  # paces re-asking the operator API; the condition above decides


def make_city_files(city: City, records: int, seed: int, invalid_share: float, today: dt.date) -> None:
    """Write the city's national-template files: one per record type, and a re-report file."""
    city.dir.joinpath("inbox").mkdir(parents=True, exist_ok=True)
    penalties = []
    for rtype, share in TYPE_SHARES:
        count = max(1, round(records * share))
        rows = list(generate_rows(city.region, rtype, count, seed=seed, invalid_share=invalid_share, today=today))
        path = city.dir / "inbox" / f"{rtype}.csv"
        with path.open("wb") as out:
            write_rows(out, rows, record_type=rtype, fmt="csv", encoding="gb18030" if rtype == "XZCF" else "utf-8")
        city.files.append(path)
        city.generated += len(rows)
        if rtype == "XZCF":
            penalties = [r for r in rows if r.defect is None]
    n_dup = max(1, round(len(penalties) * DUPLICATE_SHARE))
    n_cor = max(1, round(len(penalties) * CORRECTION_SHARE))
    again = [dataclasses.replace(r, source_id=r.source_id + "-R") for r in penalties[:n_dup]]
    corrected = [
        dataclasses.replace(r, op="U", version=2, fields={**r.fields, "BZ": "更正：原决定书笔误已改正"})
        for r in penalties[n_dup : n_dup + n_cor]
    ]
    path = city.dir / "inbox" / "XZCF-resubmitted.csv"
    with path.open("wb") as out:
        write_rows(out, again + corrected, record_type="XZCF", fmt="csv")
    city.files.append(path)
    city.generated += len(again) + len(corrected)


def import_city(city: City) -> None:
    for path in city.files:
        report = json.loads(run_creditx("node", "import", str(path), "--dir", str(city.dir), "--json").stdout)
        city.quarantined += int(report["quarantined"])
        city.already_submitted += int(report.get("already_submitted", 0))
        first_problem: dict[int, str] = {}  # a quarantined row counts once, under its first problem
        for p in report.get("problems", []):
            first_problem.setdefault(p["row"], p.get("reason") or p.get("rule") or "?")
        for reason in first_problem.values():
            city.node_rejects[reason] = city.node_rejects.get(reason, 0) + 1


def node_status(node_dir: Path) -> dict:
    """The node's own view, over its local API (Unix socket)."""
    from google.protobuf.json_format import MessageToDict

    from creditx.v1 import node_api_pb2, node_api_pb2_grpc

    with grpc.insecure_channel(f"unix://{node_dir / 'node.sock'}") as ch:
        resp = node_api_pb2_grpc.NodeApiStub(ch).Status(node_api_pb2.NodeStatusRequest(), timeout=5)
    return MessageToDict(resp, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)


def _pending(status: dict) -> int:
    counts = {k: int(v) for k, v in status.get("counts", {}).items()}
    return counts.get("pending", 0) + counts.get("sent", 0)


def wait_drained(cities: list[City], *, deadline: float, stop: threading.Event, say) -> bool:
    """Wait until every node's outbox is fully acknowledged (or the deadline / Ctrl-C)."""
    last_report = 0.0
    while not stop.is_set():
        backlog = {c.region: _pending(node_status(c.dir)) for c in cities}
        left = sum(backlog.values())
        if left == 0:
            return True
        if time.monotonic() - last_report > 2:
            say(f"  syncing … {left} records still to acknowledge at {sum(1 for v in backlog.values() if v)} nodes")
            last_report = time.monotonic()
        if time.monotonic() > deadline:
            return False
        stop.wait(0.25)
    return False


def summarise(
    cities: list[City], gateway_status: dict, drained: bool, *, base: Path, sync_s: float, total_s: float
) -> dict:
    by_region = {n["region"]: n for n in gateway_status.get("nodes", [])}
    per_city: list[dict[str, Any]] = []
    for c in cities:
        g = by_region.get(c.region, {})
        acc, dup, sup, rej = (int(g.get(k, 0)) for k in ("accepted", "duplicate", "superseded", "rejected"))
        reasons = dict(c.node_rejects)
        for r in g.get("recent_rejections", []):
            reasons[r["reason_code"]] = reasons.get(r["reason_code"], 0) + int(r["count"])
        rejected = c.quarantined + rej
        per_city.append(
            {
                "region": c.region,
                "city": c.name,
                "generated": c.generated,
                "accepted": acc,
                "duplicate": dup,
                "superseded": sup,
                "rejected": rejected,
                "rejected_at_node": c.quarantined,
                "rejected_at_gateway": rej,
                "already_submitted_at_node": c.already_submitted,
                "rejected_by_reason": dict(sorted(reasons.items(), key=lambda kv: -kv[1])),
                "adds_up": c.generated == acc + dup + sup + rejected + c.already_submitted,
            }
        )
    totals = {
        k: sum(p[k] for p in per_city)
        for k in (
            "generated",
            "accepted",
            "duplicate",
            "superseded",
            "rejected",
            "rejected_at_node",
            "rejected_at_gateway",
        )
    }
    by_reason: dict[str, int] = {}
    for p in per_city:
        for k, v in p["rejected_by_reason"].items():
            by_reason[k] = by_reason.get(k, 0) + v
    return {
        "dir": str(base),
        "drained": drained,
        "consistent": drained and all(p["adds_up"] for p in per_city),
        "seconds": {"sync": round(sync_s, 2), "total": round(total_s, 2)},
        "records_per_second": round(totals["generated"] / sync_s, 1) if sync_s else None,
        "totals": totals,
        "rejected_by_reason": dict(sorted(by_reason.items(), key=lambda kv: -kv[1])),
        "cities": per_city,
        "gateway": gateway_status,
    }


def _ms(seconds: float | None) -> str:
    return "not reached" if seconds is None else f"{seconds * 1000:.0f} ms"


def print_report(result: dict) -> None:
    nodes = result["gateway"].get("nodes", [])
    print("\nProvince status (creditx gateway status):")
    print(
        format_table(
            [
                (
                    n["region"],
                    n["name"],
                    "yes" if n.get("connected") else "no",
                    n.get("committed_seq", 0),
                    n.get("backlog", 0),
                    n.get("accepted", 0),
                    n.get("duplicate", 0),
                    n.get("superseded", 0),
                    n.get("rejected", 0),
                    n.get("applied_list_seq", 0),
                    n.get("list_lag_entries", 0),
                )
                for n in nodes
            ],
            [
                "region",
                "node",
                "connected",
                "committed",
                "backlog",
                "accepted",
                "duplicate",
                "superseded",
                "rejected",
                "replica at",
                "list lag",
            ],
        )
    )
    print("\nPer city (generated = accepted + duplicate + superseded + rejected):")
    print(
        format_table(
            [
                (
                    p["region"],
                    p["city"],
                    p["generated"],
                    p["accepted"],
                    p["duplicate"],
                    p["superseded"],
                    p["rejected"],
                    p["rejected_at_node"],
                    p["rejected_at_gateway"],
                    "yes" if p["adds_up"] else "NO",
                )
                for p in result["cities"]
            ],
            [
                "region",
                "city",
                "generated",
                "accepted",
                "duplicate",
                "superseded",
                "rejected",
                "at node",
                "at gateway",
                "adds up",
            ],
        )
    )
    t = result["totals"]
    print(
        f"\nTotal: {t['generated']} generated → {t['accepted']} accepted, {t['duplicate']} duplicate, "
        f"{t['superseded']} superseded, {t['rejected']} rejected"
    )
    if result["rejected_by_reason"]:
        print("Rejected by reason: " + ", ".join(f"{k} {v}" for k, v in result["rejected_by_reason"].items()))
    s = result["seconds"]
    print(
        f"Synced in {s['sync']} s ({result['records_per_second']} records/s), {s['total']} s in all; "
        f"data in {result['dir']}"
    )
    lp = result.get("list_propagation")
    if lp:
        subj = lp["subject"]
        print(
            f"\nList redistribution: {subj['name']} ({subj['uscc']}) put on {subj['list_type']} "
            f"({subj['colour']} list) at {subj['origin']}:"
        )
        add, rem = lp["added"], lp["removed_by_credit_repair"]
        print(
            format_table(
                [
                    (region, _ms(add["per_node_s"].get(region)), _ms(rem["per_node_s"].get(region)))
                    for region in add["per_node_s"]
                ],
                ["node", "listed after", "removed (信用修复) after"],
            )
        )
        print(
            f"listed at {add['reached']}/{add['of']} nodes (median {_ms(add['median_s'])}, "
            f"slowest {_ms(add['max_s'])}); removal at {rem['reached']}/{rem['of']} "
            f"(median {_ms(rem['median_s'])}, slowest {_ms(rem['max_s'])})"
        )
    if not result["drained"]:
        print("NOT DRAINED: some nodes still had records to send at the deadline")
    elif not result["consistent"]:
        print("INCONSISTENT: the numbers do not add up, or a list change did not reach every node")
