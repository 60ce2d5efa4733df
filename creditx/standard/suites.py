"""Signature suites and key ids (SIG-003 … SIG-006): the algorithm-agility point of the standard.

Every signature in an envelope names its suite; callers never switch on algorithms themselves.
They ask the registry: ``get_suite(sig.suite).verify(public_key, sig, data)`` or, when signing,
``suite_for_private_key(key)``. Invariants:

* A suite name maps to exactly one algorithm, key type and signature encoding (SIG-003).
* ``verify`` returns False for a wrong signature and never raises for bad signature bytes;
  it raises :class:`SuiteError` only when the *key* is of the wrong type for the suite
  (SIG_SUITE_KEY_MISMATCH), which is a configuration problem, not a forged record.
* ``key_id`` is "sha256:" + lowercase hex SHA-256 of the DER SubjectPublicKeyInfo (SIG-004), so
  the same key has the same id whatever suite or certificate carries it.

Suites registered here:

``ECDSA-P256-SHA256`` (SIG-005): ECDSA over NIST P-256 with SHA-256 (FIPS 186-4), signature
DER-encoded ``Ecdsa-Sig-Value`` (RFC 3279 §2.2.3). Verifiers accept both low-S and high-S
signatures; signatures are therefore malleable (a third party can turn (r, s) into (r, n−s)),
which is harmless here because nothing is keyed on signature bytes: dedup uses the content
fingerprint and the store keeps the payload.

``ED25519`` (SIG-006): PureEdDSA Ed25519 (RFC 8032 §5.1), 64-byte signature, deterministic.
Signing and verification run in libsodium through PyNaCl (about twice pyca/OpenSSL's verify
rate, ``bench/crypto.py``); keys stay pyca objects everywhere else (PEM, SPKI, key ids), and the
libsodium key is derived once per key (:func:`_sodium_verify_key`). Both libraries agree on the
standard's vectors (tests/test_suites_sodium.py); libsodium additionally refuses small-order
public keys and non-canonical encodings, which no honest signer produces.

How ``SM2-SM3`` joins (not implemented; GB/T 32918 / GB/T 35276, provincial commercial-crypto
assessment): write a class with ``name = "SM2-SM3"`` whose ``sign`` uses ``gmssl.sm2.CryptSM2``
with SM3 and the default user id "1234567812345678", **passing a nonce from ``secrets``** (gmssl's
default comes from ``random``), encodes the signature as DER ``SM2Signature`` (r, s) per GB/T 35276,
and whose ``accepts_*_key`` recognise the SM2 key objects it uses (pyca/cryptography cannot load
SM2 keys, so they would be a small wrapper type that also provides ``public_bytes`` for
:func:`key_id`). Then ``register_suite(Sm2Sm3Suite())`` at start-up. The envelope, gateway and
node code is unchanged: they only ever handle suite names and key objects.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

import nacl.bindings
import nacl.exceptions
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from creditx.standard.errors import InputError


class SuiteError(InputError):
    """Unknown suite or a key that does not fit it. ``reason`` is the reason code, ``rule`` the ID."""

    def __init__(self, reason: str, rule: str, message: str, *, hint: str = "") -> None:
        super().__init__(f"{reason} [{rule}]: {message}", hint=hint)
        self.reason = reason
        self.rule = rule


@runtime_checkable
class Suite(Protocol):
    name: str

    def accepts_private_key(self, key: Any) -> bool: ...

    def accepts_public_key(self, key: Any) -> bool: ...

    def sign(self, private_key: Any, data: bytes) -> bytes: ...

    def verify(self, public_key: Any, signature: bytes, data: bytes) -> bool: ...


def _mismatch(suite: str, key: Any) -> SuiteError:
    return SuiteError(
        "SIG_SUITE_KEY_MISMATCH",
        "SIG-010",
        f"a {type(key).__name__} cannot be used with suite {suite}",
        hint="use a key of the suite's algorithm, or name the suite that fits the key",
    )


class EcdsaP256Sha256:
    """SIG-005: ECDSA P-256 + SHA-256, DER signature; high-S accepted."""

    name = "ECDSA-P256-SHA256"

    def accepts_private_key(self, key: Any) -> bool:
        return isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)

    def accepts_public_key(self, key: Any) -> bool:
        return isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)

    def sign(self, private_key: Any, data: bytes) -> bytes:
        if not self.accepts_private_key(private_key):
            raise _mismatch(self.name, private_key)
        sig: bytes = private_key.sign(data, ec.ECDSA(hashes.SHA256()))
        return sig

    def verify(self, public_key: Any, signature: bytes, data: bytes) -> bool:
        if not self.accepts_public_key(public_key):
            raise _mismatch(self.name, public_key)
        try:
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            return False
        return True


class Ed25519Suite:
    """SIG-006: PureEdDSA Ed25519 (RFC 8032 §5.1), 64-byte signature."""

    name = "ED25519"

    def accepts_private_key(self, key: Any) -> bool:
        return isinstance(key, ed25519.Ed25519PrivateKey)

    def accepts_public_key(self, key: Any) -> bool:
        return isinstance(key, ed25519.Ed25519PublicKey)

    def sign(self, private_key: Any, data: bytes) -> bytes:
        if not self.accepts_private_key(private_key):
            raise _mismatch(self.name, private_key)
        sk = _sodium_secret_key(private_key.private_bytes_raw())
        sig: bytes = nacl.bindings.crypto_sign(data, sk)[:64]
        return sig

    def verify(self, public_key: Any, signature: bytes, data: bytes) -> bool:
        if not self.accepts_public_key(public_key):
            raise _mismatch(self.name, public_key)
        if len(signature) != 64:
            return False
        return sodium_verify(public_key.public_bytes_raw(), signature, data)


def sodium_verify(public_raw: bytes, signature: bytes, data: bytes) -> bool:
    """SIG-006 in libsodium: True when ``signature`` is the Ed25519 signature of ``data`` by the
    32-byte public key ``public_raw``; False for any wrong or malformed signature or key."""
    if len(public_raw) != 32 or len(signature) != 64:
        return False
    try:
        nacl.bindings.crypto_sign_open(signature + data, public_raw)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, nacl.exceptions.TypeError):
        return False
    return True


@lru_cache(maxsize=64)
def _sodium_secret_key(seed: bytes) -> bytes:
    """libsodium's 64-byte secret key (seed || public key) for an RFC 8032 seed, derived once."""
    _pk, sk = nacl.bindings.crypto_sign_seed_keypair(seed)
    key: bytes = sk
    return key


_REGISTRY: dict[str, Suite] = {}


def register_suite(suite: Suite, *, replace: bool = False) -> None:
    """Add a suite to the registry. Re-registering a name needs ``replace=True`` (no silent swap)."""
    if not isinstance(suite, Suite):
        raise TypeError(f"{suite!r} does not implement the Suite protocol")
    if suite.name in _REGISTRY and not replace:
        raise ValueError(f"suite {suite.name!r} is already registered")
    _REGISTRY[suite.name] = suite


def get_suite(name: str) -> Suite:
    """The suite registered under ``name``; SuiteError SIG_UNKNOWN_SUITE (SIG-008) otherwise."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise SuiteError(
            "SIG_UNKNOWN_SUITE",
            "SIG-008",
            f"signature suite {name!r} is not supported",
            hint=f"supported suites: {', '.join(suite_names())}",
        ) from None


def suite_names() -> list[str]:
    return sorted(_REGISTRY)


def suite_for_private_key(key: Any) -> Suite:
    """The registered suite that signs with ``key`` (first registered wins)."""
    for suite in _REGISTRY.values():
        if suite.accepts_private_key(key):
            return suite
    raise SuiteError(
        "SIG_SUITE_KEY_MISMATCH",
        "SIG-010",
        f"no registered signature suite takes a {type(key).__name__}",
        hint=f"use an ECDSA P-256 or Ed25519 key (suites: {', '.join(suite_names())})",
    )


def key_id(public_key: Any) -> str:
    """SIG-004: "sha256:" + lowercase hex SHA-256 of the DER SubjectPublicKeyInfo."""
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(spki).hexdigest()


register_suite(EcdsaP256Sha256())
register_suite(Ed25519Suite())
