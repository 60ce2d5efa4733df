"""DIST-081: a snapshot chunk may carry its entries as their canonical bytes, zlib-compressed;
the node reads back the same entries as from ListEntry messages, stores the text as it came,
and refuses a malformed or over-inflating chunk with DIST_BAD_ENTRY naming the field."""

from __future__ import annotations

import json
import zlib

import pytest

from creditx.gateway.lists.wire import snapshot_chunk
from creditx.node.replica import wire
from creditx.node.replica.store import ReplicaStore
from creditx.node.replica.subjects import question
from creditx.node.store import NodeStore
from creditx.standard.lists.lifecycle import ListError
from creditx.standard.lists.snapshot import SnapshotChunk, entry_bytes
from tests.node.fake_distribution import USCCS
from tests.node.test_replica_snapshot_origins import KEY, PERSON, _log


def _rows(cs):
    from creditx.gateway.lists.store import envelope_to_json

    return [(entry_bytes(c.entry), *envelope_to_json(c.origin)) for c in sorted(cs, key=lambda c: c.entry.entry_id)]


def test_canonical_and_message_chunks_give_the_same_replica(tmp_path):
    _, cs = _log()
    rows = _rows(cs)
    plain = wire.chunk_from_pb(snapshot_chunk(rows, 3, 0, 1, 3, KEY))
    packed_pb = snapshot_chunk(rows, 3, 0, 1, 3, KEY, canonical=True)
    assert not packed_pb.entries and len(packed_pb.origins) == 3
    packed = wire.chunk_from_pb(packed_pb)
    c = packed[0]
    assert isinstance(c, wire.CanonicalChunk) and isinstance(plain[0], SnapshotChunk)
    assert (c.at_list_seq, c.index, c.total) == (3, 0, 1)
    assert [c.entry(i) for i in range(len(c.objs))] == list(plain[0].entries)  # NODE-052: no ListEntry needed
    assert packed[1] == plain[1] and packed[2] == plain[2]
    assert [b.encode() for b in packed[3]] == [r[0] for r in rows]  # the canonical bytes, as stored
    r = ReplicaStore(NodeStore(tmp_path / "node.db"), KEY)
    r.apply_chunk(packed[0], b"", now_ms=1, origins=packed[1], sent_keys=packed[2], bodies=packed[3])
    bodies = {b for (b,) in r.conn.execute("SELECT body FROM replica_entries")}
    assert bodies == set(packed[3])
    assert r.entries_for(question("uscc", USCCS[0], KEY).key)
    assert r.entries_for(
        question("person", PERSON, KEY).key
    )  # DIST-077: the withheld person is indexed by the keys sent


@pytest.mark.parametrize(
    "data, says",
    [
        (b"not zlib", "does not inflate"),
        (zlib.compress(b'{"entry_id": 1}'), "newline"),
        (zlib.compress(b"[1,\n"), "not JSON"),
        (zlib.compress(json.dumps({"entry_id": "x"}).encode() + b"\n"), "members"),
        (zlib.compress(b"\n" * 1000)[:-4], "truncated"),
    ],
)
def test_a_malformed_canonical_chunk_is_refused_naming_the_field(data, says):
    with pytest.raises(ListError) as e:
        wire.canonical_entries(data)
    assert e.value.reason == "DIST_BAD_ENTRY" and says in str(e.value), str(e.value)


def test_a_chunk_that_inflates_beyond_the_bound_is_refused(monkeypatch):
    monkeypatch.setattr(wire, "MAX_CHUNK_TEXT", 1000)
    with pytest.raises(ListError) as e:
        wire.canonical_entries(zlib.compress(b" " * 5000 + b"\n"))
    assert "inflates beyond 1000" in str(e.value)


@pytest.mark.parametrize("member, value", [("listed_on", "2026-13-01"), ("state", "GONE"), ("origin_fp", "zz")])
def test_a_canonical_entry_with_a_bad_value_is_refused_without_building_entries(member, value):
    """NODE-052: the loader keeps the entries as bytes, but checks every one as entry_from_obj would."""
    from creditx.standard.lists.snapshot import entry_to_obj

    _, cs = _log()
    obj = dict(entry_to_obj(cs[0].entry), **{member: value})
    with pytest.raises(ListError) as e:
        wire.canonical_entries(zlib.compress(json.dumps(obj).encode() + b"\n"))
    assert e.value.reason == "DIST_BAD_ENTRY"
