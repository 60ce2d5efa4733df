"""DIST-075: a replica bootstrapped from a snapshot finds natural persons by the node's own
keyed hash of the ID number, read from the origin envelopes the chunk carries (NODE-041); an
origin that does not match its entry refuses the chunk (DIST-032); the wire decoder keeps
origins parallel to entries."""

from __future__ import annotations

from dataclasses import replace

import pytest

from creditx.node.replica.store import ReplicaStore
from creditx.node.replica.subjects import question
from creditx.node.replica.wire import chunk_from_pb, entry_to_pb, envelope_to_pb
from creditx.node.store import NodeStore
from creditx.standard.lists.lifecycle import ListError
from creditx.standard.lists.snapshot import SnapshotChunk
from creditx.standard.lists.withheld import origin_index_keys
from creditx.standard.record import decode_record
from creditx.v1 import envelope_pb2
from creditx.v1 import lists_pb2 as pb
from tests.node.fake_distribution import USCCS, ListLog

KEY = b"k" * 32
PERSON = "11010519491231002X"


def _log() -> tuple[ListLog, list]:
    log = ListLog()
    cs = [log.add(i) for i in range(2)]
    cs.append(
        log.push(
            log.record(
                source_id="p-1",
                MD_ZT_ZJLX="身份证",
                MD_ZT_ZJHM=PERSON,
                MD_ZT_MC="张三",
                MD_ZT_LB="自然人",
                MD_RDWSH="(2026)鲁0102执900号",
            )
        )
    )
    return log, cs


def _wire_chunk(cs, with_origins=True) -> pb.SnapshotChunk:
    cs = sorted(cs, key=lambda c: c.entry.entry_id)
    m = pb.SnapshotChunk(
        at_list_seq=len(cs), index=0, total=1, entries_total=len(cs), entries=[entry_to_pb(c.entry) for c in cs]
    )
    if with_origins:
        m.origins.extend(envelope_to_pb(c.origin) for c in cs)
    return m


def test_snapshot_entry_of_a_person_is_found_by_id_number(tmp_path):
    _, cs = _log()
    r = ReplicaStore(NodeStore(tmp_path / "node.db"), KEY)
    chunk, origins, _, _ = chunk_from_pb(_wire_chunk(cs))
    assert isinstance(chunk, SnapshotChunk)  # a message chunk (not DIST-081)
    assert [o.payload if o is not None else None for o in origins] == [
        c.origin.payload for c in sorted(cs, key=lambda c: c.entry.entry_id)
    ]
    assert r.apply_chunk(chunk, b"", now_ms=1, origins=origins).complete and r.applied() == 3
    assert [r._entry(e.entry_id) for e in chunk.entries] == list(chunk.entries)  # bodies read back equal
    person = r.entries_for(question("person", PERSON, KEY).key)
    assert [e.entry_id for e in person] == [cs[2].entry.entry_id]
    assert len(r.entries_for(question("uscc", USCCS[0], KEY).key)) == 1
    # the ID number itself is stored nowhere in the replica
    dump = "\n".join(r.store.conn.iterdump())
    assert PERSON not in dump


def test_chunk_without_origins_still_indexes_organisations(tmp_path):
    _, cs = _log()
    r = ReplicaStore(NodeStore(tmp_path / "node.db"), KEY)
    chunk, origins, _, _ = chunk_from_pb(_wire_chunk(cs, with_origins=False))
    assert isinstance(chunk, SnapshotChunk)  # a message chunk (not DIST-081)
    assert origins == []
    r.apply_chunk(chunk, b"", now_ms=1, origins=origins)
    assert r.entries_for(question("person", PERSON, KEY).key) == []  # an older gateway: no person key
    assert len(r.entries_for(question("uscc", USCCS[1], KEY).key)) == 1


def test_mismatching_or_missing_origins_refuse_the_chunk(tmp_path):
    _, cs = _log()
    r = ReplicaStore(NodeStore(tmp_path / "node.db"), KEY)
    chunk, origins, _, _ = chunk_from_pb(_wire_chunk(cs))
    assert isinstance(chunk, SnapshotChunk)  # a message chunk (not DIST-081)
    i = next(k for k, e in enumerate(chunk.entries) if e.subject_id_masked)
    swapped = list(origins)
    swapped[i] = origins[(i + 1) % 3]  # another entry's record: fingerprint differs (DIST-032)
    with pytest.raises(ListError) as exc:
        r.apply_chunk(chunk, b"", now_ms=1, origins=swapped)
    assert exc.value.reason == "DIST_ORIGIN_MISMATCH" and r.applied() == 0
    with pytest.raises(ListError) as exc:
        r.apply_chunk(chunk, b"", now_ms=1, origins=origins[:2])
    assert exc.value.rule == "DIST-075" and exc.value.field == "origins"
    assert r.entries_for(question("uscc", USCCS[0], KEY).key) == []  # nothing of the chunk stayed
    short = SnapshotChunk(chunk.at_list_seq, 0, 1, chunk.entries)
    assert r.apply_chunk(replace(short), b"", now_ms=1, origins=origins).complete


def _withheld_chunk(cs, index_key: bytes) -> pb.SnapshotChunk:
    """As a 1.1 gateway sends it (DIST-076/077): a person's origin withheld, its index keys sent."""
    m = _wire_chunk(cs, with_origins=False)
    for e, c in zip(m.entries, sorted(cs, key=lambda c: c.entry.entry_id), strict=True):
        person = bool(e.subject_id_masked)
        m.origins.append(envelope_to_pb(c.origin) if not person else envelope_pb2.Envelope())
        keys = origin_index_keys(decode_record(c.origin.payload).fields, index_key) if person else []
        m.subject_indexes.append("\n".join(keys))
    return m


def test_withheld_person_is_found_by_the_keys_the_gateway_made(tmp_path):
    _, cs = _log()
    r = ReplicaStore(NodeStore(tmp_path / "node.db"), KEY)
    chunk, origins, sent, _ = chunk_from_pb(_withheld_chunk(cs, KEY))
    assert isinstance(chunk, SnapshotChunk)  # a message chunk (not DIST-081)
    i = next(k for k, e in enumerate(chunk.entries) if e.subject_id_masked)
    assert origins[i] is None and sent[i][0].startswith("P:")
    assert r.apply_chunk(chunk, b"", now_ms=1, origins=origins, sent_keys=sent).complete
    person = r.entries_for(question("person", PERSON, KEY).key)
    assert [e.entry_id for e in person] == [cs[2].entry.entry_id]
    assert PERSON not in "\n".join(r.store.conn.iterdump())


def test_withheld_person_without_usable_keys_refuses_the_chunk(tmp_path):
    _, cs = _log()
    m = _withheld_chunk(cs, KEY)
    i = next(k for k, e in enumerate(m.entries) if e.subject_id_masked)
    for bad in ("", "P:not-hex", "U:91370100MA3C000001"):
        m.subject_indexes[i] = bad
        with pytest.raises(ListError) as exc:
            chunk_from_pb(m)
        assert (exc.value.reason, exc.value.rule, exc.value.field) == ("DIST_BAD_ENTRY", "DIST-077", "subject_index")


def test_a_subject_key_file_of_the_wrong_size_is_refused(tmp_path):
    from creditx.node.config import subject_key
    from creditx.standard.errors import InputError

    key = subject_key(tmp_path)
    assert (
        len(key) == 32 and subject_key(tmp_path) == key and (tmp_path / "subject.key").stat().st_mode & 0o777 == 0o600
    )
    (tmp_path / "subject.key").write_bytes(b"short")
    with pytest.raises(InputError) as exc:
        subject_key(tmp_path)
    assert "REC-FP-017" in str(exc.value) and "5 bytes" in str(exc.value)
