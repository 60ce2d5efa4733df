"""Test vectors of chapter 06 (audit log): Merkle trees, proofs, compact ranges, checkpoints.

``build(today)`` returns ``{"merkle.json": {...}, "checkpoints.json": [...]}``; the vectors
runner (``creditx/standard/vectors/generate.py``) writes and diff-checks them. Everything here is
deterministic: fixed leaves, fixed timestamps, published test keys (Ed25519 is deterministic,
ECDSA uses RFC 6979 nonces), so the output never depends on the day it is generated —
``today`` is accepted for the runner's uniform interface and deliberately unused.

Tree ``rfc6962`` holds the eight leaves of the RFC 6962 / Certificate Transparency reference
tests, so a vendor can check its Merkle code against CT implementations and ours at once; tree
``audit`` holds audit leaves in the AUD-004/AUD-005 content form.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from creditx.standard.canonical import canonicalize
from creditx.standard.checkpoint import Checkpoint, NoteVerifier, sign_checkpoint, sign_note, verifier_for
from creditx.standard.merkle import CompactRange, consistency_proof, inclusion_proof, leaf_hash, root
from creditx.standard.receipts import record_leaf_data
from creditx.standard.timestamps import rfc3339

RFC6962_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
ORIGIN = "gateway.creditx.example/audit/v1"
# Published test keys: never use them outside tests and vectors.
ED25519_SEED = hashlib.sha256(b"creditx test vector key: audit checkpoints ed25519").digest()
ECDSA_SCALAR = int.from_bytes(hashlib.sha256(b"creditx test vector key: audit checkpoints ecdsa-p256").digest(), "big")
_BASE = _dt.datetime(2024, 3, 1, 8, 0, 0, tzinfo=_dt.UTC)
_DECISIONS = ("ACCEPTED", "DUPLICATE", "SUPERSEDED", "REJECTED")
_REASONS = {"REJECTED": "USCC_CHECKSUM"}
_CITIES = ("370100", "370200", "370300", "370000")


def _at(seconds: int) -> str:
    """AUD-004 time form: RFC 3339, UTC, ``Z``, exactly three fractional digits."""
    return rfc3339(_BASE + _dt.timedelta(seconds=seconds, milliseconds=seconds * 7 % 1000))


def audit_leaves() -> list[dict[str, Any]]:
    """Example audit-log leaf contents: record decisions (AUD-004) and list changes (AUD-005)."""
    out: list[dict[str, Any]] = []
    for i in range(16):
        decision = _DECISIONS[i % 4]
        out.append(
            {
                "kind": "record",
                "fp": hashlib.sha256(f"record {i}".encode()).hexdigest(),
                "node": _CITIES[i % 4],
                "seq": 1 + i // 4,
                "decision": decision,
                "reason": _REASONS.get(decision, ""),
                "at": _at(i),
            }
        )
    for j, change in enumerate(("ADD", "CORRECT", "REMOVE", "ADD", "REMOVE")):
        out.append(
            {
                "kind": "list",
                "list_seq": j + 1,
                "fp": hashlib.sha256(f"list {j}".encode()).hexdigest(),
                "node": _CITIES[j % 4],
                "list_type": "SXBZXR" if j % 2 == 0 else "AJNSR",
                "change": change,
                "reason": {2: "EXPIRED", 4: "REPAIRED"}.get(j, ""),
                "at": _at(100 + j),
            }
        )
    return out


def _hexes(hs: list[bytes]) -> list[str]:
    return [h.hex() for h in hs]


def _tree(name: str, leaf_data: list[bytes], all_pairs: bool) -> dict[str, Any]:
    hashes = [leaf_hash(d) for d in leaf_data]
    n = len(hashes)
    pairs = (
        [(m, k) for k in range(n + 1) for m in range(k + 1)]
        if all_pairs
        else [(m, k) for k in (1, 2, 7, 8, 13, n) for m in sorted({0, 1, k // 2, k - 1, k}) if 0 <= m <= k <= n]
    )
    sizes = range(1, n + 1) if all_pairs else sorted({1, 5, 8, 13, n})
    return {
        "name": name,
        "leaf_data_hex": [d.hex() for d in leaf_data],
        "leaf_hashes": _hexes(hashes),
        "roots": {str(k): root(hashes[:k]).hex() for k in range(n + 1)},
        "inclusion": [
            {"index": i, "size": k, "proof": _hexes(inclusion_proof(i, hashes[:k]))} for k in sizes for i in range(k)
        ],
        "consistency": [
            {"old_size": m, "new_size": k, "proof": _hexes(consistency_proof(m, hashes[:k]))} for m, k in pairs
        ],
        "compact_range": {str(k): _compact(hashes[:k]).to_bytes().hex() for k in (0, 1, 3, 8, n)},
    }


def _compact(hashes: list[bytes]) -> CompactRange:
    cr = CompactRange()
    cr.extend(hashes)
    return cr


def _invalid_cases(tree: dict[str, Any]) -> list[dict[str, Any]]:
    """Proofs a verifier MUST reject, with the reason code our verifier gives."""
    inc = next(c for c in tree["inclusion"] if c["size"] == 8 and c["index"] == 5)
    con = next(c for c in tree["consistency"] if (c["old_size"], c["new_size"]) == (6, 8))
    flipped = "f" + inc["proof"][1][1:] if inc["proof"][1][0] != "f" else "0" + inc["proof"][1][1:]
    return [
        {
            "kind": "inclusion",
            "index": 4,
            "size": 8,
            "proof": inc["proof"],
            "leaf": "leaf_hashes[5]",
            "reason": "ROOT_MISMATCH",
            "desc": "wrong index",
        },
        {
            "kind": "inclusion",
            "index": 5,
            "size": 8,
            "proof": [inc["proof"][0], flipped, inc["proof"][2]],
            "reason": "ROOT_MISMATCH",
            "desc": "proof[1] altered",
        },
        {
            "kind": "inclusion",
            "index": 5,
            "size": 8,
            "proof": inc["proof"][:2],
            "reason": "PROOF_LENGTH",
            "desc": "truncated",
        },
        {
            "kind": "inclusion",
            "index": 8,
            "size": 8,
            "proof": inc["proof"],
            "reason": "INDEX_OUT_OF_RANGE",
            "desc": "index beyond size",
        },
        {
            "kind": "consistency",
            "old_size": 6,
            "new_size": 8,
            "proof": con["proof"][:2],
            "reason": "PROOF_LENGTH",
            "desc": "truncated",
        },
        {
            "kind": "consistency",
            "old_size": 5,
            "new_size": 8,
            "proof": con["proof"],
            "reason": "PROOF_LENGTH",
            "desc": "wrong old size",
        },
        {
            "kind": "consistency",
            "old_size": 8,
            "new_size": 6,
            "proof": [],
            "reason": "SIZE_ORDER",
            "desc": "new tree smaller",
        },
    ]


def _keys() -> tuple[ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey]:
    return ed25519.Ed25519PrivateKey.from_private_bytes(ED25519_SEED), ec.derive_private_key(
        ECDSA_SCALAR, ec.SECP256R1()
    )


def _checkpoints(tree: dict[str, Any]) -> list[dict[str, Any]]:
    ed_key, ec_key = _keys()
    ed_v, ec_v = verifier_for(ORIGIN, ed_key.public_key()), verifier_for(ORIGIN, ec_key.public_key())
    other_v = verifier_for(ORIGIN, ed25519.Ed25519PrivateKey.from_private_bytes(b"\x07" * 32).public_key())
    roots = tree["roots"]
    out: list[dict[str, Any]] = []

    def ok(desc: str, note: str, verifiers: list[NoteVerifier], cp: Checkpoint) -> None:
        out.append(
            {
                "desc": desc,
                "note": note,
                "verifier_keys": [v.to_string() for v in verifiers],
                "valid": True,
                "origin": cp.origin,
                "size": cp.size,
                "root_hash": base64.b64encode(cp.root_hash).decode(),
                "extensions": list(cp.extensions),
            }
        )

    def bad(desc: str, note: str, verifiers: list[NoteVerifier], reason: str) -> None:
        out.append(
            {
                "desc": desc,
                "note": note,
                "verifier_keys": [v.to_string() for v in verifiers],
                "valid": False,
                "reason": reason,
            }
        )

    cps = {k: Checkpoint(ORIGIN, k, bytes.fromhex(roots[str(k)])) for k in (0, 1, 13, len(roots) - 1)}
    for k, cp in cps.items():
        ok(f"Ed25519 checkpoint at size {k}", sign_checkpoint(cp, ORIGIN, ed_key), [ed_v], cp)
    last = cps[len(roots) - 1]
    ec_note = sign_checkpoint(last, ORIGIN, ec_key)
    ok("ECDSA P-256 (type 0x02) checkpoint", ec_note, [ec_v], last)
    both = sign_checkpoint(last, ORIGIN, ed_key) + ec_note.split("\n\n")[1]
    ok("signed by both keys; the ECDSA key alone is trusted", both, [ec_v], last)
    ext = Checkpoint(ORIGIN, 13, bytes.fromhex(roots["13"]), ("creditx-epoch 1",))
    ok("checkpoint with an extension line", sign_checkpoint(ext, ORIGIN, ed_key), [ed_v], ext)
    good = sign_checkpoint(cps[13], ORIGIN, ed_key)
    bad("size changed after signing", good.replace("\n13\n", "\n14\n", 1), [ed_v], "BAD_SIGNATURE")
    bad("only an unknown key signed", good, [other_v], "NO_TRUSTED_SIGNATURE")
    bad("no blank line before the signature", good.replace("\n\n", "\n", 1), [ed_v], "MALFORMED_NOTE")
    leading_zero = f"{ORIGIN}\n013\n{base64.b64encode(cps[13].root_hash).decode()}\n".encode()
    bad("size with a leading zero", sign_note(leading_zero, ORIGIN, ed_key), [ed_v], "BAD_SIZE")
    return out


def build(today: _dt.date) -> dict[str, Any]:
    del today  # the vectors are date-independent (module docstring)
    rfc = _tree("rfc6962", [bytes.fromhex(x) for x in RFC6962_LEAVES], all_pairs=True)
    leaves = audit_leaves()
    audit = _tree("audit", [canonicalize(x) for x in leaves], all_pairs=False)
    audit["leaf_content"] = leaves
    ed_key, ec_key = _keys()
    merkle: dict[str, Any] = {
        "spec": "spec/06-audit.md",
        "hash": "SHA-256; leaf = H(0x00 || data), node = H(0x01 || left || right), empty tree = H('') (AUD-001..003)",
        "trees": [rfc, audit],
        "invalid": _invalid_cases(rfc),
    }
    keys = {
        "ed25519_seed_hex": ED25519_SEED.hex(),
        "ed25519_verifier_key": verifier_for(ORIGIN, ed_key.public_key()).to_string(),
        "ecdsa_p256_private_scalar_hex": f"{ECDSA_SCALAR:064x}",
        "ecdsa_p256_verifier_key": verifier_for(ORIGIN, ec_key.public_key()).to_string(),
    }
    merkle["test_keys"] = keys
    return {"merkle.json": merkle, "checkpoints.json": _checkpoints(audit), "receipts.json": _receipts()}


def _receipts() -> dict[str, Any]:
    """AUD-035 (1.1): acks of one node whose receipts verify from the ack and the checkpoint alone."""
    node = "370100"
    acks: list[dict[str, Any]] = [
        {"source_seq": 1, "outcome": "ACCEPTED", "reason_code": "", "fp": hashlib.sha256(b"receipt 1").hexdigest()},
        {
            "source_seq": 2,
            "outcome": "REJECTED",
            "reason_code": "USCC_CHECKSUM",
            "fp": hashlib.sha256(b"receipt 2").hexdigest(),
        },
        {"source_seq": 3, "outcome": "REJECTED", "reason_code": "SIG_INVALID", "fp": ""},
        {
            "source_seq": 4,
            "outcome": "SUPERSEDED",
            "reason_code": "OLDER_THAN_STORED",
            "fp": hashlib.sha256(b"receipt 4").hexdigest(),
        },
    ]
    leaves: list[bytes] = [canonicalize(audit_leaves()[1])]  # another node's leaf first: indexes are the log's
    for i, a in enumerate(acks):
        a.update(log_index=len(leaves), decided_at=_at(100 + i), logged=True)
        leaves.append(
            record_leaf_data(
                bytes.fromhex(a["fp"]), node, a["source_seq"], a["outcome"], a["reason_code"], a["decided_at"]
            )
        )
    hashes = [leaf_hash(x) for x in leaves]
    ed_key, _ = _keys()
    cp = Checkpoint(ORIGIN, len(leaves), root(hashes))
    cases = [
        dict(
            ack=a,
            node=node,
            leaf_hex=leaves[a["log_index"]].hex(),
            proof=[h.hex() for h in inclusion_proof(a["log_index"], hashes)],
        )
        for a in acks
    ]
    gap = {
        "source_seq": 9,
        "outcome": "REJECTED",
        "reason_code": "SYNC_SEQ_GAP",
        "fp": "",
        "log_index": 0,
        "decided_at": "",
        "logged": False,
    }
    return {
        "spec": "spec/06-audit.md AUD-035, AUD-004",
        "desc": "rebuild the leaf from ack + node region (fp hex; '' when the payload did not decode), "
        "check leaf_hex, verify the inclusion proof against the checkpoint; an ack with logged=false has no receipt",
        "checkpoint": sign_checkpoint(cp, ORIGIN, ed_key),
        "verifier_key": verifier_for(ORIGIN, ed_key.public_key()).to_string(),
        "valid": cases,
        "no_leaf": [dict(ack=gap, node=node, reason="NO_LEAF")],
    }
