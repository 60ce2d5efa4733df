"""DIST-023: the expiry job never runs ahead of a trustworthy clock. A gateway whose clock runs
days ahead of its nodes' clocks expires nothing and raises an alarm (metric); once its clock
and the nodes' agree it expires what is due; and an entry expired is listed again by a
correction (DIST-012), so a wrongful expiry can be undone."""

from __future__ import annotations

import datetime as dt

from prometheus_client import generate_latest

from creditx.gateway.server import Gateway
from creditx.standard.lists.clock import expiry_clock_refusal
from creditx.v1 import exchange_pb2
from creditx.v1 import lists_pb2 as lpb
from tests.gateway.push_client import PushClient
from tests.gateway_lists.client import Subscriber, list_payload, list_rows

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_the_rule_needs_a_witness_and_agreement_within_the_tolerance():
    ok = expiry_clock_refusal(NOW, latest_checkpoint=NOW, node_offsets_s={"a": 5.0, "b": -20.0}, tolerance_s=3600)
    assert ok is None
    none = expiry_clock_refusal(NOW, latest_checkpoint=None, node_offsets_s={}, tolerance_s=3600)
    assert none is not None and none.reason == "CLOCK_UNWITNESSED"
    ahead = expiry_clock_refusal(
        NOW, latest_checkpoint=None, node_offsets_s={"a": -8 * 86400, "b": -8 * 86400 + 3, "c": 0}, tolerance_s=3600
    )  # the median of three nodes, not the one whose clock happens to agree
    assert ahead is not None and ahead.reason == "CLOCK_DISAGREES_WITH_NODES" and ahead.rule == "DIST-023"
    assert "691197 s ahead of the median clock of 3 node(s)" in ahead.message
    behind = expiry_clock_refusal(
        NOW, latest_checkpoint=NOW + dt.timedelta(days=2), node_offsets_s={"a": 0.0}, tolerance_s=3600
    )
    assert (
        behind is not None and behind.reason == "CLOCK_BEHIND_CHECKPOINT" and "before its own latest" in behind.message
    )


def _heartbeat(client: PushClient, node_time: dt.datetime) -> None:
    client.stub.Heartbeat(
        exchange_pb2.HeartbeatRequest(node_time_unix_ms=int(node_time.timestamp() * 1000)), timeout=10
    )


def test_a_gateway_days_ahead_expires_nothing_until_its_clock_is_vouched_for(gw_dir, pki):
    ahead = dt.timedelta(days=3)
    real_now = dt.datetime.now(UTC)
    gw = Gateway(gw_dir, clock=lambda: dt.datetime.now(UTC) + ahead)
    gw.start()
    end = (real_now + dt.timedelta(days=1)).date().isoformat()  # due by the gateway's clock, not by the real one
    rows = list_rows("370100", 3, seed=23)
    client = PushClient(gw.address, pki.nodes["370100"])
    sub = Subscriber(gw.address, pki.nodes["370200"], from_list_seq=1)
    try:
        client.handshake()
        client.push([client.batch([list_payload("370100", r, i + 1, MD_GLQX_Z=end) for i, r in enumerate(rows)])])
        sub.until(lambda s: s.live and s.through == 3)
        job = gw.lists.expiry

        _heartbeat(client, dt.datetime.now(UTC))  # the node's clock is right: the gateway is 3 days ahead
        assert job.run() == 0 and job.refused is not None
        assert job.refused.reason == "CLOCK_DISAGREES_WITH_NODES" and "ahead of the median clock" in job.refused.message
        metrics = generate_latest(gw.registry).decode()
        assert 'creditx_gateway_list_expiry_refused{reason="CLOCK_DISAGREES_WITH_NODES"} 1.0' in metrics
        assert sub.through == 3  # nothing was removed, on any replica

        _heartbeat(client, dt.datetime.now(UTC) + ahead)  # the clocks agree: it is that late
        assert job.run() == 3 and job.refused is None
        sub.until(lambda s: s.through == 6)
        assert all(c.reason == lpb.REMOVAL_REASON_EXPIRED for c in sub.changes[3:])
        assert "creditx_gateway_list_expiry_refused{" not in generate_latest(gw.registry).decode()

        # DIST-012: a correction (a new version of the record) lists the expired entry again
        (resp,) = client.push(
            [
                client.batch(
                    [
                        list_payload(
                            "370100",
                            rows[0],
                            4,
                            op="U",
                            version=2,
                            MD_GLQX_Z=(real_now + dt.timedelta(days=30)).date().isoformat(),
                        )
                    ],
                    start_seq=4,
                )
            ]
        )
        assert resp.acks[0].outcome == exchange_pb2.SUPERSEDED, resp.acks[0]  # the current version (SYNC-021)
        sub.until(lambda s: s.through == 7)
        relisted = sub.changes[6]
        assert relisted.kind == lpb.CHANGE_KIND_ADD and relisted.entry.state == lpb.LIST_ENTRY_STATE_LISTED
        assert relisted.entry.entry_id == sub.changes[0].entry.entry_id
    finally:
        sub.close()
        client.close()
        gw.stop(grace=1)
