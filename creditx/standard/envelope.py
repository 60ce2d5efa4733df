"""The signed envelope (SIG-001 … SIG-014), in the form of DSSE v1.

An :class:`Envelope` carries a ``payload_type``, the ``payload`` bytes exactly as signed, and one
or more :class:`Signature` s, each over ``pae(payload_type, payload)`` (SIG-002). Invariants:

* Nobody re-serialises a payload to verify it: verification works on the bytes carried (SIG-001).
* Envelopes and signatures are frozen; no function here mutates its inputs.
* :func:`verify_envelope` either returns the one signature it verified or raises
  :class:`SignatureError` with a reason code and requirement ID; it never returns "maybe".
* Key lookup is the caller's: ``resolve_key(keyid)`` returns the public key trusted for that id
  (e.g. from the node's signing certificate) or None. It must only return a key whose
  :func:`creditx.standard.suites.key_id` equals ``keyid``.

The JSON form (SIG-014) is DSSE's: ``{"payloadType", "payload": base64, "signatures":
[{"keyid", "sig": base64, "suite"}]}`` — used for files and test vectors; gRPC carries the
protobuf ``creditx.v1.Envelope`` with the same three parts.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from creditx.standard.errors import RemoteError
from creditx.standard.suites import Suite, SuiteError, get_suite, key_id, suite_for_private_key

MAX_SIGNATURES = 4  # SIG-013
MAX_PAYLOAD_TYPE_CHARS = 256  # SIG-013
MAX_PAYLOAD_BYTES = 64 * 1024  # SIG-013 / SIG-020


class SignatureError(RemoteError):
    """An envelope fails verification. ``reason``: SIG_* code; ``rule``: requirement ID."""

    def __init__(self, reason: str, rule: str, message: str) -> None:
        super().__init__(f"{reason} [{rule}]: {message}", hint=message)
        self.reason = reason
        self.rule = rule
        self.detail = message

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across verification worker processes
        return (type(self), (self.reason, self.rule, self.detail))


def pae(payload_type: str, payload: bytes) -> bytes:
    """SIG-002, DSSE v1 Pre-Authentication Encoding:
    ``"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body``, LEN = byte length as ASCII decimal."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(t), t, len(payload), payload)


@dataclass(frozen=True)
class Signature:
    keyid: str
    suite: str
    sig: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.keyid, str) or not isinstance(self.suite, str) or not isinstance(self.sig, bytes):
            raise TypeError("Signature(keyid: str, suite: str, sig: bytes)")


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[Signature, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.payload_type, str) or not isinstance(self.payload, bytes):
            raise TypeError("Envelope(payload_type: str, payload: bytes, signatures)")
        if not isinstance(self.signatures, tuple):
            object.__setattr__(self, "signatures", tuple(self.signatures))

    def to_json_obj(self) -> dict[str, Any]:
        """SIG-014: the DSSE JSON form (standard base64 with padding)."""
        return {
            "payloadType": self.payload_type,
            "payload": base64.b64encode(self.payload).decode("ascii"),
            "signatures": [
                {"keyid": s.keyid, "sig": base64.b64encode(s.sig).decode("ascii"), "suite": s.suite}
                for s in self.signatures
            ],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_json_obj(), ensure_ascii=False, indent=2)

    @classmethod
    def from_json_obj(cls, obj: Any) -> Envelope:
        """Parse the DSSE JSON form; base64 may be standard or URL-safe (as DSSE allows)."""

        def bad(what: str) -> SignatureError:
            return SignatureError("SIG_BAD_ENVELOPE", "SIG-014", f"envelope JSON: {what}")

        if not isinstance(obj, dict):
            raise bad("must be an object with payloadType, payload, signatures")
        ptype, payload, sigs = obj.get("payloadType"), obj.get("payload"), obj.get("signatures")
        if not isinstance(ptype, str):
            raise bad("'payloadType' must be a string")
        if not isinstance(sigs, list):
            raise bad("'signatures' must be an array")
        out = []
        for i, s in enumerate(sigs):
            if not isinstance(s, dict) or not isinstance(s.get("keyid"), str) or not isinstance(s.get("suite"), str):
                raise bad(f"signatures[{i}] must have string 'keyid' and 'suite'")
            out.append(Signature(s["keyid"], s["suite"], _b64(s.get("sig"), f"signatures[{i}].sig", bad)))
        return cls(ptype, _b64(payload, "payload", bad), tuple(out))

    @classmethod
    def from_json(cls, text: str | bytes) -> Envelope:
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise SignatureError("SIG_BAD_ENVELOPE", "SIG-014", f"envelope is not JSON: {exc}") from None
        return cls.from_json_obj(obj)


def _b64(value: Any, name: str, bad: Callable[[str], SignatureError]) -> bytes:
    if not isinstance(value, str):
        raise bad(f"'{name}' must be a base64 string")
    try:
        text = value.replace("-", "+").replace("_", "/")
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise bad(f"'{name}' is not valid base64 (RFC 4648 §4 or §5)") from None


class Signer:
    """A private key and the suite it signs with (default: the suite that takes the key)."""

    def __init__(self, private_key: Any, suite: str | Suite | None = None) -> None:
        self.suite = (
            suite_for_private_key(private_key)
            if suite is None
            else get_suite(suite)
            if isinstance(suite, str)
            else suite
        )
        if not self.suite.accepts_private_key(private_key):
            raise SuiteError(
                "SIG_SUITE_KEY_MISMATCH",
                "SIG-010",
                f"a {type(private_key).__name__} cannot sign with suite {self.suite.name}",
            )
        self._key = private_key
        self.public_key = private_key.public_key()
        self.keyid = key_id(self.public_key)

    def sign(self, data: bytes) -> Signature:
        """Sign ``data`` (normally the PAE bytes) and name the key and suite."""
        return Signature(self.keyid, self.suite.name, self.suite.sign(self._key, data))

    def __repr__(self) -> str:  # never show the key
        return f"Signer(suite={self.suite.name!r}, keyid={self.keyid!r})"


def sign_envelope(payload_type: str, payload: bytes, signer: Signer | Sequence[Signer]) -> Envelope:
    """An envelope over ``payload`` with one signature per signer, each over the PAE (SIG-002)."""
    signers = [signer] if isinstance(signer, Signer) else list(signer)
    data = pae(payload_type, payload)
    return Envelope(payload_type, payload, tuple(s.sign(data) for s in signers))


# When several signatures all fail, the most telling error is reported (a bad signature by a
# known key says more than an unknown key id).
_PRIORITY = {"SIG_INVALID": 4, "SIG_SUITE_KEY_MISMATCH": 3, "SIG_UNKNOWN_SUITE": 2, "SIG_UNKNOWN_KEY": 1}


def verify_envelope(
    env: Envelope,
    resolve_key: Callable[[str], Any],
    *,
    expected_type: str | None = None,
    max_payload: int = MAX_PAYLOAD_BYTES,
) -> Signature:
    """SIG-007 … SIG-013: return the first signature that verifies, or raise SignatureError."""
    if expected_type is not None and env.payload_type != expected_type:
        raise SignatureError(
            "SIG_PAYLOAD_TYPE",
            "SIG-012",
            f"payload type {env.payload_type[:MAX_PAYLOAD_TYPE_CHARS]!r} is not the expected {expected_type!r}",
        )
    if len(env.payload_type) > MAX_PAYLOAD_TYPE_CHARS:
        raise SignatureError("SIG_LIMIT", "SIG-013", f"payload type is longer than {MAX_PAYLOAD_TYPE_CHARS} characters")
    if len(env.payload) > max_payload:
        raise SignatureError(
            "SIG_LIMIT", "SIG-013", f"payload is {len(env.payload)} bytes, at most {max_payload} are accepted"
        )
    if not env.signatures:
        raise SignatureError("SIG_NO_SIGNATURE", "SIG-007", "the envelope carries no signature; sign it")
    if len(env.signatures) > MAX_SIGNATURES:
        raise SignatureError(
            "SIG_LIMIT", "SIG-013", f"{len(env.signatures)} signatures, at most {MAX_SIGNATURES} are accepted"
        )
    data: bytes | None = None
    worst: SignatureError | None = None
    for sig in env.signatures:
        try:
            suite = get_suite(sig.suite)
        except SuiteError as exc:
            err = SignatureError("SIG_UNKNOWN_SUITE", "SIG-008", exc.message)
        else:
            key = resolve_key(sig.keyid)
            if key is None:
                err = SignatureError(
                    "SIG_UNKNOWN_KEY",
                    "SIG-009",
                    f"key {sig.keyid[:80]!r} is not trusted here; check the signing "
                    "certificate is issued by the provincial CA and not revoked",
                )
            elif not suite.accepts_public_key(key):
                err = SignatureError(
                    "SIG_SUITE_KEY_MISMATCH",
                    "SIG-010",
                    f"signature names suite {sig.suite} but key {sig.keyid} is a {type(key).__name__}",
                )
            else:
                if data is None:
                    data = pae(env.payload_type, env.payload)
                if suite.verify(key, sig.sig, data):
                    return sig
                err = SignatureError(
                    "SIG_INVALID",
                    "SIG-011",
                    f"signature by {sig.keyid} does not verify over the payload; "
                    "the payload or its type was changed after signing, or the wrong key signed",
                )
        if worst is None or _PRIORITY[err.reason] > _PRIORITY[worst.reason]:
            worst = err
    assert worst is not None
    raise worst
