"""Gateway ingest benchmark: records/s end to end against the bounds measured in the same run.

    python bench/ingest.py [--records 20000] [--batch 500] [--workers 2] [--json]

A minimal node client (below; the benchmark imports nothing from tests/) signs generated records
(creditx.standard.synth) and pushes them over mutual TLS to a real gateway on port 0, run in a child
process so that its CPU time and peak memory are its own, once with and once without the
audit-leaf append. In the same run it measures the bounds (ADR 0014; the machines are noisy, so bounds are never taken from a table):

* raw single-core ECDSA P-256 verify rate, and raw SQLite ``executemany`` insert rate (500 rows
  per transaction, WAL, synchronous=NORMAL, a UNIQUE key);
* every ingest stage alone, in µs per record, on the same records: the worker's verify,
  decode, validate, fingerprint + natural key and the whole check; the main process's triage,
  dedup, audit leaves and commit;
* the gateway main process's CPU per record during the push (getrusage; gRPC included).

End to end is printed as a ratio to the verify bound on one core and on two (the target is
end to end ≥ 0.6 × the 1-core verify rate with two verify workers: the signature check is the
bound, ADR 0014).
"""

from __future__ import annotations

import argparse
import datetime as dt
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

from creditx.gateway.config import GatewayConfig  # noqa: E402
from creditx.gateway.init import init_gateway_dir  # noqa: E402
from creditx.pki.testing import make_pki  # noqa: E402
from creditx.standard.synth.members import seed_registry  # noqa: E402

REGION = "370100"


# --- a minimal node: sign, handshake, push ----------------------------------------------------


def signed_records(signing_key, count: int, today: dt.date) -> list:
    """``count`` XZCF records from the synthetic generator, signed, as wire ``SignedRecord``s."""
    from creditx.standard.envelope import Signer, sign_envelope
    from creditx.standard.record import RECORD_PAYLOAD_TYPE, Record, encode_record
    from creditx.standard.synth import generate_rows
    from creditx.v1 import envelope_pb2
    from creditx.v1 import exchange_pb2 as pb

    signer = Signer(signing_key)
    out = []
    for i, r in enumerate(generate_rows(REGION, "XZCF", count, seed=1, today=today)):
        payload = encode_record(Record("XZCF", r.op, REGION, r.source_id, r.version, i + 1, r.fields))
        env = sign_envelope(RECORD_PAYLOAD_TYPE, payload, signer)
        out.append(
            pb.SignedRecord(
                source_seq=i + 1,
                envelope=envelope_pb2.Envelope(
                    payload_type=env.payload_type,
                    payload=env.payload,
                    signatures=[
                        envelope_pb2.Signature(keyid=s.keyid, suite=s.suite, sig=s.sig) for s in env.signatures
                    ],
                ),
            )
        )
    return out


def push(address: str, node, records: list, batch: int) -> int:
    """Handshake, push every batch on one stream, return the last committed_seq acked."""
    from exchange_client import exchange

    from creditx.v1 import exchange_pb2 as pb

    with exchange(address, node, "bench/ingest.py") as stub:
        reqs = (
            pb.PushRequest(batch_id=i // batch + 1, records=records[i : i + batch])
            for i in range(0, len(records), batch)
        )
        last = 0
        for resp in stub.Push(reqs, timeout=600):
            last = resp.committed_seq
        return last


# --- bounds ------------------------------------------------------------------------------------


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
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, node TEXT, seq INT, fp BLOB, payload BLOB, UNIQUE(node, seq))")
    rows = [(REGION, i, os.urandom(32), b"p" * 600) for i in range(n)]
    t = time.perf_counter()
    for i in range(0, n, 500):
        c.execute("BEGIN")
        c.executemany("INSERT INTO t (node, seq, fp, payload) VALUES (?,?,?,?)", rows[i : i + 500])
        c.execute("COMMIT")
    rate = n / (time.perf_counter() - t)
    c.close()
    return rate


def _per_record(fn, items, rounds: int = 3) -> float:
    """Best of ``rounds`` of ``fn`` over all ``items``, in µs per item."""
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        for x in items:
            fn(x)
        best = min(best, time.perf_counter() - t)
    return best / len(items) * 1e6


def stage_costs(records: list, signing_key, root: Path, today: dt.date, batch: int) -> dict[str, float]:
    """µs/record of each ingest stage alone, single-threaded, on (a sample of) the same records."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from creditx.gateway.audit.leaves import leaves_for
    from creditx.gateway.ingest.check import CheckJob, KeyGrant, _public_key, check_job
    from creditx.gateway.ingest.dedup import decide
    from creditx.gateway.ingest.sequence import triage
    from creditx.gateway.ingest.values import IncomingRecord, SignatureValue
    from creditx.gateway.store.sqlite import SqliteStore
    from creditx.standard.envelope import Envelope, Signature, verify_envelope
    from creditx.standard.fingerprint import fingerprint
    from creditx.standard.natural_key import natural_key
    from creditx.standard.record import RECORD_PAYLOAD_TYPE, decode_record
    from creditx.standard.validation import validate_fields

    sample = records[: min(len(records), 4000)]
    inc = [
        IncomingRecord(
            r.source_seq,
            r.envelope.payload_type,
            r.envelope.payload,
            tuple(SignatureValue(s.keyid, s.suite, s.sig) for s in r.envelope.signatures),
        )
        for r in sample
    ]
    keyid = inc[0].signatures[0].keyid
    spki = signing_key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    pub = _public_key(keyid, spki)
    subject_key = b"k" * 32
    envs = [
        Envelope(r.payload_type, r.payload, tuple(Signature(s.keyid, s.suite, s.sig) for s in r.signatures))
        for r in inc
    ]
    decoded = [decode_record(r.payload) for r in inc]
    out = {
        "worker: verify_envelope": _per_record(
            lambda e: verify_envelope(e, lambda k: pub, expected_type=RECORD_PAYLOAD_TYPE), envs
        ),
        "worker: decode_record": _per_record(lambda r: decode_record(r.payload), inc),
        "worker: validate_fields": _per_record(lambda d: validate_fields(d.type, d.fields, today=today), decoded),
        "worker: fingerprint + natural key": _per_record(
            lambda d: (fingerprint(d), natural_key(d, subject_key)), decoded
        ),
    }
    member = seed_registry("2000-01-01T00:00:00.000Z", "2999-01-01T00:00:00.000Z").member(REGION)  # SEC-036
    job = CheckJob(REGION, {keyid: KeyGrant(spki)}, tuple(inc), today, subject_key, member)
    out["worker: whole check (all of the above)"] = _per_record(lambda j: check_job(j), [job], 1) / len(inc)
    checked = check_job(job)
    batches = [range(i, min(i + batch, len(inc))) for i in range(0, len(inc), batch)]
    out["main: sequence triage"] = (
        _per_record(lambda b: triage([inc[i] for i in b], b[0], lambda s: None), batches, 1) / batch
    )
    out["main: dedup decide"] = (
        _per_record(lambda b: decide([checked[i] for i in b], lambda fp: False, lambda k: None), batches, 1) / batch
    )
    decisions = [d for b in batches for d in decide([checked[i] for i in b], lambda fp: False, lambda k: None)]
    now = dt.datetime.now(dt.UTC)
    out["main: audit leaves"] = (
        _per_record(lambda b: leaves_for([decisions[i] for i in b], REGION, now), batches, 1) / batch
    )
    store = SqliteStore(root / "stage.db")
    t = time.perf_counter()
    for b in batches:
        ds = [decisions[i] for i in b]
        fps = store.stored_fingerprints([d.fingerprint for d in ds])
        store.current_versions([d.natural_key for d in ds])
        assert not fps
        store.commit_batch(
            REGION,
            [(decisions[i], inc[i]) for i in b],
            leaves_for(ds, REGION, now),
            b[-1] + 1,
            "2026-01-01T00:00:00.000Z",
        )
    out["main: dedup look-ups + commit (SQLite)"] = (time.perf_counter() - t) / len(inc) * 1e6
    store.close()
    return out


# --- end to end ------------------------------------------------------------------------------------


def serve(directory: str, audit: bool, workers: int, ready, stop, out) -> None:
    from creditx.gateway.server import Gateway

    g = Gateway(Path(directory), audit=audit, workers=workers)
    run = g.start()
    before = resource.getrusage(resource.RUSAGE_SELF)
    ready.put(run)
    stop.wait()
    after = resource.getrusage(resource.RUSAGE_SELF)
    g.stop(grace=5)
    out.put(
        {
            "cpu_s": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
            "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        }
    )  # KiB on Linux


def end_to_end(pki, root: Path, records, batch: int, workers: int, audit: bool) -> dict:
    d = root / f"gw-{'audit' if audit else 'noaudit'}"
    init_gateway_dir(
        d,
        pki.gateway.dir,
        cfg=replace(
            GatewayConfig(),
            max_batch_records=batch,
            metrics_listen="127.0.0.1:0",
            health_listen="127.0.0.1:0",
            console_listen="127.0.0.1:0",
        ),
    )
    ctx = mp.get_context("spawn")
    ready, out, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=serve, args=(str(d), audit, workers, ready, stop, out))
    proc.start()
    try:
        run = ready.get(timeout=120)
        t = time.perf_counter()
        committed = push(run["address"], pki.nodes[REGION], records, batch)
        elapsed = time.perf_counter() - t
        if committed != len(records):
            raise SystemExit(f"gateway committed {committed} of {len(records)} records")
        stop.set()
        res = out.get(timeout=120)
    finally:
        stop.set()
        proc.join(timeout=60)
    return {"rate": len(records) / elapsed, "main_cpu_us": res["cpu_s"] / len(records) * 1e6, "rss_kib": res["rss_kib"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = ap.parse_args(argv)
    today = dt.date.today()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pki = make_pki(root, regions=(REGION,))
        from creditx.pki.files import read_key

        signing_key = read_key(pki.nodes[REGION].signing_key)
        records = signed_records(signing_key, args.records, today)
        verify = raw_verify_rate(min(args.records, 20000))
        insert = raw_insert_rate(root / "raw.db", max(args.records, 50000))
        stages = stage_costs(records, signing_key, root, today, args.batch)
        on = end_to_end(pki, root, records, args.batch, args.workers, audit=True)
        off = end_to_end(pki, root, records, args.batch, args.workers, audit=False)
    result = {
        "records": args.records,
        "batch": args.batch,
        "workers": args.workers,
        "verify_per_s_1core": verify,
        "sqlite_insert_per_s": insert,
        "e2e_audit_per_s": on["rate"],
        "e2e_no_audit_per_s": off["rate"],
        "e2e_audit_vs_verify_1core": on["rate"] / verify,
        "e2e_audit_vs_verify_2core": on["rate"] / (2 * verify),
        "e2e_no_audit_vs_verify_1core": off["rate"] / verify,
        "e2e_no_audit_vs_verify_2core": off["rate"] / (2 * verify),
        "gateway_main_cpu_us_per_record_audit": on["main_cpu_us"],
        "gateway_main_cpu_us_per_record_no_audit": off["main_cpu_us"],
        "gateway_peak_rss_kib_audit": on["rss_kib"],
        "gateway_peak_rss_kib_no_audit": off["rss_kib"],
        "stage_us_per_record": stages,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{args.records} records, batches of {args.batch}, {args.workers} verify workers, mutual TLS on loopback")
    print(f"{'figure':44} {'records/s':>10} {'/verify 1c':>10} {'/verify 2c':>10} {'main µs/rec':>11} {'peak RSS':>9}")
    print(f"{'raw ECDSA P-256 verify, 1 core':44} {verify:10.0f} {1:10.2f} {0.5:10.2f}")
    print(f"{'raw SQLite executemany (500/txn, UNIQUE)':44} {insert:10.0f}")
    for name, r in (("end to end, audit on", on), ("end to end, audit off", off)):
        print(
            f"{name:44} {r['rate']:10.0f} {r['rate'] / verify:10.2f} {r['rate'] / (2 * verify):10.2f} "
            f"{r['main_cpu_us']:11.1f} {r['rss_kib'] / 1024:6.0f} MiB"
        )
    print(f"audit cost: {100 * (1 - on['rate'] / off['rate']):.0f}%   (target: end to end ≥ 0.60 × verify 1 core)")
    print("\nstage alone, one core                         µs/record")
    for name, us in stages.items():
        print(f"  {name:44} {us:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
