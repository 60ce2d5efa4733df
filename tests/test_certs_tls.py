"""Mutual TLS over a real socket on port 0 with the standard gRPC health service (SEC-034,
SEC-040): who gets in, who is refused and why, and certificate reload without a restart."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from creditx.pki import files
from creditx.pki.ca import init_ca
from creditx.pki.crl import revoke
from creditx.pki.identity import Identity
from creditx.pki.issue import issue_node
from creditx.pki.profiles import NODE_AUTH, OPERATOR, serial_hex
from creditx.pki.testing import make_pki
from creditx.pki.tls import (
    EXEMPT,
    FileTrustSource,
    IdentityInterceptor,
    channel_credentials,
    current_identity,
    server_credentials,
)

DEADLINE = 10
_unique = itertools.count()


def _identity() -> Identity:
    ident = current_identity()
    assert ident is not None, "IdentityInterceptor sets the identity before the handler runs"
    return ident


def who_am_i(request: bytes, context: grpc.ServicerContext) -> bytes:
    ident = _identity()
    return f"{ident.role}:{ident.region}:{ident.name}".encode()


def whoami_stream(request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
    for _ in range(2):
        yield _identity().name.encode()


@pytest.fixture
def pki(tmp_path):
    return make_pki(tmp_path, regions=("370100", "370200"))


@pytest.fixture
def server(pki):
    srv = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4),
        interceptors=[
            IdentityInterceptor(
                FileTrustSource(pki.ca_cert, pki.crl),
                {
                    "/grpc.health.v1.Health/": (NODE_AUTH,),
                    "/test.Who/": (NODE_AUTH,),
                    "/test.Ops/": (OPERATOR,),
                    "/test.Open/": EXEMPT,
                },
            )
        ],
    )
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), srv)
    srv.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(
                "test.Who",
                {
                    "Am": grpc.unary_unary_rpc_method_handler(who_am_i),
                    "Stream": grpc.unary_stream_rpc_method_handler(whoami_stream),
                },
            ),
            grpc.method_handlers_generic_handler("test.Ops", {"Am": grpc.unary_unary_rpc_method_handler(who_am_i)}),
            grpc.method_handlers_generic_handler(
                "test.Open", {"Ping": grpc.unary_unary_rpc_method_handler(lambda request, context: b"pong")}
            ),
            grpc.method_handlers_generic_handler(
                "test.Unlisted", {"Am": grpc.unary_unary_rpc_method_handler(who_am_i)}
            ),
        ]
    )
    roots = pki.ca_dir / "client-roots.pem"
    roots.write_bytes(pki.ca_cert.read_bytes())
    port = srv.add_secure_port("localhost:0", server_credentials(pki.gateway.tls_cert, pki.gateway.tls_key, roots))
    srv.start()
    yield srv, port
    srv.stop(grace=None)


def channel(port, creds):
    # a private subchannel pool so each test's credentials make a fresh TLS handshake
    return grpc.secure_channel(
        f"localhost:{port}", creds, options=[("grpc.use_local_subchannel_pool", 1), ("creditx.test", next(_unique))]
    )


@dataclass(frozen=True)
class Outcome:
    code: grpc.StatusCode
    details: str = ""
    trailing: tuple = ()


def check(port: int, creds: grpc.ChannelCredentials) -> Outcome:
    """The status of one health check over a fresh TLS connection."""
    with channel(port, creds) as ch:
        try:
            health_pb2_grpc.HealthStub(ch).Check(  # type: ignore[attr-defined]  # the stub lists no methods
                health_pb2.HealthCheckRequest(), timeout=DEADLINE
            )
        except grpc.RpcError as err:
            call = cast(grpc.Call, err)  # a failed unary call's error is also its Call
            return Outcome(call.code(), call.details() or "", tuple(call.trailing_metadata() or ()))
    return Outcome(grpc.StatusCode.OK)


def node_creds(pki, region="370100"):
    n = pki.nodes[region]
    return channel_credentials(n.ca, n.auth_cert, n.auth_key)


def test_a_node_with_its_auth_certificate_gets_in(pki, server):
    _, port = server
    assert check(port, node_creds(pki)).code == grpc.StatusCode.OK
    with channel(port, node_creds(pki, "370200")) as ch:
        assert ch.unary_unary("/test.Who/Am")(b"", timeout=DEADLINE) == b"node-auth:370200:node-370200"
        assert list(ch.unary_stream("/test.Who/Stream")(b"", timeout=DEADLINE)) == [b"node-370200"] * 2


def test_no_client_certificate_is_refused_in_the_handshake(pki, server):
    _, port = server
    err = check(port, grpc.ssl_channel_credentials(pki.ca_cert.read_bytes()))
    assert err.code == grpc.StatusCode.UNAVAILABLE


def test_a_client_of_another_ca_is_refused(pki, server, tmp_path):
    _, port = server
    other = init_ca(tmp_path / "other", at=pki.ca.cert.not_valid_before_utc)
    foreign = issue_node(
        other, region="370100", name="node-370100", at=other.cert.not_valid_before_utc, out=tmp_path / "foreign"
    )
    err = check(port, channel_credentials(pki.ca_cert, foreign.auth_cert, foreign.auth_key))
    assert err.code == grpc.StatusCode.UNAVAILABLE


def test_a_revoked_client_is_unauthenticated_with_the_reason(pki, server):
    _, port = server
    assert check(port, node_creds(pki)).code == grpc.StatusCode.OK
    serial = serial_hex(files.read_cert(pki.nodes["370100"].auth_cert).serial_number)
    revoke(pki.ca, serial, at=datetime.now(UTC), reason="key-compromise")
    err = check(port, node_creds(pki))
    assert err.code == grpc.StatusCode.UNAUTHENTICATED
    assert "CERT_REVOKED" in err.details and serial in err.details
    assert check(port, node_creds(pki, "370200")).code == grpc.StatusCode.OK


def test_wrong_role_is_permission_denied_with_the_reason(pki, server):
    _, port = server
    op = channel_credentials(pki.ca_cert, pki.operator.cert, pki.operator.key)
    err = check(port, op)  # health accepts node-auth only in this server
    assert err.code == grpc.StatusCode.PERMISSION_DENIED and err.details.startswith("CERT_WRONG_ROLE")
    assert ("creditx-reason", "CERT_WRONG_ROLE") in err.trailing
    with channel(port, op) as ch:
        assert ch.unary_unary("/test.Ops/Am")(b"", timeout=DEADLINE) == b"operator:None:operator"
    with channel(port, node_creds(pki)) as ch, pytest.raises(grpc.RpcError) as exc:
        ch.unary_unary("/test.Ops/Am")(b"", timeout=DEADLINE)
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_method_the_table_does_not_name_is_refused_and_an_exempt_one_served(pki, server):
    _, port = server
    with channel(port, node_creds(pki)) as ch:
        with pytest.raises(grpc.RpcError) as exc:
            ch.unary_unary("/test.Unlisted/Am")(b"", timeout=DEADLINE)
        assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert (exc.value.details() or "").startswith("METHOD_NOT_ALLOWED")
        assert ch.unary_unary("/test.Open/Ping")(b"", timeout=DEADLINE) == b"pong"


def test_a_signing_certificate_does_not_open_a_tls_session(pki, server):
    _, port = server
    n = pki.nodes["370100"]
    err = check(port, channel_credentials(n.ca, n.signing_cert, n.signing_key))
    # refused by TLS (no clientAuth EKU) or, failing that, by our role check
    assert err.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED)


def test_server_reloads_trusted_client_roots_without_restart(pki, server, tmp_path):
    srv, port = server
    other = init_ca(tmp_path / "other", at=pki.ca.cert.not_valid_before_utc)
    foreign = issue_node(other, region="370100", name="x", at=other.cert.not_valid_before_utc, out=tmp_path / "foreign")
    creds = lambda: channel_credentials(pki.ca_cert, foreign.auth_cert, foreign.auth_key)  # noqa: E731
    assert check(port, creds()).code == grpc.StatusCode.UNAVAILABLE
    # the server now also trusts the other CA at the TLS layer: the handshake succeeds,
    # and our identity check still refuses the foreign certificate (defence in depth).
    files.write_atomic(
        pki.ca_dir / "client-roots.pem",
        pki.ca_cert.read_bytes() + other.cert.public_bytes(serialization.Encoding.PEM),
        0o644,
    )
    err = check(port, creds())
    assert err.code == grpc.StatusCode.UNAUTHENTICATED and "CERT_WRONG_CA" in err.details
