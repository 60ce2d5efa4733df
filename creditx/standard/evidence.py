"""Offline checks of an audit log and of a self-contained evidence bundle (chapter 06).

Pure code over bytes and keys, no I/O: the gateway's ``audit verify`` feeds it the rows of its
database, ``creditx standard verify-bundle`` the contents of a bundle file, on a machine with
no gateway.

:func:`check_log` recomputes the RFC 9162 tree from the leaf contents (AUD-001…003) and checks
that leaves are numbered 0, 1, 2, … without holes (AUD-006), that every stored leaf hash is the
hash of its content, and that every checkpoint is validly signed (AUD-026) and has the root of
the recomputed tree at its size. Every problem names the first leaf index it concerns, so the
report can name the **first bad index**.

Bundle (``format: creditx-evidence/1``, JSON): ``origin``, ``verifier_key`` (AUD-025),
``certificates`` (PEM of the log's signing certificate and its CA), ``leaves`` (hex of each
leaf's content, in index order), ``checkpoints`` (size, hex root, signed note),
``consistency`` (proof between each pair of successive checkpoints, AUD-012) and
``inclusion`` (a proof of every leaf in the latest checkpoint, AUD-010).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from creditx.standard.checkpoint import (
    CheckpointError,
    NoteVerifier,
    parse_verifier_key,
    verifier_for,
    verify_checkpoint,
)
from creditx.standard.merkle import CompactRange, ProofError, leaf_hash, verify_consistency, verify_inclusion

BUNDLE_FORMAT = "creditx-evidence/1"
LEAF_KINDS = ("record", "list", "registry")


@dataclass(frozen=True)
class Problem:
    """One finding: ``index`` is the first leaf index concerned (the tree size for a checkpoint)."""

    index: int
    reason: str
    rule: str
    message: str


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    root: bytes
    note: str


def check_log(
    leaves: Iterable[tuple[int, bytes, bytes | None]],
    checkpoints: Sequence[StoredCheckpoint],
    verifiers: Sequence[NoteVerifier],
    origin: str,
) -> tuple[list[bytes], list[Problem]]:
    """Recompute the tree from ``(idx, leaf_data, stored_leaf_hash or None)`` rows in stored
    order; return the recomputed leaf hashes and every problem found."""
    problems: list[Problem] = []
    hashes: list[bytes] = []
    roots: dict[int, bytes] = {}
    wanted = {cp.size for cp in checkpoints}
    cr = CompactRange()
    if 0 in wanted:
        roots[0] = cr.root()
    for pos, (idx, data, stored) in enumerate(leaves):
        if idx != pos:
            problems.append(
                Problem(
                    min(idx, pos),
                    "LEAF_SEQUENCE",
                    "AUD-006",
                    f"leaf stored as index {idx} where index {pos} was expected "
                    "(a leaf was deleted, inserted or renumbered)",
                )
            )
        h = leaf_hash(data)
        if stored is not None and bytes(stored) != h:
            problems.append(
                Problem(pos, "LEAF_HASH", "AUD-001", f"leaf {pos}: stored hash is not SHA-256(0x00 || content)")
            )
        problems.extend(_check_content(pos, data))
        hashes.append(h)
        cr.append(h)
        if cr.size in wanted:
            roots[cr.size] = cr.root()
    for cp in checkpoints:
        problems.extend(_check_checkpoint(cp, roots, verifiers, origin, len(hashes)))
    return hashes, problems


def _check_content(pos: int, data: bytes) -> list[Problem]:
    try:
        obj = json.loads(data)
        ok = isinstance(obj, dict) and obj.get("kind") in LEAF_KINDS
    except ValueError:
        ok = False
    return [] if ok else [Problem(pos, "LEAF_CONTENT", "AUD-004", f"leaf {pos} is not an AUD-004/005/007 JSON object")]


def _check_checkpoint(
    cp: StoredCheckpoint, roots: dict[int, bytes], verifiers: Sequence[NoteVerifier], origin: str, n: int
) -> list[Problem]:
    try:
        signed = verify_checkpoint(cp.note, verifiers, origin=origin)
    except CheckpointError as exc:
        return [Problem(cp.size, exc.reason, exc.rule, f"checkpoint {cp.size}: {exc.message}")]
    if (signed.size, signed.root_hash) != (cp.size, bytes(cp.root)):
        return [
            Problem(
                cp.size,
                "CHECKPOINT_ROW",
                "AUD-026",
                f"stored size/root of checkpoint {cp.size} differ from its signed note",
            )
        ]
    if cp.size > n:
        return [
            Problem(
                n,
                "LEAVES_MISSING",
                "AUD-006",
                f"checkpoint {cp.size} signed more leaves than the {n} stored (leaves were removed)",
            )
        ]
    if roots.get(cp.size) != signed.root_hash:
        return [
            Problem(
                cp.size,
                "ROOT_MISMATCH",
                "AUD-003",
                f"the leaves' tree of size {cp.size} does not have the signed root: a leaf below "
                f"{cp.size} was altered, removed, inserted or reordered",
            )
        ]
    return []


def first_bad_index(problems: Sequence[Problem]) -> int | None:
    return min((p.index for p in problems), default=None)


def report(problems: Sequence[Problem], **facts: Any) -> dict[str, Any]:
    """The JSON-ready verdict: ``ok``, ``first_bad_index``, problems sorted by index."""
    ps = sorted(problems, key=lambda p: (p.index, p.reason))
    return {"ok": not ps, "first_bad_index": first_bad_index(ps), **facts, "problems": [asdict(p) for p in ps]}


def print_verdict(verdict: dict[str, Any], ok_line: str, what: str) -> int:
    """Human output of a verdict for the CLIs; returns the exit status (1 when not ok)."""
    if verdict["ok"]:
        print(ok_line)
        return 0
    print(f"{what} FAILED: first bad index {verdict['first_bad_index']}")
    for p in verdict["problems"][:20]:
        print(f"  [{p['index']}] {p['rule']} {p['reason']}: {p['message']}")
    return 1


# --- bundles ---------------------------------------------------------------------------------


def _cert(pem: str, what: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem.encode())
    except (ValueError, AttributeError) as exc:
        raise CheckpointError(
            "BAD_BUNDLE", f"certificates.{what} is not a PEM certificate: {exc}", rule="AUD-050"
        ) from None


def _hexes(values: Any, what: str) -> list[bytes]:
    try:
        return [bytes.fromhex(v) for v in values]
    except (TypeError, ValueError):
        raise CheckpointError("BAD_BUNDLE", f"{what} must be a list of hex strings", rule="AUD-050") from None


def verify_bundle(data: bytes, *, trusted_ca_pem: bytes | None = None) -> dict[str, Any]:
    """AUD-050: check an evidence bundle offline; returns :func:`report`'s verdict.

    The signing key is taken from the bundle's certificate, which must be issued by the
    bundle's CA; pass ``trusted_ca_pem`` (the provincial CA obtained out of band) to pin it.
    Raises :class:`CheckpointError` (``BAD_BUNDLE``) when the file is not a bundle at all, and
    for no other input raises anything else: a bundle is hostile input (a wrong type in any
    member, a number where a list belongs, nesting too deep) and gets a verdict or BAD_BUNDLE.
    """
    try:
        return _verify_bundle(data, trusted_ca_pem)
    except CheckpointError:
        raise
    except Exception as exc:  # noqa: BLE001 - any malformation of a member: the bundle is not well-formed
        raise CheckpointError(
            "BAD_BUNDLE",
            f"not a well-formed evidence bundle ({type(exc).__name__}: {str(exc)[:200]})",
            rule="AUD-050",
            hint="pass the file written by `creditx gateway audit export`",
        ) from None


def _verify_bundle(data: bytes, trusted_ca_pem: bytes | None) -> dict[str, Any]:
    try:
        b = json.loads(data)
        if b.get("format") != BUNDLE_FORMAT:
            raise ValueError(f"format is {b.get('format')!r}, expected {BUNDLE_FORMAT!r}")
        origin, certs = b["origin"], b["certificates"]
        leaves = _hexes(b["leaves"], "leaves")
        cps = [StoredCheckpoint(c["size"], bytes.fromhex(c["root"]), c["note"]) for c in b["checkpoints"]]
    except CheckpointError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(
            "BAD_BUNDLE",
            f"not an evidence bundle: {exc}",
            rule="AUD-050",
            hint="pass the file written by `creditx gateway audit export`",
        ) from None
    problems: list[Problem] = []
    signing, ca = _cert(certs["signing"], "signing"), _cert(certs["ca"], "ca")
    try:
        signing.verify_directly_issued_by(ca)
    except Exception as exc:  # signature, issuer name or key type wrong
        problems.append(Problem(0, "CERT_CHAIN", "AUD-050", f"the signing certificate is not issued by the CA: {exc}"))
    if trusted_ca_pem is not None and _cert(trusted_ca_pem.decode(), "trusted").fingerprint(
        hashes.SHA256()
    ) != ca.fingerprint(hashes.SHA256()):
        problems.append(Problem(0, "CA_NOT_TRUSTED", "AUD-050", "the bundle's CA is not the trusted CA given"))
    verifier = verifier_for(origin, signing.public_key())
    if b.get("verifier_key") and parse_verifier_key(b["verifier_key"]) != verifier:
        problems.append(Problem(0, "BAD_KEY", "AUD-025", "verifier_key does not match the signing certificate"))
    leaf_hashes, found = check_log(((i, d, None) for i, d in enumerate(leaves)), cps, [verifier], origin)
    problems += found
    by_size = {c.size: c.root for c in cps}
    for c in b.get("consistency", []):
        try:
            verify_consistency(c["old"], c["new"], by_size[c["old"]], by_size[c["new"]], _hexes(c["hashes"], "proof"))
        except (ProofError, KeyError) as exc:
            problems.append(
                Problem(c.get("old", 0), "FORK", "AUD-030", f"consistency {c.get('old')}→{c.get('new')}: {exc}")
            )
    for p in b.get("inclusion", []):
        i = p.get("index", -1)
        try:
            verify_inclusion(i, p["size"], leaf_hashes[i], _hexes(p["hashes"], "proof"), by_size[p["size"]])
        except (ProofError, KeyError, IndexError, TypeError) as exc:
            problems.append(Problem(max(i, 0), "INCLUSION", "AUD-011", f"inclusion proof of leaf {i}: {exc}"))
    return report(
        problems,
        origin=origin,
        leaves=len(leaves),
        checkpoints=len(cps),
        latest_size=max(by_size, default=0),
        proofs_checked=len(b.get("inclusion", [])) + len(b.get("consistency", [])),
    )
