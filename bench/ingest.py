"""Gateway ingest benchmark: records/s end to end against the bounds measured in the same run.

    python bench/ingest.py [--records 20000] [--batch 500] [--workers 2]

A node client signs generated records (standards.synth) and pushes them over mutual TLS to a
real gateway on port 0 (run in a child process so its peak memory is its own), with and
without the audit-leaf append. Alongside, the raw single-core ECDSA P-256 verify rate and the
raw SQLite ``executemany`` insert rate (500 rows per transaction, WAL, synchronous=NORMAL) are
measured in the same run, and the end-to-end figure is printed as a ratio to each.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sqlite3
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from certs.testing import make_pki  # noqa: E402
from gateway.config import GatewayConfig  # noqa: E402
from gateway.init import init_gateway_dir  # noqa: E402
from tests.gateway.push_client import PushClient, payloads  # noqa: E402


def raw_verify_rate(n: int) -> float:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    data = b"x" * 600
    sig = key.sign(data, ec.ECDSA(hashes.SHA256()))
    pub = key.public_key()
    t = time.perf_counter()
    for _ in range(n):
        pub.verify(sig, data, ec.ECDSA(hashes.SHA256()))
    return n / (time.perf_counter() - t)


def raw_insert_rate(path: Path, n: int) -> float:
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA synchronous=NORMAL")
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, node TEXT, seq INT, fp BLOB, payload BLOB, "
              "UNIQUE(node, seq))")
    rows = [("370100", i, os.urandom(32), b"p" * 600) for i in range(n)]
    t = time.perf_counter()
    for i in range(0, n, 500):
        c.execute("BEGIN")
        c.executemany("INSERT INTO t (node, seq, fp, payload) VALUES (?,?,?,?)", rows[i:i + 500])
        c.execute("COMMIT")
    rate = n / (time.perf_counter() - t)
    c.close()
    return rate


def serve(directory: str, audit: bool, workers: int, ready, stop, out) -> None:
    from gateway.server import Gateway

    g = Gateway(Path(directory), audit=audit, workers=workers)
    ready.put(g.start())
    stop.wait()
    g.stop(grace=5)
    out.put(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux


def end_to_end(pki, root: Path, records, batch: int, workers: int, audit: bool) -> tuple[float, int]:
    d = root / f"gw-{'audit' if audit else 'noaudit'}"
    init_gateway_dir(d, pki.gateway.dir, cfg=replace(GatewayConfig(), max_batch_records=batch))
    ctx = mp.get_context("spawn")
    ready, out, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=serve, args=(str(d), audit, workers, ready, stop, out))
    proc.start()
    run = ready.get(timeout=60)
    c = PushClient(run["address"], pki.nodes["370100"])
    c.handshake()
    batches = [records[i:i + batch] for i in range(0, len(records), batch)]
    t = time.perf_counter()
    resp = c.push(batches)
    elapsed = time.perf_counter() - t
    c.close()
    assert resp[-1].committed_seq == len(records), resp[-1].committed_seq
    stop.set()
    rss = out.get(timeout=60)
    proc.join(timeout=60)
    return len(records) / elapsed, rss


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pki = make_pki(root, regions=("370100",))
        c = PushClient.__new__(PushClient)
        from certs.files import read_key

        c.signing_key = read_key(pki.nodes["370100"].signing_key)
        t = time.perf_counter()
        records = c.batch(payloads("370100", args.records))
        sign_rate = args.records / (time.perf_counter() - t)
        verify = raw_verify_rate(min(args.records, 20000))
        insert = raw_insert_rate(root / "raw.db", max(args.records, 50000))
        e2e, rss = end_to_end(pki, root, records, args.batch, args.workers, audit=True)
        e2e_na, rss_na = end_to_end(pki, root, records, args.batch, args.workers, audit=False)
    rows = [
        ("raw ECDSA P-256 verify, 1 core", verify, 1.0, ""),
        ("raw SQLite executemany (500/txn)", insert, insert / verify, ""),
        ("client sign + encode (bench side)", sign_rate, sign_rate / verify, ""),
        (f"end to end, audit on, {args.workers} workers", e2e, e2e / verify, f"{rss / 1024:.0f} MiB"),
        (f"end to end, audit off, {args.workers} workers", e2e_na, e2e_na / verify, f"{rss_na / 1024:.0f} MiB"),
    ]
    print(f"{args.records} records, batches of {args.batch}, mutual TLS on loopback")
    print(f"{'figure':44} {'records/s':>10} {'x verify':>9} {'gw peak RSS':>12}")
    for name, rate, ratio, mem in rows:
        print(f"{name:44} {rate:10.0f} {ratio:9.2f} {mem:>12}")
    print(f"end to end / raw insert: {e2e / insert:.2f}; audit cost: {100 * (1 - e2e / e2e_na):.0f}%")
    print(json.dumps({"verify": verify, "insert": insert, "e2e_audit": e2e, "e2e_no_audit": e2e_na,
                      "rss_kib_audit": rss, "rss_kib_no_audit": rss_na}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
