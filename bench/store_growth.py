"""Ingest cost per record as the gateway's store grows: the curve from 10k to 10 M stored records.

    python bench/store_growth.py [--engine sqlite|postgresql|both] [--max-records 1000000]
                                 [--pg tuned|stock|<url>[,...]] [--batch 500] [--nodes 16]
                                 [--window 10000] [--keys random|realistic] [--raw-full-rows N] [--cache-mib 256]
                                 [--page-size N] [--commit-checkpoint] [--tmp DIR] [--json]

Drives the store directly, as the gateway's main process does for one batch: the dedup and
current-version look-up (``known_content``, one look-up by natural key, ADR 0020) and
``commit_batch`` (records, audit leaves and tree, counters, version chains, the node's high-water
mark; one transaction), with pre-made accepted decisions of realistic shape (creditx.standard.synth
XZCF payloads, a random SHA-256 fingerprint and a random natural key per record — the worst case
for the key-ordered indexes: real keys share their authority's prefix; ``--keys realistic`` makes
them so (``RealisticKeys``) —, one signature each;
batches go round robin over ``--nodes`` cities). Decisions and leaves are made outside the timed part.

PostgreSQL runs on a cluster of the benchmark's own (``--pg tuned``: the README's settings for a
gateway, ``--pg stock``: initdb's defaults; bench/pg_cluster.py) or on a given server (a URL: a
database is created there and dropped). Several, comma-separated, run one after the other.

At each checkpoint (10k, 20k, 50k, 100k, 200k, 500k, 1 M, … up to ``--max-records``) it prints
the cost of the ``--window`` records just before it: wall µs/record, this process's CPU
µs/record (all its threads: SQLite's background checkpoint too) and, for PostgreSQL, the CPU of
the server process serving the store's connection (read from /proc: the server runs here) plus,
on an own cluster, its checkpointer, background and WAL writers ("bg"); bytes written per record
(write amplification): for SQLite this process's ``write_bytes`` from /proc/self/io (WAL,
checkpoints and the database file), for PostgreSQL the WAL bytes of the window and the heap and
index pages the server wrote back (``pg_stat_bgwriter``: checkpoints, background writer and
evictions; they land in whichever window they happen in); and the 1-minute load average. The raw
bounds of the same run — a plain executemany and, on PostgreSQL, COPY of the same rows into a
table with only the ``(node, source_seq)`` key — are measured at the start (empty) and at the end
(the table grown inside the engine to the store's size, or ``--raw-full-rows``): their growth is
the engine's own. The summary gives the last checkpoint's cost over the 10k one's and over the
1 M one's (the aim is ≤ 1.2), and store ÷ raw. Files and own clusters live in a temporary
directory (``--tmp``), removed after.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pg_cluster import STOCK, TUNED, own_cluster  # noqa: E402
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


class RealisticKeys:
    """Natural keys shaped as REC-FP-010 makes them for real decisions: ``XZCF|<deciding body's
    USCC>|<document number>|<subject>``. Each city has ``bodies`` deciding bodies (a city's
    departments and its counties' — Shandong has some 5,800 in all), drawn with weights 1/rank
    (a market-regulation bureau decides far more than a museum), each numbering its decisions
    ``…罚〔2026〕N号`` from 1 up, unpadded, as documents are numbered; the subject is random. A
    city's batch then inserts at a few hundred places of each key-ordered tree, not 500."""

    def __init__(self, cities: list[str], bodies: int, seed: int = 7) -> None:
        import random

        self._rng = random.Random(seed)
        self._bodies = {
            city: [f"1137{city[2:4]}{k:04d}{self._rng.randrange(16**8):08X}" for k in range(bodies)] for city in cities
        }
        self._weights = [1 / (k + 1) for k in range(bodies)]
        self._numbers: dict[str, int] = {}

    def key(self, city: str, n: int) -> str:
        body = self._rng.choices(self._bodies[city], self._weights)[0]
        number = self._numbers[body] = self._numbers.get(body, 0) + 1
        subject = hashlib.sha256(n.to_bytes(8, "big")).hexdigest()[:18].upper()
        return f"XZCF|{body}|{city[2:4]}罚〔2026〕{number}号|{subject}"


def decisions(
    templates: list[tuple[Decision, IncomingRecord]], nodes: int, batch: int, keys: RealisticKeys | None = None
) -> Iterator[tuple]:
    """Endless batches: (node, [(decision, record)], leaves, committed_seq). Every record has its
    own random fingerprint; its natural key is random (the worst case for the key-ordered trees)
    or, with ``keys``, shaped as real keys are."""
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
                nk = keys.key(node, n) if keys else h[:16].hex()
                checked = d.checked._replace(source_seq=seqs[node], fingerprint=h, natural_key=nk, region=node)
                items.append((dataclasses.replace(d, source_seq=seqs[node], checked=checked), dataclasses.replace(inc)))
            ds = [d for d, _ in items]
            yield node, items, leaves_for(ds, node, NOW), seqs[node]


def _write_bytes() -> int:
    with open("/proc/self/io") as f:
        for line in f:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    return 0


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a local process (0 when gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Meter:
    """What a window costs besides its wall time: this process's CPU, the server's CPU (the store's
    backend; on a cluster of the benchmark's own also its checkpointer, background and WAL writers)
    and bytes written (SQLite: this process's write_bytes; PostgreSQL: WAL bytes, and the heap and
    index pages the server wrote back, pg_stat_bgwriter)."""

    def __init__(self, pg_url: str = "", backend: int = 0, own: bool = False) -> None:
        self._c = None
        self.backend, self.helpers = backend, []
        if pg_url:
            import psycopg

            self._c = psycopg.connect(pg_url, autocommit=True)
            if own:
                self.helpers = [
                    r[0]
                    for r in self._c.execute(
                        "SELECT pid FROM pg_stat_activity WHERE backend_type IN"
                        " ('checkpointer', 'background writer', 'walwriter')"
                    )
                ]

    def sample(self) -> tuple[float, float, float, float, int, int]:
        """(perf_counter, own CPU, backend CPU, background CPU, bytes written, data bytes written)"""
        if self._c is None:
            return time.perf_counter(), time.process_time(), 0.0, 0.0, _write_bytes(), 0
        row = self._c.execute(
            "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn,"
            " (buffers_checkpoint + buffers_clean + buffers_backend) * current_setting('block_size')::bigint"
            " FROM pg_stat_bgwriter"
        ).fetchone()
        assert row is not None
        return (
            time.perf_counter(),
            time.process_time(),
            _cpu_s(self.backend),
            sum(_cpu_s(p) for p in self.helpers),
            int(row[0]),
            int(row[1]),
        )

    def close(self) -> None:
        if self._c is not None:
            self._c.close()


def _one_batch(store, node, items, leaves, seq) -> None:
    ds = [d for d, _ in items]
    store.known_content([(d.natural_key, d.fingerprint) for d in ds])  # dedup + current version, one look-up
    store.commit_batch(node, items, leaves, seq, AT)


def _window(store, todo: list[tuple], meter: Meter, stored: int) -> dict:
    """The cost of the batches of ``todo`` (the timed window), per record."""
    n0, a = stored, meter.sample()
    for node, items, leaves, seq in todo:
        _one_batch(store, node, items, leaves, seq)
        stored += len(items)
    b, n = meter.sample(), stored - n0
    return {
        "stored": stored,
        "wall_us": (b[0] - a[0]) / n * 1e6,
        "cpu_us": (b[1] - a[1]) / n * 1e6,
        "server_cpu_us": (b[2] - a[2]) / n * 1e6,
        "server_bg_cpu_us": (b[3] - a[3]) / n * 1e6,
        "bytes_per_record": (b[4] - a[4]) / n,
        "data_bytes_per_record": (b[5] - a[5]) / n,
        "load1": os.getloadavg()[0],
    }


def grow(store, batches: Iterator[tuple], marks: list[int], window: int, batch: int, meter: Meter, say) -> list[dict]:
    curve: list[dict] = []
    stored = 0
    for mark in marks:
        try:
            while stored < mark - window:  # untimed growth up to the window before the checkpoint
                node, items, leaves, seq = next(batches)
                _one_batch(store, node, items, leaves, seq)
                stored += len(items)
            point = _window(store, [next(batches) for _ in range(max(1, (mark - stored) // batch))], meter, stored)
        except KeyboardInterrupt:  # Ctrl-C, kill -INT / -TERM: stop growing, end with the curve so far
            say(f"  interrupted after {stored:,} records: the end bounds and the summary follow")
            break
        stored = point["stored"]
        curve.append(point)
        server = (
            f" + server {point['server_cpu_us']:6.1f} (+ bg {point['server_bg_cpu_us']:5.1f})" if meter.backend else ""
        )
        data = f", data pages {point['data_bytes_per_record']:7.0f}" if meter.backend else ""
        say(
            f"  {stored:>11,}  wall {point['wall_us']:7.1f} µs  cpu {point['cpu_us']:6.1f}{server} µs"
            f"  written {point['bytes_per_record']:7.0f}{data} B/record  load {point['load1']:.1f}"
        )
    return curve


_RAW_INSERT = _INSERT_RECORD.replace("INSERT INTO records", "INSERT INTO raw")
_RAW_COLS = _INSERT_RECORD.split("(", 1)[1].split(")", 1)[0]


def raw_bound(engine: str, target, rows: list[tuple], batch: int, how: str = "executemany") -> float:
    """µs/record of a plain executemany (or, on PostgreSQL, COPY) of ``rows``, ``batch`` per transaction."""
    t = time.perf_counter()
    if engine == "sqlite":
        for i in range(0, len(rows), batch):
            target.execute("BEGIN IMMEDIATE")
            target.executemany(_RAW_INSERT, rows[i : i + batch])
            target.execute("COMMIT")
    else:
        with target.cursor() as cur:
            for i in range(0, len(rows), batch):
                with target.transaction():
                    if how == "copy":
                        with cur.copy(f"COPY raw ({_RAW_COLS}) FROM STDIN") as cp:
                            for r in rows[i : i + batch]:
                                cp.write_row(r)
                    else:
                        cur.executemany(
                            f"INSERT INTO raw ({_RAW_COLS}) VALUES ({', '.join(['%s'] * 22)})", rows[i : i + batch]
                        )
    return (time.perf_counter() - t) / len(rows) * 1e6


def raw_rows(templates, start: int, count: int) -> list[tuple]:
    out = []
    for i in range(start, start + count):
        d, inc = templates[i % len(templates)]
        r = list(row_tuple(i + 1, d, inc))
        r[2] = i + 1  # source_seq
        out.append(tuple(r))
    return out


def fill_raw(engine: str, target, template: tuple, start: int, stop: int) -> None:
    """Grow the raw table to the store's size inside the engine (rows of the template's size, keys
    ``start`` … ``stop - 1``), so the end bound is measured on a table as big as the store."""
    cols = [c.strip() for c in _RAW_COLS.split(",")]
    if engine == "sqlite":
        values = ", ".join("g" if c in ("id", "source_seq") else "?" for c in cols)
        params = [v for c, v in zip(cols, template, strict=True) if c not in ("id", "source_seq")]
        target.execute("BEGIN IMMEDIATE")
        target.execute(
            f"WITH RECURSIVE s(g) AS (SELECT ? UNION ALL SELECT g + 1 FROM s WHERE g < ?)"
            f" INSERT INTO raw ({_RAW_COLS}) SELECT {values} FROM s",
            [start, stop - 1, *params],
        )
        target.execute("COMMIT")
    else:
        values = ", ".join("g" if c in ("id", "source_seq") else "%s" for c in cols)
        params = [v for c, v in zip(cols, template, strict=True) if c not in ("id", "source_seq")]
        target.execute(
            f"INSERT INTO raw ({_RAW_COLS}) SELECT {values} FROM generate_series(%s::bigint, %s::bigint) g",
            [*params, start, stop - 1],
        )
        target.execute("VACUUM ANALYZE raw")


def _raw_size(args, out: dict) -> int:
    """Rows the raw table grows to before the end bound: the store's size, or ``--raw-full-rows``."""
    top = out["curve"][-1]["stored"]
    return min(top, args.raw_full_rows or top) + 1


def _summary(out: dict, say) -> None:
    curve = out["curve"]
    first, last = curve[0], curve[-1]
    million = next((p for p in curve if p["stored"] >= 1_000_000), None)

    def cpu(p: dict) -> float:
        return p["cpu_us"] + p["server_cpu_us"] + p["server_bg_cpu_us"]

    for name, base in (("first", first), ("1m", million)):
        if base is None or base is last:
            continue
        out[f"ratio_last_to_{name}_wall"] = last["wall_us"] / base["wall_us"]
        out[f"ratio_last_to_{name}_cpu"] = cpu(last) / cpu(base)
        out[f"ratio_last_to_{name}_bytes"] = last["bytes_per_record"] / base["bytes_per_record"]
        say(
            f"  store at {last['stored']:,} ÷ at {base['stored']:,}: wall {out[f'ratio_last_to_{name}_wall']:.2f}×,"
            f" cpu {out[f'ratio_last_to_{name}_cpu']:.2f}×, bytes written {out[f'ratio_last_to_{name}_bytes']:.2f}×"
            " (aim: cpu and wall ≤ 1.20)"
        )
    for how in ("executemany", "copy"):
        e, f = out.get(f"raw_{how}_us_empty"), out.get(f"raw_{how}_us_full")
        if e and f:
            out[f"raw_{how}_ratio_full_to_empty"] = f / e
            say(
                f"  raw {how}: {e:.1f} µs/record empty, {f:.1f} at {out['raw_rows_full']:,} rows ({f / e:.2f}×);"
                f" store ÷ raw {how}: {first['wall_us'] / e:.2f}× at the start, {last['wall_us'] / f:.2f}× at the end"
            )


def _sqlite_run(args, templates, batches, marks, say) -> dict:
    from creditx.gateway.store.sqlite import SqliteStore
    from creditx.sqlite import connect

    out: dict = {"engine": "sqlite"}
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        if args.page_size:  # an A/B of the page size: a new file gets it before its first write
            import sqlite3

            pre = sqlite3.connect(Path(tmp) / "gateway.db")
            pre.execute(f"PRAGMA page_size={int(args.page_size)}")
            pre.execute("VACUUM")
            pre.close()
        store = SqliteStore(
            Path(tmp) / "gateway.db", now=AT, cache_mib=args.cache_mib, background_checkpoint=not args.commit_checkpoint
        )
        raw = connect(Path(tmp) / "raw.db")
        raw.execute(_RAW_TABLE.replace("BYTEA", "BLOB"))
        out["page_size"] = store.conn.execute("PRAGMA page_size").fetchone()[0]
        say(f"SQLite store in {tmp} ({out['page_size']}-byte pages):")
        out["raw_executemany_us_empty"] = raw_bound("sqlite", raw, raw_rows(templates, 0, args.window), args.batch)
        say(f"  raw executemany, empty: {out['raw_executemany_us_empty']:.1f} µs/record")
        meter = Meter()
        out["curve"] = grow(store, batches, marks, args.window, args.batch, meter, say)
        fill_raw("sqlite", raw, raw_rows(templates, 0, 1)[0], args.window + 1, _raw_size(args, out))
        out["raw_executemany_us_full"] = raw_bound(
            "sqlite", raw, raw_rows(templates, _raw_size(args, out) + 1, args.window), args.batch
        )
        raw.close()
        store.close()
        out["file_bytes_per_record"] = (
            sum(f.stat().st_size for f in Path(tmp).glob("gateway.db*")) / out["curve"][-1]["stored"]
        )
        meter.close()
    return out


def _pg_run(args, templates, batches, marks, server: str, say) -> dict:
    import psycopg

    from creditx.gateway.store.postgres import PostgresStore

    own = server in ("stock", "tuned")
    out: dict = {"engine": "postgresql", "server": server}
    with ExitStack() as stack:
        base = (
            stack.enter_context(own_cluster(TUNED if server == "tuned" else STOCK, under=args.tmp)) if own else server
        )
        url = stack.enter_context(pg_database(base))
        store = PostgresStore(url, now=AT)
        stack.callback(store.close)
        with psycopg.connect(url, autocommit=True) as pg:
            settings: dict[str, str] = dict(
                pg.execute(
                    "SELECT name, current_setting(name) FROM pg_settings WHERE name IN ('shared_buffers',"
                    " 'max_wal_size', 'checkpoint_timeout', 'wal_compression', 'server_version')"
                ).fetchall()
            )
            out["settings"] = settings
            say(f"PostgreSQL store ({'a cluster of its own, ' + server + ' settings' if own else server}): {settings}")
            pg.execute(_RAW_TABLE)
            rows0 = raw_rows(templates, 0, args.window)
            out["raw_executemany_us_empty"] = raw_bound("postgresql", pg, rows0[: args.window // 2], args.batch)
            out["raw_copy_us_empty"] = raw_bound("postgresql", pg, rows0[args.window // 2 :], args.batch, "copy")
            say(
                f"  raw executemany / COPY, empty: {out['raw_executemany_us_empty']:.1f} /"
                f" {out['raw_copy_us_empty']:.1f} µs/record"
            )
            meter = Meter(url, store.conn.info.backend_pid, own)
            stack.callback(meter.close)
            out["curve"] = grow(store, batches, marks, args.window, args.batch, meter, say)
            fill_raw("postgresql", pg, rows0[0], args.window + 1, _raw_size(args, out))
            rows1 = raw_rows(templates, _raw_size(args, out) + 1, args.window)
            out["raw_executemany_us_full"] = raw_bound("postgresql", pg, rows1[: args.window // 2], args.batch)
            out["raw_copy_us_full"] = raw_bound("postgresql", pg, rows1[args.window // 2 :], args.batch, "copy")
            out["sizes"] = {
                r[0]: int(r[1])
                for r in pg.execute(
                    "SELECT c.relname, SUM(pg_relation_size(i.inhrelid)) FROM pg_inherits i"
                    " JOIN pg_class c ON c.oid = i.inhparent GROUP BY c.relname ORDER BY 2 DESC LIMIT 12"
                )
            }
            say(f"  sizes (bytes, all partitions): {out['sizes']}")
    return out


def run_engine(engine: str, args, templates, say, server: str = "") -> dict:
    marks = checkpoints(args.max_records)
    keys = RealisticKeys(CITIES[: args.nodes], args.bodies) if args.keys == "realistic" else None
    batches = decisions(templates, args.nodes, args.batch, keys)
    out = (
        _sqlite_run(args, templates, batches, marks, say)
        if engine == "sqlite"
        else _pg_run(args, templates, batches, marks, server, say)
    )
    out["raw_rows_full"] = _raw_size(args, out) - 1
    _summary(out, say)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--max-records", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--nodes", type=int, default=16, help="cities the batches go round robin over (≤ 17)")
    ap.add_argument("--window", type=int, default=10_000, help="records timed before each checkpoint")
    ap.add_argument(
        "--keys",
        choices=("random", "realistic"),
        default="random",
        help="natural keys: random (the worst case for key-ordered trees) or shaped as real ones (REC-FP-010)",
    )
    ap.add_argument("--bodies", type=int, default=360, help="--keys realistic: deciding bodies per city")
    ap.add_argument(
        "--pg",
        default="tuned",
        help="PostgreSQL servers, comma-separated: 'tuned' / 'stock' (a cluster of the run's own with the README's"
        " settings / initdb's defaults) or a URL of a server to create the database on",
    )
    ap.add_argument(
        "--raw-full-rows", type=int, default=0, help="rows of the raw table for the end bound (default: the store's)"
    )
    ap.add_argument("--tmp", default=None, help="where the SQLite files and own clusters live (default: TMPDIR)")
    ap.add_argument("--cache-mib", type=int, default=256, help="the SQLite store's page cache (store_cache_mib)")
    ap.add_argument("--page-size", type=int, default=0, help="SQLite: page size of the new store file (A/B)")
    ap.add_argument(
        "--commit-checkpoint", action="store_true", help="SQLite: checkpoint in the commit, as before (A/B)"
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    # kill -INT / -TERM end the growth and still print the bounds and the summary (a background
    # job starts with SIGINT ignored)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    def say(*a: object) -> None:  # with --json the progress goes to stderr, the JSON alone to stdout
        print(*a, file=sys.stderr if args.json else sys.stdout, flush=True)

    say(
        f"{args.batch} records per batch, {args.nodes} nodes, {args.window:,}-record windows; SQLite cache"
        f" {args.cache_mib} MiB, checkpoints {'in the commit' if args.commit_checkpoint else 'in the background'};"
        f" {args.keys} natural keys; load {os.getloadavg()}"
    )
    templates = make_items(2_000)
    res: dict = {
        "batch": args.batch,
        "nodes": args.nodes,
        "window": args.window,
        "keys": args.keys,
        "load_start": os.getloadavg(),
    }
    if args.engine in ("sqlite", "both"):
        res["sqlite"] = run_engine("sqlite", args, templates, say)
    if args.engine in ("postgresql", "both"):
        res["postgresql"] = [run_engine("postgresql", args, templates, say, server) for server in args.pg.split(",")]
    res["load_end"] = os.getloadavg()
    say(f"load average at the end: {res['load_end']}")
    if args.json:
        print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
