"""`creditx node receipts --verify` against a real gateway: a real node syncs, then proves every
acked decision is in the log (AUD-031) and stores the checkpoint it verified (AUD-030)."""

from __future__ import annotations

import datetime as dt
import json

from creditx.node.app import NodeApp
from creditx.node.cli import cmd_receipts
from creditx.node.config import init_node_dir
from creditx.standard.synth import generate_rows
from creditx.standard.synth.writers import write_rows
from creditx.standard.tabular import read_table


def test_node_proves_its_acked_decisions(gateway, pki, tmp_path, capsys):
    nd = tmp_path / "node"
    init_node_dir(nd, region="370100", gateway=gateway.address, certs=pki.nodes["370100"].dir, server_name="localhost")
    src = tmp_path / "cf.csv"
    with open(src, "wb") as out:
        write_rows(
            out,
            generate_rows("370100", "XZCF", 30, seed=5, invalid_share=0.0, today=dt.date.today()),
            record_type="XZCF",
        )
    app = NodeApp(nd)
    app.ingest(read_table(src), source=str(src))
    app.runner().sync_once()
    app.close()

    class Args:
        dir, verify, json = nd, True, True

    assert cmd_receipts(Args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verified"] == 30 and out["failed"] == [] and out["alarms"] == [] and out["tree_size"] == 31
    assert cmd_receipts(Args) == 0  # a second look checks consistency with the first
    capsys.readouterr()


def test_receipt_is_rebuilt_from_the_stored_ack_alone(gateway, pki, tmp_path, capsys):
    """AUD-035 (1.1): the node stores decided_at and rebuilds the whole leaf from its ack, so an
    ack whose time differs from the leaf's fails even though every other field matches."""
    import sqlite3

    nd = tmp_path / "node"
    init_node_dir(nd, region="370100", gateway=gateway.address, certs=pki.nodes["370100"].dir, server_name="localhost")
    src = tmp_path / "cf.csv"
    with open(src, "wb") as out:
        write_rows(out, generate_rows("370100", "XZCF", 3, seed=6, today=dt.date.today()), record_type="XZCF")
    app = NodeApp(nd)
    app.ingest(read_table(src), source=str(src))
    app.runner().sync_once()
    app.close()
    db = sqlite3.connect(nd / "node.db")
    rows = db.execute("SELECT decided_at, logged FROM outbox_acks ORDER BY source_seq").fetchall()
    assert len(rows) == 3 and all(d.endswith("Z") and logged == 1 for d, logged in rows)
    db.execute("UPDATE outbox_acks SET decided_at = '2000-01-01T00:00:00.000Z' WHERE source_seq = 2")
    db.commit()
    db.close()

    class Args:
        dir, verify, json = nd, True, True

    cmd_receipts(Args)
    out = json.loads(capsys.readouterr().out)
    assert out["verified"] == 2 and [f["source_seq"] for f in out["failed"]] == [2]
