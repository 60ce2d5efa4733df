"""Test vectors of the batch-signed suite (chapter 03 §7, chapter 05 "Batch-signed pushes").

``build(today)`` returns ``{"batch-suite.json": {...}}``: one node's outbox log of five records
pushed in two batches, each with its signed checkpoint (C2SP note, the published ECDSA P-256 and
Ed25519 test keys of ``crypto-keys.json``, RFC 6979 nonces), every record's inclusion path and
the consistency proof between the two checkpoints; then the cases a receiver must refuse, each
with its reason code and requirement ID. Deterministic: ``today`` is unused.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from creditx.standard.batch import BATCH_SUITE, encode_path, genesis_leaf, outbox_origin
from creditx.standard.checkpoint import Checkpoint, sign_checkpoint
from creditx.standard.merkle import consistency_proof, inclusion_proof, leaf_hash, root
from creditx.standard.record import Record, encode_record
from creditx.standard.suites import key_id
from creditx.standard.vectors.gen_crypto import test_private_key

REGION = "370100"


def _payloads(n: int, *, changed: int = 0) -> list[bytes]:
    out = []
    for seq in range(1, n + 1):
        fields = {"CF_WSH": f"济市监罚〔2025〕{seq}号", "CF_XDR_MC": "济南某某商贸有限公司", "CF_JDRQ": "2025-06-01"}
        if seq == changed:
            fields["CF_WSH"] = "rewritten"
        out.append(encode_record(Record("XZCF", "I", REGION, f"jn-cf-{seq:04d}", 1, seq, fields)))
    return out


def _log(payloads: list[bytes]) -> list[bytes]:
    return [leaf_hash(genesis_leaf(REGION))] + [leaf_hash(p) for p in payloads]


def _batch(suite: str, payloads: list[bytes], first: int, last: int) -> dict[str, Any]:
    key = test_private_key(suite)
    leaves = _log(payloads)[: last + 1]
    cp = Checkpoint(outbox_origin(REGION), last + 1, root(leaves))
    return {
        "checkpoint": sign_checkpoint(cp, outbox_origin(REGION), key),
        "records": [
            {
                "source_seq": s,
                "payload_hex": payloads[s - 1].hex(),
                "signature": {
                    "keyid": key_id(key.public_key()),
                    "suite": BATCH_SUITE,
                    "sig_hex": encode_path(inclusion_proof(s, leaves)).hex(),
                },
            }
            for s in range(first, last + 1)
        ],
    }


def build(today: _dt.date) -> dict[str, Any]:
    del today
    payloads = _payloads(5)
    logs: list[dict[str, Any]] = []
    for suite in ("ECDSA-P256-SHA256", "ED25519"):
        b1, b2 = _batch(suite, payloads, 1, 3), _batch(suite, payloads, 4, 5)
        b2["consistency_from"] = 4
        b2["consistency_proof_hex"] = [h.hex() for h in consistency_proof(4, _log(payloads))]
        logs.append({"signing_key": f"{suite}#1 of crypto-keys.json", "batches": [b1, b2]})
    ec1: list[dict[str, Any]] = logs[0]["batches"]
    r2: dict[str, Any] = ec1[0]["records"][1]
    forked = _payloads(5, changed=2)
    fork = _batch("ECDSA-P256-SHA256", forked, 4, 5)
    invalid = [
        {
            "name": "another record's path",
            "record": dict(r2, signature=dict(r2["signature"], sig_hex=ec1[0]["records"][2]["signature"]["sig_hex"])),
            "checkpoint": ec1[0]["checkpoint"],
            "expect": {"reason": "SIG_BATCH_PROOF", "rule": "SIG-044"},
        },
        {
            "name": "path cut short",
            "record": dict(r2, signature=dict(r2["signature"], sig_hex=r2["signature"]["sig_hex"][:-64])),
            "checkpoint": ec1[0]["checkpoint"],
            "expect": {"reason": "SIG_BATCH_PROOF", "rule": "SIG-044"},
        },
        {
            "name": "path not whole hashes",
            "record": dict(r2, signature=dict(r2["signature"], sig_hex=r2["signature"]["sig_hex"][:-2])),
            "checkpoint": ec1[0]["checkpoint"],
            "expect": {"reason": "SIG_BATCH_PROOF", "rule": "SIG-044"},
        },
        {
            "name": "checkpoint signed by a key the receiver does not trust (ED25519#1 only trusted)",
            "record": r2,
            "checkpoint": ec1[0]["checkpoint"],
            "trusted": "ED25519#1",
            "expect": {"reason": "SYNC_CHECKPOINT_INVALID", "rule": "SYNC-061"},
        },
        {
            "name": "checkpoint does not cover the record",
            "record": ec1[1]["records"][0],
            "checkpoint": ec1[0]["checkpoint"],
            "expect": {"reason": "SYNC_CHECKPOINT_INVALID", "rule": "SYNC-061"},
        },
    ]
    history = {
        "name": "second checkpoint of a log whose record 2 was rewritten",
        "stored": ec1[0]["checkpoint"],
        "new": fork["checkpoint"],
        "consistency_proof_hex": [h.hex() for h in consistency_proof(4, _log(forked))],
        "expect": {"reason": "SYNC_CHECKPOINT_FORK", "rule": "SYNC-062"},
    }
    return {
        "batch-suite.json": {
            "spec": "spec/03-envelope.md §7, spec/05-sync.md (batch-signed pushes)",
            "rules": "SIG-040..SIG-045, SYNC-060..SYNC-064",
            "region": REGION,
            "origin": outbox_origin(REGION),
            "leaf_0_hex": genesis_leaf(REGION).hex(),
            "logs": logs,
            "invalid": invalid,
            "rewritten_history": history,
        }
    }
