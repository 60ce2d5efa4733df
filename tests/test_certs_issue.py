"""Issuance (SEC-001, SEC-010/011/012, SEC-020, SEC-031, SEC-050, SEC-060), checked with openssl."""

from __future__ import annotations

import shutil
import stat
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from creditx.pki import files, issuance_db
from creditx.pki.ca import init_ca, load_ca
from creditx.pki.issue import issue_gateway, issue_node, issue_operator
from creditx.pki.profiles import EKU_RECORD_SIGNING, read_facts, serial_hex
from creditx.standard.errors import InputError

AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")


def openssl(*args: str) -> str:
    done = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def ca(tmp_path):
    return init_ca(tmp_path / "ca", at=AT)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@needs_openssl
def test_node_certificates_verify_with_openssl_and_show_region(ca, tmp_path):
    node = issue_node(ca, region="370100", name="jinan", at=AT, out=tmp_path / "n")
    for cert in (node.auth_cert, node.signing_cert):
        # -attime: the certificates are issued for AT, which need not be today.
        out = openssl("verify", "-attime", str(int(AT.timestamp())), "-CAfile", str(node.ca), str(cert))
        assert out.strip().endswith("OK")
        text = openssl("x509", "-in", str(cert), "-noout", "-text")
        assert "URI:urn:creditx:region:370100" in text
    assert "TLS Web Client Authentication" in openssl("x509", "-in", str(node.auth_cert), "-noout", "-text")
    signing_text = openssl("x509", "-in", str(node.signing_cert), "-noout", "-text")
    assert "1.3.6.1.4.1.59923.1.1" in signing_text
    assert "Client Authentication" not in signing_text and "Server Authentication" not in signing_text


@needs_openssl
def test_openssl_rejects_a_certificate_from_another_ca(ca, tmp_path):
    other = init_ca(tmp_path / "other", at=AT)  # same subject name as ours
    foreign = issue_node(other, region="370100", name="jinan", at=AT, out=tmp_path / "f")
    done = subprocess.run(
        [
            "openssl",
            "verify",
            "-attime",
            str(int(AT.timestamp())),
            "-CAfile",
            str(ca.path(files.CA_CERT)),
            str(foreign.auth_cert),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0


def test_roles_are_kept_apart_by_eku(ca, tmp_path):
    """SEC-010: signing certificates carry no TLS EKU, TLS ones no signing EKU."""
    node = issue_node(ca, region="370000", name="dept", at=AT, out=tmp_path / "n")
    gw = issue_gateway(ca, at=AT, out=tmp_path / "g", hosts=("gw.example",), ips=("10.0.0.1",))
    op = issue_operator(ca, name="alice", at=AT, out=tmp_path / "o")
    facts = {
        name: read_facts(files.read_cert(p))
        for name, p in [
            ("auth", node.auth_cert),
            ("signing", node.signing_cert),
            ("tls", gw.tls_cert),
            ("gsign", gw.signing_cert),
            ("op", op.cert),
        ]
    }
    assert facts["auth"].ekus == {ExtendedKeyUsageOID.CLIENT_AUTH}
    assert facts["signing"].ekus == {EKU_RECORD_SIGNING}
    assert facts["tls"].ekus == {ExtendedKeyUsageOID.SERVER_AUTH}
    assert ExtendedKeyUsageOID.CLIENT_AUTH not in facts["gsign"].ekus
    assert facts["op"].roles == ("operator",)
    assert facts["auth"].regions == facts["signing"].regions == ("370000",)
    assert not facts["tls"].regions and not facts["op"].regions
    san = files.read_cert(gw.tls_cert).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["gw.example"]
    assert [str(i) for i in san.get_values_for_type(x509.IPAddress)] == ["10.0.0.1"]


def test_private_keys_are_0600_and_directories_0700(ca, tmp_path):
    node = issue_node(ca, region="370200", name="qingdao", at=AT, out=tmp_path / "deep" / "n")
    assert mode(ca.path(files.CA_KEY)) == 0o600
    assert mode(node.auth_key) == mode(node.signing_key) == 0o600
    assert mode(ca.dir) == mode(node.dir) == mode(tmp_path / "deep") == 0o700


def test_region_must_be_a_node_region(ca, tmp_path):
    for bad in ("371200", "370116", "110000", "abc"):
        with pytest.raises(InputError, match="SEC-011"):
            issue_node(ca, region=bad, name="x", at=AT, out=tmp_path / "n")


def test_names_are_checked(ca, tmp_path):
    with pytest.raises(InputError, match="--name"):
        issue_node(ca, region="370100", name="a/b", at=AT)


def test_every_issued_certificate_is_recorded(ca, tmp_path):
    node = issue_node(ca, region="370300", name="zibo", at=AT, out=tmp_path / "n")
    rows = issuance_db.all_certificates(ca.db)
    assert {(r["role"], r["holder"], r["region"], r["status"]) for r in rows} == {
        ("node-auth", "zibo", "370300", "valid"),
        ("node-signing", "zibo", "370300", "valid"),
    }
    serial = serial_hex(files.read_cert(node.signing_cert).serial_number)
    assert (ca.dir / files.ISSUED / f"{serial}.crt").read_bytes() == node.signing_cert.read_bytes()


def test_rotation_supersedes_without_revoking(ca, tmp_path):
    """SEC-031: re-issuing the signing certificate leaves the old one unrevoked."""
    issue_node(ca, region="370100", name="jinan", at=AT, out=tmp_path / "n")
    old = files.read_cert(tmp_path / "n" / files.SIGNING_CERT)
    issue_node(ca, region="370100", name="jinan", at=AT + timedelta(days=30), out=tmp_path / "n", only="signing")
    new = files.read_cert(tmp_path / "n" / files.SIGNING_CERT)
    assert new.serial_number != old.serial_number
    rows = {r["serial"]: r for r in issuance_db.all_certificates(ca.db) if r["role"] == "node-signing"}
    statuses = sorted(r["status"] for r in rows.values())
    assert statuses == ["superseded", "valid"]
    assert not issuance_db.revoked(ca.db)
    auth = [r for r in issuance_db.all_certificates(ca.db) if r["role"] == "node-auth"]
    assert [r["status"] for r in auth] == ["valid"]


def test_passphrase_protected_ca(tmp_path):
    init_ca(tmp_path / "ca", at=AT, passphrase=b"s3cret pass")
    assert b"ENCRYPTED" in (tmp_path / "ca" / files.CA_KEY).read_bytes()
    with pytest.raises(InputError, match="passphrase"):
        load_ca(tmp_path / "ca")
    with pytest.raises(InputError, match="wrong passphrase"):
        load_ca(tmp_path / "ca", b"nope")
    assert (
        load_ca(tmp_path / "ca", b"s3cret pass").cert.subject
        == files.read_cert(tmp_path / "ca" / files.CA_CERT).subject
    )


def test_ca_is_never_overwritten(ca):
    with pytest.raises(InputError, match="already holds a CA"):
        init_ca(ca.dir, at=AT)


def test_leaf_validity_is_capped_by_the_ca(tmp_path):
    ca = init_ca(tmp_path / "ca", at=AT, days=10)
    node = issue_node(ca, region="370100", name="j", at=AT, days=398, out=tmp_path / "n")
    assert files.read_cert(node.auth_cert).not_valid_after_utc <= ca.cert.not_valid_after_utc
