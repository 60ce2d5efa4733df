"""The member registry on the node (SEC-039): kept from the handshake, checked, used at import.

The gateway hands over the signed registry in every handshake; :func:`accept_registry` keeps it
in ``DIR/registry.json`` only when the gateway's signing key (``replica.trust``) signed it, it has
not expired and its version is not lower than the one held — a rollback or an expired registry
is refused and the held one stays. :func:`own_entry` gives the node's entry for intake, which
then refuses at import, with row and field, what the gateway would refuse (SEC-036).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from creditx.node.replica.trust import gateway_signing_keys
from creditx.pki import files
from creditx.standard.registry import Member, Registry, RegistryError, acceptable, open_registry
from creditx.standard.suites import key_id

log = logging.getLogger(__name__)
REGISTRY_FILE = "registry.json"


def _rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _open(directory: Path, raw: bytes) -> Registry:
    keys = {key_id(k): k for k in gateway_signing_keys(directory)}
    if not keys:
        raise RegistryError("REGISTRY_SIGNATURE", "no verified gateway signing certificate to check it with")
    return open_registry(raw, keys.get)


def held(directory: Path) -> Registry | None:
    """The registry this node holds, re-verified; None when there is none or it no longer verifies."""
    path = Path(directory) / REGISTRY_FILE
    if not path.exists():
        return None
    try:
        return _open(Path(directory), path.read_bytes())
    except RegistryError as exc:
        log.warning("ignoring %s: %s", path, exc)
        return None


def accept_registry(directory: Path, raw: bytes, at: datetime) -> bool:
    """Keep ``raw`` if it verifies and is not expired nor older (SEC-039); True if it was new."""
    directory = Path(directory)
    reg = _open(directory, raw)
    old = held(directory)
    acceptable(reg, old, _rfc3339(at))
    if old is not None and old.version == reg.version:
        return False
    files.write_atomic(directory / REGISTRY_FILE, raw, files.PUBLIC_FILE_MODE)
    return True


def own_entry(directory: Path, member: str, at: datetime) -> tuple[bool, Member | None]:
    """(known, entry): whether an unexpired registry is held, and this node's entry in it (by
    its member id, SEC-092: the region for a city platform, a department's USCC otherwise)."""
    reg = held(directory)
    if reg is None or reg.expires_at <= _rfc3339(at):
        return False, None
    return True, reg.member(member)
