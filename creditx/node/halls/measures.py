"""The node's copy of the province's measures list (HALL-002): fetched from the gateway's
``Sanctions.GetMeasures``, verified against the gateway signing certificate the node pins
(``DIR/gateway-signing.crt`` or the trust bundle, creditx.node.replica.trust), cached as
``DIR/measures.json`` (the signed envelope, byte for byte) and verified again when loaded.

Until a signed list has been taken up the node answers from the list shipped with the standard
and says so: ``version`` then ends in ``+builtin``.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from creditx.node.replica.trust import gateway_signing_keys
from creditx.standard.envelope import Envelope, SignatureError, verify_envelope
from creditx.standard.errors import CreditxError
from creditx.standard.measures import MEASURES_PAYLOAD_TYPE, MeasuresCatalogue, load_measures, parse_measures
from creditx.standard.suites import key_id

log = logging.getLogger(__name__)
CACHE_FILE = "measures.json"
BUILTIN_SUFFIX = "+builtin"


class MeasuresCache:
    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self._lock = threading.Lock()
        self._current: MeasuresCatalogue | None = None
        self._builtin: MeasuresCatalogue | None = None
        self.origin = "builtin"
        path = self.dir / CACHE_FILE
        if path.exists():
            try:
                self._current = self._verified(Envelope.from_json(path.read_bytes()))
                self.origin = "gateway"
            except CreditxError as exc:
                log.warning("ignoring %s: %s", path, exc)

    def _verified(self, env: Envelope) -> MeasuresCatalogue:
        keys = {key_id(k): k for k in gateway_signing_keys(self.dir)}
        if not keys:
            raise SignatureError("SIG_UNKNOWN_KEY", "HALL-002", "no gateway signing certificate is pinned here")
        verify_envelope(env, keys.get, expected_type=MEASURES_PAYLOAD_TYPE, max_payload=4 * 1024 * 1024)
        return parse_measures(env.payload)

    def current(self) -> MeasuresCatalogue:
        c = self._current
        if c is not None:
            return c
        if self._builtin is None:  # one object: the hall's measures plans are kept per catalogue object
            b = load_measures()
            self._builtin = MeasuresCatalogue(
                b.version + BUILTIN_SUFFIX, b.measures, b.sources, b.categories, b.matters, b.departments, b.raw
            )
        return self._builtin

    def take_up(self, env: Envelope) -> bool:
        """Verify and keep a document from the gateway; True if it replaced the current list."""
        cat = self._verified(env)
        with self._lock:
            if self._current is not None and self._current.canonical() == cat.canonical():
                return False
            tmp = self.dir / (CACHE_FILE + ".tmp")
            tmp.write_text(env.to_json(), encoding="utf-8")
            os.replace(tmp, self.dir / CACHE_FILE)
            self._current, self.origin = cat, "gateway"
        log.info("took up measures list %s (%d measures)", cat.version, len(cat.measures))
        return True

    def fetch(self, channel, timeout: float) -> bool:
        """Ask the gateway for its list (Sanctions.GetMeasures) and take it up."""
        from creditx.node.replica.wire import envelope_from_pb
        from creditx.v1 import sanctions_pb2, sanctions_pb2_grpc

        have = self._current.version if self._current else ""
        doc = sanctions_pb2_grpc.SanctionsStub(channel).GetMeasures(
            sanctions_pb2.GetMeasuresRequest(have_version=have), timeout=timeout
        )
        return self.take_up(envelope_from_pb(doc.document))
