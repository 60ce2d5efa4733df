"""Gateway ingest benchmark: records/s end to end against the bounds measured in the same run.

    python bench/ingest.py [--records 20000] [--batch 500] [--workers 2] [--suites record,batch] [--json]

A minimal node client (below; the benchmark imports nothing from tests/) signs generated records
(creditx.standard.synth) and pushes them over mutual TLS to a real gateway on port 0, run in a child
process, once with and once without the audit-leaf append. In the same run it measures the bounds
(ADR 0014; the machines are noisy, so bounds are never taken from a table):

* raw single-core verify rates of each suite (ECDSA P-256 in pyca/OpenSSL; Ed25519 in pyca and in
  libsodium), raw SHA-256 of a record-sized payload, and raw SQLite ``executemany`` insert rate
  (500 rows per transaction, WAL, synchronous=NORMAL, a UNIQUE key);
* every ingest stage alone, in CPU µs per record (process time), on the same records: the worker's verify,
  decode, validate, fingerprint + natural key and the whole check; the main process's triage,
  dedup, audit leaves and commit.

Of the push it reports wall time and records/s, and CPU time (user + sys from /proc/<pid>/stat)
of the gateway main process and of each verify worker, as µs per record, with the load average
before and after; peak memory is VmHWM from /proc/<pid>/status of the gateway and of each worker
(``ru_maxrss`` is not used: a spawned child inherits its parent's figure). Both suites are pushed
(``--suites record,batch``): per-record ECDSA envelopes, and the batch-signed suite (one
checkpoint per batch, one inclusion path per record, SIG-040). End to end is printed as a ratio
to its suite's bound on one core and on two (record: ECDSA verify; batch: SHA-256 of the record,
one node hash per tree level and an ECDSA verify per batch), and the gateway's total CPU per
record beside the budget of 80 µs (what 25,000 records/s on two cores needs).
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
CPU_BUDGET_US = 80  # gateway CPU per record, all processes: 25,000 records/s on two cores


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


def batch_signed(signing_key, records: list, batch: int) -> tuple[list, list[dict]]:
    """The same records in the batch-signed suite (SIG-040…043): each record's signature is its
    inclusion path in its batch's checkpoint of the outbox log; one signed checkpoint and one
    consistency proof per batch (the node's side, built with the standard's merkle code)."""
    from creditx.standard.batch import BATCH_SUITE, encode_path, genesis_leaf, outbox_origin
    from creditx.standard.checkpoint import Checkpoint, sign_checkpoint
    from creditx.standard.merkle import (
        CompactRange,
        consistency_proof_from,
        inclusion_proof_from,
        leaf_hash,
        root_from,
    )
    from creditx.standard.suites import key_id
    from creditx.v1 import envelope_pb2
    from creditx.v1 import exchange_pb2 as pb

    nodes: dict[tuple[int, int], bytes] = {}
    cr = CompactRange()
    cr.append(leaf_hash(genesis_leaf(REGION)), lambda lv, i, h: nodes.__setitem__((lv, i), h))
    for r in records:
        cr.append(leaf_hash(r.envelope.payload), lambda lv, i, h: nodes.__setitem__((lv, i), h))

    def sub(lv: int, i: int) -> bytes:
        return nodes[(lv, i)]

    kid, origin = key_id(signing_key.public_key()), outbox_origin(REGION)
    out, extras, prev = [], [], 0
    for start in range(0, len(records), batch):
        chunk = records[start : start + batch]
        size = chunk[-1].source_seq + 1
        note = sign_checkpoint(Checkpoint(origin, size, root_from(size, sub)), origin, signing_key)
        extras.append(
            {"checkpoint": note, "consistency_proof": consistency_proof_from(prev, size, sub) if prev else []}
        )
        prev = size
        for r in chunk:
            path = encode_path(inclusion_proof_from(r.source_seq, size, sub))
            env = envelope_pb2.Envelope(
                payload_type=r.envelope.payload_type,
                payload=r.envelope.payload,
                signatures=[envelope_pb2.Signature(keyid=kid, suite=BATCH_SUITE, sig=path)],
            )
            out.append(pb.SignedRecord(source_seq=r.source_seq, envelope=env))
    return out, extras


def push(address: str, node, records: list, batch: int, extras: list[dict] | None = None) -> int:
    """Handshake, push every batch on one stream, return the last committed_seq acked."""
    from exchange_client import exchange

    from creditx.v1 import exchange_pb2 as pb

    with exchange(address, node, "bench/ingest.py") as stub:
        reqs = (
            pb.PushRequest(
                batch_id=i // batch + 1, records=records[i : i + batch], **(extras[i // batch] if extras else {})
            )
            for i in range(0, len(records), batch)
        )
        last = 0
        for resp in stub.Push(reqs, timeout=600):
            last = resp.committed_seq
        return last


# --- bounds ------------------------------------------------------------------------------------


def _rate(fn, n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - t)


def raw_verify_rate(n: int) -> float:
    """ECDSA P-256 verify of a 600-byte message in pyca/OpenSSL, one core."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    data = b"x" * 600
    sig = key.sign(data, ec.ECDSA(hashes.SHA256()))
    pub = key.public_key()
    return _rate(lambda: pub.verify(sig, data, ec.ECDSA(hashes.SHA256())), n)


def raw_bounds(n: int) -> dict[str, float]:
    """Operations per second on one core of the primitives each suite is built of."""
    import hashlib

    import nacl.bindings
    from cryptography.hazmat.primitives.asymmetric import ed25519

    data = b"x" * 600
    ed = ed25519.Ed25519PrivateKey.generate()
    ed_sig, ed_pub = ed.sign(data), ed.public_key()
    raw_pub = ed_pub.public_bytes_raw()
    return {
        "ECDSA P-256 verify (pyca/OpenSSL)": raw_verify_rate(n),
        "Ed25519 verify (pyca/OpenSSL)": _rate(lambda: ed_pub.verify(ed_sig, data), n),
        "Ed25519 verify (libsodium)": _rate(lambda: nacl.bindings.crypto_sign_open(ed_sig + data, raw_pub), n),
        "SHA-256 of 600 bytes": _rate(lambda: hashlib.sha256(data).digest(), 10 * n),
        "SHA-256 of 65 bytes (a Merkle node)": _rate(lambda: hashlib.sha256(data[:65]).digest(), 10 * n),
    }


def proc_cpu_s(pid: int) -> float:
    """user + sys CPU seconds of a live process, from /proc/<pid>/stat (all its threads)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_hwm_kib(pid: int) -> int:
    """Peak resident set (VmHWM) of a live process, KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


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
    """Best of ``rounds`` of ``fn`` over all ``items``, in CPU µs per item (process time: it holds
    whatever the machine's load, unlike wall time)."""
    best = float("inf")
    for _ in range(rounds):
        t = time.process_time()
        for x in items:
            fn(x)
        best = min(best, time.process_time() - t)
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
        # one round: the first time this process sees each record's identifiers, as at the gateway
        # (a later round would read the identifier caches' answers)
        "worker: validate_fields": _per_record(lambda d: validate_fields(d.type, d.fields, today=today), decoded, 1),
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
    t = time.process_time()
    for b in batches:
        ds = [decisions[i] for i in b]
        fps, _ = store.known_content([(d.natural_key, d.fingerprint) for d in ds])
        assert not fps
        store.commit_batch(
            REGION,
            [(decisions[i], inc[i]) for i in b],
            leaves_for(ds, REGION, now),
            b[-1] + 1,
            "2026-01-01T00:00:00.000Z",
        )
    out["main: dedup look-ups + commit (SQLite)"] = (time.process_time() - t) / len(inc) * 1e6
    store.close()
    return out


# --- end to end ------------------------------------------------------------------------------------


def serve(directory: str, audit: bool, workers: int, ready, stop, out) -> None:
    from creditx.gateway.exchange.pool import settle_heap
    from creditx.gateway.server import Gateway

    g = Gateway(Path(directory), audit=audit, workers=workers)
    run = g.start()
    settle_heap()  # as `creditx gateway run` does
    ready.put({**run, "workers": g.pool.pids()})
    stop.wait()
    g.stop(grace=5)
    out.put({})


def end_to_end(
    pki, root: Path, records, batch: int, workers: int, audit: bool, extras: list[dict] | None = None
) -> dict:
    d = root / f"gw-{'audit' if audit else 'noaudit'}-{'batch' if extras else 'record'}"
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
        pids = [proc.pid, *run["workers"]]
        cpu0 = [proc_cpu_s(p) for p in pids]
        me0 = resource.getrusage(resource.RUSAGE_SELF)
        load0 = os.getloadavg()[0]
        t = time.perf_counter()
        committed = push(run["address"], pki.nodes[REGION], records, batch, extras)
        elapsed = time.perf_counter() - t
        me1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu1 = [proc_cpu_s(p) for p in pids]  # before stop: the workers are still alive
        hwm = [proc_hwm_kib(p) for p in pids]
        load1 = os.getloadavg()[0]
        if committed != len(records):
            raise SystemExit(f"gateway committed {committed} of {len(records)} records")
        stop.set()
        out.get(timeout=120)
    finally:
        stop.set()
        proc.join(timeout=60)
    n = len(records)
    per = [(b - a) / n * 1e6 for a, b in zip(cpu0, cpu1, strict=True)]
    client = (me1.ru_utime + me1.ru_stime - me0.ru_utime - me0.ru_stime) / n * 1e6
    return {
        "rate": n / elapsed,
        "wall_s": elapsed,
        "main_cpu_us": per[0],
        "workers_cpu_us": sum(per[1:]),
        "gateway_cpu_us": sum(per),
        "client_cpu_us": client,
        "rss_kib": hwm[0],
        "workers_rss_kib": hwm[1:],
        "load": (load0, load1),
    }


def batch_stage_costs(signing_key, batched: list, extras: list[dict], batch: int) -> dict[str, float]:
    """µs/record of the batch suite's own checks: one path per record (worker), one checkpoint
    signature per batch (main process), on the same records."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from creditx.gateway.exchange.batches import batch_checkpoint
    from creditx.gateway.ingest.check import KeyGrant
    from creditx.standard.batch import verify_inclusion_path
    from creditx.standard.checkpoint import parse_checkpoint
    from creditx.standard.suites import key_id

    spki = signing_key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    grants = {key_id(signing_key.public_key()): KeyGrant(spki)}
    cp = parse_checkpoint(extras[-1]["checkpoint"])[0]
    last = batched[-batch:]

    def paths(recs: list) -> None:  # one batch's paths in order, sharing what they prove (as a worker does)
        proved: dict = {}
        for r in recs:
            verify_inclusion_path(
                r.source_seq, r.envelope.payload, r.envelope.signatures[0].sig, cp.size, cp.root_hash, proved
            )

    path_us = _per_record(paths, [last]) / len(last)
    note = extras[-1]["checkpoint"]
    cp_us = _per_record(lambda n: batch_checkpoint(REGION, n, grants, cp.size - 1), [note] * 50)
    return {
        "worker: inclusion path (batch suite)": path_us,
        "main: checkpoint verify, per record (batch suite)": cp_us / batch,
    }


def batch_bound(bounds: dict[str, float], size: int, batch: int) -> float:
    """Records/s on one core of the batch suite's crypto alone: SHA-256 of the record, one node
    hash per level of the outbox log, and a share of one ECDSA verify per batch."""
    us = (
        1e6 / bounds["SHA-256 of 600 bytes"]
        + size.bit_length() * 1e6 / bounds["SHA-256 of 65 bytes (a Merkle node)"]
        + 1e6 / bounds["ECDSA P-256 verify (pyca/OpenSSL)"] / batch
    )
    return 1e6 / us


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--suites", default="record,batch", help="record (ECDSA per record), batch, or both")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = ap.parse_args(argv)
    suites = [x for x in args.suites.split(",") if x]
    if not set(suites) <= {"record", "batch"}:
        print("--suites: use record, batch or record,batch", file=sys.stderr)
        return 2
    today = dt.date.today()
    runs: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pki = make_pki(root, regions=(REGION,))
        from creditx.pki.files import read_key

        signing_key = read_key(pki.nodes[REGION].signing_key)
        records = signed_records(signing_key, args.records, today)
        batched, extras = batch_signed(signing_key, records, args.batch)
        bounds = raw_bounds(min(args.records, 20000))
        verify = bounds["ECDSA P-256 verify (pyca/OpenSSL)"]
        bound = {"record": verify, "batch": batch_bound(bounds, args.records + 1, args.batch)}
        insert = raw_insert_rate(root / "raw.db", max(args.records, 50000))
        stages = stage_costs(records, signing_key, root, today, args.batch)
        stages.update(batch_stage_costs(signing_key, batched, extras, args.batch))
        for suite in suites:
            recs, ext = (records, None) if suite == "record" else (batched, extras)
            for audit in (True, False):
                runs[f"{suite}, audit {'on' if audit else 'off'}"] = end_to_end(
                    pki, root, recs, args.batch, args.workers, audit=audit, extras=ext
                )
    result = {
        "records": args.records,
        "batch": args.batch,
        "workers": args.workers,
        "raw_per_s_1core": bounds,
        "suite_bound_per_s_1core": bound,
        "sqlite_insert_per_s": insert,
        "runs": {
            name: {
                **r,
                "vs_bound_1core": r["rate"] / bound[name.split(",")[0]],
                "vs_bound_2core": r["rate"] / (2 * bound[name.split(",")[0]]),
            }
            for name, r in runs.items()
        },
        "cpu_budget_us_per_record": CPU_BUDGET_US,
        "stage_us_per_record": stages,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{args.records} records, batches of {args.batch}, {args.workers} verify workers, mutual TLS on loopback")
    print("\nraw bound, one core                              ops/s")
    for name, ops in bounds.items():
        print(f"  {name:46} {ops:9.0f}")
    print(f"  {'SQLite executemany (500/txn, UNIQUE)':46} {insert:9.0f}")
    print(f"  {'record suite: ECDSA verify':46} {bound['record']:9.0f}")
    print(f"  {'batch suite: SHA-256 + path + ECDSA/batch':46} {bound['batch']:9.0f}")
    print(
        f"\n{'end to end':22} {'records/s':>9} {'/bound 1c':>9} {'/bound 2c':>9} {'wall s':>7} "
        f"{'CPU µs/record: main':>20} {'workers':>8} {'gateway':>8} {'/budget':>7} {'client':>7} "
        f"{'VmHWM main':>10} {'workers':>9} {'load 1m':>11}"
    )
    for name, r in runs.items():
        b = bound[name.split(",")[0]]
        print(
            f"{name:22} {r['rate']:9.0f} {r['rate'] / b:9.2f} {r['rate'] / (2 * b):9.2f} {r['wall_s']:7.2f} "
            f"{r['main_cpu_us']:20.1f} {r['workers_cpu_us']:8.1f} {r['gateway_cpu_us']:8.1f} "
            f"{r['gateway_cpu_us'] / CPU_BUDGET_US:7.2f} {r['client_cpu_us']:7.1f} "
            f"{r['rss_kib'] / 1024:6.0f} MiB {max(r['workers_rss_kib'] or [0]) / 1024:5.0f} MiB "
            f"{r['load'][0]:5.2f}→{r['load'][1]:<5.2f}"
        )
    for suite in suites:
        on, off = runs[f"{suite}, audit on"], runs[f"{suite}, audit off"]
        print(
            f"{suite} suite: audit CPU cost {on['gateway_cpu_us'] - off['gateway_cpu_us']:.1f} µs/record; two cores at "
            f"{on['gateway_cpu_us']:.0f} µs/record carry {2e6 / on['gateway_cpu_us']:.0f} records/s "
            f"(budget {CPU_BUDGET_US} µs = 25,000/s)"
        )
    print("\nstage alone, one core                         µs/record")
    for name, us in stages.items():
        print(f"  {name:44} {us:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
