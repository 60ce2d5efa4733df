"""List redistribution benchmark: propagation to 16 nodes, snapshot bootstrap, check API.

    python bench/distribute.py [--nodes 16] [--rate 50] [--seconds 20] [--snapshot-entries 2600000]
                               [--quick] [--json]

Three figures, each against a bound measured in the same run (the machines are noisy):

* **Propagation** (DIST-030, ADR 0009: seconds, not a day): a real gateway (child process, port
  0, mutual TLS, creditx.pki.testing.make_pki) and ``--nodes`` real followers (creditx.node.replica.follower,
  each its own SQLite replica and its own node-auth certificate, as threads of one child
  process). A minimal node client (below; the benchmark imports nothing from tests/) pushes
  signed LIST records at a steady ``--rate`` for ``--seconds``. Per change and node: the time
  from the gateway's decision (ListChange.at_unix_ms, kept in the replica) to the follower's
  commit of it (its ``on_applied`` hook). p50 / p99 / max.
* **Snapshot bootstrap** (DIST-070…075): a gateway list state of ``--snapshot-entries`` entries
  written straight into its SQLite (a fast variant of the store's publish path: a few thousand
  template entries go through the real rules — synth LIST rows, signed, ``derive_change`` — and
  are cloned with fresh entry ids and USCCs; the canonical encodings are checked against the
  standard's own functions), then a fresh node takes the snapshot over mutual TLS with the real
  Follower. Compared with a raw bulk load of the same rows (entry bodies and subject keys) into
  the replica's final schema (rowid table, indexes built after the load), in the same run. Node
  CPU beside wall time, the load average, the replica's bytes per entry, peak RSS of both sides.
* **Check API** (DIST-060) on that replica: Check by USCC through the Departments service on a
  Unix socket (sequential, and 8 in flight), and the in-process function; listed and unlisted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import multiprocessing as mp
import os
import random
import resource
import sqlite3
import sys
import tempfile
import threading
import time
from concurrent import futures
from pathlib import Path
from typing import TypedDict

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from creditx.gateway.config import GatewayConfig  # noqa: E402
from creditx.gateway.init import init_gateway_dir  # noqa: E402
from creditx.pki.testing import make_pki  # noqa: E402
from creditx.standard.divisions import CITIES  # noqa: E402

PUSHER = "370100"
SUBJECT_KEY = b"b" * 32


class _Listens(TypedDict):
    metrics_listen: str
    health_listen: str
    console_listen: str


FREE_PORTS: _Listens = {
    "metrics_listen": "127.0.0.1:0",
    "health_listen": "127.0.0.1:0",
    "console_listen": "127.0.0.1:0",
}


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else 0.0


def rss_mib() -> float:
    """This process's peak RSS: VmHWM (ru_maxrss survives fork + exec, so a spawned child would
    report its parent's peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def proc_cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) a process has used so far, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _canon(obj) -> bytes:
    """RFC 8785 for objects of ASCII keys, strings and integers only (checked against
    creditx.standard.canonical on the templates): sorted keys, no whitespace, UTF-8 unescaped —
    orjson's OPT_SORT_KEYS writes the same bytes, about ten times faster than json.dumps."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


# --- LIST records: synth rows, signed by the pushing node's key -------------------------------------


def list_records(count: int, seed: int, today: dt.date) -> list:
    """``count`` distinct new listings (op I) from the synthetic generator, as Records."""
    from creditx.standard.record import Record
    from creditx.standard.synth import generate_rows

    out: list[Record] = []
    seen: set[tuple[str | None, ...]] = set()
    n = count * 3
    while len(out) < count:
        for r in generate_rows(PUSHER, "LIST", n, seed=seed, today=today):
            key = (r.fields.get("MD_RDWSH"), r.fields.get("MD_RDJGDM"), r.fields.get("MD_LX"))
            if r.op == "I" and key not in seen:
                seen.add(key)
                out.append(Record("LIST", "I", PUSHER, r.source_id, 1, len(out) + 1, dict(r.fields)))
                if len(out) == count:
                    break
        seed, n = seed + 1, n * 2
    return out


def signed_pb(records: list, key) -> list:
    from creditx.standard.envelope import Signer, sign_envelope
    from creditx.standard.record import RECORD_PAYLOAD_TYPE, encode_record
    from creditx.v1 import envelope_pb2
    from creditx.v1 import exchange_pb2 as pb

    signer, out = Signer(key), []
    for r in records:
        env = sign_envelope(RECORD_PAYLOAD_TYPE, encode_record(r), signer)
        out.append(
            pb.SignedRecord(
                source_seq=r.source_seq,
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


def push_steady(address: str, node, records: list, rate: float, extras: list[dict] | None = None) -> int:
    """Handshake, then one Push stream sending ``rate`` records per second in 100 ms ticks;
    ``extras``: each tick's batch fields (the batch suite's checkpoint, bench/ingest.py)."""
    from exchange_client import exchange

    from creditx.v1 import exchange_pb2 as pb

    per_tick = max(1, round(rate / 10))
    with exchange(address, node, "bench/distribute.py") as stub:

        def paced():
            t0 = time.monotonic()
            for k, i in enumerate(range(0, len(records), per_tick)):
                delay = t0 + k * per_tick / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)  # the steady rate itself, not a wait for a condition
                yield pb.PushRequest(batch_id=k + 1, records=records[i : i + per_tick], **(extras[k] if extras else {}))

        last = 0
        for resp in stub.Push(paced(), timeout=3600):
            last = resp.committed_seq
        return last


# --- the gateway in a child process -------------------------------------------------------------------


def serve_gateway(directory: str, ready, stop, out) -> None:
    from creditx.gateway.server import Gateway

    g = Gateway(Path(directory), audit=True, workers=1)
    ready.put(g.start())
    stop.wait()
    g.stop(grace=2)
    out.put({"rss_mib": rss_mib()})


class GatewayProcess:
    def __init__(self, pki, directory: Path) -> None:
        if not directory.exists():
            init_gateway_dir(
                directory, pki.gateway.dir, cfg=GatewayConfig(listen="127.0.0.1:0", **FREE_PORTS, verify_workers=1)
            )
        ctx = mp.get_context("spawn")
        self.ready, self.out, self.stop_ev = ctx.Queue(), ctx.Queue(), ctx.Event()
        self.proc = ctx.Process(target=serve_gateway, args=(str(directory), self.ready, self.stop_ev, self.out))

    def __enter__(self) -> str:
        self.proc.start()
        return self.ready.get(timeout=300)["address"]

    def __exit__(self, *exc) -> None:
        self.stop_ev.set()
        self.rss_mib = self.out.get(timeout=120)["rss_mib"] if exc[0] is None else 0.0
        self.proc.join(timeout=60)


# --- followers ------------------------------------------------------------------------------------------


class BenchNode:
    """One real follower: its own node.db, its own node-auth certificate, its own channel."""

    def __init__(self, path: Path, creds, target: str, **policy) -> None:
        from creditx.node.replica.follower import Follower, FollowPolicy
        from creditx.node.replica.store import ReplicaStore
        from creditx.node.store import NodeStore
        from creditx.node.sync.client import ChannelSettings
        from creditx.pki.tls import channel_credentials

        self.store = NodeStore(path)
        self.replica = ReplicaStore(self.store, SUBJECT_KEY)
        self.channel = ChannelSettings(
            target,
            channel_credentials(creds.ca, creds.auth_cert, creds.auth_key),
            "localhost",
            max_message_bytes=16 * 1024 * 1024,
        ).open()
        self.applied: list[tuple[int, float]] = []  # (applied list_seq, wall time of its commit)
        self.progress = threading.Condition()
        self.follower = Follower(self.replica, lambda: self.channel, FollowPolicy(**policy), on_applied=self._on)
        self.thread = threading.Thread(target=self.follower.run, daemon=True)

    def _on(self, seq: int) -> None:
        with self.progress:
            self.applied.append((seq, time.time()))
            self.progress.notify_all()

    def wait_for(self, seq: int, deadline: float) -> bool:
        with self.progress:
            return self.progress.wait_for(
                lambda: bool(self.applied) and self.applied[-1][0] >= seq, max(0.0, deadline - time.monotonic())
            )

    def close(self) -> None:
        self.follower.stop()
        self.thread.join(30)
        self.channel.close()
        self.store.close()


def propagation(pki, root: Path, nodes: int, rate: float, seconds: float, today: dt.date) -> dict:
    from creditx.pki.files import read_key

    records = list_records(max(1, int(rate * seconds)), seed=7, today=today)
    batch = signed_pb(records, read_key(pki.nodes[PUSHER].signing_key))
    gw = GatewayProcess(pki, root / "gw-prop")
    with gw as address:
        ns = [BenchNode(root / f"node-{c}.db", pki.nodes[c], address) for c in sorted(CITIES)[:nodes]]
        for n in ns:
            n.thread.start()
        try:
            for n in ns:  # every follower subscribed and live at list_seq 0 before the clock starts
                if not _until(lambda n=n: n.replica.state().last_update_ms > 0 or n.replica.applied() > 0, 30):
                    raise SystemExit("a follower did not reach the gateway")
            t = time.monotonic()
            committed = push_steady(address, pki.nodes[PUSHER], batch, rate)
            push_s = time.monotonic() - t
            head = ns[0].replica.conn.execute("SELECT MAX(list_seq) FROM replica_changes").fetchone()[0] or 0
            deadline = time.monotonic() + 120
            if not all(n.wait_for(len(records), deadline) for n in ns):
                raise SystemExit(f"not every node applied {len(records)} changes (first has {head})")
            at_ms = dict(ns[0].replica.conn.execute("SELECT list_seq, at_ms FROM replica_changes"))
            lat = [lag for n in ns for lag in _latencies(n.applied, at_ms)]
        finally:
            for n in ns:
                n.close()
    return {
        "nodes": nodes,
        "changes": len(records),
        "committed": committed,
        "push_rate_per_s": len(records) / push_s,
        "p50_s": pct(lat, 0.5),
        "p99_s": pct(lat, 0.99),
        "max_s": max(lat),
        "samples": len(lat),
        "gateway_rss_mib": gw.rss_mib,
        "nodes_process_rss_mib": rss_mib(),
    }


def _latencies(applied: list[tuple[int, float]], at_ms: dict[int, int]) -> list[float]:
    """Per change: its commit time at the node (the first applied cursor covering it) − at_unix_ms."""
    out, prev = [], 0
    for seq, wall in applied:
        out += [wall - at_ms[s] / 1000 for s in range(prev + 1, seq + 1) if s in at_ms]
        prev = max(prev, seq)
    return out


def _until(cond, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        threading.Event().wait(0.02)  # polling a real condition with a deadline
    return cond()


# --- a gateway list state of N entries, written in bulk -------------------------------------------------


def _uscc(i: int) -> str:
    from creditx.standard.identifiers import org_code_check_char, uscc_check_char

    org = f"{i:08d}"[-8:].replace("0", "A", 1) if i % 7 == 0 else f"{i:08d}"[-8:]
    org += org_code_check_char(org)
    body = "91370100" + org
    return body + uscc_check_char(body)


def templates(count: int, today: dt.date, pki) -> list:
    """(entry, origin envelope) of ``count`` listings through the real rules (derive_change)."""
    from creditx.pki.files import read_key
    from creditx.standard.envelope import Signer, sign_envelope
    from creditx.standard.fingerprint import fingerprint
    from creditx.standard.lists.lifecycle import derive_change
    from creditx.standard.natural_key import natural_key
    from creditx.standard.record import RECORD_PAYLOAD_TYPE, encode_record

    signer, out = Signer(read_key(pki.nodes[PUSHER].signing_key)), []
    at = dt.datetime.now(dt.UTC)
    for r in list_records(count, seed=11, today=today):
        d = derive_change(None, r, entry_id=natural_key(r, SUBJECT_KEY), fingerprint=fingerprint(r), at=at)
        if d.change is not None:
            out.append((d.change.entry, sign_envelope(RECORD_PAYLOAD_TYPE, encode_record(r), signer)))
    return out


def build_state(db: Path, n: int, tmpl: list, *, txn: int = 20_000) -> tuple[float, list[str]]:
    """Write ``n`` ADD changes and entries into the gateway's list tables (as creditx.gateway.lists.store
    .publish would, audit off); returns (seconds, the USCCs listed)."""
    from creditx.gateway.lists.store import envelope_to_json, snapshot_bytes
    from creditx.gateway.store.sqlite import SqliteStore
    from creditx.standard.canonical import canonicalize
    from creditx.standard.lists.lifecycle import ChangeKind, ListChange
    from creditx.standard.lists.log import leaf_data
    from creditx.standard.lists.snapshot import entry_bytes, entry_to_obj
    from creditx.standard.merkle import CompactRange, leaf_hash
    from creditx.standard.timestamps import rfc3339

    SqliteStore(db, now="2026-01-01T00:00:00Z").close()  # the gateway's migrations
    at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    at_s, at_ms = rfc3339(at), int(at.timestamp() * 1000)
    e0, env0 = tmpl[0]
    assert _canon(entry_to_obj(e0)) == entry_bytes(e0) == canonicalize(entry_to_obj(e0))
    assert _leaf(ListChange(1, ChangeKind.ADD, "", e0, at, env0), at_s) == leaf_data(
        ListChange(1, ChangeKind.ADD, "", e0, at, env0)
    )
    origins = [envelope_to_json(env) for _, env in tmpl]
    # per template, once: its JSON form and leaf form; each clone changes only entry_id (and the
    # USCC) in the entry and list_seq in the leaf (the leaf holds no entry_id, DIST-050)
    objs = [entry_to_obj(e) for e, _ in tmpl]
    leaves = [json.loads(_leaf(ListChange(1, ChangeKind.ADD, "", e, at, None), at_s)) for e, _ in tmpl]
    due = [
        (e.period_end.isoformat() if e.period_end else None, (e.period_start or e.listed_on).isoformat())
        for e, _ in tmpl
    ]
    conn = sqlite3.connect(str(db), isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")  # a fixture: a crash only means building it again
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA cache_size=-1000000")  # the random-key indexes stay in memory while built
    cr, usccs, t = CompactRange(), [], time.perf_counter()
    for start in range(0, n, txn):
        log, cur = [], []
        for seq in range(start + 1, min(n, start + txn) + 1):
            k = seq % len(tmpl)
            o = dict(objs[k], entry_id=f"{objs[k]['entry_id']}#{seq}")
            if o["subject_uscc"]:
                o["subject_uscc"] = uscc = _uscc(seq)
                usccs.append(uscc)
            h = leaf_hash(_canon(dict(leaves[k], list_seq=seq)))
            cr.append(h)
            blob = _canon(o)
            log.append(
                (seq, o["entry_id"], o["list_type"], "ADD", "", blob, at_s, at_ms, o["origin_region"], *origins[k], h)
            )
            cur.append((o["entry_id"], o["list_type"], o["state"], *due[k], seq, blob))
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO list_log (list_seq, entry_id, list_type, kind, reason, entry, at, at_ms, node,"
            " origin_type, origin_payload, origin_sigs, leaf_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            log,
        )
        conn.executemany(
            "INSERT INTO list_entries (entry_id, list_type, state, period_end, period_start, last_seq,"
            " entry) VALUES (?,?,?,?,?,?,?)",
            cur,
        )
        conn.executemany(
            "INSERT INTO list_snap_sizes (list_seq, entry_id, bytes) VALUES (?,?,?)",
            [(r[0], r[1], snapshot_bytes(r[5], r[10], r[11])) for r in log],
        )
        conn.execute("COMMIT")
    conn.execute("UPDATE list_tree SET frontier = ? WHERE id = 1", (cr.to_bytes(),))
    conn.close()
    return time.perf_counter() - t, usccs


def _leaf(c, at_s: str) -> bytes:
    return _canon(
        {
            "kind": "list",
            "list_seq": c.list_seq,
            "fp": c.entry.origin_fp.hex(),
            "node": c.entry.origin_region,
            "list_type": c.entry.list_type,
            "change": c.kind.value,
            "reason": c.reason,
            "at": at_s,
        }
    )


def raw_insert(db: Path, gw_db: Path, *, txn: int = 2000) -> tuple[float, int, float]:
    """The bound: the same entries (entry JSON bodies, one subject key each) bulk-loaded with plain
    executemany into the replica's final schema — the rowid ``replica_entries`` and the subject
    index, DDL taken from creditx.node.replica.store — heaps first, ``txn`` rows per transaction,
    WAL, then the indexes built after the load. Timed: the inserts and the index builds."""
    from creditx.node.replica.store import ENTRIES_COLUMNS, ENTRIES_INDEXES, SUBJECTS_TABLE

    src = sqlite3.connect(str(gw_db))
    c = sqlite3.connect(str(db), isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA synchronous=NORMAL")
    c.execute(f"CREATE TABLE replica_entries({ENTRIES_COLUMNS})")
    c.execute("CREATE TABLE load_subjects(subject TEXT NOT NULL, entry_id TEXT NOT NULL)")
    rows = src.execute("SELECT entry_id, list_type, state, entry FROM list_entries ORDER BY entry_id")  # snapshot order
    elapsed, count, cpu = 0.0, 0, 0.0
    while batch := rows.fetchmany(txn):  # streamed: only the inserts are timed
        es = [(eid, lt, st, 1, body.decode()) for eid, lt, st, body in batch]
        subjects = [("U:" + hashlib.sha1(r[0].encode()).hexdigest()[:18], r[0]) for r in es]
        t, t_cpu = time.perf_counter(), time.process_time()
        c.execute("BEGIN")
        c.executemany("INSERT INTO replica_entries VALUES (?,?,?,?,?)", es)
        c.executemany("INSERT INTO load_subjects VALUES (?,?)", subjects)
        c.execute("COMMIT")
        elapsed, cpu = elapsed + time.perf_counter() - t, cpu + time.process_time() - t_cpu
        count += len(es)
    t, t_cpu = time.perf_counter(), time.process_time()
    c.execute("BEGIN")
    for sql in ENTRIES_INDEXES:
        c.execute(sql)
    c.execute(SUBJECTS_TABLE)
    c.execute("INSERT INTO replica_subjects SELECT subject, entry_id FROM load_subjects ORDER BY subject, entry_id")
    c.execute("DROP TABLE load_subjects")
    c.execute("COMMIT")
    elapsed, cpu = elapsed + time.perf_counter() - t, cpu + time.process_time() - t_cpu
    src.close()
    c.close()
    return elapsed, count, cpu


# --- bootstrap a fresh node, then Check on its replica (child process: its own RSS) --------------------


def bootstrap_and_check(
    directory: str, creds, target: str, listed: list[str], checks: int, gateway_pid: int, out
) -> None:
    n = BenchNode(Path(directory) / "node.db", creds, target, snapshot_threshold=0)
    t, cpu = time.perf_counter(), time.process_time()
    n.thread.start()
    ok = n.wait_for(1, time.monotonic() + 7200)
    elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
    gateway_cpu_at_end = proc_cpu_s(gateway_pid)
    n.follower.stop()
    n.thread.join(30)
    entries = n.replica.conn.execute("SELECT COUNT(*) FROM replica_entries").fetchone()[0]
    n.replica.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = sum(f.stat().st_size for f in Path(directory).glob("node.db*"))
    res = {
        "ok": ok,
        "bootstrap_s": elapsed,
        "bootstrap_cpu_s": cpu,
        "entries": entries,
        "replica_bytes": size,
        "rss_after_bootstrap_mib": rss_mib(),
        "gateway_cpu_at_end": gateway_cpu_at_end,
    }
    res["check"] = check_latency(n.replica, Path(directory), listed, checks)
    n.channel.close()
    n.store.close()
    out.put(res)


def check_latency(replica, directory: Path, listed: list[str], count: int) -> dict:
    """DIST-060 Check by USCC: in process, over the Departments service on a Unix socket
    (sequential and 8 in flight); half listed subjects, half valid USCCs not on any list."""
    import grpc

    from creditx.node.replica.departments import DepartmentsServicer, check
    from creditx.node.replica.subjects import question
    from creditx.v1 import lists_pb2 as pb
    from creditx.v1 import lists_pb2_grpc as pb_grpc

    rng = random.Random(3)
    unlisted = [_uscc(10_000_000 + i) for i in range(count)]
    asks = {"listed": [rng.choice(listed) for _ in range(count)], "unlisted": unlisted}
    now, age = dt.datetime.now(dt.UTC), dt.timedelta(days=1)
    out: dict = {}
    for kind, usccs in asks.items():
        lat = []
        for u in usccs:
            t = time.perf_counter()
            a = check(replica, question("uscc", u, SUBJECT_KEY), now=now, max_age=age)
            lat.append(time.perf_counter() - t)
            assert bool(a.memberships) == (kind == "listed"), (kind, u)
        out[f"in_process_{kind}"] = _summary(lat)
    sock = directory / "bench.sock"
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    pb_grpc.add_DepartmentsServicer_to_server(
        DepartmentsServicer(replica, {}, SUBJECT_KEY, max_age=age, applied=threading.Condition()), server
    )
    server.add_insecure_port(f"unix:{sock}")
    server.start()
    try:
        with grpc.insecure_channel(f"unix:{sock}") as ch:
            stub = pb_grpc.DepartmentsStub(ch)
            grpc.channel_ready_future(ch).result(timeout=10)

            def ask(u: str) -> float:
                t = time.perf_counter()
                stub.Check(pb.CheckRequest(subject=pb.Subject(uscc=u)), timeout=10)
                return time.perf_counter() - t

            for kind, usccs in asks.items():
                out[f"grpc_{kind}"] = _summary([ask(u) for u in usccs])
            t = time.perf_counter()
            with futures.ThreadPoolExecutor(8) as pool:
                lat = list(pool.map(ask, asks["listed"] + asks["unlisted"]))
            out["grpc_8_in_flight"] = dict(_summary(lat), per_s=len(lat) / (time.perf_counter() - t))
    finally:
        server.stop(None)
    return out


def _summary(lat: list[float]) -> dict:
    return {
        "p50_ms": pct(lat, 0.5) * 1000,
        "p99_ms": pct(lat, 0.99) * 1000,
        "per_s": len(lat) / sum(lat) if sum(lat) else 0.0,
    }


def _result(q, proc, seconds: float) -> dict:
    """The child's result, or an error naming its exit code if it died without one."""
    import queue

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            return q.get(timeout=1)
        except queue.Empty:
            if not proc.is_alive():
                raise SystemExit(f"the bootstrapping node process died (exit code {proc.exitcode})") from None
    raise SystemExit(f"the bootstrapping node process gave no result within {seconds:.0f} s")


def snapshot(pki, root: Path, entries: int, checks: int, today: dt.date) -> dict:
    tmpl = templates(min(entries, 2000), today, pki)
    gw_dir = root / "gw-snap"
    init_gateway_dir(gw_dir, pki.gateway.dir, cfg=GatewayConfig(listen="127.0.0.1:0", **FREE_PORTS, verify_workers=1))
    db = GatewayConfig().path(gw_dir, "database")
    build_s, listed = build_state(db, entries, tmpl)
    listed = random.Random(5).sample(listed, min(len(listed), 10 * checks))
    raw_s, raw_rows, raw_cpu = raw_insert(root / "raw.db", db)
    gw = GatewayProcess(pki, gw_dir)
    with gw as address:
        assert gw.proc.pid is not None
        gw_cpu = proc_cpu_s(gw.proc.pid)  # the gateway's CPU from here to the bootstrap's end
        load_before = os.getloadavg()
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        node_dir = root / "snap-node"
        node_dir.mkdir()
        p = ctx.Process(
            target=bootstrap_and_check,
            args=(str(node_dir), pki.nodes[sorted(CITIES)[0]], address, listed, checks, gw.proc.pid, q),
        )
        p.start()
        res = _result(q, p, 7200)
        gw_cpu = res.pop("gateway_cpu_at_end") - gw_cpu
        p.join(timeout=60)
    if not res["ok"] or res["entries"] != entries:
        raise SystemExit(f"bootstrap incomplete: {res['entries']} of {entries} entries")
    return {
        "entries": entries,
        "build_gateway_state_s": build_s,
        "bootstrap_s": res["bootstrap_s"],
        "raw_insert_s": raw_s,
        "raw_insert_rows": raw_rows,
        "raw_insert_cpu_s": raw_cpu,
        "bootstrap_vs_raw_insert": res["bootstrap_s"] / raw_s,
        "bootstrap_cpu_s": res["bootstrap_cpu_s"],
        "gateway_cpu_s": gw_cpu,
        "load_average_before": list(load_before),
        "replica_bytes_per_entry": res["replica_bytes"] / entries,
        "load_average": list(os.getloadavg()),
        "entries_per_s": entries / res["bootstrap_s"],
        "gateway_rss_mib": gw.rss_mib,
        "node_rss_mib": res["rss_after_bootstrap_mib"],
        "check": res["check"],
    }


# --- main ------------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=16)
    ap.add_argument("--rate", type=float, default=50.0, help="LIST records pushed per second")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--snapshot-entries", type=int, default=2_600_000)
    ap.add_argument("--checks", type=int, default=2000, help="Check calls per kind (listed / unlisted)")
    ap.add_argument("--quick", action="store_true", help="small sizes: 4 nodes, 3 s, 3000 entries (for tests)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    ap.add_argument("--snapshot-only", action="store_true", help="skip the propagation figure")
    args = ap.parse_args(argv)
    if args.quick:
        args.nodes, args.rate, args.seconds, args.snapshot_entries, args.checks = 4, 20.0, 3.0, 3000, 200
    if not 1 <= args.nodes <= len(CITIES):
        ap.error(f"--nodes must be 1…{len(CITIES)} (one follower per city)")
    today = dt.date.today()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pki = make_pki(root, regions=tuple(sorted({PUSHER, *sorted(CITIES)[: args.nodes]})))
        prop = None if args.snapshot_only else propagation(pki, root, args.nodes, args.rate, args.seconds, today)
        snap = snapshot(pki, root, args.snapshot_entries, args.checks, today)
    result = {"propagation": prop, "snapshot": snap}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    if prop is not None:
        _print_propagation(prop)
    _print_snapshot(snap)
    return 0


def _print_propagation(prop: dict) -> None:
    print(
        f"propagation: {prop['changes']} LIST changes at {prop['push_rate_per_s']:.0f}/s to {prop['nodes']} "
        f"followers (mutual TLS, each its own SQLite replica)"
    )
    print(
        f"  decision → applied   p50 {prop['p50_s']:.3f} s   p99 {prop['p99_s']:.3f} s   max {prop['max_s']:.3f} s"
        f"   ({prop['samples']} samples; target p99 ≤ 1 s)"
    )
    print(
        f"  peak RSS: gateway {prop['gateway_rss_mib']:.0f} MiB, {prop['nodes']} followers {prop['nodes_process_rss_mib']:.0f} MiB"
    )


def _print_snapshot(snap: dict) -> None:
    n = snap["entries"]
    load = " ".join(f"{x:.2f}" for x in snap["load_average_before"])
    load_end = " ".join(f"{x:.2f}" for x in snap["load_average"])
    print(f"snapshot bootstrap of {n} entries (load average {load} before, {load_end} after; 2 cores)")
    print(f"  {'':38} {'wall s':>8} {'µs/entry':>9} {'CPU s':>8} {'CPU µs/entry':>13}")

    def row(name: str, wall: float, cpu: float | None) -> None:
        c = f"{cpu:8.1f} {1e6 * cpu / n:13.1f}" if cpu is not None else f"{'':8} {'':13}"
        print(f"  {name:38} {wall:8.1f} {1e6 * wall / n:9.1f} {c}")

    row("node bootstrap over mTLS", snap["bootstrap_s"], snap["bootstrap_cpu_s"])
    row("  gateway serving it, same interval", snap["bootstrap_s"], snap["gateway_cpu_s"])
    row("raw bulk load, same rows and schema", snap["raw_insert_s"], snap["raw_insert_cpu_s"])
    print(
        f"  bootstrap / raw bulk load = {snap['bootstrap_vs_raw_insert']:.2f}× wall (target ≤ 1.5×),"
        f" node CPU / raw CPU = {snap['bootstrap_cpu_s'] / snap['raw_insert_cpu_s']:.2f}×;"
        f" {snap['entries_per_s']:.0f} entries/s; replica {snap['replica_bytes_per_entry']:.0f} bytes/entry"
    )
    print(
        f"  peak RSS (VmHWM): gateway {snap['gateway_rss_mib']:.0f} MiB, node {snap['node_rss_mib']:.0f} MiB"
        f"   (gateway state written in {snap['build_gateway_state_s']:.0f} s)"
    )
    print(f"check by USCC on that replica{'':20} {'p50 ms':>8} {'p99 ms':>8} {'per s':>8}")
    for name, f in snap["check"].items():
        print(f"  {name:46} {f['p50_ms']:8.3f} {f['p99_ms']:8.3f} {f['per_s']:8.0f}")


if __name__ == "__main__":
    raise SystemExit(main())
