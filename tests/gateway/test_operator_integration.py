"""Operator API and metrics endpoint against a real gateway with pushed records."""

from __future__ import annotations

import json
import urllib.request

import grpc
import pytest

from creditx.pki.tls import channel_credentials
from creditx.v1 import operator_pb2 as opb
from creditx.v1 import operator_pb2_grpc
from tests.gateway.push_client import PushClient, payloads
from tests.pg import ENGINES

pytestmark = pytest.mark.parametrize("store_url", ENGINES, indirect=True)


def test_status_find_records_and_metrics(gateway, gw_dir, pki):
    c = PushClient(gateway.address, pki.nodes["370100"])
    c.handshake()
    good = payloads("370100", 4)
    wrong = payloads("370200", 1, start_seq=5)
    c.push([c.batch(good + wrong)], backlog=11)
    c.close()
    op = pki.operator
    ch = grpc.secure_channel(
        gateway.address,
        channel_credentials(op.ca, op.cert, op.key),
        options=[("grpc.ssl_target_name_override", "localhost")],
    )
    stub = operator_pb2_grpc.OperatorStub(ch)
    st = stub.Status(opb.StatusRequest(), timeout=10)
    (n,) = st.nodes
    assert (n.region, n.committed_seq, n.accepted, n.rejected, n.backlog) == ("370100", 5, 4, 1, 11)
    # SYNC-050 (1.1): the push stream has ended and no call came since: disconnected at once
    assert not n.connected and n.recent_rejections[0].reason_code == "SEC_REGION_MISMATCH"
    assert n.signing_cert_not_after and n.auth_cert_not_after and st.audit_size == 6
    page = stub.FindRecords(opb.FindRecordsRequest(region="370100", type="XZCF", limit=3), timeout=10)
    assert len(page.records) == 3 and page.next_page_token
    rest = stub.FindRecords(
        opb.FindRecordsRequest(region="370100", limit=3, page_token=page.next_page_token), timeout=10
    )
    assert [r.source_seq for r in rest.records] == [4] and not rest.next_page_token
    fp = page.records[0].fingerprint
    assert [r.source_seq for r in stub.FindRecords(opb.FindRecordsRequest(fingerprint=fp), timeout=10).records] == [1]
    ch.close()
    url = json.loads((gw_dir / "run.json").read_text())["metrics"]
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    assert 'creditx_gateway_records_total{outcome="ACCEPTED",region="370100"} 4.0' in text
    assert 'creditx_gateway_committed_seq{region="370100"} 5.0' in text
    assert 'creditx_gateway_node_backlog{region="370100"} 11.0' in text
    assert 'creditx_gateway_cert_expiry_seconds{cert="signing",region="370100"}' in text
