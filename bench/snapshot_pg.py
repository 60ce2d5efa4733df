"""Snapshot bootstrap served from the PostgreSQL store vs the SQLite store: the gateway's side.

    python bench/snapshot_pg.py [--entries 200000] [--chunk-entries 2000]
                                [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--json]

A gateway list state of ``--entries`` entries is built in a SQLite store (bench/distribute.py's
``build_state``: template entries through the real rules, cloned with fresh ids) and copied into
a fresh PostgreSQL database with the store's own ``copy_database`` (what ``gateway migrate-store``
does). Then, on each store, the real Distribution servicer's ``Snapshot`` (one read transaction,
chunk plan from the narrow sizes table, entries read in entry_id order, SnapshotChunk messages)
is driven in process and every chunk serialised to its wire bytes, as gRPC would send it, in
both forms (messages with origins, as a 1.0 node asks; canonical bytes without origins,
DIST-081/082, as this node asks): the
gateway's whole serving cost without the network. Beside it, in the same run, the raw bound: one
sequential ``SELECT`` of the same columns of every entry, fetched to the client. Printed: seconds,
entries/s, wall and this process's CPU µs per entry (on PostgreSQL the server's CPU is not in the
CPU figure), the ratio served ÷ raw on each engine and PostgreSQL ÷ SQLite, with the load average.
The node's side (applying the chunks) is not measured here (bench/distribute.py does the whole
bootstrap).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.distribute import build_state, templates  # noqa: E402
from bench.store_pg import pg_database  # noqa: E402
from creditx.gateway.store.copy import copy_database  # noqa: E402

RAW_SQL = (
    "SELECT e.entry, l.origin_type, l.origin_payload, l.origin_sigs FROM list_entries e"
    " JOIN list_log l ON l.list_seq = e.last_seq"
)
RAW_SEQ_SQL = "SELECT entry, origin_type, origin_payload, origin_sigs FROM list_log ORDER BY list_seq"


class _Context:
    """The slice of grpc.ServicerContext the Snapshot handler uses."""

    def is_active(self) -> bool:
        return True

    def abort(self, code, details):  # noqa: ANN001 - grpc's signature
        raise SystemExit(f"Snapshot failed: {code}: {details}")

    def set_trailing_metadata(self, md) -> None:  # noqa: ANN001
        pass


def served(spec, chunk_entries: int, *, bytes_form: bool = False) -> dict:
    """Drive the real servicer's Snapshot on ``spec`` and serialise every chunk: as a 1.0 node
    asks (ListEntry messages with origins), or with ``bytes_form`` as this node asks (canonical
    bytes compressed, DIST-081, and no origins, DIST-082)."""
    from creditx.gateway.lists.service import DistributionServicer, ListLimits
    from creditx.v1 import lists_pb2

    svc = DistributionServicer(
        spec,
        SimpleNamespace(closed=threading.Event()),  # type: ignore[arg-type]  # the hub's closed flag only
        None,  # type: ignore[arg-type]  # keys: unused by Snapshot
        None,  # type: ignore[arg-type]  # checkpointer: unused by Snapshot
        None,  # type: ignore[arg-type]  # progress: unused by Snapshot
        lambda: dt.datetime.now(dt.UTC),
        limits=ListLimits(max_chunk_entries=chunk_entries),
        identity=lambda ctx: SimpleNamespace(region="370100", member="370100"),
    )
    req = lists_pb2.SnapshotRequest(
        max_chunk_entries=chunk_entries,
        subject_index_key=os.urandom(32),  # DIST-077
        canonical_entries=bytes_form,
        without_origins=bytes_form,
    )
    w, c, entries, wire, chunks = time.perf_counter(), time.process_time(), 0, 0, 0
    for chunk in svc.Snapshot(req, _Context()):  # type: ignore[arg-type]
        wire += len(chunk.SerializeToString())
        entries += len(chunk.subject_indexes)  # parallel to the entries in either form
        chunks += 1
    return {
        "wall_s": time.perf_counter() - w,
        "cpu_s": time.process_time() - c,
        "entries": entries,
        "chunks": chunks,
        "wire_bytes": wire,
    }


def raw(spec, sql: str) -> dict:
    from creditx.gateway.store.engine import open_conn, stream, transaction

    conn = open_conn(spec)
    try:
        w, c, n, size = time.perf_counter(), time.process_time(), 0, 0
        with transaction(conn, write=False):
            for row in stream(conn, sql):
                n += 1
                size += len(row[0]) + len(row[2])
        return {"wall_s": time.perf_counter() - w, "cpu_s": time.process_time() - c, "rows": n, "bytes": size}
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entries", type=int, default=200_000)
    ap.add_argument("--chunk-entries", type=int, default=2000, help="the gateway's list_max_chunk_entries")
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres", help="a server to create DBs on")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    from creditx.pki.testing import make_pki

    say = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr, flush=True))
    res: dict = {"entries": args.entries, "chunk_entries": args.chunk_entries, "load_start": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        pki = make_pki(Path(tmp) / "pki", regions=("370100",))
        db = Path(tmp) / "gateway.db"
        say(f"building a {args.entries:,}-entry list state in SQLite …")
        tmpl = templates(min(args.entries, 2000), dt.date.today(), pki)
        res["build_s"], _ = build_state(db, args.entries, tmpl)
        with pg_database(args.pg) as url:
            say("copying it into PostgreSQL (copy_database, as migrate-store) …")
            t = time.perf_counter()
            copy_database(db, url)
            res["copy_s"] = time.perf_counter() - t
            from creditx.gateway.store.engine import open_conn

            c = open_conn(url)
            c.execute("ANALYZE")
            c.close()
            for engine, spec in (("sqlite", db), ("postgresql", url)):
                say(f"{engine}: raw SELECTs, then the served Snapshot …")
                raw(spec, RAW_SQL)  # warm the caches: every figure is of a warm store
                res[engine] = {
                    "raw_join": raw(spec, RAW_SQL),
                    "raw_sequential": raw(spec, RAW_SEQ_SQL),
                    "served": served(spec, args.chunk_entries),
                    "served_bytes": served(spec, args.chunk_entries, bytes_form=True),
                }
                r = res[engine]
                assert (
                    r["served"]["entries"]
                    == r["served_bytes"]["entries"]
                    == args.entries
                    == r["raw_sequential"]["rows"]
                ), r
                r["served_vs_raw_sequential"] = r["served"]["wall_s"] / r["raw_sequential"]["wall_s"]
                r["served_vs_raw_join"] = r["served"]["wall_s"] / r["raw_join"]["wall_s"]
    res["pg_vs_sqlite_served"] = res["postgresql"]["served"]["wall_s"] / res["sqlite"]["served"]["wall_s"]
    res["load_end"] = os.getloadavg()
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    n = args.entries
    print(f"{n:,} entries, chunks of {args.chunk_entries}; load {res['load_start']} → {res['load_end']}")
    print(f"{'':45}{'s':>8}{'entries/s':>12}{'wall µs/e':>11}{'cpu µs/e':>10}{'÷ raw seq':>11}")
    for engine in ("sqlite", "postgresql"):
        r = res[engine]
        for what, key in (
            ("raw sequential SELECT (log order)", "raw_sequential"),
            ("raw SELECT of the snapshot rows", "raw_join"),
            ("Snapshot served, messages + origins", "served"),
            ("Snapshot served, canonical, no origins", "served_bytes"),
        ):
            x = r[key]
            print(
                f"{engine[:6]:7}{what:38}{x['wall_s']:8.2f}{n / x['wall_s']:12,.0f}{x['wall_s'] / n * 1e6:11.1f}"
                f"{x['cpu_s'] / n * 1e6:10.1f}{x['wall_s'] / r['raw_sequential']['wall_s']:11.2f}"
            )
    print(
        f"served from PostgreSQL ÷ served from SQLite: {res['pg_vs_sqlite_served']:.2f}×;"
        f" wire {res['postgresql']['served']['wire_bytes'] / n:.0f} B/entry"
        f" ({res['postgresql']['served_bytes']['wire_bytes'] / n:.0f} canonical without origins)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
