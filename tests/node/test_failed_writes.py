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
