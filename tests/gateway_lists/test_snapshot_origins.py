"""DIST-075: snapshot chunks carry each entry's origin envelope, parallel to the entries, and
the chunk byte bound (DIST-071) counts the origins too."""

from __future__ import annotations

import pytest

from creditx.standard.fingerprint import fingerprint
from creditx.standard.record import RECORD_PAYLOAD_TYPE, decode_record
from creditx.v1 import lists_pb2 as lpb
from tests.gateway.push_client import PushClient
from tests.gateway_lists.client import INDEX_KEY, Subscriber, list_payload, list_rows
from tests.pg import ENGINES

pytestmark = pytest.mark.parametrize("store_url", ENGINES, indirect=True)


def _snapshot(sub: Subscriber, **req) -> list[lpb.SnapshotChunk]:
    return list(sub.stub.Snapshot(lpb.SnapshotRequest(**{"subject_index_key": INDEX_KEY, **req}), timeout=20))


def _check_parallel(chunks: list[lpb.SnapshotChunk]) -> None:
    for ch in chunks:
        assert len(ch.origins) == len(ch.entries)
        for e, o in zip(ch.entries, ch.origins, strict=True):
            assert o.payload_type == RECORD_PAYLOAD_TYPE and o.signatures
            record = decode_record(o.payload)
            assert fingerprint(record) == e.origin_fingerprint and record.region == e.origin_region


def test_snapshot_origins_parallel_and_counted_in_chunk_bound(gateway, pki):
    rows = list_rows("370100", 6, seed=11)
    c = PushClient(gateway.address, pki.nodes["370100"])
    c.handshake()
    c.push([c.batch([list_payload("370100", r, i + 1) for i, r in enumerate(rows)], start_seq=1)])
    # a correction of entry 0: the snapshot must carry the CORRECTED version's envelope
    c.push([c.batch([list_payload("370100", rows[0], 7, op="U", version=2, MD_LRYY="更正后的列入原因")], start_seq=7)])
    c.close()
    sub = Subscriber(gateway.address, pki.nodes["370200"], from_list_seq=1)
    try:
        sub.until(lambda s: s.through == 7)
        by_id = {ch.entry.entry_id: ch for ch in sub.changes}
        chunks = _snapshot(sub)
        _check_parallel(chunks)
        got = {e.entry_id: o for ch in chunks for e, o in zip(ch.entries, ch.origins, strict=True)}
        assert {k: o.payload for k, o in got.items()} == {k: ch.origin.payload for k, ch in by_id.items()}
        # at an older list_seq: the envelope of the version current then (the uncorrected one)
        old = _snapshot(sub, at_list_seq=6)
        _check_parallel(old)
        first = sub.changes[0]
        olds = {e.entry_id: o for ch in old for e, o in zip(ch.entries, ch.origins, strict=True)}
        assert olds[first.entry.entry_id].payload == first.origin.payload != got[first.entry.entry_id].payload
        # DIST-071/075: a byte bound of ~2 entries alone forces chunks that hold entry + origin within it
        one = max(e.ByteSize() + o.ByteSize() for ch in chunks for e, o in zip(ch.entries, ch.origins, strict=True))
        bound = int(one * 1.6)
        small = _snapshot(sub, max_chunk_bytes=bound)
        _check_parallel(small)
        assert len(small) >= 4
        assert all(
            sum(e.ByteSize() + o.ByteSize() for e, o in zip(ch.entries, ch.origins, strict=True)) <= bound
            for ch in small
        )
    finally:
        sub.close()
