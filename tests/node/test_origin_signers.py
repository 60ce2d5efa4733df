"""DIST-080 (1.1): the node keeps the origin signing certificates a handshake serves only when
they verify against its CA for a signing role, and each key verifies origins of its own region
only (the gateway's key: 370000, the entries it imports)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

from cryptography.hazmat.primitives.serialization import Encoding

from creditx.node.replica.trust import ORIGIN_SIGNING_CERTS, accept_origin_certs, origin_key_resolver
from creditx.pki.files import read_cert
from creditx.pki.testing import make_pki
from creditx.standard.suites import key_id


def _der(path) -> bytes:
    return read_cert(path).public_bytes(Encoding.DER)


def test_served_certificates_are_verified_and_bound_to_their_region(tmp_path):
    p = make_pki(tmp_path / "a", regions=("370100", "370200"))
    foreign = make_pki(tmp_path / "b", regions=("370300",))
    own, other = p.nodes["370100"], p.nodes["370200"]
    nd = tmp_path / "node"
    nd.mkdir()
    shutil.copy(own.ca, nd / "ca.crt")
    shutil.copy(own.signing_cert, nd / "signing.crt")
    kept, refused = accept_origin_certs(
        nd,
        [
            _der(other.signing_cert),
            _der(p.gateway.signing_cert),
            _der(other.auth_cert),  # a TLS certificate: wrong role
            _der(foreign.nodes["370300"].signing_cert),  # another CA
        ],
        datetime.now(UTC),
    )
    assert kept == 2 and len(refused) == 2
    assert any("CERT_WRONG_ROLE" in r for r in refused) and any("CERT_WRONG_CA" in r for r in refused)
    assert (nd / ORIGIN_SIGNING_CERTS).exists()
    keys = origin_key_resolver(nd)
    kid_other = key_id(read_cert(other.signing_cert).public_key())
    kid_gw = key_id(read_cert(p.gateway.signing_cert).public_key())
    assert keys(kid_other) is not None and keys(kid_gw) is not None
    assert keys.for_region("370200")(kid_other) is not None
    assert keys.for_region("370100")(kid_other) is None, "a city's key never signs another city's origin"
    assert keys.for_region("370000")(kid_gw) is not None and keys.for_region("370100")(kid_gw) is None
