"""A failed write never kills a long-running node thread nor hides its cause: the real SQLite
error surfaces (not "cannot rollback"), the sync machine backs off instead of staying
STREAMING, and the list follower keeps running."""

from __future__ import annotations

import random
import sqlite3
import threading

import grpc
import pytest

from creditx.node.store import NodeStore
from creditx.node.sync.client import ChannelSettings, SyncRunner
from creditx.node.sync.state import State, SyncMachine, SyncPolicy
from tests.node.test_replica_follow import gw  # noqa: F401  # fixtures shared with those suites
from tests.node.test_sync_wire import env  # noqa: F401


def test_the_real_error_is_raised_when_sqlite_already_rolled_back(tmp_path):
    store = NodeStore(tmp_path / "node.db")
    with pytest.raises(sqlite3.OperationalError, match="database or disk is full"):
        with store.transaction():
            store.conn.execute("ROLLBACK")  # what SQLite does by itself on SQLITE_FULL
            raise sqlite3.OperationalError("database or disk is full")
    store.set_state(ok=True)  # and the store is usable afterwards
    assert store.get_state()["ok"] is True
    store.close()


class FullDisk(NodeStore):
    full = True

    def first_unacked(self) -> int:
        if self.full:
            raise sqlite3.OperationalError("database or disk is full")
        return super().first_unacked()


def test_a_failed_write_backs_the_sync_off_and_the_next_pass_runs(tmp_path):
    store = FullDisk(tmp_path / "node.db")
    r = SyncRunner(
        store,
        ChannelSettings("127.0.0.1:9", grpc.ssl_channel_credentials(), rpc_timeout=1),
        SyncMachine(policy=SyncPolicy(backoff_base=1, backoff_cap=30, ack_timeout=20), rng=random.Random(1)),
        node_name="n",
        signing_certs=lambda: [],
    )
    assert r.sync_once() in (State.IDLE, State.BACKOFF)
    last_error = store.get_state()["last_error"]
    assert isinstance(last_error, str) and "database or disk is full" in last_error
    store.full = False
    r.machine.retry_at = 0.0
    r.sync_once()  # no SyncStateError: the machine was not left STREAMING
    r.close()
    store.close()


def test_the_list_follower_survives_a_failed_write(tmp_path):
    from creditx.node.replica.follower import Follower, FollowPolicy

    class Replica:
        calls = 0

        def state(self):
            Replica.calls += 1
            if Replica.calls >= 3:
                f.stop()
            raise sqlite3.OperationalError("database or disk is full")

        def set_meta(self, **kw):
            raise sqlite3.OperationalError("database or disk is full")

    # a fake replica whose every read fails, and no channel: the follower never gets to dial
    f = Follower(Replica(), lambda: None, FollowPolicy(0.001, 0.002, 1.0))  # type: ignore[arg-type, return-value]
    t = threading.Thread(target=f.run)
    t.start()
    t.join(30)
    assert not t.is_alive() and Replica.calls >= 3  # retried after each failure, stopped on request


def _fill(store: NodeStore) -> None:
    """Make the database full for real: SQLite refuses to grow it past its current pages."""
    with store._lock:
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count = {pages}")


def _room(store: NodeStore) -> None:
    with store._lock:
        store.conn.execute("PRAGMA max_page_count = 1073741823")


def test_upward_sync_on_a_full_database_alarms_backs_off_and_resumes_when_room_returns(env):  # noqa: F811
    from tests.node.test_sync_wire import outcomes

    fake, store, runner, add, clock = env
    add(400)
    r = runner()
    _fill(store)
    assert r.sync_once() is State.BACKOFF  # not left STREAMING
    error = store.get_state()["last_error"]
    assert isinstance(error, str) and "database or disk is full" in error and "cannot rollback" not in error
    (alarm,) = r.alarms.active()
    assert alarm["name"] == "sync_store_write" and alarm["severity"] == "critical" and not r.alarms.serving()
    assert "database or disk is full" in alarm["message"]
    clock.t = r.machine.retry_at
    assert r.sync_once() is State.BACKOFF  # still full: the next pass runs and backs off again
    _room(store)
    clock.t = r.machine.retry_at
    assert r.sync_once() is State.IDLE
    assert outcomes(store) == {"ACCEPTED": 400} and fake.committed() == 400
    assert r.alarms.active() == [] and r.alarms.serving()


def test_the_list_follower_on_a_full_database_alarms_and_resumes_when_room_returns(gw, tmp_path):  # noqa: F811
    from creditx.node.alarms import Alarms
    from tests.node.test_cli_app import _wait_for as wait_for
    from tests.node.test_replica_follow import Node

    log, fake, pki, target = gw
    for i in range(300):
        log.add(i)
    n = Node(tmp_path / "node.db", pki, target)
    n.follower.alarms = alarms = Alarms(n.store)
    _fill(n.store)
    with n:
        assert wait_for(lambda: any(a["name"] == "list_store_write" for a in alarms.active()))
        assert n.thread.is_alive() and n.replica.applied() < 300
        (alarm,) = [a for a in alarms.active() if a["name"] == "list_store_write"]
        assert alarm["severity"] == "critical" and "database or disk is full" in alarm["message"]
        assert "cannot rollback" not in alarm["message"]
        _room(n.store)
        assert wait_for(lambda: n.replica.applied() == 300)
        assert wait_for(lambda: alarms.active() == [])
        assert n.store.get_state()["alarms"] == []  # the saved copy node status reads is cleared too


def test_a_failed_feed_file_write_or_an_unexpected_error_does_not_end_the_follower(gw, tmp_path):  # noqa: F811
    """After each applied batch the department feed files are appended (on_applied): a full disk
    there (OSError) or any other failure is retried with backoff, never the thread's end."""
    from tests.node.test_cli_app import _wait_for as wait_for
    from tests.node.test_replica_follow import Node

    log, fake, pki, target = gw
    for i in range(3):
        log.add(i)
    n = Node(tmp_path / "node.db", pki, target)
    failures = [OSError(28, "No space left on device"), RuntimeError("a bug")]

    def on_applied(seq: int) -> None:
        if failures:
            raise failures.pop(0)

    n.follower.on_applied = on_applied
    with n:
        assert wait_for(lambda: len(failures) == 1 and n.replica.applied() == 3)  # the feed write failed
        log.add(3)
        fake.publish(None)
        assert wait_for(lambda: not failures and n.replica.applied() == 4)  # then something unexpected
        log.add(4)
        fake.publish(None)
        assert wait_for(lambda: n.replica.applied() == 5)  # still following after both
        assert n.thread.is_alive()
