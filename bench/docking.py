"""Database docking benchmark: rows/s from a real front-end database into the node's outbox,
beside the two bounds measured in the same run on the same rows.

    python bench/docking.py [--server postgresql|mariadb] [--rows 20000] [--batch 500] [--json]

Creates its own database on the local server (PostgreSQL 127.0.0.1:5432 as postgres, MariaDB
127.0.0.1:3306 as root), fills a table with generated XZCF rows (creditx.standard.synth), then:

* read bound: the same paged (tracking, key) SELECTs through SQLAlchemy, nothing else;
* intake bound: creditx.node.intake.ingest of the already-mapped rows from memory (validate,
  sign, SQLite), one transaction per batch;
* end to end: creditx.node.docking.poll.poll, cursor and counters committed with each page.

End to end is printed as a ratio to each bound. The database is dropped afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from creditx.node.docking.config import DockingSource  # noqa: E402
from creditx.node.docking.poll import _intake_rows, poll  # noqa: E402
from creditx.node.docking.reader import SourceReader  # noqa: E402
from creditx.node.intake import ingest  # noqa: E402
from creditx.node.store import NodeStore  # noqa: E402
from creditx.standard.catalogue import load_catalogue  # noqa: E402
from creditx.standard.envelope import Signer  # noqa: E402
from creditx.standard.synth import generate_rows  # noqa: E402

SERVERS = {
    "postgresql": ("postgresql+psycopg://postgres@127.0.0.1:5432/{db}", "postgres", "TIMESTAMP(6)"),
    "mariadb": ("mysql+pymysql://root@127.0.0.1:3306/{db}?charset=utf8mb4", "test", "DATETIME(6)"),
}
CODES = load_catalogue().record_type("XZCF").codes
DATES = {"CF_JDRQ", "CF_YXQ", "CF_GSJZQ"}


def fill(engine, count: int, tracking_type: str) -> None:
    cols = ", ".join(
        f"{c.lower()} {'DATE' if c in DATES else 'NUMERIC(18,6)' if c == 'CF_NR_FK' else 'TEXT'}" for c in CODES
    )
    with engine.begin() as c:
        c.execute(sa.text(f"CREATE TABLE cf_qzk (id INTEGER PRIMARY KEY, gxsj {tracking_type} NOT NULL, {cols})"))
    base = dt.datetime(2026, 5, 1)
    rows = []
    for i, g in enumerate(generate_rows("370100", "XZCF", count, seed=3, today=dt.date.today()), start=1):
        row = {"id": i, "gxsj": base + dt.timedelta(seconds=i // 10)}
        for code in CODES:
            v = g.fields.get(code) or None
            row[code.lower()] = (
                dt.date.fromisoformat(v) if v and code in DATES else Decimal(v) if v and code == "CF_NR_FK" else v
            )
        rows.append(row)
    insert = sa.text(f"INSERT INTO cf_qzk ({', '.join(rows[0])}) VALUES ({', '.join(':' + k for k in rows[0])})")
    with engine.begin() as c:
        for i in range(0, len(rows), 2000):
            c.execute(insert, rows[i : i + 2000])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", choices=sorted(SERVERS), default="postgresql")
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    template, admin_db, tracking_type = SERVERS[args.server]
    name = f"cx_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(template.format(db=admin_db), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f"CREATE DATABASE {name}"))
    url = template.format(db=name)
    engine = sa.create_engine(url)
    try:
        fill(engine, args.rows, tracking_type)
        src = DockingSource(
            name="bench",
            url=url,
            record_type="XZCF",
            key="id",
            tracking="gxsj",
            columns={c.lower(): c for c in CODES},
            table="cf_qzk",
            batch_rows=args.batch,
            max_pages_per_poll=10**9,
        )
        signer = Signer(ec.generate_private_key(ec.SECP256R1()))
        out = {"server": args.server, "rows": args.rows, "batch": args.batch}
        with tempfile.TemporaryDirectory() as tmp:
            reader = SourceReader(src)
            t0, cursor, pages = time.perf_counter(), None, []
            while page := reader.page(cursor, args.batch):
                pages.append(page)
                cursor = (page[-1]["gxsj"], page[-1]["id"])
            out["read_rows_per_s"] = args.rows / (time.perf_counter() - t0)

            store = NodeStore(Path(tmp) / "bound.db")
            mapped = [r for page in pages for r in _intake_rows(store, src, page)[0]]
            t0 = time.perf_counter()
            ingest(
                store,
                signer,
                mapped,
                region="370100",
                source="bench",
                today=dt.date.today(),
                clock=time.time,
                batch_size=args.batch,
            )
            out["intake_rows_per_s"] = args.rows / (time.perf_counter() - t0)
            store.close()

            store = NodeStore(Path(tmp) / "docking.db")
            t0 = time.perf_counter()
            result = poll(store, signer, src, reader, region="370100", today=dt.date.today())
            out["end_to_end_rows_per_s"] = args.rows / (time.perf_counter() - t0)
            assert result.seen == args.rows and result.pending == 0, result
            out["accepted"] = result.accepted
            store.close()
            reader.close()
        out["ratio_to_read"] = out["end_to_end_rows_per_s"] / out["read_rows_per_s"]
        out["ratio_to_intake"] = out["end_to_end_rows_per_s"] / out["intake_rows_per_s"]
        if args.json:
            print(json.dumps(out, indent=2))
        else:
            print(f"{args.server}, {args.rows} rows, pages of {args.batch}:")
            print(f"  read bound (paged SELECT):     {out['read_rows_per_s']:10,.0f} rows/s")
            print(f"  intake bound (ingest, memory): {out['intake_rows_per_s']:10,.0f} rows/s")
            print(
                f"  docking end to end:            {out['end_to_end_rows_per_s']:10,.0f} rows/s "
                f"({out['ratio_to_read']:.2f} × read, {out['ratio_to_intake']:.2f} × intake); "
                f"{out['accepted']} accepted"
            )
    finally:
        engine.dispose()
        with admin.connect() as c:
            c.execute(sa.text(f"DROP DATABASE {name}" + (" WITH (FORCE)" if args.server == "postgresql" else "")))
        admin.dispose()


if __name__ == "__main__":
    main()
