"""grpcio-testing units of the servicers: translation and status mapping, no sockets.

grpcio-testing has no TLS auth context and no interceptors, so the caller the identity gate would
have verified is injected; the gate itself is tested over real sockets in test_identity_gate.py."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import grpc_testing
import pytest

from creditx.gateway.config import GatewayConfig
from creditx.gateway.exchange.batches import BatchIngest
from creditx.gateway.exchange.keys import KeyRegistry
from creditx.gateway.exchange.pool import CheckPool
from creditx.gateway.exchange.presence import Presence
from creditx.gateway.exchange.service import ExchangeServicer
from creditx.gateway.operator.service import OperatorServicer
from creditx.gateway.store.sqlite import SqliteStore
from creditx.pki.files import read_cert
from creditx.pki.identity import verify
from creditx.pki.profiles import ROLES
from creditx.pki.tls import FileTrustSource
from creditx.v1 import exchange_pb2 as pb
from creditx.v1 import operator_pb2 as opb

NOW = datetime.now(UTC)
EXCHANGE = pb.DESCRIPTOR.services_by_name["Exchange"]
OPERATOR = opb.DESCRIPTOR.services_by_name["Operator"]


@pytest.fixture
def make(pki):
    def build(cert_path):
        store = SqliteStore(None)
        keys = KeyRegistry(FileTrustSource(pki.ca_cert, pki.crl))
        ident = verify(cert_path.read_bytes(), keys.trust, at=NOW, roles=ROLES)
        ex = ExchangeServicer(
            BatchIngest(store, CheckPool(0), lambda: NOW, b"k" * 32),
            keys,
            Presence(),
            GatewayConfig(),
            lambda: NOW,
            identity=lambda ctx: ident,
        )
        op = OperatorServicer(store, Presence(), keys, "gw", lambda: NOW, identity=lambda ctx: ident)
        return grpc_testing.server_from_dictionary({EXCHANGE: ex, OPERATOR: op}, grpc_testing.strict_real_time())

    return build


def unary(server, service, method, request):
    rpc = server.invoke_unary_unary(service.methods_by_name[method], (), request, None)
    return rpc.termination()


def test_heartbeat_records_backlog_and_answers_committed(make, pki):
    server = make(pki.nodes["370100"].auth_cert)
    resp, _, code, _ = unary(server, EXCHANGE, "Heartbeat", pb.HeartbeatRequest(backlog=5, last_source_seq=9))
    assert code == grpc.StatusCode.OK and resp.committed_seq == 0
    assert resp.server_time_unix_ms == int(NOW.timestamp() * 1000)


def test_handshake_registers_signing_certificate_and_region(make, pki):
    from cryptography.hazmat.primitives.serialization import Encoding

    node = make(pki.nodes["370100"].auth_cert)
    der = read_cert(pki.nodes["370100"].signing_cert).public_bytes(Encoding.DER)
    resp, _, code, _ = unary(
        node, EXCHANGE, "Handshake", pb.HandshakeRequest(node_name="jinan", signing_certificates=[der])
    )
    assert code == grpc.StatusCode.OK and resp.region == "370100"
