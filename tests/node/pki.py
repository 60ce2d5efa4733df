"""A throw-away provincial PKI for node tests (real X.509, ECDSA P-256), laid out as in
certs/files.py: OUT/ca.crt, auth.crt/.key, signing.crt/.key; gateway tls.crt/.key."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(path: Path, key) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)


def _cert(subject: str, key, issuer_name, issuer_key, *, ca=False, eku=None, sans=()):
    now = dt.datetime.now(dt.UTC)
    b = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


@dataclass(frozen=True)
class TestPki:
    __test__ = False  # a fixture value, not a test class
    ca: Path
    gateway_cert: Path
    gateway_key: Path
    node_dir: Path


def make_test_pki(root: Path, region: str = "370100") -> TestPki:
    root.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _cert("Test Provincial CA", ca_key, _name("Test Provincial CA"), ca_key, ca=True)
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    (root / "ca.crt").write_bytes(ca_pem)
    gw_key = ec.generate_private_key(ec.SECP256R1())
    gw = _cert(
        "localhost",
        gw_key,
        ca_cert.subject,
        ca_key,
        eku=[ExtendedKeyUsageOID.SERVER_AUTH],
        sans=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
    )
    (root / "tls.crt").write_bytes(gw.public_bytes(serialization.Encoding.PEM))
    _write_key(root / "tls.key", gw_key)
    node = root / "node"
    node.mkdir(exist_ok=True)
    (node / "ca.crt").write_bytes(ca_pem)
    region_uri = x509.UniformResourceIdentifier(f"urn:creditx:region:{region}")
    for role, eku in (("auth", [ExtendedKeyUsageOID.CLIENT_AUTH]), ("signing", None)):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(f"node-{region}-{role}", key, ca_cert.subject, ca_key, eku=eku, sans=[region_uri])
        (node / f"{role}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(node / f"{role}.key", key)
    return TestPki(root / "ca.crt", root / "tls.crt", root / "tls.key", node)
