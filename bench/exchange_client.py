"""The benchmarks' minimal node-side Exchange client: a mutual-TLS channel to a gateway and a
handshake presenting the node's signing certificate. Benchmarks import nothing from tests/ or
node/; this is the little they share (bench/ingest.py, bench/distribute.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def exchange(address: str, node, software: str) -> Iterator[object]:
    """An ``ExchangeStub`` on a ready channel, after a handshake as ``node``; closed on exit."""
    import grpc
    from cryptography.hazmat.primitives.serialization import Encoding

    from creditx.pki.files import read_cert
    from creditx.pki.tls import channel_credentials
    from creditx.v1 import exchange_pb2 as pb
    from creditx.v1 import exchange_pb2_grpc

    channel = grpc.secure_channel(
        address,
        channel_credentials(node.ca, node.auth_cert, node.auth_key),
        options=[("grpc.ssl_target_name_override", "localhost")],
    )
    try:
        grpc.channel_ready_future(channel).result(timeout=10)
        stub = exchange_pb2_grpc.ExchangeStub(channel)
        stub.Handshake(
            pb.HandshakeRequest(
                node_name="bench",
                protocol_version=1,
                software=software,
                signing_certificates=[read_cert(node.signing_cert).public_bytes(Encoding.DER)],
            ),
            timeout=10,
        )
        yield stub
    finally:
        channel.close()
