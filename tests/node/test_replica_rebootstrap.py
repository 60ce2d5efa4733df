"""A reset replica re-bootstraps and its departments lose nothing (DIST-062, NODE-048, NODE-043):
the snapshot jumps over changes, so the feed carries a marker naming the range and the state
difference between the old replica and the snapshot; while it re-bootstraps, checks answer
stale from the state it still holds. Real mutual TLS to a fake gateway; the sink is the real one."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from creditx.node.config import Department
from creditx.node.replica.departments import batch_to_pb, check, feed_next
from creditx.node.replica.feed import FeedItem, Skipped, page, positions
from creditx.node.replica.sinks import SINK_CURSORS, drain, recover
from creditx.node.replica.store import ReplicaStore, migration_replica_rowid
from creditx.node.replica.subjects import question
from creditx.node.store import MIGRATIONS, NodeStore
from creditx.sqlite import migrate
from creditx.standard.lists.lifecycle import ListError
from creditx.standard.lists.snapshot import entry_to_obj
from tests.e2e.lists_probe import feed_faults
from tests.node.fake_distribution import USCCS, FakeDistribution, ListLog, serve_distribution
from tests.node.test_cli_app import _wait_for as wait_for
from tests.node.test_replica_follow import SUBJECT_KEY, Node

DEPT = Department("credit", jsonl="feeds/credit.jsonl")


@pytest.fixture
def gw(tmp_path):
    from creditx.pki.testing import make_pki

    pki = make_pki(tmp_path / "pki")
    log = ListLog()
    fake = FakeDistribution(log)
    server, target = serve_distribution(fake, pki)
    yield log, fake, pki, target
    server.stop(None)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def _audit(log: ListLog, lines: list[dict]) -> list[str]:
    def state_at(seq: int) -> dict:
        out: dict = {}
        for c in log.changes[:seq]:
            out[c.entry.entry_id] = entry_to_obj(c.entry)
        return out

    rows = [(c.list_seq, c.kind.value, c.reason, c.entry.entry_id) for c in log.changes]
    return feed_faults(lines, rows, state_at)


def test_a_reset_hands_the_departments_the_state_difference_once(gw, tmp_path):
    log, fake, pki, target = gw
    first = [log.add(i) for i in range(5)]
    with Node(tmp_path / "node.db", pki, target) as n:
        assert wait_for(lambda: n.replica.applied() == 5)
        assert drain(n.replica, DEPT, tmp_path) == 5
        q = question("uscc", USCCS[1], SUBJECT_KEY)
        # the log moves on while the replica is reset: adds, a removal, a correction
        log.remove(first[1])
        log.add(7)
        log.add(8, doc="(2026)鲁0102执8号之二")
        log.push(
            log.record(
                op="U",
                version=2,
                source_id="e-2",
                MD_ZT_SHXYM=USCCS[2],
                MD_RDWSH="(2026)鲁0102执2号",
                MD_LX="SXBZXR",
                MD_LRYY="更正",
            )
        )
        n.follower.stop()
        n.thread.join(10)
    with Node(tmp_path / "node.db", pki, target) as n:
        n.follower.stop()
        n.thread.join(10)
        n.replica.discard_snapshot()  # as `creditx node replica --reset`
        st = n.replica.state()
        assert (st.applied, st.rebootstrap_from) == (0, 5)
        a = check(n.replica, q, now=datetime.now(UTC), max_age=timedelta(hours=1))
        assert a.stale and a.memberships, a  # NODE-043: the old state, marked stale; never "not listed"
        assert n.replica.feed_head() == 5 and drain(n.replica, DEPT, tmp_path) == 0
    head = len(log.changes)
    with Node(tmp_path / "node.db", pki, target) as n:
        assert wait_for(lambda: n.replica.applied() == head)
        assert fake.snapshots and fake.snapshots[-1].at_list_seq == 0  # the reset alone asks for one
        assert n.replica.state().rebootstrap_from == 0
        assert not check(n.replica, q, now=datetime.now(UTC), max_age=timedelta(hours=1)).stale
        drain(n.replica, DEPT, tmp_path)
        lines = _lines(tmp_path / "feeds" / "credit.jsonl")
        markers = [x for x in lines if "skipped" in x]
        assert [m["skipped"] for m in markers] == [
            {"from_list_seq": 6, "to_list_seq": head, "snapshot_list_seq": head, "differences": 4}
        ]
        kinds = sorted(x["kind"] for x in lines if "state_difference" in x)
        assert kinds == ["ADD", "ADD", "CORRECT", "REMOVE"], kinds
        assert not _audit(log, lines)
        assert _audit(log, lines[:-1]) and _audit(log, lines + lines[-1:])  # the audit can fail
        assert drain(n.replica, DEPT, tmp_path) == 0  # delivered once
        log.add(11)
        fake.publish(None)
        assert wait_for(lambda: n.replica.applied() == head + 1)
        drain(n.replica, DEPT, tmp_path)
        lines = _lines(tmp_path / "feeds" / "credit.jsonl")
        assert lines[-1]["list_seq"] == head + 1 and not _audit(log, lines)
        # a department acknowledging in small pages gets every record once, marker first
        seen, cursor = [], 0
        while True:
            items, new = feed_next(n.replica, cursor, frozenset(), max_changes=1)
            if new == cursor:
                break
            seen += items
            cursor = new
        assert [it.through for it in seen] == [x["list_seq"] for x in lines]
        # on the wire (Departments.Feed): the marker in `skipped`, the records flagged
        msg = batch_to_pb(*feed_next(n.replica, 5, frozenset(), max_changes=100))
        assert [(r.from_list_seq, r.to_list_seq, r.differences) for r in msg.skipped] == [(6, head, 4)]
        assert [c.state_difference for c in msg.changes] == [True] * 4 + [False]
        assert msg.cursor == head + 1 and not any(c.HasField("origin") for c in msg.changes[:4])


def test_a_torn_marker_is_written_again_with_its_record(tmp_path):
    path = tmp_path / "f.jsonl"
    marker = {"list_seq": 6, "kind": "SKIPPED", "skipped": {"differences": 2}}
    path.write_text(json.dumps({"list_seq": 5}) + "\n" + json.dumps(marker) + "\n" + '{"list_seq": 6, "ki')
    assert recover(path, stored=5) == 5
    assert path.read_text() == json.dumps({"list_seq": 5}) + "\n"
    # a marker the stored cursor covers stays (a department whose types none of the records matched)
    path.write_text(json.dumps({"list_seq": 5}) + "\n" + json.dumps(marker) + "\n")
    assert recover(path, stored=6) == 6 and len(path.read_text().splitlines()) == 2


def test_pages_keep_a_position_whole_and_refuse_a_gap():
    sk = Skipped(3, 9, 9, 2)
    items = [
        FeedItem(1, 1, None, Skipped(1, 1, 1, 0)),
        FeedItem(3, 3, None, sk),
        FeedItem(3, 3, None, sk),  # stand-ins for a marker and its first record
        FeedItem(4, 9, None, sk),
    ]
    with pytest.raises(ListError) as e:
        page(0, items, frozenset(), max_changes=10)  # position 2 is missing
    assert e.value.reason == "DIST_GAP"
    out, cur = page(2, items[1:], frozenset(), max_changes=1)
    assert (len(out), cur) == (2, 3)  # the shared position travels together, beyond max_changes
    assert positions(5, 9, 3) == [6, 7, 9] and positions(5, 6, 3) == [6, 6, 6] and positions(5, 9, 0) == []


def test_the_migration_converts_the_old_layout_and_keeps_every_entry(tmp_path):
    path = tmp_path / "node.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, MIGRATIONS[: MIGRATIONS.index(migration_replica_rowid)])  # as released: WITHOUT ROWID entries
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'replica_entries'").fetchone()[0]
    assert "WITHOUT ROWID" in sql
    conn.executemany(
        "INSERT INTO replica_entries VALUES (?, ?, ?, ?, ?)",
        [(f"e{i}", "SXBZXR", "LISTED", i, "x" * 900) for i in range(50)],
    )
    conn.execute("INSERT INTO replica_meta VALUES ('changes_from', '40')")
    conn.close()
    store = NodeStore(path)
    sql = store.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'replica_entries'").fetchone()[0]
    assert "WITHOUT ROWID" not in sql
    assert store.conn.execute("SELECT COUNT(*), MIN(entry_id) FROM replica_entries").fetchone() == (50, "e0")
    plan = store.conn.execute("EXPLAIN QUERY PLAN SELECT body FROM replica_entries WHERE entry_id = 'e3'").fetchall()
    assert "replica_entries_id" in str(plan)
    assert ReplicaStore(store, SUBJECT_KEY).meta()["feed_from"] == 40  # the feed starts where it did
    assert ReplicaStore(store, SUBJECT_KEY).cursor(SINK_CURSORS, "x") == 0
    store.close()
