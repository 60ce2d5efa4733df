"""Which signing keys a node may use right now (SEC-030…040 applied to record signatures).

At handshake a node presents its signing certificates; each is verified against the provincial
CA (chain, validity, revocation, role ``node-signing``, same member — and so the same region —
as the TLS peer, SEC-095). Accepted
ones are stored by key id; refused ones are remembered in memory with their reason so that a
record signed with, say, the node's TLS key is rejected as ``CERT_WRONG_ROLE`` rather than an
anonymous unknown key. Grants are recomputed per batch with the current time and CRL, so a
revocation takes effect on the next batch. Pure apart from the injected store lookups.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from cryptography.hazmat.primitives import serialization

from creditx.gateway.ingest.check import KeyGrant
from creditx.gateway.store.base import SigningCert
from creditx.pki.identity import IdentityError, TrustStore, parse_certificate, verify
from creditx.pki.profiles import NODE_SIGNING, key_id
from creditx.standard.divisions import REGIONS


def _spki(cert) -> bytes:
    return cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def check_signing_cert(
    der: bytes, trust: TrustStore, member: str, at: datetime
) -> tuple[str, KeyGrant, SigningCert | None]:
    """Verify one presented signing certificate of the node ``member`` (its member id, SEC-092):
    (key id, grant, row to store or None)."""
    try:
        cert = parse_certificate(der)
        kid = key_id(cert.public_key())
    except (IdentityError, ValueError) as exc:
        return "", KeyGrant(reason="CERT_MALFORMED", requirement="SEC-010", message=str(exc)), None
    try:
        ident = verify(cert, trust, at=at, roles=NODE_SIGNING)
    except IdentityError as exc:
        return kid, KeyGrant(reason=exc.reason, requirement=exc.rule, message=exc.diagnostics()), None
    signer = ident.member  # SEC-092: its member URI, else its region
    if signer != member:
        mismatch = (
            ("SEC_REGION_MISMATCH", "SEC-032")
            if signer in REGIONS and member in REGIONS
            else ("SEC_MEMBER_MISMATCH", "SEC-095")
        )
        return (
            kid,
            KeyGrant(
                reason=mismatch[0],
                requirement=mismatch[1],
                message=f"signing certificate names member {signer}, the TLS peer "
                f"is {member}; a node signs with its own certificate (same region, same member)",
            ),
            None,
        )
    row = SigningCert(
        kid, member, ident.serial, ident.not_after.isoformat(), cert.public_bytes(serialization.Encoding.DER)
    )
    return kid, KeyGrant(spki_der=_spki(cert)), row


class KeyRegistry:
    """Signing certificates per node (member id, SEC-092); refusals are kept in memory only."""

    def __init__(self, trust: Callable[[], TrustStore]) -> None:
        self._trust = trust
        self._refused: dict[str, dict[str, KeyGrant]] = {}
        self._lock = threading.Lock()

    @property
    def trust(self) -> TrustStore:
        """The current CA + newest CRL (re-read by the source when the files change)."""
        return self._trust()

    def present(self, region: str, ders: list[bytes], at: datetime) -> list[tuple[str, KeyGrant, SigningCert | None]]:
        results = [check_signing_cert(d, self.trust, region, at) for d in ders]
        with self._lock:
            refused = self._refused.setdefault(region, {})
            for kid, grant, row in results:
                if row is None and kid:
                    refused[kid] = grant
                elif row is not None:
                    refused.pop(kid, None)
        return results

    def grants(self, region: str, stored: list[SigningCert], at: datetime) -> dict[str, KeyGrant]:
        """Key id → grant for this node now: stored certificates re-verified (revocation,
        expiry), plus the refusals seen at handshake."""
        with self._lock:
            out = dict(self._refused.get(region, {}))
        for sc in stored:
            _, grant, _ = check_signing_cert(sc.cert_der, self.trust, region, at)
            out[sc.keyid] = grant
        return out
