"""The trust bundle: one signed file from which a node verifies other parties' signatures.

Contents (payload, JSON): ``version`` (grows by one per bundle, SEC-071), ``issued_at``,
``expires_at``, the CA certificate, the current CRL, and every signing certificate (nodes'
``node-signing`` and the gateway's ``gateway-signing``) that is not revoked and not expired at
issue time — superseded ones included, so signatures made before a key rotation still verify
(SEC-031). The file is a DSSE-style envelope: ``payloadType``, base64 ``payload``, and
``signatures`` over PAE(payloadType, payload) (the same PAE as record envelopes), made with the
CA key or with the gateway's signing key (whose certificate then travels with the signature).

Invariants on load (``load_bundle``), each failure a ``BundleError`` with a reason code:

* SEC-070  the signature verifies with the CA key, or with a ``gateway-signing`` certificate
  that itself verifies against the CA at ``at``; the bundle's CA is the one the node already
  trusts (a bundle cannot replace the trust anchor).
* SEC-071  ``at`` is before ``expires_at``, and ``version`` is not lower than the last one
  the node accepted (rollback protection).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from creditx.pki import issuance_db
from creditx.pki.ca import CertificateAuthority
from creditx.pki.crl import load_crl, publish_crl
from creditx.pki.identity import Identity, IdentityError, TrustStore, verify
from creditx.pki.profiles import GATEWAY_SIGNING, NODE_SIGNING, key_id
from creditx.standard.envelope import pae  # SIG-002, the same PAE as record envelopes
from creditx.standard.errors import RemoteError
from creditx.standard.timestamps import rfc3339

PAYLOAD_TYPE = "application/vnd.creditx.trust-bundle+json;v=1"
BUNDLE_SUITE = "ECDSA-P256-SHA256"  # SEC-070 (1.1): the suite every bundle signature names (SIG-003/005)
BUNDLE_DAYS = 7


class BundleError(RemoteError):
    def __init__(self, reason: str, rule: str, message: str) -> None:
        self.reason, self.rule = reason, rule
        super().__init__(
            f"{reason} ({rule}): {message}", hint="fetch a current bundle: creditx certs bundle --dir DIR -o FILE"
        )


def _pem(obj) -> str:
    return obj.public_bytes(serialization.Encoding.PEM).decode()


def make_bundle(
    *,
    ca_cert: x509.Certificate,
    crl: x509.CertificateRevocationList,
    signing_certs: list[x509.Certificate],
    version: int,
    at: datetime,
    expires_at: datetime,
    sign_key,
    signer_cert: x509.Certificate | None = None,
) -> bytes:
    """Serialise and sign a bundle (pure apart from the signature's randomness)."""
    payload = json.dumps(
        {
            "version": version,
            "issued_at": rfc3339(at),  # SEC-072: the standard's one time form
            "expires_at": rfc3339(expires_at),
            "ca": _pem(ca_cert),
            "crl": _pem(crl),
            "signing_certificates": [_pem(c) for c in signing_certs],
        },
        sort_keys=True,
        ensure_ascii=False,
    ).encode()
    sig = sign_key.sign(pae(PAYLOAD_TYPE, payload), ec.ECDSA(hashes.SHA256()))
    entry = {"keyid": key_id(sign_key.public_key()), "sig": base64.b64encode(sig).decode(), "suite": BUNDLE_SUITE}
    if signer_cert is not None:
        entry["certificate"] = _pem(signer_cert)
    return json.dumps(
        {"payloadType": PAYLOAD_TYPE, "payload": base64.b64encode(payload).decode(), "signatures": [entry]}, indent=1
    ).encode()


def bundle_from_ca(
    ca: CertificateAuthority,
    *,
    at: datetime,
    days: int = BUNDLE_DAYS,
    sign_key=None,
    signer_cert: x509.Certificate | None = None,
) -> bytes:
    """A new bundle with the next version from the CA's issuance database and current CRL."""
    crl = publish_crl(ca, at=at)
    certs = [
        x509.load_pem_x509_certificate(r["pem"].encode())
        for r in issuance_db.all_certificates(ca.db)
        if r["role"] in (NODE_SIGNING, GATEWAY_SIGNING)
        and r["status"] != issuance_db.REVOKED
        and datetime.fromisoformat(r["not_after"]) > at
    ]
    return make_bundle(
        ca_cert=ca.cert,
        crl=crl,
        signing_certs=certs,
        version=issuance_db.next_counter(ca.db, "bundle_version"),
        at=at,
        expires_at=at + timedelta(days=days),
        sign_key=sign_key or ca.key,
        signer_cert=signer_cert,
    )


@dataclass(frozen=True)
class TrustBundle:
    """A verified bundle: trust store (CA + CRL) and signing certificates by key id."""

    version: int
    issued_at: datetime
    expires_at: datetime
    trust: TrustStore
    signing_certificates: dict[str, x509.Certificate] = field(repr=False)

    def signing_certificate(self, kid: str) -> x509.Certificate | None:
        return self.signing_certificates.get(kid)

    def verify_signer(self, kid: str, *, at: datetime, roles: tuple[str, ...] = (NODE_SIGNING,)) -> Identity:
        """The identity behind key id ``kid`` at signing time ``at`` (IdentityError if its
        certificate is unknown, revoked, not valid at ``at`` or of another role)."""
        cert = self.signing_certificates.get(kid)
        if cert is None:
            raise IdentityError(
                "CERT_WRONG_CA", f"no signing certificate with key id {kid} in trust bundle version {self.version}"
            )
        return verify(cert, self.trust, at=at, roles=roles)


def _b64(value, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (ValueError, TypeError):
        raise BundleError("BUNDLE_MALFORMED", "SEC-070", f"{what} is not base64") from None


def _time(text: str) -> datetime:
    """SEC-072: RFC 3339 with an offset (1.1 writes ``Z`` and milliseconds; 1.0 wrote ``+00:00``)."""
    t = datetime.fromisoformat(text)
    if t.tzinfo is None:
        raise ValueError(f"time {text!r} has no offset (SEC-072)")
    return t


def load_bundle(data: bytes, *, ca: x509.Certificate, at: datetime, min_version: int = 0) -> TrustBundle:
    """Verify and open a bundle against the CA the caller already trusts (SEC-070/071)."""
    try:
        outer = json.loads(data)
        if outer["payloadType"] != PAYLOAD_TYPE:
            raise ValueError(f"payloadType {outer['payloadType']!r}")
        payload = _b64(outer["payload"], "payload")
        sigs = outer["signatures"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleError("BUNDLE_MALFORMED", "SEC-070", f"not a trust bundle: {exc}") from None
    base = TrustStore(ca)
    message = pae(PAYLOAD_TYPE, payload)
    for entry in sigs:
        if entry.get("certificate"):
            key = verify(entry["certificate"], base, at=at, roles=GATEWAY_SIGNING).certificate.public_key()
        elif entry.get("keyid") == key_id(ca.public_key()):
            key = ca.public_key()
        else:
            continue
        if entry.get("suite", BUNDLE_SUITE) != BUNDLE_SUITE:  # SEC-070: a 1.0 bundle names none
            continue
        if not isinstance(key, ec.EllipticCurvePublicKey):  # bundles are signed with ECDSA P-256
            continue
        try:
            key.verify(_b64(entry.get("sig", ""), "signature"), message, ec.ECDSA(hashes.SHA256()))
            break
        except InvalidSignature:
            continue
    else:
        raise BundleError("BUNDLE_SIGNATURE", "SEC-070", "no signature by the provincial CA or the gateway verifies")
    try:
        body = json.loads(payload)
        bundle_ca = x509.load_pem_x509_certificate(body["ca"].encode())
        crl = load_crl(body["crl"].encode())
        certs = [x509.load_pem_x509_certificate(p.encode()) for p in body["signing_certificates"]]
        version = int(body["version"])
        issued_at = _time(body["issued_at"])
        expires_at = _time(body["expires_at"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleError("BUNDLE_MALFORMED", "SEC-070", f"bad bundle payload: {exc}") from None
    if bundle_ca != ca:
        raise BundleError("BUNDLE_WRONG_CA", "SEC-070", "the bundle names another CA than ca.crt")
    if at >= expires_at:
        raise BundleError("BUNDLE_EXPIRED", "SEC-071", f"bundle version {version} expired at {expires_at.isoformat()}")
    if version < min_version:
        raise BundleError(
            "BUNDLE_ROLLBACK",
            "SEC-071",
            f"bundle version {version} is older than version {min_version} already accepted",
        )
    return TrustBundle(version, issued_at, expires_at, base.with_crl(crl), {key_id(c.public_key()): c for c in certs})
