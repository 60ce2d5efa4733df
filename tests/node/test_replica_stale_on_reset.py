"""NODE-043: right after a replica reset (or before its bootstrap starts) a check answers
stale, never a fresh "not listed": the issue saw stale=false for subjects on three lists."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from creditx.node.replica.departments import check
from creditx.node.replica.store import ReplicaStore
from creditx.node.replica.subjects import question
from creditx.node.store import NodeStore
from creditx.pki.testing import make_pki

KEY = b"k" * 32


def test_a_wiped_replica_of_a_nonempty_log_answers_stale(tmp_path):
    store = NodeStore(tmp_path / "node.db")
    replica = ReplicaStore(store, KEY)
    now = datetime.now(UTC)
    q = question("uscc", "91370102MA3C4N8A01", KEY)
    replica.set_meta(head=0, last_update_ms=int(time.time() * 1000))
    assert not check(replica, q, now=now, max_age=timedelta(minutes=10)).stale  # an empty log, heard just now
    replica.set_meta(head=1500)  # the gateway's log has 1500 changes; this replica holds none of them
    a = check(replica, q, now=now, max_age=timedelta(minutes=10))
    assert a.stale and a.memberships == () and a.applied_list_seq == 0
    replica.discard_snapshot()  # a reset wipes freshness with the state
    assert replica.state().last_update_ms == 0
    store.close()


def test_a_verified_checkpoint_at_the_head_keeps_a_quiet_replica_fresh(tmp_path):
    """NODE-044: freshness comes from the last verified checkpoint, not the last change."""
    import argparse

    from creditx.node.app import NodeApp
    from creditx.node.cli import register

    pki = make_pki(tmp_path / "pki")
    d = tmp_path / "jinan"
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        [
            "node",
            "init",
            "--dir",
            str(d),
            "--region",
            "370100",
            "--gateway",
            "127.0.0.1:9",
            "--certs",
            str(pki.nodes["370100"].dir),
        ]
    )
    assert args.func(args) == 0
    app = NodeApp(d)
    long_ago = int((time.time() - 86_400) * 1000)
    app.replica.set_meta(last_update_ms=long_ago, head=0)

    class Checker:
        def __init__(self, result):
            self.result = result

        def check_once(self):
            return self.result

        def report(self, verified):
            pass

    app._checker = lambda: Checker("LOG_MOVING")  # type: ignore[method-assign]  # a fake checkpoint checker
    app.checkpoint_job()
    assert app.replica.state().last_update_ms == long_ago  # not proven: freshness unchanged
    app._checker = lambda: Checker("EXACT")  # type: ignore[method-assign]  # a fake checkpoint checker
    app.checkpoint_job()
    assert app.replica.state().last_update_ms > long_ago + 80_000_000
    app.close()
