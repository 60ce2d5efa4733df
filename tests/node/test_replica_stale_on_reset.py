"""NODE-043: right after a replica reset (or before its bootstrap starts) a check answers
stale, never a fresh "not listed": the issue saw stale=false for subjects on three lists."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from creditx.node.replica.departments import check
from creditx.node.replica.store import ReplicaStore
from creditx.node.replica.subjects import question
from creditx.node.store import NodeStore

KEY = b"k" * 32


def test_a_wiped_replica_of_a_nonempty_log_answers_stale(tmp_path):
    store = NodeStore(tmp_path / "node.db")
    replica = ReplicaStore(store, KEY)
    now = datetime.now(timezone.utc)
    q = question("uscc", "91370102MA3C4N8A01", KEY)
    replica.set_meta(head=0, last_update_ms=int(time.time() * 1000))
    assert not check(replica, q, now=now, max_age=timedelta(minutes=10)).stale  # an empty log, heard just now
    replica.set_meta(head=1500)  # the gateway's log has 1500 changes; this replica holds none of them
    a = check(replica, q, now=now, max_age=timedelta(minutes=10))
    assert a.stale and a.memberships == () and a.applied_list_seq == 0
    replica.discard_snapshot()  # a reset wipes freshness with the state
    assert replica.state().last_update_ms == 0
    store.close()
