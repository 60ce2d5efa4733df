"""Revocation: mark a certificate revoked and publish the signed X.509 CRL (RFC 5280 §5).

Invariants:

* SEC-040  a revoked certificate's serial is on every CRL signed after the revocation;
  ``DIR/crl.pem`` is rewritten (atomically) after every revoke, so it is always current.
* SEC-041  CRL numbers (RFC 5280 §5.2.3) only grow; verifiers use the newest CRL they hold.
* Revocation is final: a serial cannot be un-revoked. Rotation (SEC-031) does not revoke.

``build_crl`` is pure apart from signing; time comes in as ``at``.
"""

from __future__ import annotations

import urllib.parse
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from creditx.pki import files, issuance_db
from creditx.pki.ca import CertificateAuthority
from creditx.pki.profiles import issuer_public_key, serial_hex
from creditx.standard.errors import InputError

CRL_DAYS = 7  # nextUpdate = thisUpdate + 7 days; re-publish at least that often

REASONS: dict[str, x509.ReasonFlags] = {
    "unspecified": x509.ReasonFlags.unspecified,
    "key-compromise": x509.ReasonFlags.key_compromise,
    "ca-compromise": x509.ReasonFlags.ca_compromise,
    "affiliation-changed": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessation-of-operation": x509.ReasonFlags.cessation_of_operation,
    "certificate-hold": x509.ReasonFlags.certificate_hold,
    "privilege-withdrawn": x509.ReasonFlags.privilege_withdrawn,
}


def normalise_serial(text: str) -> str:
    """Accept a serial as printed by ``list`` or openssl (hex, any case, optional ``0x`` or
    colons) and return the canonical upper-case hex form."""
    s = text.strip().replace(":", "")
    if s.lower().startswith("0x"):
        s = s[2:]
    try:
        value = int(s, 16)
    except ValueError:
        raise InputError(
            f"SERIAL {text!r} is not a hexadecimal serial number",
            hint="copy the serial from `creditx certs list --dir DIR`",
        ) from None
    return serial_hex(value)


def build_crl(
    ca_cert: x509.Certificate, ca_key, revoked: list[dict], *, number: int, at: datetime, days: int = CRL_DAYS
) -> x509.CertificateRevocationList:
    """A CRL listing ``revoked`` rows (``serial``, ``revoked_at``, ``revocation_reason``)."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(at)
        .next_update(at + timedelta(days=days))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key(ca_cert)), critical=False)
    )
    for row in revoked:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(int(row["serial"], 16))
            .revocation_date(datetime.fromisoformat(row["revoked_at"]))
        )
        reason = REASONS.get(row.get("revocation_reason") or "unspecified")
        if reason is not None and reason is not x509.ReasonFlags.unspecified:
            entry = entry.add_extension(x509.CRLReason(reason), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(ca_key, hashes.SHA256())


def publish_crl(ca: CertificateAuthority, *, at: datetime, out: Path | None = None) -> x509.CertificateRevocationList:
    """Sign a new CRL with the next CRL number and write it to ``DIR/crl.pem`` (and ``out``)."""
    crl = build_crl(
        ca.cert, ca.key, issuance_db.revoked(ca.db), number=issuance_db.next_counter(ca.db, "crl_number"), at=at
    )
    pem = crl.public_bytes(serialization.Encoding.PEM)
    files.write_atomic(ca.path(files.CRL), pem, files.PUBLIC_FILE_MODE)
    if out is not None:
        files.write_atomic(Path(out), pem, files.PUBLIC_FILE_MODE)
    return crl


def revoke(ca: CertificateAuthority, serial: str, *, at: datetime, reason: str = "unspecified") -> dict:
    """Revoke ``serial`` and publish a new CRL (SEC-040). Returns the certificate's row."""
    if reason not in REASONS:
        raise InputError(f"unknown revocation reason {reason!r} (SEC-040)", hint=f"use one of {', '.join(REASONS)}")
    serial = normalise_serial(serial)
    try:
        row = issuance_db.mark_revoked(ca.db, serial, reason, at)
    except KeyError:
        raise InputError(
            f"no certificate with serial {serial} in {ca.dir}", hint="list them with: creditx certs list --dir DIR"
        ) from None
    except ValueError as exc:
        raise InputError(str(exc), hint="nothing to do; the CRL already lists it") from None
    publish_crl(ca, at=at)
    return row


def load_crl(data: bytes | Path) -> x509.CertificateRevocationList:
    """Parse a CRL from PEM (or DER) bytes or a file path."""
    raw = Path(data).read_bytes() if isinstance(data, (str, Path)) else data
    if raw.lstrip().startswith(b"-----"):
        return x509.load_pem_x509_crl(raw)
    return x509.load_der_x509_crl(raw)


MAX_CRL_BYTES = 16 * 1024 * 1024


def distribution_points(cert: x509.Certificate) -> list[str]:
    """The CRL distribution point URIs a certificate names (SEC-043), in order."""
    try:
        cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return []
    return [n.value for dp in cdp for n in (dp.full_name or ()) if isinstance(n, x509.UniformResourceIdentifier)]


def fetch_crl(url: str, *, timeout: float = 10.0, max_bytes: int = MAX_CRL_BYTES) -> x509.CertificateRevocationList:
    """Read a CRL from a ``file:`` or ``http(s):`` URL (at most ``max_bytes``); ValueError/OSError
    when it cannot be read or parsed. Whether it is the CA's and newer is the caller's check."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        with open(urllib.request.url2pathname(parts.path), "rb") as f:
            raw = f.read(max_bytes + 1)
    elif parts.scheme in ("http", "https"):
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (scheme checked)
            raw = resp.read(max_bytes + 1)
    else:
        raise ValueError(f"CRL URL {url!r}: only file:, http: and https: are supported")
    if len(raw) > max_bytes:
        raise ValueError(f"CRL at {url} is larger than {max_bytes} bytes")
    return load_crl(raw)
