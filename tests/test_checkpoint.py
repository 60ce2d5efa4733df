"""Tests of creditx.standard.checkpoint (AUD-020…AUD-030): C2SP checkpoints in signed notes."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from creditx.standard.checkpoint import (
    ALG_ECDSA,
    ALG_ED25519,
    Checkpoint,
    CheckpointError,
    check_consistent,
    open_note,
    parse_body,
    parse_checkpoint,
    parse_signer_key,
    parse_verifier_key,
    sign_checkpoint,
    sign_note,
    verifier_for,
    verify_checkpoint,
)
from creditx.standard.merkle import EMPTY_ROOT, consistency_proof, leaf_hash, root

VEC = json.loads((Path(__file__).parent / "data" / "merkle" / "signed-note-vectors.json").read_text())
ED = VEC["ed25519"]
EC = VEC["ecdsa"]
ORIGIN = "gateway.creditx.sd.gov.cn/audit"


def _ed_key(n: int = 1) -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(bytes([n]) * 32)


def _ec_key(n: int = 1) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(1000 + n, ec.SECP256R1())


def _cp(size: int = 3, ext=()) -> Checkpoint:
    leaves = [leaf_hash(bytes([i])) for i in range(size)]
    return Checkpoint(ORIGIN, size, root(leaves), ext)


# --- third-party vectors: golang.org/x/mod/sumdb/note and Sigstore Rekor ------------------------


def test_go_ed25519_vector_signs_byte_for_byte():  # AUD-022, AUD-023, AUD-025
    name, key = parse_signer_key(ED["skey"])
    v = parse_verifier_key(ED["vkey"])
    assert name == v.name == "PeterNeumann" and v.alg == ALG_ED25519 and v.key_id == 0xC74F20A3
    assert verifier_for(name, key.public_key()).to_string() == ED["vkey"]
    assert sign_note(ED["text"].encode(), name, key) == ED["signed"]
    body, sigs = open_note(ED["signed"], [v])
    assert body == ED["text"] and [s.name for s in sigs] == ["PeterNeumann"]


def test_go_vector_unknown_signatures_ignored_known_bad_rejected():  # AUD-026
    peter, enoch = parse_verifier_key(ED["vkey"]), parse_verifier_key(ED["other_vkey"])
    both = ED["signed"] + ED["other_sig_line"]
    assert len(open_note(both, [peter])[1]) == 1  # Enoch's signature is from an unknown key
    assert len(open_note(both, [peter, enoch])[1]) == 2
    with pytest.raises(CheckpointError) as e:
        open_note(both, [])
    assert e.value.reason == "NO_TRUSTED_SIGNATURE"
    sig_line = ED["signed"].split("\n\n")[1]
    tampered = ED["text"] + "\n" + sig_line[:60] + "ABCD" + sig_line[60:]
    with pytest.raises(CheckpointError) as e:
        open_note(tampered, [peter])
    assert e.value.reason == "BAD_SIGNATURE" and e.value.rule == "AUD-026"
    with pytest.raises(CheckpointError) as e:
        open_note(ED["signed"], [peter, peter])
    assert e.value.reason == "AMBIGUOUS_KEY"


@pytest.mark.parametrize(
    "bad",
    [
        lambda t, s: t,
        lambda t, s: t + "\n",
        lambda t, s: t + "\n" + s[:-1],
        lambda t, s: "\x01" + t + "\n" + s,
        lambda t, s: t + "\n" + "\u2014 Bad Name " + s.split(" ")[2],
        lambda t, s: t + "\n" + s + "Unexpected line.\n",
        lambda t, s: t + "\n" + s * 101,
    ],
)
def test_go_vector_malformed_notes(bad):  # AUD-021 (upstream TestOpen badMsgs)
    sig_line = ED["signed"].split("\n\n")[1]
    with pytest.raises(CheckpointError) as e:
        open_note(bad(ED["text"], sig_line), [parse_verifier_key(ED["vkey"])])
    assert e.value.reason == "MALFORMED_NOTE" and e.value.rule == "AUD-021"


def test_go_vector_bad_verifier_keys():  # AUD-025 (upstream TestNewVerifier manglings)
    vkey = ED["vkey"]
    for k in (
        vkey[:-1],
        vkey[1:],
        "PeterNeumann+c74f20a4" + vkey[21:],
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ):
        with pytest.raises(CheckpointError) as e:
            parse_verifier_key(k)
        assert e.value.reason == "BAD_KEY"


@pytest.mark.parametrize("which", ["", "pixel_"])
def test_real_ecdsa_checkpoints_verify(which):  # AUD-024: signature type 0x02, as Rekor signs
    v = parse_verifier_key(EC[which + "vkey"])
    assert v.alg == ALG_ECDSA and v.to_string() == EC[which + "vkey"]
    cp = verify_checkpoint(EC[which + "signed"], [v])
    assert cp.size == (798034 if not which else 10)
    with pytest.raises(CheckpointError) as e:
        verify_checkpoint(EC[which + "signed"].replace("\n", "\n1", 1), [v])  # size changed
    assert e.value.reason == "BAD_SIGNATURE"


# --- our own signing, both algorithms ---------------------------------------------------------


@pytest.mark.parametrize("make_key", [_ed_key, _ec_key], ids=["ed25519", "ecdsa-p256"])
def test_sign_verify_roundtrip_and_tampering(make_key):  # AUD-020, AUD-023, AUD-024, AUD-026
    key = make_key()
    cp = _cp(5, ("ext one",))
    note = sign_checkpoint(cp, ORIGIN, key)
    v = parse_verifier_key(verifier_for(ORIGIN, key.public_key()).to_string())
    assert verify_checkpoint(note, [v], origin=ORIGIN) == cp
    assert parse_checkpoint(note)[0] == cp
    assert sign_checkpoint(cp, ORIGIN, key) == note  # deterministic (Ed25519; RFC 6979 ECDSA)
    body_len = len(cp.body())
    for i in range(body_len):
        raw = bytearray(note.encode())
        raw[i] ^= 0x01
        with pytest.raises(CheckpointError):
            verify_checkpoint(bytes(raw), [v])
    other = verifier_for(ORIGIN, make_key(2).public_key())
    with pytest.raises(CheckpointError) as e:
        verify_checkpoint(note, [other])
    assert e.value.reason == "NO_TRUSTED_SIGNATURE"
    with pytest.raises(CheckpointError) as e:
        verify_checkpoint(note, [v], origin="other.example/log")
    assert e.value.reason == "WRONG_ORIGIN"


def test_cosigned_note_with_both_algorithms():
    cp = _cp(4)
    ed_note = sign_checkpoint(cp, "ed.example/log", _ed_key())
    ec_line = sign_checkpoint(cp, "ec.example/log", _ec_key()).split("\n\n")[1]
    both = ed_note + ec_line
    ved = verifier_for("ed.example/log", _ed_key().public_key())
    vec = verifier_for("ec.example/log", _ec_key().public_key())
    assert verify_checkpoint(both, [vec]) == cp
    assert len(open_note(both, [ved, vec])[1]) == 2


def test_ecdsa_key_id_is_hash_of_spki_only():  # AUD-022: signed-note type 0x02
    pub = _ec_key().public_key()
    assert verifier_for("a.example", pub).key_id == verifier_for("b.example", pub).key_id
    pub_ed = _ed_key().public_key()
    assert verifier_for("a.example", pub_ed).key_id != verifier_for("b.example", pub_ed).key_id


def test_unsupported_key_types_refused():
    with pytest.raises(CheckpointError) as e:
        verifier_for("x", ec.derive_private_key(5, ec.SECP384R1()).public_key())
    assert e.value.reason == "UNSUPPORTED_KEY"
    with pytest.raises(CheckpointError):
        rsa_key: Any = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # the wrong type on purpose
        sign_checkpoint(_cp(), "x", rsa_key)


# --- the body (AUD-020) -----------------------------------------------------------------------


def test_body_format_matches_c2sp():
    cp = Checkpoint("example.com/behind-the-sofa", 0, EMPTY_ROOT)
    assert cp.body() == b"example.com/behind-the-sofa\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    assert parse_body(cp.body()) == cp


@pytest.mark.parametrize(
    "body, reason",
    [
        ("o\n01\n" + base64.b64encode(EMPTY_ROOT).decode() + "\n", "BAD_SIZE"),
        ("o\n-1\n" + base64.b64encode(EMPTY_ROOT).decode() + "\n", "BAD_SIZE"),
        ("o\n1 \n" + base64.b64encode(EMPTY_ROOT).decode() + "\n", "BAD_SIZE"),
        ("o\n99999999999999999999\n" + base64.b64encode(EMPTY_ROOT).decode() + "\n", "BAD_SIZE"),
        ("o\n1\n" + base64.b64encode(EMPTY_ROOT[:31]).decode() + "\n", "BAD_ROOT"),
        ("o\n1\nnot base64!\n", "BAD_ROOT"),
        ("o\n1\n", "BAD_BODY"),
        ("o\n1\n" + base64.b64encode(EMPTY_ROOT).decode(), "BAD_BODY"),
        ("\n1\n" + base64.b64encode(EMPTY_ROOT).decode() + "\n", "BAD_BODY"),
        ("o\n1\n" + base64.b64encode(EMPTY_ROOT).decode() + "\n\n", "BAD_BODY"),
    ],
)
def test_bad_bodies(body, reason):
    with pytest.raises(CheckpointError) as e:
        parse_body(body)
    assert e.value.reason == reason and e.value.rule == "AUD-020"


def test_checkpoint_constructor_checks_fields():
    cases: list[tuple[Any, ...]] = [
        ("", 1, EMPTY_ROOT),
        ("a\nb", 1, EMPTY_ROOT),
        ("o", -1, EMPTY_ROOT),
        ("o", 1, b"x"),
        ("o", 1, EMPTY_ROOT, ("",)),
    ]
    for args in cases:
        with pytest.raises(CheckpointError):
            Checkpoint(*args)


# --- what a node checks between checkpoints (AUD-030) ------------------------------------------


def test_consistency_between_checkpoints_fork_and_rollback():
    leaves = [leaf_hash(bytes([i])) for i in range(20)]
    old = Checkpoint(ORIGIN, 7, root(leaves[:7]))
    new = Checkpoint(ORIGIN, 20, root(leaves))
    proof = consistency_proof(7, leaves)
    check_consistent(old, new, proof)
    check_consistent(old, old, [])
    forked_leaves = leaves[:5] + [leaf_hash(b"rewritten")] + leaves[6:]
    forked = Checkpoint(ORIGIN, 20, root(forked_leaves))
    with pytest.raises(CheckpointError) as e:
        check_consistent(old, forked, consistency_proof(7, forked_leaves))
    assert e.value.reason == "FORK" and e.value.rule == "AUD-030" and "alarm" in e.value.hint
    with pytest.raises(CheckpointError) as e:
        check_consistent(old, Checkpoint(ORIGIN, 7, root(forked_leaves[:7])), [])
    assert e.value.reason == "FORK"
    with pytest.raises(CheckpointError) as e:
        check_consistent(new, old, proof)
    assert e.value.reason == "ROLLBACK"
    with pytest.raises(CheckpointError) as e:
        check_consistent(old, Checkpoint("other.example/log", 20, root(leaves)), proof)
    assert e.value.reason == "WRONG_ORIGIN"


def test_generated_checkpoint_vectors():  # creditx/standard/vectors/gen_merkle.py, checkpoints.json
    import datetime

    from creditx.standard.vectors.gen_merkle import build

    cases = build(datetime.date(2030, 1, 1))["checkpoints.json"]
    assert {c["valid"] for c in cases} == {True, False}
    for c in cases:
        verifiers = [parse_verifier_key(k) for k in c["verifier_keys"]]
        if c["valid"]:
            cp = verify_checkpoint(c["note"], verifiers)
            assert (cp.origin, cp.size, base64.b64encode(cp.root_hash).decode(), list(cp.extensions)) == (
                c["origin"],
                c["size"],
                c["root_hash"],
                c["extensions"],
            ), c["desc"]
        else:
            with pytest.raises(CheckpointError) as e:
                verify_checkpoint(c["note"], verifiers)
            assert e.value.reason == c["reason"], c["desc"]
