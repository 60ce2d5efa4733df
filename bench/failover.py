"""Failover benchmark: from the writer gateway's SIGKILL to the first record acknowledged by the standby.

    python bench/failover.py [--rounds 3] [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--json]

Two real ``creditx gateway run`` processes share one PostgreSQL database created for the run
(dropped after). Each round: the writer is killed with SIGKILL and the client pushes the next
record to the standby until it is acknowledged. Printed beside the bounds measured in the same
run: the standby's lease poll interval (the wait a takeover cannot beat) and one push
round trip to a live writer (handshake + one record), as ratios. The killed gateway is started
again as the new standby, so each round fails over in the other direction.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from ingest import REGION, push, signed_records  # type: ignore[import-not-found]  # noqa: E402

from creditx.demo.procs import run_creditx, start_gateway  # noqa: E402
from creditx.gateway.store.lease import WriterLease  # noqa: E402
from creditx.pki.files import read_key  # noqa: E402
from creditx.pki.testing import make_pki  # noqa: E402

POLL_S = WriterLease("", "").poll_s


def _acked(address: str, node, record) -> bool:
    import grpc

    try:
        return push(address, node, [record], 1) == record.source_seq
    except grpc.RpcError:
        return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    name = f"creditx_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(args.pg, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = args.pg.rsplit("/", 1)[0] + "/" + name
    children = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            pki = make_pki(root / "pki", regions=(REGION,))
            node = pki.nodes[REGION]
            records = signed_records(read_key(node.signing_key), 2 + 2 * args.rounds, dt.date.today())
            a, b = root / "a", root / "b"
            run_creditx("gateway", "init", "--dir", str(a), "--ca-dir", str(pki.gateway.dir), "--store", url)
            cfg = json.loads((a / "gateway.json").read_text())  # two gateways on one machine: own ports
            cfg.update(metrics_listen="127.0.0.1:0", health_listen="127.0.0.1:0", console_listen="127.0.0.1:0")
            (a / "gateway.json").write_text(json.dumps(cfg))
            shutil.copytree(a, b)
            writer, run_w = start_gateway(a)
            shutil.copy(a / "subject.key", b / "subject.key")
            standby, run_s = start_gateway(b)
            children += [writer, standby]
            seq = 0
            t = time.perf_counter()
            assert _acked(run_w["address"], node, records[seq])
            round_trip = time.perf_counter() - t
            seq += 1
            takeovers = []
            dirs = {run_w["address"]: a, run_s["address"]: b}
            for _ in range(args.rounds):
                writer.kill()
                t0 = time.perf_counter()
                while not _acked(run_s["address"], node, records[seq]):
                    if time.perf_counter() - t0 > 120:
                        raise SystemExit("the standby did not take over within 120 s")
                takeovers.append(time.perf_counter() - t0)
                seq += 1
                # the killed one comes back as the standby; roles swap
                back, run_back = start_gateway(dirs[run_w["address"]])
                children.append(back)
                dirs[run_back["address"]] = dirs[run_w["address"]]
                writer, run_w, standby, run_s = standby, run_s, back, run_back
    finally:
        for c in children:
            c.kill()
        with psycopg.connect(args.pg, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    med = statistics.median(takeovers)
    out = {
        "rounds": len(takeovers),
        "takeover_s": takeovers,
        "median_s": med,
        "lease_poll_s": POLL_S,
        "push_round_trip_s": round_trip,
        "ratio_to_poll": med / POLL_S,
        "ratio_to_round_trip": med / round_trip,
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{len(takeovers)} SIGKILLs of the writer; time to the first record acknowledged by the standby:")
    print("  " + ", ".join(f"{x:.2f} s" for x in takeovers) + f"  (median {med:.2f} s)")
    print(
        f"  = {out['ratio_to_poll']:.1f} × the lease poll interval ({POLL_S} s)"
        f", {out['ratio_to_round_trip']:.1f} × one push round trip to a live writer ({round_trip * 1000:.0f} ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
