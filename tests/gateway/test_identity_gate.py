"""The gateway's one identity gate (SEC-034) over real sockets with mutual TLS: the method → roles
table on every service, and a revocation by `creditx certs revoke` refused on every service
within a minute, with no file copied by hand (SEC-043)."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf.message import Message

from creditx.gateway.init import init_gateway_dir
from creditx.gateway.server import Gateway
from creditx.pki.crl import distribution_points
from creditx.pki.files import read_cert
from creditx.pki.issue import issue_department
from creditx.pki.profiles import serial_hex
from creditx.pki.testing import make_pki
from creditx.pki.tls import channel_credentials
from creditx.v1 import audit_pb2, exchange_pb2, lists_pb2, operator_pb2
from tests.ports import gateway_config

DEADLINE = 10
# one unary method of every gateway service, with a request it accepts
CALLS: dict[str, tuple[str, Message, type[Message]]] = {
    "Exchange": ("/creditx.v1.Exchange/Heartbeat", exchange_pb2.HeartbeatRequest(), exchange_pb2.HeartbeatResponse),
    "Distribution": (
        "/creditx.v1.Distribution/GetListCheckpoint",
        lists_pb2.ListCheckpointRequest(),
        lists_pb2.ListCheckpointResponse,
    ),
    "Audit": ("/creditx.v1.Audit/GetCheckpoint", audit_pb2.GetCheckpointRequest(), audit_pb2.CheckpointResponse),
    "Operator": ("/creditx.v1.Operator/Status", operator_pb2.StatusRequest(), operator_pb2.StatusResponse),
}


@pytest.fixture
def pki(tmp_path):
    return make_pki(tmp_path, regions=("370100", "370200"))


@pytest.fixture
def gateway(tmp_path, pki):
    d = tmp_path / "gw"
    init_gateway_dir(
        d,
        pki.gateway.dir,
        cfg=gateway_config(crl_reload_s=1),
    )
    g = Gateway(d)
    g.start()
    yield g
    g.stop(grace=1)


def call(gateway, ca, cert, key, service: str) -> tuple[grpc.StatusCode, str]:
    method, request, response = CALLS[service]
    with grpc.secure_channel(
        gateway.address,
        channel_credentials(ca, cert, key),
        options=[("grpc.ssl_target_name_override", "localhost"), ("grpc.use_local_subchannel_pool", 1)],
    ) as ch:
        try:
            ch.unary_unary(
                method, request_serializer=type(request).SerializeToString, response_deserializer=response.FromString
            )(request, timeout=DEADLINE)
        except grpc.RpcError as err:
            return err.code(), err.details() or ""
    return grpc.StatusCode.OK, ""


def node_call(gateway, pki, region, service):
    n = pki.nodes[region]
    return call(gateway, n.ca, n.auth_cert, n.auth_key, service)


def test_every_service_admits_the_roles_of_its_table_and_no_other(gateway, pki):
    op = pki.operator
    expected = {
        "Exchange": (True, False),
        "Distribution": (True, False),
        "Audit": (True, True),
        "Operator": (False, True),
    }
    for service, (node_ok, operator_ok) in expected.items():
        for ok, (code, details) in (
            (node_ok, node_call(gateway, pki, "370100", service)),
            (operator_ok, call(gateway, op.ca, op.cert, op.key, service)),
        ):
            if ok:
                assert code == grpc.StatusCode.OK, (service, details)
            else:
                assert code == grpc.StatusCode.PERMISSION_DENIED, service
                assert details.startswith("CERT_WRONG_ROLE") and "[SEC-010]" in details


def test_a_department_certificate_opens_no_gateway_service(gateway, pki, tmp_path):
    dept = issue_department(pki.ca, region="370100", name="tax", at=datetime.now(UTC), out=tmp_path / "d")
    for service in CALLS:
        code, details = call(gateway, dept.ca, dept.cert, dept.key, service)
        assert code == grpc.StatusCode.PERMISSION_DENIED and details.startswith("CERT_WRONG_ROLE"), service


def test_certificates_name_the_crl_distribution_point(pki):
    url = distribution_points(read_cert(pki.nodes["370100"].auth_cert))
    assert url == [(pki.ca_dir.resolve() / "crl.pem").as_uri()]
    assert distribution_points(read_cert(pki.gateway.tls_cert)) == url


@pytest.mark.slow
def test_a_revocation_is_refused_on_every_service_within_a_minute(gateway, pki):
    for service in ("Exchange", "Distribution", "Audit"):
        assert node_call(gateway, pki, "370100", service)[0] == grpc.StatusCode.OK
    serial = serial_hex(read_cert(pki.nodes["370100"].auth_cert).serial_number)
    revoked_at = time.monotonic()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "creditx.cli.main",
            "certs",
            "revoke",
            "--dir",
            str(pki.ca_dir),
            serial,
            "--reason",
            "key-compromise",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "published at file:" in out.stdout
    refused: dict[str, str] = {}
    while len(refused) < len(CALLS) and time.monotonic() - revoked_at < 60:
        for service in CALLS:
            if service not in refused:
                code, details = node_call(gateway, pki, "370100", service)
                if code == grpc.StatusCode.UNAUTHENTICATED:
                    refused[service] = details
    assert sorted(refused) == sorted(CALLS), "not refused within a minute of the revoke"
    assert all(d.startswith("CERT_REVOKED") and serial in d for d in refused.values())
    assert node_call(gateway, pki, "370200", "Exchange")[0] == grpc.StatusCode.OK  # the others carry on
