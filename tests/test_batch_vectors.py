"""batch-suite.json through creditx.standard.batch: every record verifies on its own against its
batch's checkpoint, the second checkpoint extends the first, and every invalid case is refused
with its reason code and requirement ID."""

from __future__ import annotations

import json

import pytest

from creditx.standard.batch import (
    BatchCheckpointError,
    check_extends,
    note_verifiers,
    verify_batch_checkpoint,
    verify_batched_record,
)
from creditx.standard.checkpoint import Checkpoint, parse_checkpoint
from creditx.standard.envelope import SignatureError
from creditx.standard.vectors import VECTOR_DIR, gen_crypto

V = json.loads((VECTOR_DIR / "batch-suite.json").read_text())
KEYS = {s + "#1": gen_crypto.test_private_key(s) for s in ("ECDSA-P256-SHA256", "ED25519")}


def _key(name: str):
    return KEYS[name.split(" ")[0]].public_key()


def _verify(rec: dict, note: str, pubs) -> Checkpoint:
    sig = bytes.fromhex(rec["signature"]["sig_hex"])
    return verify_batched_record(V["region"], rec["source_seq"], bytes.fromhex(rec["payload_hex"]), sig, note, pubs)


@pytest.mark.parametrize("log", V["logs"], ids=lambda g: g["signing_key"])
def test_every_record_verifies_alone_and_the_log_only_grows(log):
    pub = _key(log["signing_key"])
    for b in log["batches"]:
        for rec in b["records"]:
            assert _verify(rec, b["checkpoint"], [pub]).size == b["records"][-1]["source_seq"] + 1
    first, second = (parse_checkpoint(b["checkpoint"])[0] for b in log["batches"])
    proof = [bytes.fromhex(h) for h in log["batches"][1]["consistency_proof_hex"]]
    assert log["batches"][1]["consistency_from"] == first.size
    check_extends(first, second, proof)
    with pytest.raises(BatchCheckpointError):
        check_extends(first, second, proof[:-1])


@pytest.mark.parametrize("case", V["invalid"], ids=lambda c: c["name"])
def test_invalid_cases_are_refused_with_their_reason(case):
    pub = _key(case.get("trusted", "ECDSA-P256-SHA256#1"))
    with pytest.raises((SignatureError, BatchCheckpointError)) as e:
        _verify(case["record"], case["checkpoint"], [pub])
    err = e.value
    assert isinstance(err, SignatureError | BatchCheckpointError)
    assert (err.reason, err.rule) == (case["expect"]["reason"], case["expect"]["rule"])


def test_a_rewritten_history_is_a_fork():
    h = V["rewritten_history"]
    verifiers = note_verifiers(V["region"], [_key("ECDSA-P256-SHA256#1")])
    old = verify_batch_checkpoint(h["stored"], V["region"], verifiers)
    new = verify_batch_checkpoint(h["new"], V["region"], verifiers)  # validly signed: only history exposes it
    with pytest.raises(BatchCheckpointError) as e:
        check_extends(old, new, [bytes.fromhex(x) for x in h["consistency_proof_hex"]])
    assert (e.value.reason, e.value.rule) == (h["expect"]["reason"], h["expect"]["rule"])
