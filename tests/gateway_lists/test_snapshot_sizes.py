"""DIST-071/075: the snapshot's chunk plan comes from list_snap_sizes, which must agree with the
rows it describes — as written by publish, and as back-filled by migration 4 on an older store."""

from __future__ import annotations

import sqlite3

from tests.gateway.push_client import PushClient
from tests.gateway_lists.client import list_payload, list_rows

FROM_LOG = "SELECT list_seq, entry_id, length(entry) + length(origin_payload) + length(origin_sigs) FROM list_log"


def _push(gateway, pki, n: int, seed: int) -> None:
    c = PushClient(gateway.address, pki.nodes["370100"])
    c.handshake()
    c.push([c.batch([list_payload("370100", r, i + 1) for i, r in enumerate(list_rows("370100", n, seed=seed))])])
    c.close()


def test_publish_keeps_one_size_per_change_equal_to_its_row(gateway, gw_dir, pki):
    _push(gateway, pki, 12, seed=41)
    with sqlite3.connect(gw_dir / "gateway.db") as db:
        sizes = db.execute("SELECT list_seq, entry_id, bytes FROM list_snap_sizes ORDER BY list_seq").fetchall()
        assert len(sizes) == 12 and sizes == db.execute(FROM_LOG + " ORDER BY list_seq").fetchall()


def test_migration_backfills_sizes_of_an_older_store(gateway, gw_dir, pki):
    _push(gateway, pki, 7, seed=42)
    gateway.stop(grace=1)
    from creditx.gateway.lists.store import create_size_table

    with sqlite3.connect(gw_dir / "gateway.db") as db:  # as a store of schema 3 had it
        db.execute("DROP TABLE list_snap_sizes")
        create_size_table(db)
        assert (
            db.execute("SELECT list_seq, entry_id, bytes FROM list_snap_sizes ORDER BY list_seq").fetchall()
            == db.execute(FROM_LOG + " ORDER BY list_seq").fetchall()
        )
