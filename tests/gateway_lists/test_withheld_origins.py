"""DIST-076 … DIST-079: a natural person's origin envelope stays at the gateway. Subscribe and
Snapshot send the person's entry (masked number), the index keys made with the node's own key and
the list-log leaf's facts; a node without a key is told to upgrade; the origin is served by
Evidence only to the node that sent the record or one granted its deciding body."""

from __future__ import annotations

import grpc
import pytest

from creditx.node.call_status import call_reason
from creditx.standard.lists.log import change_leaf_hash
from creditx.standard.natural_key import person_subject_id
from creditx.standard.record import RECORD_PAYLOAD_TYPE
from creditx.v1 import lists_pb2 as lpb
from tests.gateway.push_client import PushClient
from tests.gateway_lists.client import INDEX_KEY, Subscriber, list_payload, list_rows
from tests.pg import ENGINES

pytestmark = pytest.mark.parametrize("store_url", ENGINES, indirect=True)


def _rows():
    rows = list_rows("370100", 30, seed=5)
    persons = [r for r in rows if r["fields"].get("MD_ZT_ZJHM") and not r["fields"].get("MD_ZT_SHXYM")]
    orgs = [r for r in rows if not r["fields"].get("MD_ZT_ZJHM")]
    assert persons and orgs, "the synthetic rows hold both persons and organisations"
    return persons[0], orgs[0]


def _code(fn) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as exc:
        fn()
    return exc.value.code(), call_reason(exc.value)


def test_person_origin_stays_at_the_gateway_and_evidence_is_served_only_to_who_may_ask(gateway, pki):
    person, org = _rows()
    payloads = [list_payload("370100", person, 1), list_payload("370100", org, 2)]
    c = PushClient(gateway.address, pki.nodes["370100"])
    c.handshake()
    assert [a.outcome for r in c.push([c.batch(payloads, start_seq=1)]) for a in r.acks] == [1, 1]
    c.close()
    f = person["fields"]
    want_key = person_subject_id(f["MD_ZT_ZJLX"], f["MD_ZT_ZJHM"], INDEX_KEY)
    qingdao = Subscriber(gateway.address, pki.nodes["370200"], from_list_seq=1)
    jinan = Subscriber(gateway.address, pki.nodes["370100"])
    try:
        qingdao.until(lambda s: s.live and s.through == 2)
        p, o = qingdao.changes
        # DIST-076/077: no origin for the person, the node's keyed hash instead; the organisation's origin as before
        assert not p.HasField("origin") and want_key in p.subject_index and p.entry.subject_id_masked
        assert f["MD_ZT_ZJHM"] not in p.SerializeToString().decode("utf-8", "replace")
        assert o.origin.payload == payloads[1] and not o.subject_index
        # DIST-050: the leaf is made from what was sent (no origin needed to check the list log)
        from creditx.node.replica.wire import change_from_pb

        stored = gateway.store.conn.execute("SELECT leaf_hash FROM list_log ORDER BY list_seq").fetchall()
        assert [change_leaf_hash(change_from_pb(m)) for m in (p, o)] == [bytes(r[0]) for r in stored]

        chunks = list(qingdao.stub.Snapshot(lpb.SnapshotRequest(subject_index_key=INDEX_KEY), timeout=20))
        sent = {
            e.entry_id: (og, k)
            for ch in chunks
            for e, og, k in zip(ch.entries, ch.origins, ch.subject_indexes, strict=True)
        }
        assert sent[p.entry.entry_id] == (sent[p.entry.entry_id][0], want_key) and not sent[p.entry.entry_id][0].payload
        assert sent[o.entry.entry_id][0].payload_type == RECORD_PAYLOAD_TYPE

        # a 1.0 node (no key) is told, not silently sent less
        code, reason = _code(lambda: next(iter(qingdao.stub.Subscribe(lpb.SubscribeRequest(from_list_seq=1)))))
        assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "DIST_INDEX_KEY_REQUIRED")
        code, reason = _code(lambda: list(qingdao.stub.Snapshot(lpb.SnapshotRequest(), timeout=20)))
        assert reason == "DIST_INDEX_KEY_REQUIRED"

        # DIST-078/079: Qingdao neither sent the record nor holds Jinan's court; Jinan sent it
        ask = lpb.EvidenceRequest(list_seq=p.list_seq)
        code, reason = _code(lambda: qingdao.stub.Evidence(ask, timeout=10))
        assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "DIST_EVIDENCE_NOT_AUTHORISED")
        got = jinan.stub.Evidence(ask, timeout=10)
        assert (got.entry_id, got.origin.payload) == (p.entry.entry_id, payloads[0]) and got.origin.signatures
        # an organisation's origin is public to every node (it was sent anyway)
        assert qingdao.stub.Evidence(lpb.EvidenceRequest(list_seq=o.list_seq), timeout=10).origin.payload == payloads[1]
        code, reason = _code(lambda: jinan.stub.Evidence(lpb.EvidenceRequest(list_seq=99), timeout=10))
        assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "DIST_NO_SUCH_CHANGE")
    finally:
        qingdao.close()
        jinan.close()


@pytest.mark.parametrize("canonical", [False, True])
def test_snapshot_without_origins_sends_the_keys_only_and_chunks_alike(gateway, pki, tmp_path, canonical):
    """DIST-082: asked without origins, every chunk's ``origins`` is empty, ``subject_indexes``
    still carry the person's keys (and "" for the organisation), the chunks hold the same
    entries as with origins, and a replica loaded from them finds both subjects (NODE-053)."""
    from creditx.node.replica.store import ReplicaStore
    from creditx.node.replica.subjects import question
    from creditx.node.replica.wire import chunk_from_pb
    from creditx.node.store import NodeStore

    person, org = _rows()
    c = PushClient(gateway.address, pki.nodes["370100"])
    c.handshake()
    c.push([c.batch([list_payload("370100", person, 1), list_payload("370100", org, 2)], start_seq=1)])
    c.close()
    f = person["fields"]
    want_key = person_subject_id(f["MD_ZT_ZJLX"], f["MD_ZT_ZJHM"], INDEX_KEY)
    qingdao = Subscriber(gateway.address, pki.nodes["370200"], from_list_seq=1)
    try:
        qingdao.until(lambda s: s.live and s.through == 2)
        ask = dict(subject_index_key=INDEX_KEY, canonical_entries=canonical, max_chunk_entries=1)
        bare = list(qingdao.stub.Snapshot(lpb.SnapshotRequest(without_origins=True, **ask), timeout=20))
        full = list(qingdao.stub.Snapshot(lpb.SnapshotRequest(**ask), timeout=20))
    finally:
        qingdao.close()
    assert len(bare) == len(full) == 2 and all(not ch.origins for ch in bare)
    assert [ch.entries_zlib or ch.entries for ch in bare] == [ch.entries_zlib or ch.entries for ch in full]
    assert sorted(k for ch in bare for k in ch.subject_indexes) == ["", want_key]
    replica = ReplicaStore(NodeStore(tmp_path / "node.db"), INDEX_KEY)
    for m in bare:
        chunk, origins, sent, bodies = chunk_from_pb(m)
        replica.apply_chunk(chunk, bytes(m.frontier), now_ms=1, origins=origins, sent_keys=sent, bodies=bodies)
    assert replica.entries_for(want_key)
    assert replica.entries_for(question("uscc", org["fields"]["MD_ZT_SHXYM"], INDEX_KEY).key)
