"""Node intake and upward sync: CPU µs per record of the node, for each record suite.

    python bench/node_sync.py [--records 20000] [--batch 500] [--suites envelope,batch] [--json]

A real gateway (child process, port 0, mutual TLS, creditx.pki.testing.make_pki; its verify
workers and the audit log as configured by default) and, in this process, the real node parts:
a NodeStore in a temporary directory, ``creditx.node.intake.ingest`` of synthetic XZCF rows
(creditx.standard.synth) with the node's signing key, then a SyncRunner pushing the outbox
until the gateway acknowledged every record — batch-signed (an OutboxLog, SIG-040) or as v1.0
envelopes (with "batch" intake signs nothing, NODE-051). Reported per suite, as CPU time of this process (user + sys, so the client's gRPC
threads count) per record: intake (validate, number, sign or not, store) and sync (load,
sign a checkpoint per batch or not, push, record the acks), wall time of each, the node.db
pages written per record during sync (the WAL's frames, with automatic checkpoints off
for the sync), the load average, and as the bound measured in the same run one ECDSA
P-256 signature of a record-sized payload. Then intake alone, the two suites alternating on
fresh stores (``--rounds``), the lowest of each: what not signing at intake saves (NODE-051).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from distribute import GatewayProcess  # noqa: E402

from creditx.pki.testing import make_pki  # noqa: E402

REGION = "370100"


def cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def rows(count: int, today: dt.date) -> list:
    from creditx.node.intake import IntakeRow
    from creditx.standard.synth import generate_rows

    out: list = []
    for g in generate_rows(REGION, "XZCF", count * 2, seed=11, today=today):
        if g.op == "I":
            out.append(IntakeRow(len(out) + 1, "XZCF", dict(g.fields), {"source_id": f"b{len(out) + 1}"}))
            if len(out) == count:
                break
    return out


def sign_bound(key, payload: bytes, seconds: float = 0.5) -> float:
    from creditx.standard.envelope import Signer, sign_envelope
    from creditx.standard.record import RECORD_PAYLOAD_TYPE

    signer, n, t0 = Signer(key), 0, time.process_time()
    while time.process_time() - t0 < seconds:
        sign_envelope(RECORD_PAYLOAD_TYPE, payload, signer)
        n += 1
    return (time.process_time() - t0) / n * 1e6


def wal_frames(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return max(0, (wal.stat().st_size - 32) // (4096 + 24)) if wal.exists() else 0


def run_suite(suite: str, pki, address: str, intake_rows: list, batch: int, root: Path, today: dt.date) -> dict:
    import grpc
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from creditx.node.intake import ingest
    from creditx.node.store import NodeStore
    from creditx.node.sync.client import ChannelSettings, SyncRunner
    from creditx.node.sync.outbox_log import OutboxLog
    from creditx.node.sync.state import State, SyncMachine, SyncPolicy
    from creditx.pki.files import read_key
    from creditx.standard.envelope import Signer

    node = pki.nodes[REGION]
    key = read_key(node.signing_key)
    signer = Signer(key)
    cert_der = x509.load_pem_x509_certificate((node.dir / "signing.crt").read_bytes()).public_bytes(
        serialization.Encoding.DER
    )
    warm = NodeStore(root / f"warm-{suite}.db")  # first-use costs (catalogue, imports) outside the figures
    ingest(warm, signer, intake_rows[:500], region=REGION, source="warm", today=today, clock=time.time)
    warm.close()
    db = root / f"node-{suite}.db"
    store = NodeStore(db)
    out: dict = {"suite": suite, "records": len(intake_rows)}
    c0, t0 = cpu(), time.perf_counter()
    report = ingest(
        store,
        signer,
        intake_rows,
        region=REGION,
        source="bench",
        today=today,
        clock=time.time,
        batch_size=batch,
        record_suite=suite,  # "batch": stored unsigned (NODE-051)
    )
    out["intake_cpu_us_per_record"] = (cpu() - c0) / len(intake_rows) * 1e6
    out["intake_wall_s"] = time.perf_counter() - t0
    assert report.accepted == len(intake_rows), report
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.conn.execute("PRAGMA wal_autocheckpoint = 0")  # every page sync writes stays in the WAL, counted
    creds = grpc.ssl_channel_credentials(node.ca.read_bytes(), node.auth_key.read_bytes(), node.auth_cert.read_bytes())
    runner = SyncRunner(
        store,
        ChannelSettings(address, creds, "localhost", rpc_timeout=60),
        SyncMachine(policy=SyncPolicy(max_batch_records=batch, ack_timeout=120), rng=random.Random(1)),
        node_name="bench",
        signing_certs=lambda: [cert_der],
        outbox_log=OutboxLog(store, REGION, key, signer.keyid) if suite == "batch" else None,
    )
    c0, t0 = cpu(), time.perf_counter()
    while store.first_unacked() <= store.last_seq():
        if runner.sync_once() is State.BACKOFF:
            raise SystemExit(f"sync backed off: {store.get_state().get('last_error')}")
    out["sync_cpu_us_per_record"] = (cpu() - c0) / len(intake_rows) * 1e6
    out["sync_wall_s"] = time.perf_counter() - t0
    out["sync_wal_pages_per_record"] = wal_frames(db) / len(intake_rows)
    out["accepted"] = store.counts()["accepted"]
    runner.close()
    store.close()
    return out


def intake_rounds(signer, intake_rows: list, root: Path, today: dt.date, rounds: int) -> dict[str, float]:
    """Intake alone, the suites alternating ``rounds`` times on fresh stores: the lowest CPU µs
    per record of each (the machine is shared, so the minimum is the cleanest figure)."""
    from creditx.node.intake import ingest
    from creditx.node.store import NodeStore

    best: dict[str, float] = {}
    for k in range(rounds):
        for suite in ("envelope", "batch"):
            store = NodeStore(root / f"round-{k}-{suite}.db")
            c0 = cpu()
            ingest(
                store, signer, intake_rows, region=REGION, source="r", today=today, clock=time.time, record_suite=suite
            )
            best[suite] = min(best.get(suite, float("inf")), (cpu() - c0) / len(intake_rows) * 1e6)
            store.close()
    return best


def table(res: dict, records: int, batch: int) -> str:
    load0, load1 = res["loadavg_1m"]
    lines = [
        f"{records:,} XZCF records, batches of {batch}; load {load0:.2f} → {load1:.2f}; {res['cpus']} CPUs; "
        f"bound: one ECDSA P-256 record signature {res['ecdsa_sign_us']:.0f} µs CPU"
    ]
    for r in res["results"]:
        lines.append(
            f"  {r['suite']:8s} intake {r['intake_cpu_us_per_record']:6.1f} µs/record CPU ({r['intake_wall_s']:.1f} s "
            f"wall); sync {r['sync_cpu_us_per_record']:6.1f} µs/record CPU ({r['sync_wall_s']:.1f} s wall), "
            f"{r['sync_wal_pages_per_record']:.2f} WAL pages/record; accepted {r['accepted']:,}"
        )
    r = res["intake_rounds"]
    if r:
        lines.append(
            f"  intake alone, suites alternating, best of {res['rounds']}: envelope {r['envelope']:.1f} µs/record, "
            f"batch {r['batch']:.1f} µs/record (saved {r['envelope'] - r['batch']:.1f})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--suites", default="envelope,batch")
    ap.add_argument("--rounds", type=int, default=3, help="intake-alone rounds per suite (0: none)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    today = dt.date.today()
    intake_rows = rows(args.records, today)
    load0 = os.getloadavg()[0]
    results = []
    with tempfile.TemporaryDirectory(prefix="creditx-bench-nodesync-") as tmp:
        root = Path(tmp)
        pki = make_pki(root / "pki")
        from creditx.pki.files import read_key
        from creditx.standard.record import Record, encode_record

        payload = encode_record(Record("XZCF", "I", REGION, "b1", 1, 1, intake_rows[0].fields))
        bound = sign_bound(read_key(pki.nodes[REGION].signing_key), payload)
        for suite in args.suites.split(","):
            with GatewayProcess(pki, root / f"gw-{suite}") as address:
                results.append(run_suite(suite, pki, address, intake_rows, args.batch, root, today))
        from creditx.standard.envelope import Signer

        signer = Signer(read_key(pki.nodes[REGION].signing_key))
        rounds = intake_rounds(signer, intake_rows[:2000], root, today, args.rounds) if args.rounds else {}
    res = {
        "results": results,
        "intake_rounds": rounds,
        "rounds": args.rounds,
        "ecdsa_sign_us": bound,
        "loadavg_1m": [load0, os.getloadavg()[0]],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(res, indent=2) if args.json else table(res, args.records, args.batch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
