"""Which keys the node trusts for list data: the gateway's checkpoint key and origin record keys.

* ``DIR/gateway-signing.crt`` (PEM, role gateway-signing): verifies list-log checkpoints (DIST-051).
  The gateway hands it over in every handshake; :func:`accept_gateway_cert` stores it only after
  verifying it against ``DIR/ca.crt`` (and ``DIR/crl.pem`` when present) for that role, and
  :func:`gateway_signing_keys` verifies it again on every load.
* ``DIR/origin-signing.pem`` (DIST-080, since 1.1): the signing certificates the gateway hands over
  in every handshake, each verified against ``DIR/ca.crt`` before it is stored; their keys verify
  origin envelopes (DIST-032) — no file passed by hand.
* ``DIR/trust-bundle.json`` (optional, creditx/pki/bundle.py, verified against DIR/ca.crt, SEC-070/071): its
  gateway-signing certificates verify checkpoints too; its node-signing certificates verify
  origin envelopes (DIST-032). The node's own signing certificate is always known.

Invariant: a bundle that fails to verify is ignored as a whole (logged), never partly trusted.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509

from creditx.node.replica.origin import SignerKeys
from creditx.standard.suites import key_id

log = logging.getLogger(__name__)
GATEWAY_SIGNING_CERT = "gateway-signing.crt"
TRUST_BUNDLE = "trust-bundle.json"
ORIGIN_SIGNING_CERTS = "origin-signing.pem"  # DIST-080: from the handshake, verified when stored


def _bundle(directory: Path):
    path = directory / TRUST_BUNDLE
    if not path.exists():
        return None
    from creditx.pki.bundle import BundleError, load_bundle

    ca = x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes())
    try:
        return load_bundle(path.read_bytes(), ca=ca, at=datetime.now(UTC))
    except BundleError as exc:
        log.warning("ignoring %s: %s", path, exc)
        return None


def _trust_store(directory: Path):
    from creditx.pki.identity import TrustStore

    trust = TrustStore(x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes()))
    crl = directory / "crl.pem"
    if crl.exists():
        trust = trust.with_crl(x509.load_pem_x509_crl(crl.read_bytes()))
    return trust


def _verified_gateway_cert(directory: Path, data: bytes, at: datetime) -> x509.Certificate:
    """The gateway signing certificate in ``data`` (PEM or DER), verified for its role (SEC-010)."""
    from creditx.pki.identity import verify
    from creditx.pki.profiles import GATEWAY_SIGNING

    return verify(data, _trust_store(directory), at=at, roles=GATEWAY_SIGNING).certificate


def accept_gateway_cert(directory: Path, der: bytes, at: datetime) -> bool:
    """Store the gateway signing certificate from a handshake if it verifies and is new.

    Returns True when the file changed. A certificate that does not verify is refused with
    :class:`creditx.pki.identity.IdentityError` and the stored one is kept.
    """
    from cryptography.hazmat.primitives.serialization import Encoding

    directory = Path(directory)
    pem = _verified_gateway_cert(directory, der, at).public_bytes(Encoding.PEM)
    path = directory / GATEWAY_SIGNING_CERT
    if path.exists() and path.read_bytes() == pem:
        return False
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(pem)
    tmp.replace(path)
    return True


def accept_origin_certs(directory: Path, ders: list[bytes], at: datetime) -> tuple[int, list[str]]:
    """DIST-080: keep the origin signing certificates of a handshake that verify against
    ``DIR/ca.crt`` (and its CRL) for role node-signing or gateway-signing, in
    ``DIR/origin-signing.pem`` (replaced whole). Returns (kept, why each other was refused)."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from creditx.pki.identity import IdentityError, verify
    from creditx.pki.profiles import GATEWAY_SIGNING, NODE_SIGNING

    directory = Path(directory)
    trust = _trust_store(directory)
    pems, refused = [], []
    for der in ders:
        roles = (NODE_SIGNING, GATEWAY_SIGNING)
        try:
            try:
                cert = verify(der, trust, at=at, roles=roles).certificate
            except IdentityError as exc:
                if exc.reason != "CERT_EXPIRED":
                    raise
                # an expired key still verifies what it signed while valid (SEC-031): check the rest
                # (CA, revocation, role) as of its last valid second
                end = x509.load_der_x509_certificate(der).not_valid_after_utc - timedelta(seconds=1)
                cert = verify(der, trust, at=end, roles=roles).certificate
        except IdentityError as exc:
            refused.append(str(exc))
            continue
        pems.append(cert.public_bytes(Encoding.PEM))
    path = directory / ORIGIN_SIGNING_CERTS
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(b"".join(pems))
    tmp.replace(path)
    return len(pems), refused


def gateway_signing_keys(directory: Path) -> list[Any]:
    from creditx.pki.identity import IdentityError
    from creditx.pki.profiles import GATEWAY_SIGNING

    keys = []
    path = Path(directory) / GATEWAY_SIGNING_CERT
    if path.exists():
        try:
            keys.append(_verified_gateway_cert(Path(directory), path.read_bytes(), datetime.now(UTC)).public_key())
        except IdentityError as exc:
            log.warning("ignoring %s: %s", path, exc)
    bundle = _bundle(Path(directory))
    if bundle is not None:
        for kid in bundle.signing_certificates:
            try:
                keys.append(
                    bundle.verify_signer(kid, at=datetime.now(UTC), roles=(GATEWAY_SIGNING,)).certificate.public_key()
                )
            except Exception:
                continue
    return keys


def _signs_for(cert: x509.Certificate) -> str:
    """DIST-080: the region a signing certificate may sign origins of: its region URI, or the
    province (370000) for the gateway's key, which signs the entries it imports."""
    from creditx.pki.profiles import read_facts

    regions = read_facts(cert).regions
    return regions[0] if regions else "370000"


def origin_key_resolver(directory: Path) -> SignerKeys:
    """Origin signing keys (DIST-080) by key id, each bound to the region it signs for; re-read
    when the handshake stores new certificates."""
    directory = Path(directory)
    served = directory / ORIGIN_SIGNING_CERTS

    def load() -> dict[str, tuple[Any, str]]:
        keys: dict[str, tuple[Any, str]] = {}
        own = x509.load_pem_x509_certificate((directory / "signing.crt").read_bytes())
        keys[key_id(own.public_key())] = (own.public_key(), _signs_for(own))
        if served.exists() and served.stat().st_size:
            for cert in x509.load_pem_x509_certificates(served.read_bytes()):
                keys[key_id(cert.public_key())] = (cert.public_key(), _signs_for(cert))
        bundle = _bundle(directory)
        if bundle is not None:
            for kid, cert in bundle.signing_certificates.items():
                keys[kid] = (cert.public_key(), _signs_for(cert))
        return keys

    def token() -> object:
        return tuple(p.stat().st_mtime_ns if p.exists() else 0 for p in (served, directory / TRUST_BUNDLE))

    return SignerKeys(load, token)
