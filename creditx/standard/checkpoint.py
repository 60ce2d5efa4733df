"""Signed checkpoints of the audit log: C2SP tlog-checkpoint bodies in C2SP signed notes.

Pure code over text and keys (no I/O, no clock); ``spec/06-audit.md`` is the normative text.

Body (c2sp.org/tlog-checkpoint, AUD-020)::

    <origin>\\n<decimal tree size, no leading zeros>\\n<base64 root hash>\\n[<extension line>\\n…]

Note (c2sp.org/signed-note, AUD-021): body, one blank line, then one or more lines
``— <key name> <base64(4-byte key ID || signature)>``. Signature types (AUD-022…024):

* ``0x01`` Ed25519 over the body; key ID = SHA-256(name || 0x0A || 0x01 || 32-byte key)[:4].
* ``0x02`` ECDSA (P-256, SHA-256, ASN.1 DER signature) as in transparency-dev/witness and
  Sigstore Rekor; key ID = SHA-256(DER SubjectPublicKeyInfo)[:4] — signed-note defines this
  type and its key ID so, *without* the name; we follow it so that existing verifiers accept
  the gateway's checkpoints. Our CA issues P-256 signing keys by default.

Verifier keys are written for configuration files as ``<name>+<key ID hex>+<base64(type ||
public key)>`` (AUD-025), the form of golang.org/x/mod/sumdb/note.

Invariants: a :class:`Checkpoint` is always well-formed (checked in ``__post_init__``);
``verify_checkpoint`` returns a checkpoint only if at least one trusted key signed it and no
trusted key's signature failed (AUD-026); signatures by unknown keys are ignored. Every error
is a :class:`CheckpointError` carrying a reason code and the AUD rule.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from creditx.standard.errors import RemoteError
from creditx.standard.merkle import HASH_SIZE, ProofError, verify_consistency
from creditx.standard.suites import get_suite, sodium_verify

# The two key types a C2SP note signature may use (AUD-022).
NotePublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey
NotePrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey

ALG_ED25519 = 0x01
ALG_ECDSA = 0x02
EM_DASH = "\u2014"
MAX_NOTE_BYTES = 128 * 1024  # a bound on what we parse; 16 post-quantum signatures fit (signed-note)
MAX_SIGNATURES = 100  # golang.org/x/mod/sumdb/note's limit; signed-note requires at least 16
MAX_SIZE = (1 << 63) - 1

_NAME_RE = re.compile(r"[^\s+]+")
_SIZE_RE = re.compile(r"0|[1-9][0-9]{0,18}")


class CheckpointError(RemoteError):
    """A checkpoint, note, key or signature breaks chapter 06. ``reason`` code, ``rule`` AUD ID."""

    def __init__(self, reason: str, message: str, *, rule: str, hint: str = "") -> None:
        super().__init__(f"{rule} {reason}: {message}", hint=hint or _HINTS.get(reason, ""))
        self.reason = reason
        self.rule = rule


_HINTS = {
    "BAD_SIGNATURE": "a trusted key's signature does not verify: the note was altered or the key is wrong; keep it as evidence",
    "NO_TRUSTED_SIGNATURE": "configure the gateway's verifier key (creditx gateway shows it) or check that the note is from the right log",
    "FORK": "the log presented two inconsistent views: raise the alarm and keep both checkpoints as evidence (AUD-030)",
    "ROLLBACK": "the log is smaller than one it signed before: raise the alarm and keep both checkpoints (AUD-030)",
    "BAD_KEY": "copy the verifier key string again exactly as the gateway prints it",
}


# --- the checkpoint body (AUD-020) -----------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: origin, tree size and RFC 9162 root hash, plus opaque extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "extensions", tuple(self.extensions))
        _check_line(self.origin, "origin")
        if not isinstance(self.size, int) or isinstance(self.size, bool) or not 0 <= self.size <= MAX_SIZE:
            raise CheckpointError(
                "BAD_SIZE", f"tree size must be an integer in [0, 2^63) (got {self.size!r})", rule="AUD-020"
            )
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            raise CheckpointError("BAD_ROOT", f"root hash must be {HASH_SIZE} bytes", rule="AUD-020")
        for i, ext in enumerate(self.extensions):
            _check_line(ext, f"extension line {i + 1}")

    def body(self) -> bytes:
        """The note text that is signed: every line ends in a newline."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode(), *self.extensions]
        return ("\n".join(lines) + "\n").encode()


def _check_line(value: object, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise CheckpointError("BAD_BODY", f"{what} must be a non-empty string", rule="AUD-020")
    if any(ord(c) < 0x20 or c == "\x7f" for c in value):
        raise CheckpointError("BAD_BODY", f"{what} must not contain newlines or control characters", rule="AUD-020")


def parse_body(text: bytes | str) -> Checkpoint:
    """AUD-020: parse a checkpoint body (the note text, final newline included)."""
    if isinstance(text, bytes):
        text = _decode(text)
    if not text.endswith("\n"):
        raise CheckpointError("BAD_BODY", "checkpoint body must end with a newline", rule="AUD-020")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError(
            "BAD_BODY", f"checkpoint needs origin, size and root lines (got {len(lines)} lines)", rule="AUD-020"
        )
    origin, size_s, root_s, *ext = lines
    if not _SIZE_RE.fullmatch(size_s):
        raise CheckpointError(
            "BAD_SIZE", f"tree size line {size_s!r} is not a decimal without leading zeros", rule="AUD-020"
        )
    root_hash = _b64(root_s, "root hash line", "BAD_ROOT", "AUD-020")
    if base64.b64encode(root_hash).decode() != root_s:
        raise CheckpointError("BAD_ROOT", "root hash line is not canonical base64", rule="AUD-020")
    return Checkpoint(origin, int(size_s), root_hash, tuple(ext))


# --- signed notes (AUD-021) ----------------------------------------------------------------


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, 4-byte key ID (as int) and the raw signature bytes."""

    name: str
    key_id: int
    signature: bytes

    def line(self) -> str:
        blob = self.key_id.to_bytes(4, "big") + self.signature
        return f"{EM_DASH} {self.name} {base64.b64encode(blob).decode()}\n"


def split_note(note: bytes | str) -> tuple[str, list[NoteSignature]]:
    """AUD-021: split a signed note into its text and signature lines, checking the syntax."""
    if isinstance(note, str):
        note = note.encode("utf-8", "surrogatepass")
    if len(note) > MAX_NOTE_BYTES:
        raise CheckpointError(
            "NOTE_TOO_LARGE", f"note is {len(note)} bytes, the limit is {MAX_NOTE_BYTES}", rule="AUD-021"
        )
    text = _decode(note)
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise CheckpointError("MALFORMED_NOTE", "note contains control characters other than newline", rule="AUD-021")
    cut = text.rfind("\n\n")
    if cut < 0 or not text.endswith("\n"):
        raise CheckpointError(
            "MALFORMED_NOTE",
            "note needs its text, a blank line, then signature lines each ending in a newline",
            rule="AUD-021",
        )
    body, sig_block = text[: cut + 1], text[cut + 2 :]
    lines = sig_block[:-1].split("\n") if sig_block else []
    if not lines:
        raise CheckpointError("MALFORMED_NOTE", "note has no signature lines", rule="AUD-021")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(
            "MALFORMED_NOTE", f"note has {len(lines)} signatures, the limit is {MAX_SIGNATURES}", rule="AUD-021"
        )
    sigs = []
    for i, line in enumerate(lines, 1):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != EM_DASH or not _NAME_RE.fullmatch(parts[1]):
            raise CheckpointError(
                "MALFORMED_NOTE",
                f"signature line {i} is not '{EM_DASH} <key name> <base64>' (name without spaces or '+')",
                rule="AUD-021",
            )
        blob = _b64(parts[2], f"signature line {i}", "MALFORMED_NOTE", "AUD-021")
        if len(blob) < 5:
            raise CheckpointError(
                "MALFORMED_NOTE", f"signature line {i} is shorter than a key ID and a signature", rule="AUD-021"
            )
        sigs.append(NoteSignature(parts[1], int.from_bytes(blob[:4], "big"), blob[4:]))
    return body, sigs


def parse_checkpoint(text: bytes | str) -> tuple[Checkpoint, list[NoteSignature]]:
    """Parse a signed checkpoint WITHOUT verifying it: use only to show or store; trust needs
    :func:`verify_checkpoint`."""
    body, sigs = split_note(text)
    return parse_body(body), sigs


# --- keys (AUD-022…AUD-025) ------------------------------------------------------------------


@dataclass(frozen=True)
class NoteVerifier:
    """A trusted public key under a name; ``key_id`` is the signed-note 4-byte ID as an int."""

    name: str
    alg: int
    public_key: NotePublicKey
    key_id: int

    def key_bytes(self) -> bytes:
        return _public_key_bytes(self.alg, self.public_key)

    def to_string(self) -> str:
        """AUD-025: ``<name>+<key ID hex>+<base64(type || public key)>``."""
        return f"{self.name}+{self.key_id:08x}+{base64.b64encode(bytes([self.alg]) + self.key_bytes()).decode()}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            if isinstance(self.public_key, ed25519.Ed25519PublicKey):  # libsodium (SIG-006)
                return sodium_verify(self.public_key.public_bytes_raw(), signature, message)
            else:
                self.public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            return False
        return True


def _public_key_bytes(alg: int, public_key: NotePublicKey) -> bytes:
    if alg == ALG_ED25519:
        return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_id(name: str, alg: int, key_bytes: bytes) -> int:
    """AUD-022: the 4-byte key ID. Ed25519: SHA-256(name || 0x0A || 0x01 || key)[:4];
    ECDSA (type 0x02): SHA-256(DER SPKI)[:4], as signed-note defines that type."""
    if alg == ALG_ECDSA:
        digest = hashlib.sha256(key_bytes).digest()
    else:
        digest = hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + key_bytes).digest()
    return int.from_bytes(digest[:4], "big")


def verifier_for(name: str, public_key: object) -> NoteVerifier:
    """The verifier for an Ed25519 or ECDSA P-256 public key under ``name``."""
    _check_name(name)
    key: NotePublicKey
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        alg, key = ALG_ED25519, public_key
    elif isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(public_key.curve, ec.SECP256R1):
        alg, key = ALG_ECDSA, public_key
    else:
        raise CheckpointError(
            "UNSUPPORTED_KEY", f"{type(public_key).__name__} is neither Ed25519 nor ECDSA P-256", rule="AUD-022"
        )
    return NoteVerifier(name, alg, key, key_id(name, alg, _public_key_bytes(alg, key)))


def parse_verifier_key(text: str) -> NoteVerifier:
    """AUD-025: parse ``<name>+<hex key ID>+<base64(type || key)>`` and check its key ID."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
        raise CheckpointError("BAD_KEY", "verifier key must be <name>+<8 hex digits>+<base64 key>", rule="AUD-025")
    name = parts[0]
    _check_name(name)
    raw = _b64(parts[2], "verifier key material", "BAD_KEY", "AUD-025")
    if not raw:
        raise CheckpointError("BAD_KEY", "verifier key material is empty", rule="AUD-025")
    alg, material = raw[0], raw[1:]
    public_key: object
    try:
        if alg == ALG_ED25519 and len(material) == 32:
            public_key = ed25519.Ed25519PublicKey.from_public_bytes(material)
        elif alg == ALG_ECDSA:
            public_key = serialization.load_der_public_key(material)
        else:
            raise ValueError(f"unsupported signature type 0x{alg:02x} or key length {len(material)}")
    except (ValueError, TypeError) as exc:
        raise CheckpointError("BAD_KEY", f"verifier key for {name!r}: {exc}", rule="AUD-025") from None
    v = verifier_for(name, public_key)
    if v.key_bytes() != material:
        raise CheckpointError("BAD_KEY", f"verifier key for {name!r} is not in canonical encoding", rule="AUD-025")
    if v.key_id != int(parts[1], 16):
        raise CheckpointError(
            "BAD_KEY", f"key ID {parts[1]} does not match the key (expected {v.key_id:08x})", rule="AUD-025"
        )
    return v


def parse_signer_key(text: str) -> tuple[str, ed25519.Ed25519PrivateKey]:
    """Read an Ed25519 signer key ``PRIVATE+KEY+<name>+<hex ID>+<base64(0x01 || seed)>``
    (golang.org/x/mod/sumdb/note's form; for test keys — production keys come from the CA)."""
    parts = text.strip().split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise CheckpointError("BAD_KEY", "signer key must be PRIVATE+KEY+<name>+<hex ID>+<base64>", rule="AUD-025")
    raw = _b64(parts[4], "signer key material", "BAD_KEY", "AUD-025")
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise CheckpointError(
            "BAD_KEY", "signer key material must be 0x01 followed by a 32-byte Ed25519 seed", rule="AUD-025"
        )
    private_key = ed25519.Ed25519PrivateKey.from_private_bytes(raw[1:])
    v = verifier_for(parts[2], private_key.public_key())
    if f"{v.key_id:08x}" != parts[3]:
        raise CheckpointError("BAD_KEY", f"signer key ID {parts[3]} does not match the key", rule="AUD-025")
    return parts[2], private_key


# --- signing and verifying (AUD-023, AUD-024, AUD-026) ---------------------------------------


def sign_note(text: bytes, key_name: str, private_key: NotePrivateKey) -> str:
    """Sign a note text (ending in newline) with one Ed25519 or ECDSA P-256 key."""
    v = verifier_for(key_name, private_key.public_key())
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        sig = get_suite("ED25519").sign(private_key, text)  # libsodium; same bytes as RFC 8032
    else:  # RFC 6979 deterministic nonces: same key and text, same note (reproducible vectors)
        sig = private_key.sign(text, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    return text.decode() + "\n" + NoteSignature(key_name, v.key_id, sig).line()


def sign_checkpoint(cp: Checkpoint, key_name: str, private_key: NotePrivateKey) -> str:
    """AUD-023/024: the full signed-note text of ``cp``. The key name SHOULD be the origin."""
    return sign_note(cp.body(), key_name, private_key)


def open_note(note: bytes | str, verifiers: Iterable[NoteVerifier]) -> tuple[str, list[NoteSignature]]:
    """AUD-026: verify a note against trusted keys; return its text and the verified signatures."""
    body, sigs = split_note(note)
    by_id: dict[tuple[str, int], list[NoteVerifier]] = {}
    for v in verifiers:
        by_id.setdefault((v.name, v.key_id), []).append(v)
    message = body.encode()
    verified = []
    for sig in sigs:
        known = by_id.get((sig.name, sig.key_id))
        if not known:
            continue  # signed-note: signatures from unknown keys are ignored
        if len(known) > 1:
            raise CheckpointError(
                "AMBIGUOUS_KEY", f"two trusted keys named {sig.name}+{sig.key_id:08x}", rule="AUD-026"
            )
        if not known[0].verify(message, sig.signature):
            raise CheckpointError(
                "BAD_SIGNATURE", f"signature by {sig.name}+{sig.key_id:08x} does not verify", rule="AUD-026"
            )
        verified.append(sig)
    if not verified:
        names = ", ".join(f"{s.name}+{s.key_id:08x}" for s in sigs)
        raise CheckpointError(
            "NO_TRUSTED_SIGNATURE", f"no signature from a trusted key (signed by: {names})", rule="AUD-026"
        )
    return body, verified


def verify_checkpoint(text: bytes | str, verifiers: Iterable[NoteVerifier], *, origin: str | None = None) -> Checkpoint:
    """AUD-026: the checkpoint of a signed note, if a trusted key signed it (and, when
    ``origin`` is given, it is that log's)."""
    body, _ = open_note(text, verifiers)
    cp = parse_body(body)
    if origin is not None and cp.origin != origin:
        raise CheckpointError(
            "WRONG_ORIGIN", f"checkpoint is for log {cp.origin!r}, expected {origin!r}", rule="AUD-026"
        )
    return cp


def check_consistent(old: Checkpoint, new: Checkpoint, proof: list[bytes]) -> None:
    """AUD-030: a newer checkpoint of the same log must extend the older one.

    Raises ``ROLLBACK`` when the tree shrank and ``FORK`` when no consistency proof links the
    two (including two different roots at one size): both are alarms, never retries.
    """
    if old.origin != new.origin:
        raise CheckpointError(
            "WRONG_ORIGIN", f"checkpoints of two logs: {old.origin!r} and {new.origin!r}", rule="AUD-030"
        )
    if new.size < old.size:
        raise CheckpointError("ROLLBACK", f"tree size went from {old.size} down to {new.size}", rule="AUD-030")
    try:
        verify_consistency(old.size, new.size, old.root_hash, new.root_hash, proof)
    except ProofError as exc:
        raise CheckpointError(
            "FORK", f"checkpoint {new.size} does not extend {old.size}: {exc.message}", rule="AUD-030"
        ) from None


# --- small helpers ----------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CheckpointError(
            "MALFORMED_NOTE", f"note is not valid UTF-8 at byte {exc.start}", rule="AUD-021"
        ) from None


def _b64(s: str, what: str, reason: str, rule: str) -> bytes:
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        raise CheckpointError(reason, f"{what} is not standard base64", rule=rule) from None


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise CheckpointError("BAD_KEY", f"key name {name!r} must be non-empty without spaces or '+'", rule="AUD-021")
