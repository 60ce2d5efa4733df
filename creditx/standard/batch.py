"""The batch-signed suite (SIG-040 … SIG-046, SYNC-060 … SYNC-064): one signature per pushed
batch, one hash path per record.

Pure code over bytes; the normative text is ``spec/03-envelope.md`` §7 and ``spec/05-sync.md``
"Batch-signed pushes". It reuses the audit log's RFC 9162 maths (:mod:`creditx.standard.merkle`)
and C2SP checkpoints (:mod:`creditx.standard.checkpoint`); nothing here hashes a tree itself.

* A node's outbox is an append-only Merkle log, its **outbox log** (SIG-041): leaf 0 is the
  UTF-8 origin line ``creditx.outbox/<region>`` (so that leaf index = ``source_seq``), leaf
  ``i ≥ 1`` is the exact payload bytes of the record with ``source_seq = i``.
* For each pushed batch the node signs one C2SP checkpoint of its outbox log with its record
  signing key (key name = origin), at a size covering every record of the batch (SIG-042).
* Each record carries, as its one signature (suite :data:`BATCH_SUITE`, key id of the signing
  key, SIG-004), its inclusion proof in that checkpoint: the audit path's 32-byte hashes
  concatenated (SIG-043). A v1.0 envelope is unchanged; a receiver that does not implement the
  suite answers ``SIG_UNKNOWN_SUITE`` (SIG-008) as for any suite it lacks.
* A record is verifiable on its own: payload + path + checkpoint note + the node's key
  (:func:`verify_batched_record`, SIG-045).

Invariants: :func:`verify_inclusion_path` raises :class:`~creditx.standard.envelope.SignatureError`
(``SIG_BATCH_PROOF``, SIG-044) for any path that does not lead to the checkpoint's root, never
anything else; :func:`verify_batch_checkpoint` raises :class:`BatchCheckpointError` with the
SYNC reason code for a checkpoint that is unsigned, of another log, or too small.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from creditx.standard.checkpoint import (
    Checkpoint,
    CheckpointError,
    NoteVerifier,
    check_consistent,
    verifier_for,
    verify_checkpoint,
)
from creditx.standard.envelope import SignatureError
from creditx.standard.errors import RemoteError
from creditx.standard.merkle import HASH_SIZE, ProofError, Proved, leaf_hash, verify_inclusion

BATCH_SUITE = "MERKLE-CHECKPOINT-SHA256"  # SIG-040
ORIGIN_PREFIX = "creditx.outbox/"
MAX_PATH_HASHES = 64  # a tree of 2^63 leaves needs 63


def outbox_origin(region: str) -> str:
    """SIG-041: the origin line (and note key name) of a node's outbox log."""
    return ORIGIN_PREFIX + region


def genesis_leaf(region: str) -> bytes:
    """SIG-041: leaf 0 of the outbox log, so that leaf index = ``source_seq``."""
    return outbox_origin(region).encode()


def encode_path(proof: Sequence[bytes]) -> bytes:
    """SIG-043: the signature bytes of a batch-signed record: its audit path, concatenated."""
    return b"".join(proof)


def decode_path(sig: bytes) -> list[bytes]:
    """SIG-043: the audit path in a signature; SIG_BATCH_PROOF if it is not whole hashes."""
    if len(sig) % HASH_SIZE or len(sig) > MAX_PATH_HASHES * HASH_SIZE:
        raise SignatureError(
            "SIG_BATCH_PROOF", "SIG-044", f"an inclusion path of {len(sig)} bytes is not a list of 32-byte hashes"
        )
    return [sig[i : i + HASH_SIZE] for i in range(0, len(sig), HASH_SIZE)]


def verify_inclusion_path(
    source_seq: int, payload: bytes, sig: bytes, size: int, root: bytes, proved: Proved | None = None
) -> None:
    """SIG-044: the record ``payload`` with ``source_seq`` is leaf ``source_seq`` of the tree
    (``size``, ``root``) of a verified checkpoint. SignatureError SIG_BATCH_PROOF otherwise.
    ``proved``: what the batch's earlier paths proved (``creditx.standard.merkle.verify_inclusion``)."""
    path = decode_path(sig)
    try:
        verify_inclusion(source_seq, size, leaf_hash(payload), path, root, proved)
    except ProofError as exc:
        raise SignatureError(
            "SIG_BATCH_PROOF",
            "SIG-044",
            f"the inclusion path of source_seq {source_seq} does not lead to the batch checkpoint "
            f"of size {size} ({exc.reason})",
        ) from None


class BatchCheckpointError(RemoteError):
    """A batch's checkpoint cannot be used: ``reason`` is a SYNC reason code, ``rule`` its ID."""

    def __init__(self, reason: str, rule: str, message: str, *, hint: str = "") -> None:
        super().__init__(f"{reason} [{rule}]: {message}", hint=hint)
        self.reason, self.rule, self.detail = reason, rule, message


def note_verifiers(region: str, public_keys: Iterable[object]) -> list[NoteVerifier]:
    """The note verifiers of a node's outbox checkpoints: its granted signing keys under the origin."""
    return [verifier_for(outbox_origin(region), k) for k in public_keys]


def verify_batch_checkpoint(
    note: str | bytes, region: str, verifiers: Iterable[NoteVerifier], *, covers: int = 0
) -> Checkpoint:
    """SYNC-061: the checkpoint of a batch, if a granted key of the node signed it, it is the
    node's outbox log and its size is above ``covers`` (the batch's highest ``source_seq``)."""
    try:
        cp = verify_checkpoint(note, verifiers, origin=outbox_origin(region))
    except CheckpointError as exc:
        raise BatchCheckpointError(
            "SYNC_CHECKPOINT_INVALID",
            "SYNC-061",
            f"the batch checkpoint does not verify ({exc.reason}: {exc.message})",
            hint="sign the checkpoint with the record-signing key presented in the handshake, "
            f"key name {outbox_origin(region)}",
        ) from None
    if cp.size <= covers:
        raise BatchCheckpointError(
            "SYNC_CHECKPOINT_INVALID",
            "SYNC-061",
            f"the batch checkpoint has size {cp.size}, which does not cover source_seq {covers}",
            hint="sign the checkpoint after appending every record of the batch (size = last source_seq + 1)",
        )
    return cp


def check_extends(old: Checkpoint, new: Checkpoint, proof: list[bytes]) -> None:
    """SYNC-062: a node's new checkpoint extends the last one the gateway stored of it; a node
    cannot rewrite its own history. SYNC_CHECKPOINT_FORK (rollback or fork) otherwise."""
    try:
        check_consistent(old, new, proof)
    except CheckpointError as exc:
        raise BatchCheckpointError(
            "SYNC_CHECKPOINT_FORK",
            "SYNC-062",
            f"checkpoint of size {new.size} does not extend the stored one of size {old.size} ({exc.reason})",
            hint="the outbox log was rewritten: this is an alarm, not a retry; keep both checkpoints as evidence",
        ) from None


def verify_batched_record(
    region: str,
    source_seq: int,
    payload: bytes,
    sig: bytes,
    note: str | bytes,
    public_keys: Iterable[object],
) -> Checkpoint:
    """SIG-045: verify one batch-signed record on its own (record + path + checkpoint + the
    node's key): the checkpoint's signature, then the record's path. Returns the checkpoint."""
    cp = verify_batch_checkpoint(note, region, note_verifiers(region, public_keys), covers=source_seq)
    verify_inclusion_path(source_seq, payload, sig, cp.size, cp.root_hash)
    return cp


__all__ = [
    "BATCH_SUITE",
    "BatchCheckpointError",
    "check_extends",
    "decode_path",
    "encode_path",
    "genesis_leaf",
    "note_verifiers",
    "outbox_origin",
    "verify_batch_checkpoint",
    "verify_batched_record",
    "verify_inclusion_path",
]
