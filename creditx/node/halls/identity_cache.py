"""Verified peer identities, remembered per certificate (HALL-005).

A hall calls many times a second over one connection with the same certificate; verifying it
each time (parse, CA signature, CRL) costs more than the check itself. An entry is keyed by the
certificate bytes, the accepted roles and the trust store object: :class:`creditx.pki.tls.FileTrustSource`
hands out a new store when ``ca.crt`` or the CRL changes, so a revocation takes effect on the
next call after the new CRL is in place. Entries are used only within the certificate's
validity and for at most ``ttl_s``; the table is bounded (least recently used dropped).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, timedelta

from creditx.pki.identity import Identity, TrustStore, verify


class IdentityCache:
    def __init__(self, *, ttl_s: float = 60.0, max_entries: int = 4096) -> None:
        self.ttl, self.max = timedelta(seconds=ttl_s), max_entries
        self._lock = threading.Lock()
        self._d: OrderedDict[tuple, tuple[Identity, TrustStore, datetime]] = OrderedDict()

    def verify(self, cert: bytes | str, trust: TrustStore, *, at: datetime, roles) -> Identity:
        """As :func:`creditx.pki.identity.verify`; a failure is never remembered."""
        key = (cert if isinstance(cert, bytes) else cert.encode(), tuple(roles))
        with self._lock:
            hit = self._d.get(key)
            if hit is not None:
                who, store, until = hit
                if store is trust and who.not_before <= at <= min(who.not_after, until):
                    self._d.move_to_end(key)
                    return who
        who = verify(cert, trust, at=at, roles=roles)
        with self._lock:
            self._d[key] = (who, trust, at + self.ttl)
            self._d.move_to_end(key)
            while len(self._d) > self.max:
                self._d.popitem(last=False)
        return who
