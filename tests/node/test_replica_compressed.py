"""DIST-086…090 end to end: a node that asks for compressed batches and a node that does not,
following one real gateway over mutual TLS, hold the same replica — the same changes, the same
persons' subject keys — and both check it against the gateway's signed list checkpoint."""

from __future__ import annotations

from creditx.node.replica.checkpoints import CheckpointChecker
from creditx.pki.files import read_key
from tests.gateway_lists.client import list_rows, push_rows
from tests.node.test_cli_app import _wait_for as wait_for
from tests.node.test_replica_follow import Node

TABLES = (
    "SELECT list_seq, kind, reason, list_type, entry_id, at_ms, entry, origin FROM replica_changes ORDER BY list_seq",
    "SELECT subject, entry_id FROM replica_subjects ORDER BY subject, entry_id",
    "SELECT entry_id, list_type, state, list_seq, body FROM replica_entries ORDER BY entry_id",
)


def test_a_node_that_asks_for_compressed_batches_holds_the_same_replica_as_one_that_does_not(
    gateway, pki, gw_dir, tmp_path
):
    rows = list_rows("370100", 30, seed=5)
    assert any(not r["fields"].get("MD_ZT_SHXYM") for r in rows)  # natural persons among them
    with (
        Node(tmp_path / "packed.db", pki, gateway.address) as packed,
        Node(tmp_path / "plain.db", pki, gateway.address, compressed_changes=False) as plain,
    ):
        push_rows(gateway.address, pki.nodes["370100"], "370100", rows)
        assert wait_for(lambda: packed.replica.applied() == 30 and plain.replica.applied() == 30)
        assert gateway.lists.servicer.blocks.compressed >= 1  # the packed node was sent blocks
        for sql in TABLES:
            got = packed.store.conn.execute(sql).fetchall()
            assert got and got == plain.store.conn.execute(sql).fetchall()
        key = read_key(gw_dir / "tls" / "signing.key").public_key()
        for n in (packed, plain):  # DIST-090: leaves from the rebuilt changes, checked as ever
            checker = CheckpointChecker(n.replica, _constant(n.channel), lambda: [key])
            assert checker.check_once() == "EXACT"


def _constant(value):
    return lambda: value
