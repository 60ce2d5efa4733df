"""Ingest cost per record as the gateway's store grows: the curve from 10k to 10 M stored records.

    python bench/store_growth.py [--engine sqlite|postgresql|both] [--max-records 1000000]
                                 [--batch 500] [--nodes 16] [--window 10000]
                                 [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--json]

Drives the store directly, as the gateway's main process does for one batch: the two dedup
look-ups (``stored_fingerprints``, ``current_versions``) and ``commit_batch`` (records, audit
leaves and tree, counters, current versions, the node's high-water mark; one transaction), with
pre-made accepted decisions of realistic shape (creditx.standard.synth XZCF payloads, a random
SHA-256 fingerprint and a random natural key per record, one signature each; batches go round
robin over ``--nodes`` cities). Decisions and leaves are made outside the timed part.

At each checkpoint (10k, 20k, 50k, 100k, 200k, 500k, 1 M, … up to ``--max-records``) it prints
the cost of the ``--window`` records just before it: wall µs/record, this process's CPU
µs/record (all its threads: SQLite's background checkpoint too) and, for PostgreSQL, the CPU of
the server process serving the store's connection (read from /proc: the server runs here), and bytes
written per record (write amplification): for SQLite this process's ``write_bytes`` from
/proc/self/io (WAL, checkpoints and the database file), for PostgreSQL the WAL bytes of the window
(``pg_stat_wal``/``pg_current_wal_lsn``) — the heap and index pages written later by the server's
checkpointer are the same pages, once. The raw bound of the same run is a plain executemany of the
same rows into a table with only the ``(node, source_seq)`` key, measured at the start (empty) and
at the end (as big as the store): its growth is the engine's own. The last line gives the ratio
of the last checkpoint's cost to the 10k checkpoint's (the aim is ≤ 1.2), with the load average.
The SQLite file lives in a temporary directory; the PostgreSQL database is created and dropped.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.store_pg import _RAW_TABLE, make_items, pg_database, row_tuple  # noqa: E402
from creditx.gateway.audit.leaves import leaves_for  # noqa: E402
from creditx.gateway.ingest.values import Decision, IncomingRecord  # noqa: E402
from creditx.gateway.store.sqlite import _INSERT_RECORD  # noqa: E402

AT = "2026-01-01T00:00:00.000Z"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
CITIES = [f"37{c:02d}00" for c in range(1, 18)]


def checkpoints(max_records: int) -> list[int]:
    out, base = [], 10_000
    while base <= max_records:
        out += [n for n in (base, 2 * base, 5 * base) if n <= max_records]
        base *= 10
    return out


def decisions(templates: list[tuple[Decision, IncomingRecord]], nodes: int, batch: int) -> Iterator[tuple]:
    """Endless batches: (node, [(decision, record)], leaves, committed_seq). Every record has its
    own random fingerprint and natural key (the hot path's random-key look-ups and inserts)."""
    seqs = dict.fromkeys(CITIES[:nodes], 0)
    n = 0
    while True:
        for node in seqs:
            items = []
            for _ in range(batch):
                d, inc = templates[n % len(templates)]
                n += 1
                seqs[node] += 1
                h = hashlib.sha256(n.to_bytes(8, "big")).digest()
                checked = d.checked._replace(
                    source_seq=seqs[node], fingerprint=h, natural_key=h[:16].hex(), region=node
                )
                items.append((dataclasses.replace(d, source_seq=seqs[node], checked=checked), dataclasses.replace(inc)))
            ds = [d for d, _ in items]
            yield node, items, leaves_for(ds, node, NOW), seqs[node]


def _write_bytes() -> int:
    with open("/proc/self/io") as f:
        for line in f:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    return 0


class Written:
    """Bytes written by the engine: this process's write_bytes (SQLite) or the WAL's LSN (PG)."""

    def __init__(self, pg_url: str = "") -> None:
        self.url = pg_url
        self._c = None
        if pg_url:
            import psycopg

            self._c = psycopg.connect(pg_url, autocommit=True)

    def __call__(self) -> int:
        if self._c is None:
            return _write_bytes()
        row = self._c.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        if self._c is not None:
            self._c.close()


def backend_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a local process: the PostgreSQL backend serving the store."""
    if not pid:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def grow(
    store, batches: Iterator[tuple], marks: list[int], window: int, batch: int, written: Written, say
) -> list[dict]:
    info = getattr(getattr(store, "conn", None), "info", None)  # psycopg's ConnectionInfo on PostgreSQL
    backend = info.backend_pid if info is not None else 0  # the server process of the store's connection
    curve, stored = [], 0
    for mark in marks:
        while stored < mark - window:  # untimed growth up to the window before the checkpoint
            node, items, leaves, seq = next(batches)
            ds = [d for d, _ in items]
            store.stored_fingerprints([d.fingerprint for d in ds])
            store.current_versions([d.natural_key for d in ds])
            store.commit_batch(node, items, leaves, seq, AT)
            stored += len(items)
        todo = [next(batches) for _ in range(max(1, (mark - stored) // batch))]
        w0, c0, s0, b0, n0 = time.perf_counter(), time.process_time(), backend_cpu_s(backend), written(), stored
        for node, items, leaves, seq in todo:
            ds = [d for d, _ in items]
            store.stored_fingerprints([d.fingerprint for d in ds])
            store.current_versions([d.natural_key for d in ds])
            store.commit_batch(node, items, leaves, seq, AT)
            stored += len(items)
        n = stored - n0
        point = {
            "stored": stored,
            "wall_us": (time.perf_counter() - w0) / n * 1e6,
            "cpu_us": (time.process_time() - c0) / n * 1e6,
            "server_cpu_us": (backend_cpu_s(backend) - s0) / n * 1e6,
            "bytes_per_record": (written() - b0) / n,
        }
        curve.append(point)
        server = f" + server {point['server_cpu_us']:6.1f}" if backend else ""
        say(
            f"  {stored:>11,}  wall {point['wall_us']:8.1f} µs  cpu {point['cpu_us']:8.1f}{server} µs"
            f"  written {point['bytes_per_record']:9.0f} B/record"
        )
    return curve


def raw_bound(engine: str, target, rows: list[tuple], batch: int) -> float:
    """µs/record of a plain executemany of ``rows``, ``batch`` per transaction."""
    t = time.perf_counter()
    if engine == "sqlite":
        target.execute("BEGIN IMMEDIATE")
        for i in range(0, len(rows), batch):
            target.executemany(_INSERT_RECORD.replace("INSERT INTO records", "INSERT INTO raw"), rows[i : i + batch])
            target.execute("COMMIT")
            target.execute("BEGIN IMMEDIATE")
        target.execute("COMMIT")
    else:
        cols = _INSERT_RECORD.split("(", 1)[1].split(")", 1)[0]
        with target.cursor() as cur:
            for i in range(0, len(rows), batch):
                with target.transaction():
                    cur.executemany(f"INSERT INTO raw ({cols}) VALUES ({', '.join(['%s'] * 22)})", rows[i : i + batch])
    return (time.perf_counter() - t) / len(rows) * 1e6


def raw_rows(templates, start: int, count: int) -> list[tuple]:
    out = []
    for i in range(start, start + count):
        d, inc = templates[i % len(templates)]
        r = list(row_tuple(i + 1, d, inc))
        r[2] = i + 1  # source_seq
        out.append(tuple(r))
    return out


def run_engine(engine: str, args, templates, say) -> dict:
    from creditx.gateway.store.postgres import PostgresStore
    from creditx.gateway.store.sqlite import SqliteStore

    marks = checkpoints(args.max_records)
    batches = decisions(templates, args.nodes, args.batch)
    out: dict = {"engine": engine}
    rows0 = raw_rows(templates, 0, args.window)
    with tempfile.TemporaryDirectory() as tmp:
        if engine == "sqlite":
            from creditx.sqlite import connect

            store = SqliteStore(
                Path(tmp) / "gateway.db",
                now=AT,
                cache_mib=args.cache_mib,
                background_checkpoint=not args.commit_checkpoint,
            )
            written = Written()
            raw = connect(Path(tmp) / "raw.db")
            raw.execute(_RAW_TABLE.replace("BYTEA", "BLOB"))
            say(f"SQLite store in {tmp}:")
            out["raw_us_empty"] = raw_bound(engine, raw, rows0, args.batch)
            out["curve"] = grow(store, batches, marks, args.window, args.batch, written, say)
            raw.execute("BEGIN IMMEDIATE")  # the raw table as big as the store, for the end bound
            for i in range(2 * args.window, marks[-1], 50_000):
                raw.executemany(
                    _INSERT_RECORD.replace("INSERT INTO records", "INSERT INTO raw"),
                    raw_rows(templates, i, min(50_000, marks[-1] - i)),
                )
            raw.execute("COMMIT")
            out["raw_us_full"] = raw_bound(engine, raw, raw_rows(templates, marks[-1] + 1, args.window), args.batch)
            raw.close()
            store.close()
            out["file_bytes_per_record"] = sum(f.stat().st_size for f in Path(tmp).glob("gateway.db*")) / marks[-1]
            written.close()
        else:
            import psycopg

            with pg_database(args.pg) as url:
                store = PostgresStore(url, now=AT)  # type: ignore[assignment]  # the same Protocol
                written = Written(url)
                say("PostgreSQL store:")
                with psycopg.connect(url, autocommit=True) as pg:
                    pg.execute(_RAW_TABLE)
                    out["raw_us_empty"] = raw_bound(engine, pg, rows0, args.batch)
                    out["curve"] = grow(store, batches, marks, args.window, args.batch, written, say)
                    with pg.cursor() as cur, cur.copy("COPY raw FROM STDIN") as cp:
                        for i in range(2 * args.window, marks[-1], 50_000):
                            for r in raw_rows(templates, i, min(50_000, marks[-1] - i)):
                                cp.write_row(r)
                    pg.execute("ANALYZE raw")
                    out["raw_us_full"] = raw_bound(
                        engine, pg, raw_rows(templates, marks[-1] + 1, args.window), args.batch
                    )
                    row = pg.execute("SELECT pg_database_size(current_database())").fetchone()
                    out["db_bytes_per_record"] = (row[0] if row else 0) / marks[-1] / 2  # store + raw, about
                written.close()
                store.close()
    first, last = out["curve"][0], out["curve"][-1]
    out["ratio_last_to_first_wall"] = last["wall_us"] / first["wall_us"]
    out["ratio_last_to_first_cpu"] = (last["cpu_us"] + last["server_cpu_us"]) / (
        first["cpu_us"] + first["server_cpu_us"]
    )  # all CPU: this process's and, on PostgreSQL, the server process's
    out["raw_ratio_full_to_empty"] = out["raw_us_full"] / out["raw_us_empty"]
    say(
        f"  raw executemany: {out['raw_us_empty']:.1f} µs/record empty, {out['raw_us_full']:.1f} µs at"
        f" {marks[-1]:,} rows ({out['raw_ratio_full_to_empty']:.2f}×)"
    )
    say(
        f"  store at {last['stored']:,} ÷ at {first['stored']:,}: wall {out['ratio_last_to_first_wall']:.2f}×,"
        f" cpu {out['ratio_last_to_first_cpu']:.2f}× (aim ≤ 1.20); store ÷ raw at the end:"
        f" {last['wall_us'] / out['raw_us_full']:.2f}×"
    )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--max-records", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--nodes", type=int, default=16, help="cities the batches go round robin over (≤ 17)")
    ap.add_argument("--window", type=int, default=10_000, help="records timed before each checkpoint")
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres", help="a server to create DBs on")
    ap.add_argument("--cache-mib", type=int, default=256, help="the SQLite store's page cache (store_cache_mib)")
    ap.add_argument(
        "--commit-checkpoint", action="store_true", help="SQLite: checkpoint in the commit, as before (A/B)"
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, flush=True))
    say(
        f"{args.batch} records per batch, {args.nodes} nodes, {args.window:,}-record windows; SQLite cache"
        f" {args.cache_mib} MiB, checkpoints {'in the commit' if args.commit_checkpoint else 'in the background'};"
        f" load {os.getloadavg()}"
    )
    templates = make_items(2_000)
    res: dict = {"batch": args.batch, "nodes": args.nodes, "window": args.window, "load_start": os.getloadavg()}
    for engine in ("sqlite", "postgresql") if args.engine == "both" else (args.engine,):
        res[engine] = run_engine(engine, args, templates, say)
    res["load_end"] = os.getloadavg()
    say(f"load average at the end: {res['load_end']}")
    if args.json:
        print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
