"""DIST-043: nodes report their applied list_seq (ReportApplied, Heartbeat); the operator
Status and the metrics show each node's lag in changes and seconds."""

from __future__ import annotations

import json
import time
import urllib.request

import grpc

from creditx.pki.tls import channel_credentials
from creditx.v1 import lists_pb2 as lpb
from creditx.v1 import operator_pb2 as opb
from creditx.v1 import operator_pb2_grpc
from tests.gateway.push_client import PushClient
from tests.gateway_lists.client import Subscriber, list_payload, list_rows


def _status(gateway, pki) -> opb.StatusResponse:
    op = pki.operator
    ch = grpc.secure_channel(
        gateway.address,
        channel_credentials(op.ca, op.cert, op.key),
        options=[("grpc.ssl_target_name_override", "localhost")],
    )
    try:
        return operator_pb2_grpc.OperatorStub(ch).Status(opb.StatusRequest(), timeout=10)
    finally:
        ch.close()


def _published_within(lag_seconds: float, since: float) -> bool:
    """The oldest unapplied change was published after ``since`` (wall clock, before the push):
    its age is at most the time since then (+1 s for the millisecond timestamps and clock reads)."""
    return 0 <= lag_seconds <= time.time() - since + 1


def test_operator_status_and_metrics_show_list_lag(gateway, gw_dir, pki):
    rows = list_rows("370100", 5, seed=31)
    before_push = time.time()
    c = PushClient(gateway.address, pki.nodes["370100"])
    c.handshake()
    c.push([c.batch([list_payload("370100", r, i + 1) for i, r in enumerate(rows)])])
    c.close()
    behind = Subscriber(gateway.address, pki.nodes["370200"])
    c2 = PushClient(gateway.address, pki.nodes["370200"])
    c2.handshake()  # known to the operator view
    c2.close()
    resp = behind.stub.ReportApplied(lpb.ReportAppliedRequest(applied_list_seq=2, checkpoint_verified=True), timeout=10)
    assert resp.head_list_seq == 5
    caught_up = Subscriber(gateway.address, pki.nodes["370100"])
    caught_up.heartbeat(5)  # Exchange.Heartbeat.applied_list_seq
    st = _status(gateway, pki)
    nodes = {n.region: n for n in st.nodes}
    assert st.list_head == 5
    assert (nodes["370200"].applied_list_seq, nodes["370200"].list_lag_entries) == (2, 3)
    assert _published_within(nodes["370200"].list_lag_seconds, before_push)
    assert (nodes["370100"].applied_list_seq, nodes["370100"].list_lag_entries, nodes["370100"].list_lag_seconds) == (
        5,
        0,
        0,
    )
    behind.stub.ReportApplied(lpb.ReportAppliedRequest(applied_list_seq=1), timeout=10)  # never moves back
    assert {n.region: n.applied_list_seq for n in _status(gateway, pki).nodes}["370200"] == 2
    url = json.loads((gw_dir / "run.json").read_text())["metrics"]
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    assert "creditx_gateway_list_head 5.0" in text
    assert 'creditx_gateway_list_lag_entries{region="370200"} 3.0' in text
    behind.close()
    caught_up.close()


def test_a_node_that_never_reported_counts_as_behind_by_everything(gateway, pki):
    rows = list_rows("370100", 3, seed=32)
    before_push = time.time()
    c = PushClient(gateway.address, pki.nodes["370100"])
    c.handshake()
    c.push([c.batch([list_payload("370100", r, i + 1) for i, r in enumerate(rows)])])
    c.close()
    silent = PushClient(gateway.address, pki.nodes["370200"])
    silent.handshake()  # known to the gateway, but has never reported a replica position
    silent.close()
    nodes = {n.region: n for n in _status(gateway, pki).nodes}
    assert (nodes["370200"].applied_list_seq, nodes["370200"].list_lag_entries) == (0, 3)
    assert _published_within(nodes["370200"].list_lag_seconds, before_push)
