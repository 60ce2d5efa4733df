"""DIST-030 at provincial size: subscribers at the same position share one batch, read and
encoded once (SharedBatches); what each receives is unchanged."""

from __future__ import annotations

from creditx.gateway.lists.service import SharedBatches, subscribe_response
from creditx.v1 import lists_pb2 as lpb
from tests.gateway.push_client import PushClient
from tests.gateway_lists.client import Subscriber, list_payload, list_rows


def test_a_batch_is_built_once_per_position_and_the_table_is_bounded():
    built: list[tuple] = []

    def build(key):
        def make():
            built.append(key)
            return lpb.ListChangeBatch(through_list_seq=key[1], head_list_seq=key[1]), key[1]

        return make

    shared = SharedBatches(size=2)
    a = shared.get((0, 3), build((0, 3)))
    b = shared.get((0, 3), build((0, 3)))
    assert a is b and built == [(0, 3)] and shared.built == 1
    assert a[2] == a[0].SerializeToString() and subscribe_response(a[2]) == a[2] and a[3] == ()
    shared.get((3, 5), build((3, 5)))
    shared.get((5, 6), build((5, 6)))  # the oldest, (0, 3), is dropped
    shared.get((0, 3), build((0, 3)))
    assert built == [(0, 3), (3, 5), (5, 6), (0, 3)]
    marker = lpb.ListChangeBatch(live=True)
    assert subscribe_response(marker) == marker.SerializeToString()


def test_subscribers_at_one_position_get_the_same_batch_built_once(gateway, pki):
    subs = [Subscriber(gateway.address, pki.nodes[r], from_list_seq=1) for r in ("370200", "370000")]
    try:
        for s in subs:
            s.until(lambda s: s.live)
        before = gateway.lists.servicer.shared.built
        rows = list_rows("370100", 3)
        c = PushClient(gateway.address, pki.nodes["370100"])
        c.handshake()
        c.push([c.batch([list_payload("370100", r, i + 1) for i, r in enumerate(rows)], start_seq=1)])
        c.close()
        for s in subs:
            s.until(lambda s: s.through == 3)
        a, b = ([x.SerializeToString() for x in s.changes] for s in subs)
        assert a == b and len(a) == 3
        assert [x.list_seq for x in subs[0].changes] == [1, 2, 3]
        # one commit, two subscribers at the same cursor and head: one build for both
        assert gateway.lists.servicer.shared.built - before == 1
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
