"""Checks on a list change's origin envelope (DIST-032, NODE-042). Pure.

Invariants: a change is applied only if its origin envelope decodes as a LIST record of the
entry's region whose content fingerprint (REC-FP-003) is the entry's ``origin_fp``; when the
signing certificate is known (served in the handshake, DIST-080; the trust bundle; or the node's
own) *for the record's region*, the signature must verify (SIG-007…); when it is not known the
change is applied and counted as unverified.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from creditx.standard.envelope import SignatureError, verify_envelope
from creditx.standard.fingerprint import fingerprint
from creditx.standard.lists.lifecycle import ListChange, ListError
from creditx.standard.record import RECORD_PAYLOAD_TYPE, RecordError, decode_record


class SignerKeys:
    """Origin signing keys with the region each may sign for (DIST-080): a node-signing
    certificate's region, ``370000`` for the gateway's own key (imported entries). Callable as a
    plain key resolver; :func:`check_origin` narrows it to the origin record's region.
    ``load`` returns key id → (public key, region) and is called again when ``token`` changes
    (new certificates from a handshake)."""

    def __init__(self, load: Callable[[], dict[str, tuple[Any, str]]], token: Callable[[], object] = lambda: 0) -> None:
        self.load, self.token = load, token
        self._seen: object = None
        self._keys: dict[str, tuple[Any, str]] = {}

    def _current(self) -> dict[str, tuple[Any, str]]:
        t = self.token()
        if t != self._seen:
            self._keys, self._seen = self.load(), t
        return self._keys

    def __call__(self, keyid: str) -> Any | None:
        got = self._current().get(keyid)
        return got[0] if got else None

    def for_region(self, region: str) -> Callable[[str], Any | None]:
        keys = self._current()
        return lambda kid: keys[kid][0] if kid in keys and keys[kid][1] == region else None


@dataclass(frozen=True)
class OriginCheck:
    fields: Mapping[str, str]
    signature_verified: bool


def _bad(c: ListChange, reason: str, message: str) -> ListError:
    return ListError(
        reason,
        "DIST-032",
        f"change {c.list_seq}: {message}",
        field="origin",
        hint="the gateway relayed an origin record that does not match the entry; "
        "report it to the provincial operator (the node keeps its replica as it was)",
    )


def check_origin(c: ListChange, resolve_key: Callable[[str], Any | None]) -> OriginCheck:
    env = c.origin
    if env is None:
        raise _bad(c, "DIST_ORIGIN_MISSING", "no origin envelope")
    if env.payload_type != RECORD_PAYLOAD_TYPE:
        raise _bad(c, "DIST_ORIGIN_MISMATCH", f"origin payload type {env.payload_type!r} is not a record")
    try:
        record = decode_record(env.payload)
    except RecordError as exc:
        raise _bad(c, "DIST_ORIGIN_MISMATCH", f"origin does not decode: {exc}") from None
    if record.type != "LIST" or fingerprint(record) != c.entry.origin_fp or record.region != c.entry.origin_region:
        raise _bad(c, "DIST_ORIGIN_MISMATCH", "origin record's type, fingerprint or region differs from the entry's")
    if isinstance(resolve_key, SignerKeys):  # DIST-080: a key signs for its own region only
        resolve_key = resolve_key.for_region(record.region)
    known = [s for s in env.signatures if resolve_key(s.keyid) is not None]
    if known:
        try:
            verify_envelope(env, resolve_key)
        except SignatureError as exc:
            raise _bad(c, "DIST_ORIGIN_SIGNATURE", f"origin signature: {exc.message}") from None
    return OriginCheck(record.fields, bool(known))
