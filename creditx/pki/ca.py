"""The provincial root CA: create it, load it, and sign leaf certificates by profile.

Invariants:

* SEC-001  one self-signed root, ``CA:TRUE, pathlen:0``, keyCertSign + cRLSign only; its key
  is ECDSA P-256 by default and may be encrypted with a passphrase.
* SEC-020  every leaf is issued from a profile (creditx/pki/profiles.py), with a fresh random 159-bit
  serial, ``notBefore`` one hour before the issuing time (clock skew between machines) and
  ``notAfter`` never later than the CA's own.
* SEC-050  every issued certificate is recorded in the issuance database and copied to
  ``DIR/issued/<SERIAL>.crt`` before it is handed out.

Time is an argument (``at``); the CLI passes the current time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlite_utils
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from creditx.pki import files, issuance_db
from creditx.pki.profiles import (
    ORGANISATION,
    PROFILES,
    fingerprint,
    issuer_public_key,
    key_id,
    leaf_extensions,
    serial_hex,
)
from creditx.standard.errors import InputError

DEFAULT_CA_NAME = "creditx Shandong Root CA"
CA_DAYS = 3650
SKEW = timedelta(hours=1)  # SEC-020: a node whose clock runs minutes slow still accepts a new certificate
KEY_TYPES = {"ecdsa-p256": ec.SECP256R1, "ecdsa-p384": ec.SECP384R1}


def new_key(key_type: str = "ecdsa-p256"):
    """A fresh private key of a supported type (SEC-001: ECDSA P-256 by default)."""
    if key_type not in KEY_TYPES:
        raise InputError(f"unknown key type {key_type!r} (SEC-001)", hint=f"use one of {', '.join(KEY_TYPES)}")
    return ec.generate_private_key(KEY_TYPES[key_type]())


@dataclass
class CertificateAuthority:
    """A loaded CA: its directory, certificate, private key and issuance database."""

    dir: Path
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    db: sqlite_utils.Database
    crl_url: str = ""  # the CRL distribution point every leaf names (SEC-043)

    def path(self, name: str) -> Path:
        return self.dir / name


def init_ca(
    directory: Path,
    *,
    at: datetime,
    name: str = DEFAULT_CA_NAME,
    passphrase: bytes | None = None,
    days: int = CA_DAYS,
    key_type: str = "ecdsa-p256",
    crl_url: str | None = None,
) -> CertificateAuthority:
    """Create the root CA and an empty issuance database in ``directory`` (SEC-001).

    ``crl_url`` is where the CA's CRL is published (SEC-043); by default the ``file:`` URI of
    ``DIR/crl.pem``, for a gateway on the CA's host or a shared volume; an ``http(s)`` URL when
    ``crl.pem`` is served by a web server."""
    directory = Path(directory)
    crl_url = crl_url or (directory.resolve() / files.CRL).as_uri()
    if not crl_url.startswith(("file:", "http://", "https://")):
        raise InputError(
            f"--crl-url {crl_url!r} is not a file:, http: or https: URL (SEC-043)",
            hint="e.g. --crl-url http://pki.credit.sd.gov.cn/crl.pem",
        )
    if (directory / files.CA_KEY).exists() or (directory / files.CA_CERT).exists():
        raise InputError(
            f"{directory} already holds a CA (ca.crt / ca.key)", hint="choose another --dir; a CA is never overwritten"
        )
    files.private_dir(directory)
    files.private_dir(directory / files.ISSUED)
    key = new_key(key_type)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(at - SKEW)
        .not_valid_after(at + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    files.write_key(directory / files.CA_KEY, key, passphrase)
    files.write_cert(directory / files.CA_CERT, cert)
    files.write_atomic(directory / files.CRL_URL, crl_url.encode() + b"\n", files.PUBLIC_FILE_MODE)
    db = issuance_db.open_db(directory / files.ISSUANCE_DB)
    ca = CertificateAuthority(directory, cert, key, db, crl_url)
    from creditx.pki.crl import publish_crl  # crl builds on this module; an empty CRL from day one

    publish_crl(ca, at=at)
    return ca


def load_ca(directory: Path, passphrase: bytes | None = None) -> CertificateAuthority:
    """Load the CA in ``directory``; clear errors for a missing CA or a wrong passphrase."""
    directory = Path(directory)
    if not (directory / files.CA_CERT).exists() or not (directory / files.CA_KEY).exists():
        raise InputError(
            f"no CA in {directory} (missing ca.crt or ca.key)", hint="create one with: creditx certs init-ca --dir DIR"
        )
    try:
        key = files.read_key(directory / files.CA_KEY, passphrase)
    except TypeError as exc:
        raise InputError(
            f"the CA key in {directory} is passphrase-protected ({exc})", hint="pass --passphrase-file FILE"
        ) from None
    except ValueError:
        raise InputError(
            f"cannot decrypt the CA key in {directory}: wrong passphrase",
            hint="check the file given to --passphrase-file",
        ) from None
    cert = files.read_cert(directory / files.CA_CERT)
    url = directory / files.CRL_URL
    return CertificateAuthority(
        directory,
        cert,
        key,
        issuance_db.open_db(directory / files.ISSUANCE_DB),
        url.read_text("utf-8").strip() if url.exists() else "",
    )


def issue(
    ca: CertificateAuthority,
    role: str,
    holder: str,
    public_key,
    *,
    at: datetime,
    days: int,
    region: str | None = None,
    member: str | None = None,
    dns_names: tuple[str, ...] = (),
    ip_addresses: tuple = (),
    supersede: bool = True,
) -> x509.Certificate:
    """Sign a leaf of ``role`` for ``holder`` and record it (SEC-020, SEC-050).

    With ``supersede`` (the default), earlier valid certificates of the same role, holder and
    region are marked superseded — not revoked: they keep verifying what they signed while
    valid (SEC-031).
    """
    profile = PROFILES[role]
    not_after = min(at + timedelta(days=days), ca.cert.not_valid_after_utc)
    attrs = [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role),
        x509.NameAttribute(NameOID.COMMON_NAME, holder),
    ]
    if region:
        attrs.insert(0, x509.NameAttribute(NameOID.LOCALITY_NAME, region))
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attrs))
        .issuer_name(ca.cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(at - SKEW)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key(ca.cert)), critical=False)
    )
    if ca.crl_url:  # SEC-043: where a verifier fetches the newest CRL
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [x509.DistributionPoint([x509.UniformResourceIdentifier(ca.crl_url)], None, None, None)]
            ),
            critical=False,
        )
    for ext, critical in leaf_extensions(
        profile, region=region, member=member, dns_names=dns_names, ip_addresses=ip_addresses
    ):
        builder = builder.add_extension(ext, critical=critical)
    cert = builder.sign(ca.key, hashes.SHA256())
    serial = serial_hex(cert.serial_number)
    files.private_dir(ca.dir / files.ISSUED)
    files.write_cert(ca.dir / files.ISSUED / f"{serial}.crt", cert)
    issuance_db.record_issued(
        ca.db,
        {
            "serial": serial,
            "role": role,
            "holder": holder,
            "region": region,
            "not_before": cert.not_valid_before_utc.isoformat(),
            "not_after": cert.not_valid_after_utc.isoformat(),
            "issued_at": at.isoformat(),
            "key_id": key_id(public_key),
            "fingerprint": fingerprint(cert),
            "pem": cert.public_bytes(serialization.Encoding.PEM).decode(),
        },
        supersede=supersede,
    )
    return cert
