"""The member registry on the gateway: the signed file, its changes, and the copy ingest reads.

``DIR/registry.json`` is a DSSE envelope (``creditx.standard.registry.REGISTRY_PAYLOAD_TYPE``)
signed with the gateway's ``gateway-signing`` key. ``creditx gateway members add|grant|revoke``
changes it: each change is a new version, signed and written atomically, and the running
gateway uses it from its next batch (:class:`RegistrySource` re-reads the file when it
changes, refusing a file whose signature does not verify, that expired, or whose version is
lower than the one in force — SEC-038; the version in force stays).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from creditx.pki import files
from creditx.pki.profiles import key_id
from creditx.standard.envelope import Signer, sign_envelope
from creditx.standard.errors import InputError
from creditx.standard.registry import (
    REGISTRY_PAYLOAD_TYPE,
    Grant,
    Member,
    Registry,
    RegistryError,
    acceptable,
    encode,
    open_registry,
)
from creditx.standard.synth.members import seed_registry
from creditx.standard.timestamps import rfc3339

REGISTRY_FILE = "registry.json"
VALID_DAYS = 365
log = logging.getLogger("creditx.gateway.members")


def version_recorder(store, clock):
    """``on_accept`` for RegistrySource: keep each version's signed bytes before it is used (SEC-038)."""
    import hashlib

    def record(reg: Registry, raw: bytes) -> None:
        store.record_registry(
            reg.version, hashlib.sha256(raw).hexdigest(), raw, reg.issued_at, reg.expires_at, rfc3339(clock())
        )

    return record


def sign_registry(reg: Registry, signing_key_path: Path) -> bytes:
    env = sign_envelope(REGISTRY_PAYLOAD_TYPE, encode(reg), Signer(files.read_key(signing_key_path)))
    return env.to_json().encode()


def read_registry(path: Path, signing_cert_path: Path) -> Registry:
    """The registry in ``path`` if the gateway's signing key signed it; RegistryError otherwise."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise RegistryError("REGISTRY_MISSING", f"{path} does not exist") from None
    return _open(raw, signing_cert_path)


def _open(raw: bytes, signing_cert_path: Path) -> Registry:
    pub = files.read_cert(signing_cert_path).public_key()
    kid = key_id(pub)
    return open_registry(raw, lambda k: pub if k == kid else None)


def write_registry(directory: Path, reg: Registry, signing_key_path: Path) -> Path:
    return files.write_atomic(
        Path(directory) / REGISTRY_FILE, sign_registry(reg, signing_key_path), files.PUBLIC_FILE_MODE
    )


def seed(directory: Path, signing_key_path: Path, at: datetime) -> Registry:
    """Version 1 from the seed data (all 16 cities and the province-level departments)."""
    reg = seed_registry(rfc3339(at), rfc3339(at + timedelta(days=VALID_DAYS)))
    write_registry(directory, reg, signing_key_path)
    return reg


def changed(reg: Registry, at: datetime, **members: tuple[Member, ...]) -> Registry:
    """The next version: issued now, valid for a year."""
    return replace(
        reg,
        version=reg.version + 1,
        issued_at=rfc3339(at),
        expires_at=rfc3339(at + timedelta(days=VALID_DAYS)),
        **members,
    )


def add_member(reg: Registry, at: datetime, member: Member) -> Registry:
    if reg.member(member.id) is not None:
        raise InputError(f"member {member.id} is already registered", hint="use `members grant` to add authorities")
    return changed(reg, at, members=reg.members + (member,))


def grant(reg: Registry, at: datetime, member_id: str, g: Grant) -> Registry:
    m = _member(reg, member_id)
    kept = tuple(x for x in m.grants if x.uscc != g.uscc)
    return changed(reg, at, members=tuple(replace(x, grants=kept + (g,)) if x is m else x for x in reg.members))


def revoke(reg: Registry, at: datetime, member_id: str, uscc: str) -> Registry:
    m = _member(reg, member_id)
    if m.grant(uscc) is None:
        raise InputError(f"member {member_id} holds no grant for {uscc}", hint="see `creditx gateway members list`")
    kept = tuple(x for x in m.grants if x.uscc != uscc)
    return changed(reg, at, members=tuple(replace(x, grants=kept) if x is m else x for x in reg.members))


def _member(reg: Registry, member_id: str) -> Member:
    m = reg.member(member_id)
    if m is None:
        raise InputError(
            f"no member {member_id} in registry version {reg.version}",
            hint="add it with `creditx gateway members add --region R --name N` "
            "(a department: --member USCC --region 370000 --kind department)",
        )
    return m


class RegistrySource:
    """The registry in force: re-read when the file changes; a bad, expired or older file is
    logged and the version in force stays (SEC-038)."""

    def __init__(
        self,
        path: Path,
        signing_cert_path: Path,
        clock,
        on_accept: Callable[[Registry, bytes], None] = lambda reg, raw: None,
    ) -> None:
        self.path, self.cert, self.clock = Path(path), Path(signing_cert_path), clock
        self.on_accept = on_accept  # e.g. record the version in the audit log, before it is used
        self.envelope = b""  # the signed bytes of the version in force (served to nodes, SEC-039)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._reg: Registry | None = None
        self.last_error = ""

    def __call__(self) -> Registry | None:
        with self._lock:
            try:
                st = os.stat(self.path)
                stamp = (st.st_mtime_ns, st.st_size)
            except FileNotFoundError:
                stamp = None
            if stamp is not None and stamp != self._stamp:
                self._stamp = stamp
                try:
                    raw = self.path.read_bytes()
                    reg = _open(raw, self.cert)
                    acceptable(reg, self._reg, rfc3339(self.clock()))
                    self.on_accept(reg, raw)
                    self._reg, self.envelope = reg, raw
                except (RegistryError, OSError) as exc:
                    self.last_error = getattr(exc, "reason", type(exc).__name__)
                    log.error(
                        "member registry %s refused, version %s stays in force: %s",
                        self.path,
                        self._reg.version if self._reg else "none",
                        exc,
                    )
            if self._reg is not None and self._reg.expires_at <= rfc3339(self.clock()):
                return None  # expired: nothing is granted (fail closed)
            return self._reg
