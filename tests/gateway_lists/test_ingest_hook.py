"""DIST-010/011/013 + AUD-005/006 at the ingest commit: two records of one entry in one batch
are decided in order, a correction of a never-listed entry is refused and kept for the
operator, and every published change has its audit leaf in the same transaction."""

from __future__ import annotations

import pytest

from creditx.gateway.store.engine import open_conn
from tests.gateway.push_client import PushClient
from tests.gateway_lists.client import list_payload, list_rows
from tests.pg import ENGINES

pytestmark = pytest.mark.parametrize("store_url", ENGINES, indirect=True)


def test_batch_with_add_correct_and_refused_correction(gateway, gw_dir, pki):
    rows = list_rows("370100", 2, seed=51)
    batch = [
        list_payload("370100", rows[0], 1),
        list_payload("370100", rows[0], 2, op="U", version=2, MD_LRYY="更正"),
        list_payload("370100", rows[1], 3, op="U", version=2, MD_LRYY="从未列入"),
    ]
    c = PushClient(gateway.address, pki.nodes["370100"])
    c.handshake()
    acks = [a for r in c.push([c.batch(batch)]) for a in r.acks]
    c.close()
    assert [a.outcome for a in acks] == [1, 3, 1]  # the ingest stores all three
    # DIST-018 (1.1): the refusal reaches the sender as a warning of its ack
    assert [(w.reason_code, w.requirement) for w in acks[2].warnings] == [("DIST_CORRECT_ABSENT", "DIST-013")]
    assert not acks[0].warnings and not acks[1].warnings
    conn = open_conn(gateway.cfg.database_spec(gw_dir))
    try:
        log = conn.execute("SELECT list_seq, kind, audit_idx FROM list_log ORDER BY list_seq").fetchall()
        assert [(s, k) for s, k, _ in log] == [(1, "ADD"), (2, "CORRECT")]
        (ref,) = conn.execute("SELECT source_seq, reason, rule FROM list_refusals").fetchall()
        assert ref == (3, "DIST_CORRECT_ABSENT", "DIST-013")
        # AUD-005: list leaves follow the registry version's leaf (AUD-007, leaf 0) and the batch's
        # three record leaves, same bytes as the list log's
        assert [i for _, _, i in log] == [4, 5]
        leaf = conn.execute("SELECT leaf_data FROM audit_leaves WHERE idx = 4").fetchone()[0]
        assert b'"kind":"list"' in leaf and b'"list_seq":1' in leaf
        assert conn.execute("SELECT COUNT(*) FROM audit_leaves").fetchone()[0] == 6
    finally:
        conn.close()
