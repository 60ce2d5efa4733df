"""DIST-030 at provincial size: subscribers share each change, read and encoded once
(EncodedChanges); what each receives is unchanged, a person's index keys its own."""

from __future__ import annotations

import datetime as dt

import pytest

from creditx.gateway.lists.fanout import EncodedChanges
from creditx.gateway.lists.service import subscribe_response
from creditx.gateway.lists.wire import EncodedChange, batch_bytes, change_to_pb
from creditx.standard.envelope import Envelope, Signature
from creditx.standard.lists.lifecycle import ChangeKind, ListChange, entry_from_record
from creditx.standard.record import RECORD_PAYLOAD_TYPE, Record
from creditx.v1 import lists_pb2 as lpb
from tests.gateway.push_client import PushClient
from tests.gateway_lists.client import Subscriber, list_payload, list_rows, push_rows

AT = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


def _changes(n: int, start: int = 1) -> list[ListChange]:
    """Changes of synthetic LIST rows, persons' and organisations', each with its origin."""
    out = []
    for i, row in enumerate(list_rows("370100", n, seed=5)):
        rec = Record("LIST", "I", "370100", row["source_id"], 1, i + 1, row["fields"])
        entry = entry_from_record(rec, entry_id=f"e{i}", fingerprint=bytes([i]) * 32)
        origin = Envelope(RECORD_PAYLOAD_TYPE, list_payload("370100", row, i + 1), (Signature("k", "s", b"sig"),))
        out.append(ListChange(start + i, ChangeKind.ADD, "", entry, AT, origin))
    return out


@pytest.mark.parametrize("index_key", [bytes(range(32)), bytes(range(32, 64))], ids=["key-a", "key-b"])
def test_a_batch_assembled_from_shared_encodings_is_the_batch_protobuf_would_write(index_key):
    changes = _changes(30)
    assert any(c.entry.subject_id_masked for c in changes) and any(not c.entry.subject_id_masked for c in changes)
    want = lpb.ListChangeBatch(
        changes=[change_to_pb(c, index_key) for c in changes], through_list_seq=30, head_list_seq=31, live=False
    )
    got = batch_bytes([EncodedChange(c).field(index_key) for c in changes], 30, 31, False)
    assert got == want.SerializeToString()
    persons = [x for x in lpb.ListChangeBatch.FromString(got).changes if x.entry.subject_id_masked]
    assert persons and all(x.subject_index and not x.HasField("origin") for x in persons)


def test_each_change_is_encoded_once_for_any_cursor_and_the_window_is_bounded():
    log = _changes(20)
    reads: list[tuple[int, int]] = []

    def read(first, last):
        reads.append((first, last))
        return [c for c in log if first <= c.list_seq <= last]

    fan = EncodedChanges()
    assert [c.list_seq for c in fan.between(1, 5, read)] == [1, 2, 3, 4, 5]
    assert [c.list_seq for c in fan.between(3, 8, read)] == [3, 4, 5, 6, 7, 8]  # drifted subscribers share
    assert [c.list_seq for c in fan.between(1, 8, read)] == list(range(1, 9))
    assert reads == [(1, 5), (6, 8)] and fan.encoded == 8

    small = EncodedChanges(max_bytes=len(EncodedChange(log[0]).part) * 3)
    small.between(1, 10, read)
    reads.clear()
    assert [c.list_seq for c in small.between(9, 10, read)] == [9, 10] and reads == []
    assert [c.list_seq for c in small.between(2, 4, read)] == [2, 3, 4]  # behind the window: its own read
    assert reads == [(2, 4)] and small.encoded == 10
    assert [c.list_seq for c in small.between(15, 16, read)] == [15, 16]  # far ahead: the window moves there
    marker = lpb.ListChangeBatch(live=True)
    assert subscribe_response(marker) == marker.SerializeToString() and subscribe_response(b"x") == b"x"


def test_subscribers_at_one_position_get_the_same_batch_built_once(gateway, pki):
    subs = [Subscriber(gateway.address, pki.nodes[r], from_list_seq=1) for r in ("370200", "370000")]
    try:
        for s in subs:
            s.until(lambda s: s.live)
        before = gateway.lists.servicer.fanout.encoded
        rows = list_rows("370100", 3)
        push_rows(gateway.address, pki.nodes["370100"], "370100", rows)
        for s in subs:
            s.until(lambda s: s.through == 3)
        a, b = ([x.SerializeToString() for x in s.changes] for s in subs)
        assert a == b and len(a) == 3
        assert [x.list_seq for x in subs[0].changes] == [1, 2, 3]
        # two subscribers: each change read and encoded once for both
        assert gateway.lists.servicer.fanout.encoded - before == 3
    finally:
        for s in subs:
            s.close()


def test_a_batch_with_a_persons_change_is_built_for_each_subscribers_own_key(gateway, pki):
    """DIST-077 beside the shared fan-out: a person's index keys are made with each node's own
    subject key, so two subscribers at one position each get their own keys, never the other's."""
    from creditx.standard.natural_key import person_subject_id

    rows = list_rows("370100", 30, seed=5)
    person = next(r for r in rows if r["fields"].get("MD_ZT_ZJHM") and not r["fields"].get("MD_ZT_SHXYM"))
    keys = {"370200": bytes(range(32)), "370000": bytes(range(32, 64))}
    subs = {r: Subscriber(gateway.address, pki.nodes[r], from_list_seq=1, subject_index_key=k) for r, k in keys.items()}
    try:
        for s in subs.values():
            s.until(lambda s: s.live)
        c = PushClient(gateway.address, pki.nodes["370100"])
        c.handshake()
        c.push([c.batch([list_payload("370100", person, 1)], start_seq=1)])
        c.close()
        f = person["fields"]
        for region, s in subs.items():
            s.until(lambda s: s.through == 1)
            (change,) = s.changes
            own = person_subject_id(f["MD_ZT_ZJLX"], f["MD_ZT_ZJHM"], keys[region])
            others = [person_subject_id(f["MD_ZT_ZJLX"], f["MD_ZT_ZJHM"], k) for r, k in keys.items() if r != region]
            assert own in change.subject_index and not set(others) & set(change.subject_index)
            assert not change.HasField("origin")
    finally:
        for s in subs.values():
            s.close()


def test_a_node_that_asks_gets_one_shared_block_and_its_own_keys_and_an_older_node_the_old_form(gateway, pki):
    """DIST-086…088 over the wire: two nodes that ask for compressed batches get the same block
    (compressed once) and each its own persons' keys beside it; a node that does not ask gets
    ``changes`` as before, the same changes."""
    import zlib

    from creditx.standard.natural_key import person_subject_id

    keys = {"370200": bytes(range(32)), "370000": bytes(range(32, 64))}
    packed = {
        r: Subscriber(gateway.address, pki.nodes[r], from_list_seq=1, subject_index_key=k, compressed_changes=True)
        for r, k in keys.items()
    }
    old = Subscriber(gateway.address, pki.nodes["370200"], from_list_seq=1, subject_index_key=keys["370200"])
    subs = [*packed.values(), old]
    try:
        for s in subs:
            s.until(lambda s: s.live)
        rows = list_rows("370100", 30, seed=5)
        push_rows(gateway.address, pki.nodes["370100"], "370100", rows)
        for s in subs:
            s.until(lambda s: s.through == 30)
        blocks = {r: [b for b in s.received if b.changes_zlib] for r, s in packed.items()}
        a, b = blocks["370200"], blocks["370000"]
        assert a and [x.changes_zlib for x in a] == [x.changes_zlib for x in b]
        assert gateway.lists.servicer.blocks.compressed == len(a)  # once for both nodes
        assert not any(x.changes for s in packed.values() for x in s.received)
        persons = {}
        for x in a:
            raw = zlib.decompress(x.changes_zlib)
            assert len(raw) == x.changes_size
            for m in lpb.ListChangeBatch.FromString(raw).changes:
                assert not m.subject_index
                if not m.HasField("origin"):
                    persons[m.list_seq] = m
        assert persons, "the pushed rows hold a natural person"
        for region, s in packed.items():
            side = {e.list_seq: list(e.subject_index) for x in s.received for e in x.subject_indexes}
            assert set(side) == set(persons)
            for seq, got in side.items():
                f = rows[seq - 1]["fields"]
                assert person_subject_id(f["MD_ZT_ZJLX"], f["MD_ZT_ZJHM"], keys[region]) in got
        # the node that did not ask: today's form, the same changes with its own keys inside
        assert [m.list_seq for m in old.changes] == list(range(1, 31))
        assert not any(x.changes_zlib or x.subject_indexes for x in old.received)
        assert {m.list_seq for m in old.changes if m.subject_index} == set(persons)
    finally:
        for s in subs:
            s.close()
