"""Store-level ingest on PostgreSQL vs SQLite, beside raw COPY and raw executemany of the same rows.

    python bench/store_pg.py [--records 100000] [--batch 500] [--pg postgresql://postgres@127.0.0.1:5432/postgres]
                             [--json]

What one ingest batch costs the store — the two dedup look-ups and ``commit_batch`` (records,
audit leaves and tree, counters, current versions, the node's high-water mark, one
transaction) — per record, for each store, on the same generated records (creditx.standard.synth
XZCF rows, real payload bytes and fingerprints, one signature each). In the same run, the raw
limits of each engine on the same row tuples, ``batch`` rows per transaction into a table with the
records' columns and the ``(node, source_seq)`` key: PostgreSQL ``COPY`` and pipelined
``executemany``, SQLite ``executemany`` (WAL, synchronous=NORMAL). Printed as records/s and as
ratios (store ÷ raw). The store's cost per record is also shown per tenth of the run (the curve as
the store grows), the PostgreSQL bytes per record (tables and indexes) and the time to rebuild
the records' indexes, the basis of the sizing in docs/adr/0017-postgresql-partitioning.md.

Every PostgreSQL database is created for the run and dropped after.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from creditx.gateway.audit.leaves import leaves_for, rfc3339  # noqa: E402
from creditx.gateway.ingest.reasons import Outcome  # noqa: E402
from creditx.gateway.ingest.values import Checked, Decision, IncomingRecord, SignatureValue  # noqa: E402
from creditx.gateway.store.sqlite import _INSERT_RECORD, _signatures_json  # noqa: E402
from creditx.sqlite import connect  # noqa: E402
from creditx.standard.fingerprint import fingerprint  # noqa: E402
from creditx.standard.natural_key import natural_key  # noqa: E402
from creditx.standard.record import RECORD_PAYLOAD_TYPE, Record, encode_record  # noqa: E402
from creditx.standard.synth import generate_rows  # noqa: E402

REGION = "370100"
AT = "2026-01-01T00:00:00.000Z"
_COLS = (
    "id, node, source_seq, payload_sha, payload_type, payload, signatures, outcome, reason, requirement,"
    " field, message, fp, natural_key, version, type, region, op, keyid, current, log_index, received_at"
)


def make_items(count: int) -> list[tuple[Decision, IncomingRecord]]:
    key = b"k" * 32
    sig = (SignatureValue("sha256:" + "ab" * 32, "ECDSA-P256-SHA256", b"\x30" * 71),)
    out = []
    rows = generate_rows(REGION, "XZCF", count, seed=3, today=dt.date(2026, 1, 1), invalid_share=0.0)
    for i, r in enumerate(rows):
        rec = Record("XZCF", "I", REGION, f"{r.source_id}-{i}", 1, i + 1, r.fields)
        payload = encode_record(rec)
        inc = IncomingRecord(i + 1, RECORD_PAYLOAD_TYPE, payload, sig)
        checked = Checked(
            i + 1,
            inc.payload_sha,
            fingerprint=fingerprint(rec),
            natural_key=natural_key(rec, key) + f"#{i}",
            version=1,
            record_type="XZCF",
            region=REGION,
            op="I",
            keyid=sig[0].keyid,
        )
        d = Decision(i + 1, Outcome.ACCEPTED, checked, current=True, requirement="SYNC-021")
        out.append((d, inc))
    return out


def row_tuple(i: int, d: Decision, inc: IncomingRecord) -> tuple:
    return (
        i,
        REGION,
        d.source_seq,
        d.payload_sha,
        inc.payload_type,
        inc.payload,
        _signatures_json(inc),
        int(d.outcome),
        d.reason,
        d.requirement,
        d.field,
        d.message,
        d.fingerprint,
        d.natural_key,
        d.version,
        d.record_type,
        d.region,
        d.op,
        d.keyid,
        1,
        i - 1,
        AT,
    )


def batches(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def store_ingest(store, items: list, size: int) -> tuple[float, list[float]]:
    """Seconds for the whole run and µs/record per tenth of it."""
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    parts, t0, slices = batches(items, size), time.perf_counter(), []
    tenth = max(1, len(parts) // 10)
    mark, done = t0, 0
    for n, b in enumerate(parts, start=1):
        ds = [d for d, _ in b]
        assert not store.known_content([(d.natural_key, d.fingerprint) for d in ds])[0]
        store.commit_batch(REGION, b, leaves_for(ds, REGION, now), ds[-1].source_seq, rfc3339(now))
        done += len(b)
        if n % tenth == 0 or n == len(parts):
            t = time.perf_counter()
            slices.append((t - mark) / done * 1e6)
            mark, done = t, 0
    return time.perf_counter() - t0, slices


@contextmanager
def pg_database(server: str):
    name = f"creditx_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_RAW_TABLE = (
    "CREATE TABLE raw (id BIGINT, node TEXT, source_seq BIGINT, payload_sha BYTEA, payload_type TEXT,"
    " payload BYTEA, signatures TEXT, outcome SMALLINT, reason TEXT, requirement TEXT, field TEXT,"
    " message TEXT, fp BYTEA, natural_key TEXT, version BIGINT, type TEXT, region TEXT, op TEXT,"
    " keyid TEXT, current SMALLINT, log_index BIGINT, received_at TEXT, UNIQUE (node, source_seq))"
)


def pg_raw(url: str, rows: list[tuple], size: int, how: str) -> float:
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS raw")
        c.execute(_RAW_TABLE)
        t = time.perf_counter()
        for b in batches(rows, size):
            with c.transaction(), c.cursor() as cur:
                if how == "copy":
                    with cur.copy(f"COPY raw ({_COLS}) FROM STDIN") as cp:
                        for r in b:
                            cp.write_row(r)
                else:
                    cur.executemany(f"INSERT INTO raw ({_COLS}) VALUES ({', '.join(['%s'] * 22)})", b)
        return time.perf_counter() - t


def sqlite_raw(path: Path, rows: list[tuple], size: int) -> float:
    c = connect(path)
    c.execute(_RAW_TABLE.replace("BYTEA", "BLOB"))
    t = time.perf_counter()
    for b in batches(rows, size):
        c.execute("BEGIN IMMEDIATE")
        c.executemany(_INSERT_RECORD.replace("INSERT INTO records", "INSERT INTO raw"), b)
        c.execute("COMMIT")
    elapsed = time.perf_counter() - t
    c.close()
    return elapsed


def pg_sizes(url: str) -> dict[str, int]:
    """Bytes of each partitioned table and of its indexes (all partitions)."""
    out = {}
    with psycopg.connect(url) as c:
        for table in ("records", "audit_leaves", "current_versions", "audit_nodes"):
            row = c.execute(
                "SELECT COALESCE(SUM(pg_table_size(r)), 0), COALESCE(SUM(pg_indexes_size(r)), 0) FROM ("
                "SELECT inhrelid AS r FROM pg_inherits WHERE inhparent = %s::regclass"
                " UNION ALL SELECT %s::regclass) t",
                (table, table),
            ).fetchone()
            assert row is not None  # an aggregate query returns one row
            heap, idx = row
            out[f"{table}.heap"], out[f"{table}.indexes"] = int(heap), int(idx)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres", help="a server to create DBs on")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    from creditx.gateway.store.postgres import PostgresStore
    from creditx.gateway.store.sqlite import SqliteStore

    say = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr, flush=True))
    say(f"generating {args.records} records …")
    items = make_items(args.records)
    rows = [row_tuple(i + 1, d, inc) for i, (d, inc) in enumerate(items)]
    n = len(items)
    res: dict = {"records": n, "batch": args.batch}
    with tempfile.TemporaryDirectory() as tmp:
        say("SQLite: raw executemany …")
        res["sqlite_raw_executemany_rps"] = n / sqlite_raw(Path(tmp) / "raw.db", rows, args.batch)
        say("SQLite: store ingest …")
        s = SqliteStore(Path(tmp) / "g.db", now=AT)
        secs, res["sqlite_store_us_per_tenth"] = store_ingest(s, items, args.batch)
        s.close()
        res["sqlite_store_rps"] = n / secs
    with pg_database(args.pg) as url:
        say("PostgreSQL: raw COPY, raw executemany …")
        res["pg_raw_copy_rps"] = n / pg_raw(url, rows, args.batch, "copy")
        res["pg_raw_executemany_rps"] = n / pg_raw(url, rows, args.batch, "executemany")
        with psycopg.connect(url, autocommit=True) as c:
            c.execute("DROP TABLE raw")
        say("PostgreSQL: store ingest …")
        p = PostgresStore(url, now=AT)
        secs, res["pg_store_us_per_tenth"] = store_ingest(p, items, args.batch)
        p.close()
        res["pg_store_rps"] = n / secs
        res["pg_bytes"] = pg_sizes(url)
        with psycopg.connect(url, autocommit=True) as c:  # the index half of a rebuild or restore
            t = time.perf_counter()
            c.execute("REINDEX TABLE records")
            res["pg_reindex_records_us_per_record"] = (time.perf_counter() - t) / n * 1e6
    res["ratio_pg_store_to_copy"] = res["pg_store_rps"] / res["pg_raw_copy_rps"]
    res["ratio_pg_store_to_executemany"] = res["pg_store_rps"] / res["pg_raw_executemany_rps"]
    res["ratio_sqlite_store_to_executemany"] = res["sqlite_store_rps"] / res["sqlite_raw_executemany_rps"]
    res["ratio_pg_store_to_sqlite_store"] = res["pg_store_rps"] / res["sqlite_store_rps"]
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"{n} records, {args.batch} per transaction")
    print(f"{'':34}{'records/s':>12}{'ratio':>10}")
    print(f"{'SQLite raw executemany':34}{res['sqlite_raw_executemany_rps']:12.0f}{1:10.2f}")
    print(
        f"{'SQLite store ingest':34}{res['sqlite_store_rps']:12.0f}{res['ratio_sqlite_store_to_executemany']:10.2f}"
        "  (÷ SQLite raw executemany)"
    )
    print(f"{'PostgreSQL raw COPY':34}{res['pg_raw_copy_rps']:12.0f}{1:10.2f}")
    print(
        f"{'PostgreSQL raw executemany':34}{res['pg_raw_executemany_rps']:12.0f}"
        f"{res['pg_raw_executemany_rps'] / res['pg_raw_copy_rps']:10.2f}  (÷ raw COPY)"
    )
    print(
        f"{'PostgreSQL store ingest':34}{res['pg_store_rps']:12.0f}{res['ratio_pg_store_to_copy']:10.2f}"
        f"  (÷ raw COPY; {res['ratio_pg_store_to_executemany']:.2f} ÷ raw executemany;"
        f" {res['ratio_pg_store_to_sqlite_store']:.2f} ÷ SQLite store)"
    )
    print("store µs/record per tenth of the run (growth curve):")
    print("  SQLite     " + " ".join(f"{x:6.1f}" for x in res["sqlite_store_us_per_tenth"]))
    print("  PostgreSQL " + " ".join(f"{x:6.1f}" for x in res["pg_store_us_per_tenth"]))
    print(f"PostgreSQL REINDEX records: {res['pg_reindex_records_us_per_record']:.1f} µs/record")
    print("PostgreSQL bytes per record:")
    for k, v in res["pg_bytes"].items():
        print(f"  {k:26}{v / n:10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
