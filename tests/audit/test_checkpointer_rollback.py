"""AUD-027: the gateway's Checkpointer (the same class for the audit and the list log) refuses
to sign a tree smaller than its latest checkpoint. Real SQLite file, real signatures."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from creditx.gateway.audit.checkpoints import Checkpointer, origin_for
from creditx.gateway.store.sqlite import SqliteStore
from creditx.standard.errors import UnavailableError
from creditx.standard.merkle import CompactRange
from tests.gateway.store_contract import AT, commit, item

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_a_tree_below_the_latest_checkpoint_is_refused_and_recorded(tmp_path):
    db = tmp_path / "gateway.db"
    store = SqliteStore(db, now=AT)
    commit(store, "370100", [item(1), item(2), item(3, nk="L")], 3)
    store.close()
    key = ec.generate_private_key(ec.SECP256R1())
    cp = Checkpointer(db, origin_for("gw"), lambda: key, lambda: NOW)
    try:
        assert cp.sign_now().size == 3
        conn = sqlite3.connect(str(db))  # the audit tree is rewound to 2 leaves
        with conn:
            hashes = [r[0] for r in conn.execute("SELECT leaf_hash FROM audit_leaves ORDER BY idx LIMIT 2")]
            cr = CompactRange()
            cr.extend(hashes)
            conn.execute("UPDATE audit_tree SET frontier = ? WHERE id = 1", (cr.to_bytes(),))
        conn.close()
        with pytest.raises(UnavailableError, match="AUD-027 ROLLBACK: tree size 2 .* below its signed checkpoint 3"):
            cp.sign_now()
        assert "ROLLBACK" in cp.last_error
        assert cp.covering(3) != "" and cp.current().size == 3  # the signed one is still served
        assert [r[0] for r in cp.conn.execute("SELECT size FROM checkpoints")] == [3]  # nothing signed at 2
    finally:
        cp.close()
