"""Trust bundle (SEC-070, SEC-071) and the CRL as openssl reads it (SEC-040)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from creditx.pki import files
from creditx.pki.bundle import BundleError, bundle_from_ca, load_bundle
from creditx.pki.ca import init_ca
from creditx.pki.crl import revoke
from creditx.pki.identity import IdentityError
from creditx.pki.issue import issue_gateway, issue_node
from creditx.pki.profiles import GATEWAY_SIGNING, key_id, serial_hex
from creditx.standard.errors import InputError

AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def ca(tmp_path):
    return init_ca(tmp_path / "ca", at=AT)


def kid(path) -> str:
    return key_id(files.read_cert(path).public_key())


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_openssl_crl_lists_revoked_serials_and_crl_pem_stays_current(ca, tmp_path):
    a = issue_node(ca, region="370100", name="a", at=AT, out=tmp_path / "a")
    b = issue_node(ca, region="370200", name="b", at=AT, out=tmp_path / "b")
    serials = [serial_hex(files.read_cert(p).serial_number) for p in (a.auth_cert, b.signing_cert)]
    for i, serial in enumerate(serials):
        revoke(ca, serial, at=AT + timedelta(minutes=i), reason="key-compromise")
        text = subprocess.run(
            ["openssl", "crl", "-in", str(ca.path(files.CRL)), "-noout", "-text"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        for s in serials[: i + 1]:
            assert f"Serial Number: {s}" in text
    assert "Key Compromise" in text
    done = subprocess.run(
        ["openssl", "crl", "-in", str(ca.path(files.CRL)), "-noout", "-CAfile", str(ca.path(files.CA_CERT))],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0 and "verify OK" in (done.stdout + done.stderr)


def test_revoke_errors_are_clear(ca, tmp_path):
    with pytest.raises(InputError, match="no certificate with serial"):
        revoke(ca, "0A0B", at=AT)
    with pytest.raises(InputError, match="not a hexadecimal serial"):
        revoke(ca, "xyz", at=AT)
    n = issue_node(ca, region="370100", name="a", at=AT, out=tmp_path / "a")
    serial = serial_hex(files.read_cert(n.auth_cert).serial_number)
    revoke(ca, "0x" + serial.lower(), at=AT)
    with pytest.raises(InputError, match="already revoked"):
        revoke(ca, serial, at=AT)
    with pytest.raises(InputError, match="unknown revocation reason"):
        revoke(ca, serial, at=AT, reason="bored")


def test_bundle_carries_signing_certificates_including_rotated_ones(ca, tmp_path):
    n = issue_node(ca, region="370100", name="a", at=AT, days=30, out=tmp_path / "a")
    old = kid(n.signing_cert)
    issue_node(ca, region="370100", name="a", at=AT + timedelta(days=5), days=30, out=n.dir, only="signing")
    new = kid(n.signing_cert)
    gw = issue_gateway(ca, at=AT, out=tmp_path / "g")
    bundle = load_bundle(bundle_from_ca(ca, at=AT + timedelta(days=6)), ca=ca.cert, at=AT + timedelta(days=6))
    assert bundle.version == 1
    assert bundle.verify_signer(old, at=AT + timedelta(days=1)).region == "370100"
    assert bundle.verify_signer(new, at=AT + timedelta(days=6)).name == "a"
    assert bundle.verify_signer(kid(gw.signing_cert), at=AT, roles=(GATEWAY_SIGNING,))
    assert bundle.signing_certificate(kid(n.auth_cert)) is None  # auth certs are not in it
    with pytest.raises(IdentityError):
        bundle.verify_signer(kid(n.auth_cert), at=AT)


def test_bundle_knows_revocations(ca, tmp_path):
    n = issue_node(ca, region="370100", name="a", at=AT, out=tmp_path / "a")
    revoke(ca, serial_hex(files.read_cert(n.signing_cert).serial_number), at=AT)
    bundle = load_bundle(bundle_from_ca(ca, at=AT), ca=ca.cert, at=AT)
    assert bundle.signing_certificate(kid(n.signing_cert)) is None
    assert bundle.trust.revocation(files.read_cert(n.signing_cert).serial_number) is not None


def test_bundle_signed_by_the_gateway(ca, tmp_path):
    gw = issue_gateway(ca, at=AT, out=tmp_path / "g")
    data = bundle_from_ca(
        ca, at=AT, sign_key=files.read_key(gw.signing_key), signer_cert=files.read_cert(gw.signing_cert)
    )
    assert load_bundle(data, ca=ca.cert, at=AT).version == 1
    # a gateway TLS key is not a bundle signer (SEC-070)
    bad = bundle_from_ca(ca, at=AT, sign_key=files.read_key(gw.tls_key), signer_cert=files.read_cert(gw.tls_cert))
    with pytest.raises(IdentityError) as exc:
        load_bundle(bad, ca=ca.cert, at=AT)
    assert exc.value.reason == "CERT_WRONG_ROLE"


def _reason(data, ca_cert, at=AT, **kw) -> str:
    with pytest.raises(BundleError) as exc:
        load_bundle(data, ca=ca_cert, at=at, **kw)
    return exc.value.reason


def test_bundle_rejections(ca, tmp_path):
    data = bundle_from_ca(ca, at=AT, days=7)
    assert _reason(data, ca.cert, at=AT + timedelta(days=7)) == "BUNDLE_EXPIRED"
    assert _reason(data, ca.cert, min_version=2) == "BUNDLE_ROLLBACK"
    assert _reason(b"{}", ca.cert) == "BUNDLE_MALFORMED"
    outer = json.loads(data)
    body = json.loads(base64.b64decode(outer["payload"]))
    body["expires_at"] = (AT + timedelta(days=999)).isoformat()
    outer["payload"] = base64.b64encode(json.dumps(body).encode()).decode()
    assert _reason(json.dumps(outer).encode(), ca.cert) == "BUNDLE_SIGNATURE"
    other = init_ca(tmp_path / "other", at=AT)
    assert _reason(data, other.cert) == "BUNDLE_SIGNATURE"
    assert _reason(bundle_from_ca(other, at=AT), ca.cert) == "BUNDLE_SIGNATURE"
    assert load_bundle(bundle_from_ca(ca, at=AT), ca=ca.cert, at=AT, min_version=2).version == 2
