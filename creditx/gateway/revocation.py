"""Revocations reach the running gateway without a person copying files (SEC-043).

The gateway fetches the CA's CRL from its distribution point — ``crl_url`` in gateway.json, or
else the CRL distribution point named in the gateway's own TLS certificate — every
``crl_reload_s`` seconds. A CRL that is signed by the CA and newer than the one held replaces
``tls/crl.pem`` atomically; ``FileTrustSource`` then serves it to the identity gate and the
signing-key checks on their next call. An unreachable point or a bad CRL leaves the current
one in force and is counted and logged, never fatal.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from creditx.pki import files
from creditx.pki.crl import distribution_points, fetch_crl
from creditx.pki.identity import IdentityError, TrustStore, crl_number

log = logging.getLogger("creditx.gateway.revocation")


class CrlRefresher:
    """One job: fetch, check, install. ``refresh()`` returns True when a newer CRL was installed."""

    def __init__(self, trust: Callable[[], TrustStore], crl_path: Path, urls: list[str]) -> None:
        self.trust, self.crl_path, self.urls = trust, Path(crl_path), list(urls)
        self.failures = 0
        self.installed = 0
        self.last_error = ""
        self._lock = threading.Lock()

    @classmethod
    def for_gateway(cls, trust: Callable[[], TrustStore], crl_path: Path, crl_url: str, tls_cert: Path) -> CrlRefresher:
        urls = [crl_url] if crl_url else distribution_points(files.read_cert(tls_cert))
        return cls(trust, crl_path, urls)

    def refresh(self) -> bool:
        with self._lock:
            for url in self.urls:
                try:
                    crl = fetch_crl(url)
                    current = self.trust()
                    if current.with_crl(crl).crl is current.crl or (
                        current.crl is not None and crl_number(crl) <= crl_number(current.crl)
                    ):
                        return False  # not newer than the CRL in force (SEC-041)
                    files.write_atomic(self.crl_path, crl.public_bytes(Encoding.PEM), files.PUBLIC_FILE_MODE)
                    self.installed += 1
                    log.info("CRL refreshed from %s: %d revoked", url, len(list(crl)))
                    return True
                except (OSError, ValueError, IdentityError) as exc:
                    self.failures += 1
                    self.last_error = f"{url}: {exc}"
                    log.warning("CRL refresh from %s failed (the current CRL stays in force): %s", url, exc)
            return False
