"""Which keys the node trusts for list data: the gateway's checkpoint key and origin record keys.

* ``DIR/gateway-signing.crt`` (PEM, role gateway-signing): verifies list-log checkpoints (DIST-051).
  The gateway hands it over in every handshake; :func:`accept_gateway_cert` stores it only after
  verifying it against ``DIR/ca.crt`` (and ``DIR/crl.pem`` when present) for that role, and
  :func:`gateway_signing_keys` verifies it again on every load.
* ``DIR/trust-bundle.json`` (creditx/pki/bundle.py, verified against DIR/ca.crt, SEC-070/071): its
  gateway-signing certificates verify checkpoints too; its node-signing certificates verify
  origin envelopes (DIST-032). The node's own signing certificate is always known.

Invariant: a bundle that fails to verify is ignored as a whole (logged), never partly trusted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509

from creditx.standard.suites import key_id

log = logging.getLogger(__name__)
GATEWAY_SIGNING_CERT = "gateway-signing.crt"
TRUST_BUNDLE = "trust-bundle.json"


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


def origin_key_resolver(directory: Path) -> Callable[[str], Any | None]:
    keys: dict[str, Any] = {}
    own = x509.load_pem_x509_certificate((Path(directory) / "signing.crt").read_bytes()).public_key()
    keys[key_id(own)] = own
    bundle = _bundle(Path(directory))
    if bundle is not None:
        for kid, cert in bundle.signing_certificates.items():
            keys[kid] = cert.public_key()
    return keys.get
