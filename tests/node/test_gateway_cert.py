"""The gateway's checkpoint-signing certificate reaches a node through the handshake and is
stored only after it verifies against the node's CA for role gateway-signing (SEC-010)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from creditx.node.replica.trust import GATEWAY_SIGNING_CERT, accept_gateway_cert, gateway_signing_keys
from creditx.pki.identity import IdentityError
from creditx.pki.testing import make_pki


def _der(path) -> bytes:
    return x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(Encoding.DER)


@pytest.fixture
def node_dir(tmp_path):
    pki = make_pki(tmp_path / "a")
    d = tmp_path / "node"
    d.mkdir()
    shutil.copy(pki.ca_cert, d / "ca.crt")
    return pki, d


def test_a_verified_gateway_certificate_is_stored_once(node_dir):
    pki, d = node_dir
    now = datetime.now(UTC)
    assert accept_gateway_cert(d, _der(pki.gateway.signing_cert), now) is True
    assert accept_gateway_cert(d, _der(pki.gateway.signing_cert), now) is False
    (key,) = gateway_signing_keys(d)
    expected = x509.load_pem_x509_certificate(pki.gateway.signing_cert.read_bytes()).public_key()
    spki = (Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert key.public_bytes(*spki) == expected.public_bytes(*spki)


@pytest.mark.parametrize("which", ["node-signing", "gateway-tls", "foreign-ca"])
def test_a_wrong_certificate_is_refused_and_the_stored_one_kept(node_dir, tmp_path, which):
    pki, d = node_dir
    now = datetime.now(UTC)
    accept_gateway_cert(d, _der(pki.gateway.signing_cert), now)
    before = (d / GATEWAY_SIGNING_CERT).read_bytes()
    wrong = {
        "node-signing": lambda: pki.nodes["370100"].signing_cert,
        "gateway-tls": lambda: pki.gateway.tls_cert,
        "foreign-ca": lambda: make_pki(tmp_path / "other").gateway.signing_cert,
    }[which]()
    with pytest.raises(IdentityError) as err:
        accept_gateway_cert(d, _der(wrong), now)
    assert err.value.reason in ("CERT_WRONG_ROLE", "CERT_WRONG_CA")
    assert (d / GATEWAY_SIGNING_CERT).read_bytes() == before


def test_a_planted_file_that_does_not_verify_is_ignored(node_dir, tmp_path):
    pki, d = node_dir
    foreign = make_pki(tmp_path / "other").gateway.signing_cert
    (d / GATEWAY_SIGNING_CERT).write_bytes(foreign.read_bytes())
    assert gateway_signing_keys(d) == []
