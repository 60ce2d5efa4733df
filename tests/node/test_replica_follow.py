"""The list replica following a fake gateway over real mutual TLS (DIST-030…074, NODE-040…043)."""

from __future__ import annotations

import threading

import pytest

from creditx.node.replica.follower import Follower, FollowPolicy
from creditx.node.replica.store import ReplicaStore
from creditx.node.replica.subjects import question
from creditx.node.store import NodeStore
from creditx.node.sync.client import ChannelSettings
from creditx.pki.testing import make_pki
from creditx.pki.tls import channel_credentials
from creditx.standard.lists.lifecycle import ListError, State
from tests.node.fake_distribution import USCCS, FakeDistribution, ListLog, serve_distribution
from tests.node.test_cli_app import _wait_for as wait_for

SUBJECT_KEY = b"n" * 32


@pytest.fixture
def gw(tmp_path):
    pki = make_pki(tmp_path)
    log = ListLog()
    fake = FakeDistribution(log)
    server, target = serve_distribution(fake, pki)
    yield log, fake, pki, target
    server.stop(None)


class Node:
    def __init__(self, path, pki, target, **policy):
        self.store = NodeStore(path)
        self.replica = ReplicaStore(self.store, SUBJECT_KEY)
        creds = channel_credentials(
            pki.nodes["370100"].dir / "ca.crt",
            pki.nodes["370100"].dir / "auth.crt",
            pki.nodes["370100"].dir / "auth.key",
        )
        self.channel = ChannelSettings(target, creds, "localhost").open()
        self.follower = Follower(
            self.replica, lambda: self.channel, FollowPolicy(backoff_base_s=0.01, backoff_cap_s=0.05, **policy)
        )
        self.thread = threading.Thread(target=self.follower.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.follower.stop()
        self.thread.join(10)
        assert not self.thread.is_alive()
        self.channel.close()
        self.store.close()

    def listed(self, uscc):
        return [e for e in self.replica.entries_for(question("uscc", uscc, SUBJECT_KEY).key) if e.state is State.LISTED]


def test_apply_is_idempotent_and_cursor_moves_with_data(tmp_path):
    log = ListLog()
    cs = [log.add(i) for i in range(4)]
    store = NodeStore(tmp_path / "node.db")
    r = ReplicaStore(store, SUBJECT_KEY)
    r.apply_batch(cs[:3], {}, now_ms=1)
    plan = r.apply_batch(cs, {}, now_ms=2)  # 1..3 again: duplicates (DIST-031)
    assert (plan.skipped, [c.list_seq for c in plan.apply], r.applied()) == (3, [4], 4)
    assert store.conn.execute("SELECT COUNT(*) FROM replica_changes").fetchone()[0] == 4
    assert r.state().frontier == log.frontier(4)  # DIST-052: folded from the empty tree


def test_gap_refuses_the_whole_batch(tmp_path):
    log = ListLog()
    cs = [log.add(i) for i in range(4)]
    r = ReplicaStore(NodeStore(tmp_path / "node.db"), SUBJECT_KEY)
    r.apply_batch(cs[:1], {}, now_ms=1)
    with pytest.raises(ListError) as e:
        r.apply_batch([cs[1], cs[3]], {}, now_ms=2)
    assert e.value.reason == "DIST_GAP" and r.applied() == 1
    assert r.entries_for("U:" + USCCS[1]) == []  # change 2 was not applied either


def test_illegal_move_is_refused(tmp_path):
    log = ListLog()
    c1 = log.add(0)
    rm = log.remove(c1)
    r = ReplicaStore(NodeStore(tmp_path / "node.db"), SUBJECT_KEY)
    with pytest.raises(ListError) as e:  # a REMOVE of an entry the replica never had
        r.apply_batch([rm.sequenced(1)], {}, now_ms=1)
    assert e.value.reason == "DIST_ILLEGAL_CHANGE" and r.applied() == 0


def test_follow_resume_after_drop_and_removal_propagates(gw, tmp_path):
    log, fake, pki, target = gw
    cs = [log.add(i) for i in range(7)]
    fake.drop_after = 4
    with Node(tmp_path / "node.db", pki, target) as n:
        assert wait_for(lambda: n.replica.applied() == 7)
        assert fake.subscribes[:2] == [1, 5]  # resumed from applied + 1
        assert len(n.listed(USCCS[0])) == 3
        log.remove(cs[0])
        fake.publish(None)
        assert wait_for(lambda: n.replica.applied() == 8)
        assert len(n.listed(USCCS[0])) == 2
        assert n.store.conn.execute("SELECT COUNT(*) FROM replica_changes").fetchone()[0] == 8


def test_gap_in_stream_is_not_applied_and_resubscribes(gw, tmp_path):
    log, fake, pki, target = gw
    for i in range(6):
        log.add(i)
    fake.gap_at = 3
    with Node(tmp_path / "node.db", pki, target) as n:
        assert wait_for(lambda: n.replica.applied() == 6)
        assert fake.subscribes[:2] == [1, 3]
        assert [r[0] for r in n.store.conn.execute("SELECT list_seq FROM replica_changes")] == list(range(1, 7))


def test_snapshot_bootstrap_then_follow(gw, tmp_path):
    log, fake, pki, target = gw
    cs = [log.add(i) for i in range(5)]
    log.remove(cs[1])
    fake.snapshot_required_below = 6
    with Node(tmp_path / "node.db", pki, target) as n:
        assert wait_for(lambda: n.replica.applied() == 6)
        st = n.replica.state()
        assert st.frontier is not None and st.frontier.size == 6 and st.snapshot is None
        log.add(9)
        fake.publish(None)
        assert wait_for(lambda: n.replica.applied() == 7)
        assert fake.subscribes[-1] == 7 and n.replica.state().frontier.size == 7
        assert n.replica.state().frontier == log.frontier(7)
        assert len(n.listed(USCCS[1])) == 1  # entries 1 (removed) and 4 (listed) of company 1


def test_snapshot_resumes_from_next_chunk_after_stop(gw, tmp_path):
    log, fake, pki, target = gw
    for i in range(7):
        log.add(i)
    fake.snapshot_required_below = 8
    fake.chunk_gate = threading.Event()
    n = Node(tmp_path / "node.db", pki, target)
    with n:
        assert wait_for(lambda: (s := n.replica.state().snapshot) is not None and s.next_chunk == 1)
    fake.chunk_gate.set()
    with Node(tmp_path / "node.db", pki, target) as n2:
        assert wait_for(lambda: n2.replica.applied() == 7)
        assert (fake.snapshots[-1].at_list_seq, fake.snapshots[-1].from_chunk) == (7, 1)
        assert n2.store.conn.execute("SELECT COUNT(*) FROM replica_entries").fetchone()[0] == 7


def test_snapshot_gone_starts_a_new_one(gw, tmp_path):
    log, fake, pki, target = gw
    for i in range(5):
        log.add(i)
    fake.snapshot_required_below = 6
    fake.chunk_gate = threading.Event()
    with Node(tmp_path / "node.db", pki, target) as n:
        assert wait_for(lambda: n.replica.state().snapshot is not None)
    fake.chunk_gate.set()
    fake.snapshot_gone = True
    with Node(tmp_path / "node.db", pki, target) as n2:
        assert wait_for(lambda: any(s.at_list_seq == 0 for s in fake.snapshots[1:]))
        fake.snapshot_gone = False
        assert wait_for(lambda: n2.replica.applied() == 5)
        assert n2.store.conn.execute("SELECT COUNT(*) FROM replica_entries").fetchone()[0] == 5
