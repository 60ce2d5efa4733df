"""Which keys the node trusts for list data: the gateway's checkpoint key and origin record keys.

* ``DIR/gateway-signing.crt`` (PEM, role gateway-signing): verifies list-log checkpoints (DIST-051).
* ``DIR/trust-bundle.json`` (certs/bundle.py, verified against DIR/ca.crt, SEC-070/071): its
  gateway-signing certificates verify checkpoints too; its node-signing certificates verify
  origin envelopes (DIST-032). The node's own signing certificate is always known.

Invariant: a bundle that fails to verify is ignored as a whole (logged), never partly trusted.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from cryptography import x509

from standards.suites import key_id

log = logging.getLogger(__name__)
GATEWAY_SIGNING_CERT = "gateway-signing.crt"
TRUST_BUNDLE = "trust-bundle.json"


def _bundle(directory: Path):
    path = directory / TRUST_BUNDLE
    if not path.exists():
        return None
    from certs.bundle import BundleError, load_bundle

    ca = x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes())
    try:
        return load_bundle(path.read_bytes(), ca=ca, at=datetime.now(timezone.utc))
    except BundleError as exc:
        log.warning("ignoring %s: %s", path, exc)
        return None


def gateway_signing_keys(directory: Path) -> list[Any]:
    from certs.profiles import GATEWAY_SIGNING

    keys = []
    path = Path(directory) / GATEWAY_SIGNING_CERT
    if path.exists():
        keys.append(x509.load_pem_x509_certificate(path.read_bytes()).public_key())
    bundle = _bundle(Path(directory))
    if bundle is not None:
        for kid in bundle.signing_certificates:
            try:
                keys.append(bundle.verify_signer(kid, at=datetime.now(timezone.utc), roles=(GATEWAY_SIGNING,))
                            .certificate.public_key())
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
