"""Merkle-log maths of the audit log: RFC 9162 §2.1 hashes, proofs and an incremental tree.

Pure code over bytes (no I/O, no clock). Chapter ``spec/06-audit.md`` is the normative text;
the requirement IDs below are defined there.

* ``leaf_hash(d) = SHA-256(0x00 || d)``, ``node_hash(l, r) = SHA-256(0x01 || l || r)``
  (AUD-001, AUD-002); ``root`` is MTH of RFC 9162 §2.1.1, the empty tree hashing to
  SHA-256 of the empty string (AUD-003).
* Proofs: ``inclusion_proof`` / ``verify_inclusion`` (§2.1.3, AUD-010/011) and
  ``consistency_proof`` / ``verify_consistency`` (§2.1.4, AUD-012/013). Every hash is
  exactly 32 bytes (AUD-014). Verification never trusts a size, index or length it was
  given: any mismatch raises :class:`ProofError` naming the reason code and rule.
* :class:`CompactRange` is the O(log n) right edge ("frontier") of a growing tree: one
  perfect-subtree hash per set bit of the size, highest first. Appending a leaf merges
  equal-sized subtrees like a binary counter; the root at the current size folds the
  frontier from the right. It persists as ``to_bytes``/``from_bytes``.

Serving proofs for a large log (the gateway's scheme). Node ``(level, index)`` is the root
of the *perfect* subtree over leaves ``[index·2^level, (index+1)·2^level)``; level 0 holds
the leaf hashes. ``CompactRange.append(h, on_node)`` reports every node that becomes
complete, so a store that saves each ``(level, index, hash)`` (about 2n rows for n leaves,
written in the same transaction as the leaf) can answer any proof with O(log n) look-ups:
the ``*_from`` functions ask a ``subtree(level, index) -> hash`` callable only for complete
perfect subtrees below the requested size. The one ragged subtree on the right edge of a
proof is folded from at most log n perfect ones (RFC 9162 MTH splits at the largest power of
two, so every range a proof needs starts on a multiple of a power of two covering it).
:func:`leaf_reader_subtree` adapts a ``get_leaf_hashes(start, end)`` reader instead, at the
cost of reading every leaf under a subtree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from creditx.standard.errors import RemoteError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"

SubtreeLookup = Callable[[int, int], bytes]
"""``subtree(level, index)``: hash of the perfect subtree over leaves [index·2^level, (index+1)·2^level)."""

_sha256 = hashlib.sha256


class ProofError(RemoteError):
    """A Merkle proof or its inputs are wrong. ``reason`` is a stable code, ``rule`` an AUD ID."""

    def __init__(self, reason: str, message: str, *, rule: str = "AUD-011", hint: str = "") -> None:
        super().__init__(
            f"{rule} {reason}: {message}",
            hint=hint or "fetch the proof again; if it still fails, the log is misbehaving — keep the evidence",
        )
        self.reason = reason
        self.rule = rule


# --- hashes (RFC 9162 §2.1.1) ----------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """AUD-001: SHA-256(0x00 || data)."""
    return _sha256(LEAF_PREFIX + bytes(data)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """AUD-002: SHA-256(0x01 || left || right)."""
    return _sha256(NODE_PREFIX + left + right).digest()


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """AUD-003: MTH over the given leaf hashes, bottom-up.

    Pairing neighbours level by level and carrying an unpaired last node up unchanged gives
    exactly RFC 9162's recursive split at the largest power of two below n.
    """
    level = [_check_hash(h, "leaf_hash", "AUD-003") for h in leaf_hashes]
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        nxt = [_sha256(NODE_PREFIX + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


# --- proofs from any subtree source -------------------------------------------------------


def _largest_pow2_below(n: int) -> int:
    """k of RFC 9162 §2.1.1: the largest power of two strictly smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_hash(start: int, end: int, subtree: SubtreeLookup) -> bytes:
    """MTH(D[start:end]) where ``start`` is a multiple of a power of two ≥ end − start.

    The range splits into perfect subtrees of decreasing size (the binary digits of its
    length); MTH folds them from the right.
    """
    parts: list[bytes] = []
    pos = start
    remaining = end - start
    while remaining:
        level = remaining.bit_length() - 1
        parts.append(subtree(level, pos >> level))
        pos += 1 << level
        remaining -= 1 << level
    h = parts.pop()
    while parts:
        h = node_hash(parts.pop(), h)
    return h


def _path_ranges(m: int, start: int, end: int) -> list[tuple[int, int]]:
    """RFC 9162 §2.1.3.1 PATH(m, D[start:end]) as the leaf ranges whose MTHs form the proof."""
    out: list[tuple[int, int]] = []
    while end - start > 1:
        k = _largest_pow2_below(end - start)
        if m < start + k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start += k
    out.reverse()  # the recursion emits the deepest sibling first
    return out


def _subproof_ranges(m: int, start: int, end: int) -> list[tuple[int, int]]:
    """RFC 9162 §2.1.4.1 SUBPROOF(m, D[start:end], true) as leaf ranges, m = old size."""
    out: list[tuple[int, int]] = []
    complete = True  # the "b" flag: is D[start:start+m] a subtree the verifier already knows?
    while True:
        n = end - start
        if m == n:
            if not complete:
                out.append((start, end))
            break
        k = _largest_pow2_below(n)
        if m <= k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start += k
            m -= k
            complete = False
    out.reverse()
    return out


def root_from(size: int, subtree: SubtreeLookup) -> bytes:
    """AUD-003: the tree hash at ``size`` from a subtree source."""
    _check_size(size)
    return EMPTY_ROOT if size == 0 else range_hash(0, size, subtree)


def inclusion_proof_from(index: int, size: int, subtree: SubtreeLookup) -> list[bytes]:
    """AUD-010: the audit path of leaf ``index`` in the tree of ``size`` leaves."""
    _check_size(size)
    if not 0 <= index < size:
        raise ProofError("INDEX_OUT_OF_RANGE", f"leaf index {index} is not below tree size {size}", rule="AUD-010")
    return [range_hash(a, b, subtree) for a, b in _path_ranges(index, 0, size)]


def consistency_proof_from(old_size: int, new_size: int, subtree: SubtreeLookup) -> list[bytes]:
    """AUD-012: the proof that the tree of ``old_size`` leaves is a prefix of ``new_size``."""
    _check_size(old_size)
    _check_size(new_size)
    if old_size > new_size:
        raise ProofError("SIZE_ORDER", f"old size {old_size} exceeds new size {new_size}", rule="AUD-012")
    if old_size == 0 or old_size == new_size:
        return []
    return [range_hash(a, b, subtree) for a, b in _subproof_ranges(old_size, 0, new_size)]


def _levels(leaf_hashes: Sequence[bytes]) -> list[list[bytes]]:
    """All complete perfect-subtree hashes of an in-memory tree, by level."""
    levels = [[_check_hash(h, "leaf_hash", "AUD-010") for h in leaf_hashes]]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([_sha256(NODE_PREFIX + below[i] + below[i + 1]).digest() for i in range(0, len(below) - 1, 2)])
    return levels


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """AUD-010: inclusion proof for leaf ``index`` in the tree over all ``leaf_hashes``."""
    levels = _levels(leaf_hashes)
    return inclusion_proof_from(index, len(leaf_hashes), lambda lvl, i: levels[lvl][i])


def consistency_proof(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """AUD-012: consistency proof from the first ``old_size`` leaves to all ``leaf_hashes``."""
    levels = _levels(leaf_hashes)
    return consistency_proof_from(old_size, len(leaf_hashes), lambda lvl, i: levels[lvl][i])


def leaf_reader_subtree(get_leaf_hashes: Callable[[int, int], Sequence[bytes]]) -> SubtreeLookup:
    """Adapt ``get_leaf_hashes(start, end)`` (leaf hashes of [start, end)) to a subtree source.

    Reads every leaf below each requested subtree: O(size) per proof, constant memory beyond
    one subtree. Prefer storing node hashes (see the module docstring) for large logs.
    """

    def subtree(level: int, index: int) -> bytes:
        start = index << level
        hashes = list(get_leaf_hashes(start, start + (1 << level)))
        if len(hashes) != 1 << level:
            raise ProofError(
                "LEAVES_MISSING",
                f"leaf reader returned {len(hashes)} of {1 << level} leaves at {start}",
                rule="AUD-010",
            )
        return root(hashes)

    return subtree


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ---------------------------------------


Proved = dict[tuple[int, bytes, int, int, bytes], Sequence[bytes]]


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes, proved: Proved | None = None
) -> None:
    """AUD-011: check that ``leaf`` (a leaf hash) is at ``index`` in the tree with ``root_hash``.

    Returns None on success; raises :class:`ProofError` otherwise.

    ``proved`` (optional, kept by the caller across the proofs of one batch): every state of
    the walk (tree, position, hash so far) of a proof that succeeded, with the rest of that
    proof. The walk is a function of its state and the hashes still to come, so a proof that
    reaches a remembered state with the same rest succeeds too, without hashing it: neighbours
    in a batch share most of their path.
    """
    _check_size(size, rule="AUD-011")
    _check_hash(leaf, "leaf_hash", "AUD-011")
    root_hash = _check_hash(root_hash, "root_hash", "AUD-011")
    if not 0 <= index < size:
        raise ProofError("INDEX_OUT_OF_RANGE", f"leaf index {index} is not below tree size {size}")
    fn, sn, r = index, size - 1, bytes(leaf)
    walked: list[tuple[tuple[int, bytes, int, int, bytes], Sequence[bytes]]] = []
    for i, p in enumerate(proof):
        if type(p) is not bytes or len(p) != HASH_SIZE:  # the common case checked inline (hot path)
            p = _check_hash(p, f"proof[{i}]", "AUD-011")
        if sn == 0:
            raise ProofError("PROOF_LENGTH", f"proof has {len(proof)} hashes, more than a tree of {size} needs")
        if fn & 1 or fn == sn:
            r = _sha256(NODE_PREFIX + p + r).digest()
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _sha256(NODE_PREFIX + r + p).digest()
        fn >>= 1
        sn >>= 1
        if proved is not None:
            state, rest = (size, root_hash, fn, sn, r), proof[i + 1 :]
            if proved.get(state) == rest:
                proved.update(walked)  # the states on the way there are proved too
                return
            walked.append((state, rest))
    if sn != 0:
        raise ProofError("PROOF_LENGTH", f"proof has {len(proof)} hashes, fewer than a tree of {size} needs")
    if r != root_hash:
        raise ProofError("ROOT_MISMATCH", f"proof for leaf {index} of {size} does not lead to the given root")
    if proved is not None:
        proved.update(walked)


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    """AUD-013: check that the tree (old_size, old_root) is a prefix of (new_size, new_root).

    Returns None on success; raises :class:`ProofError` otherwise (a failure between two
    signed checkpoints is evidence of a fork, AUD-030).
    """
    _check_size(old_size, rule="AUD-013")
    _check_size(new_size, rule="AUD-013")
    if old_size > new_size:
        raise ProofError("SIZE_ORDER", f"old size {old_size} exceeds new size {new_size}", rule="AUD-013")
    for i, p in enumerate(proof):
        _check_hash(p, f"proof[{i}]", "AUD-013")
    if old_size == new_size:
        if proof:
            raise ProofError("PROOF_LENGTH", "equal sizes need an empty proof", rule="AUD-013")
        if old_root != new_root:
            raise ProofError("ROOT_MISMATCH", f"two different roots for size {new_size}", rule="AUD-013")
        return
    if old_size == 0:
        if proof:
            raise ProofError("PROOF_LENGTH", "an empty old tree needs an empty proof", rule="AUD-013")
        return
    _check_hash(old_root, "old_root", "AUD-013")
    _check_hash(new_root, "new_root", "AUD-013")
    if not proof:
        raise ProofError("PROOF_LENGTH", f"empty proof from {old_size} to {new_size}", rule="AUD-013")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # old tree is a perfect subtree: its root starts the path
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("PROOF_LENGTH", f"proof too long for sizes {old_size}→{new_size}", rule="AUD-013")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("PROOF_LENGTH", f"proof too short for sizes {old_size}→{new_size}", rule="AUD-013")
    if fr != old_root:
        raise ProofError("ROOT_MISMATCH", f"proof does not lead to the old root at size {old_size}", rule="AUD-013")
    if sr != new_root:
        raise ProofError("ROOT_MISMATCH", f"proof does not lead to the new root at size {new_size}", rule="AUD-013")


# --- incremental tree ------------------------------------------------------------------------

_CR_MAGIC = b"CXCR\x01"


class CompactRange:
    """The right edge of a tree growing from leaf 0: one hash per set bit of ``size``.

    Invariant: ``len(self.hashes) == popcount(self.size)`` and ``hashes[i]`` is the root of
    the i-th perfect subtree from the left, the subtrees' sizes being the binary digits of
    ``size`` from the highest. Memory O(log n); append amortised one node hash.
    """

    __slots__ = ("size", "hashes")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        _check_size(size, rule="AUD-003")
        hashes = [_check_hash(h, f"hashes[{i}]", "AUD-003") for i, h in enumerate(hashes)]
        if len(hashes) != size.bit_count():
            raise ProofError(
                "FRONTIER_SHAPE",
                f"size {size} needs {size.bit_count()} frontier hashes, got {len(hashes)}",
                rule="AUD-003",
                hint="the persisted frontier is damaged; rebuild it from the stored leaves",
            )
        self.size = size
        self.hashes = hashes

    def append(self, leaf: bytes, on_node: Callable[[int, int, bytes], None] | None = None) -> None:
        """Add a leaf hash. ``on_node(level, index, hash)`` sees every node that becomes complete,
        the leaf itself at level 0 first (the storage scheme of the module docstring)."""
        h = _check_hash(leaf, "leaf_hash", "AUD-003")
        index, level, size, stack = self.size, 0, self.size, self.hashes
        if on_node is not None:
            on_node(0, index, h)
        while size & 1:
            h = _sha256(NODE_PREFIX + stack.pop() + h).digest()
            size >>= 1
            level += 1
            if on_node is not None:
                on_node(level, index >> level, h)
        stack.append(h)
        self.size += 1

    def extend(self, leaves: Sequence[bytes]) -> None:
        for h in leaves:
            self.append(h)

    def root(self) -> bytes:
        """AUD-003: the tree hash at the current size."""
        if not self.hashes:
            return EMPTY_ROOT
        h = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            h = node_hash(left, h)
        return h

    def copy(self) -> CompactRange:
        return CompactRange(self.size, list(self.hashes))

    def to_bytes(self) -> bytes:
        """``"CXCR" 0x01 || size (8 bytes, big-endian) || hashes`` — the persisted form."""
        return _CR_MAGIC + self.size.to_bytes(8, "big") + b"".join(self.hashes)

    @classmethod
    def from_bytes(cls, data: bytes) -> CompactRange:
        if len(data) < 13 or data[:5] != _CR_MAGIC or (len(data) - 13) % HASH_SIZE:
            raise ProofError(
                "FRONTIER_ENCODING",
                "not a persisted compact range (magic, version or length wrong)",
                rule="AUD-003",
                hint="the persisted frontier is damaged; rebuild it from the stored leaves",
            )
        body = data[13:]
        return cls(int.from_bytes(data[5:13], "big"), [body[i : i + HASH_SIZE] for i in range(0, len(body), HASH_SIZE)])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CompactRange) and (self.size, self.hashes) == (other.size, other.hashes)

    def __repr__(self) -> str:
        return f"CompactRange(size={self.size}, root={self.root().hex()[:16]}…)"


# --- input checks ---------------------------------------------------------------------------


def _check_hash(h: object, what: str, rule: str) -> bytes:
    if not isinstance(h, bytes | bytearray | memoryview) or len(h) != HASH_SIZE:
        size = len(h) if isinstance(h, bytes | bytearray | memoryview) else type(h).__name__
        raise ProofError("HASH_LENGTH", f"{what} must be {HASH_SIZE} bytes (got {size})", rule=rule)
    return bytes(h)


def _check_size(size: object, *, rule: str = "AUD-010") -> None:
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size < 1 << 63:
        raise ProofError("SIZE_RANGE", f"tree size must be an integer in [0, 2^63) (got {size!r})", rule=rule)
