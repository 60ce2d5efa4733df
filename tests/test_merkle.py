"""Tests of creditx.standard.merkle (AUD-001…AUD-014): published RFC 6962 vectors, properties, scale."""

from __future__ import annotations

import base64
import hashlib
import json
import random
from pathlib import Path

import pytest

from creditx.standard.merkle import (
    EMPTY_ROOT,
    CompactRange,
    ProofError,
    consistency_proof,
    consistency_proof_from,
    inclusion_proof,
    inclusion_proof_from,
    leaf_hash,
    leaf_reader_subtree,
    node_hash,
    root,
    root_from,
    verify_consistency,
    verify_inclusion,
)

DATA = Path(__file__).parent / "data" / "merkle"
TD = json.loads((DATA / "transparency-dev-verify_test.json").read_text())
LEAVES = [bytes.fromhex(x) for x in TD["leaves"]]
LEAF_HASHES = [leaf_hash(x) for x in LEAVES]
ROOTS = [bytes.fromhex(x) for x in TD["roots"]]


def _flip(b: bytes, i: int = 0, bit: int = 1) -> bytes:
    return b[:i] + bytes([b[i] ^ bit]) + b[i + 1 :]


def _leaves(n: int, seed: int = 0) -> list[bytes]:
    return [leaf_hash(f"{seed}:{i}".encode()) for i in range(n)]


# --- published vectors (transparency-dev/merkle proof/verify_test.go) ------------------------


def test_hash_prefixes_and_empty_root():  # AUD-001, AUD-002, AUD-003
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    assert root([]) == EMPTY_ROOT == bytes.fromhex(TD["empty_tree_root"])
    assert CompactRange().root() == EMPTY_ROOT


@pytest.mark.parametrize("n", range(1, 9))
def test_published_roots(n):  # AUD-003
    assert root(LEAF_HASHES[:n]) == ROOTS[n - 1]
    cr = CompactRange()
    cr.extend(LEAF_HASHES[:n])
    assert cr.root() == ROOTS[n - 1]


@pytest.mark.parametrize("case", TD["inclusion"], ids=lambda c: f"{c['leaf']}of{c['size']}")
def test_published_inclusion_proofs(case):  # AUD-010, AUD-011
    index, size = case["leaf"] - 1, case["size"]
    proof = [bytes.fromhex(p) for p in case["proof"]]
    assert inclusion_proof(index, LEAF_HASHES[:size]) == proof
    verify_inclusion(index, size, LEAF_HASHES[index], proof, ROOTS[size - 1])


@pytest.mark.parametrize("case", TD["consistency"], ids=lambda c: f"{c['size1']}to{c['size2']}")
def test_published_consistency_proofs(case):  # AUD-012, AUD-013
    m, n = case["size1"], case["size2"]
    proof = [bytes.fromhex(p) for p in case["proof"]]
    assert consistency_proof(m, LEAF_HASHES[:n]) == proof
    verify_consistency(m, n, ROOTS[m - 1], ROOTS[n - 1], proof)


def test_published_testdata_file_verbatim():  # AUD-013, vector in upstream's own JSON layout
    case = json.loads((DATA / "transparency-dev-consistency-1-happy-path.json").read_text())
    b = base64.b64decode
    verify_consistency(case["size1"], case["size2"], b(case["root1"]), b(case["root2"]), [b(p) for p in case["proof"]])


def test_upstream_corruption_probes_fail():
    """The probe list of upstream's corruptInclusionProof/corruptConsistencyProof."""
    some = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")
    proof = inclusion_proof(5, LEAF_HASHES)
    r, lh = ROOTS[7], LEAF_HASHES[5]
    probes = [
        (4, 8, r, lh, proof),
        (6, 8, r, lh, proof),
        (5 ^ 2, 8, r, lh, proof),
        (5, 16, r, lh, proof),
        (5, 4, r, lh, proof),
        (5, 8, r, b"WrongLeaf", proof),
        (5, 8, EMPTY_ROOT, lh, proof),
        (5, 8, some, lh, proof),
        (5, 8, r, lh, proof + [b""]),
        (5, 8, r, lh, proof + [r]),
        (5, 8, r, lh, [b""] + proof),
        (5, 8, r, lh, [r] + proof),
        (5, 8, r, lh, proof[:-1]),
        (5, 8, r, lh, [proof[0], some] + proof[1:]),
    ]
    for idx, size, rt, leaf, pr in probes:
        with pytest.raises(ProofError):
            verify_inclusion(idx, size, leaf, pr, rt)
    cproof = consistency_proof(6, LEAF_HASHES)
    r6, r8 = ROOTS[5], ROOTS[7]
    cprobes = [
        (5, 8, r6, r8, cproof),
        (7, 8, r6, r8, cproof),
        (6 ^ 2, 8, r6, r8, cproof),
        (6, 16, r6, r8, cproof),
        (6, 4, r6, r8, cproof),
        (6, 8, b"WrongRoot", r8, cproof),
        (6, 8, r6, b"WrongRoot", cproof),
        (6, 8, r8, r6, cproof),
        (6, 8, r6, r8, []),
        (6, 8, r6, r8, cproof + [b""]),
        (6, 8, r6, r8, cproof + [r6]),
        (6, 8, r6, r8, cproof + [r8]),
        (6, 8, r6, r8, [b""] + cproof),
        (6, 8, r6, r8, [r6] + cproof),
        (6, 8, r6, r8, [r8] + cproof),
        (6, 8, r6, r8, [cproof[0]] + cproof),
        (6, 8, r6, r8, cproof[:-1]),
    ]
    for m, n, a, b, pr in cprobes:
        with pytest.raises(ProofError):
            verify_consistency(m, n, a, b, pr)


def test_upstream_trivial_consistency_cases():
    """Upstream TestVerifyConsistency: sizes that are always consistent, and the edge failures."""
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(0, 1, EMPTY_ROOT, ROOTS[0], [])
    verify_consistency(1, 1, ROOTS[0], ROOTS[0], [])
    for m, n, a, b, pr in [
        (1, 1, ROOTS[0], ROOTS[1], []),  # same size, different roots
        (1, 0, ROOTS[0], EMPTY_ROOT, []),  # time travel
        (2, 1, ROOTS[1], ROOTS[0], []),
        (1, 2, ROOTS[0], ROOTS[1], []),  # empty proof
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]),  # roots match but proof not empty
        (0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]),
        (1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]),
    ]:
        with pytest.raises(ProofError):
            verify_consistency(m, n, a, b, pr)


# --- errors name the rule and the reason -------------------------------------------------------


def test_errors_carry_reason_rule_and_hint():
    with pytest.raises(ProofError) as e:
        verify_inclusion(8, 8, LEAF_HASHES[0], [], ROOTS[7])
    assert e.value.reason == "INDEX_OUT_OF_RANGE" and e.value.rule == "AUD-011"
    assert "AUD-011" in str(e.value) and e.value.hint
    with pytest.raises(ProofError) as e:
        verify_inclusion(0, 1, b"short", [], ROOTS[0])
    assert e.value.reason == "HASH_LENGTH" and "leaf_hash" in e.value.message
    with pytest.raises(ProofError) as e:
        inclusion_proof(3, LEAF_HASHES[:3])
    assert e.value.reason == "INDEX_OUT_OF_RANGE" and e.value.rule == "AUD-010"
    with pytest.raises(ProofError) as e:
        consistency_proof(4, LEAF_HASHES[:3])
    assert e.value.reason == "SIZE_ORDER"
    with pytest.raises(ProofError) as e:
        verify_inclusion(0, -1, LEAF_HASHES[0], [], ROOTS[0])
    assert e.value.reason == "SIZE_RANGE"


# --- properties over random trees ---------------------------------------------------------------

RNG = random.Random(9162)
SIZES = sorted(
    {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 32, 33, 100, 127, 128, 129, 255, 300}
    | {RNG.randrange(1, 400) for _ in range(6)}
)


@pytest.mark.parametrize("n", SIZES)
def test_inclusion_property(n):  # AUD-010, AUD-011
    leaves = _leaves(n, n)
    rt = root(leaves)
    rng = random.Random(n)
    for i in range(n):
        proof = inclusion_proof(i, leaves)
        verify_inclusion(i, n, leaves[i], proof, rt)
        if rng.random() > 12 / n:  # tamper with a sample of the proofs (all of them for small trees)
            continue
        with pytest.raises(ProofError):
            verify_inclusion(i, n, _flip(leaves[i], rng.randrange(32), 1 << rng.randrange(8)), proof, rt)
        with pytest.raises(ProofError):
            verify_inclusion(i, n, leaves[i], proof, _flip(rt, rng.randrange(32)))
        for j in range(len(proof)):
            bad = list(proof)
            bad[j] = _flip(bad[j], rng.randrange(32), 1 << rng.randrange(8))
            with pytest.raises(ProofError):
                verify_inclusion(i, n, leaves[i], bad, rt)
        for wrong in {i - 1, i + 1, i ^ 1, i ^ 2} - {i}:
            if 0 <= wrong < n and leaves[wrong] != leaves[i]:
                with pytest.raises(ProofError):
                    verify_inclusion(wrong, n, leaves[i], proof, rt)
        with pytest.raises(ProofError):
            verify_inclusion(i, n, leaves[i], proof + [rt], rt)


@pytest.mark.parametrize("n", [n for n in SIZES if n <= 130])
def test_consistency_property_all_pairs(n):  # AUD-012, AUD-013
    leaves = _leaves(n, 7)
    roots = [root(leaves[:m]) for m in range(n + 1)]
    rng = random.Random(n)
    for m in range(0, n + 1):
        proof = consistency_proof(m, leaves)
        verify_consistency(m, n, roots[m], roots[n], proof)
        if not proof:
            assert m in (0, n)
            continue
        with pytest.raises(ProofError):
            verify_consistency(m, n, _flip(roots[m], rng.randrange(32)), roots[n], proof)
        with pytest.raises(ProofError):
            verify_consistency(m, n, roots[m], _flip(roots[n], rng.randrange(32)), proof)
        j = rng.randrange(len(proof))
        bad = list(proof)
        bad[j] = _flip(bad[j], rng.randrange(32), 1 << rng.randrange(8))
        with pytest.raises(ProofError):
            verify_consistency(m, n, roots[m], roots[n], bad)
        with pytest.raises(ProofError):
            verify_consistency(m, n, roots[m], roots[n], proof[:-1])


def test_consistency_between_random_pairs_of_larger_sizes():
    leaves = _leaves(400, 3)
    rng = random.Random(1)
    for _ in range(200):
        m, n = sorted((rng.randrange(1, 401), rng.randrange(1, 401)))
        proof = consistency_proof(m, leaves[:n])
        verify_consistency(m, n, root(leaves[:m]), root(leaves[:n]), proof)
        if m < n:
            with pytest.raises(ProofError):  # a fork: same size, one leaf different
                forked = leaves[: m - 1] + [leaf_hash(b"forged")]
                verify_consistency(m, n, root(forked), root(leaves[:n]), proof)


def test_compact_range_agrees_with_batch_root_at_every_size():  # AUD-003
    leaves = _leaves(600, 5)
    cr = CompactRange()
    for i, h in enumerate(leaves):
        cr.append(h)
        assert cr.size == i + 1 and len(cr.hashes) == (i + 1).bit_count()
        assert cr.root() == root(leaves[: i + 1])
        again = CompactRange.from_bytes(cr.to_bytes())
        assert again == cr and again.root() == cr.root()


def test_compact_range_persisted_form_is_checked():
    cr = CompactRange()
    cr.extend(_leaves(5))
    data = cr.to_bytes()
    for bad in (data[:-1], b"XXXX" + data[4:], data[:5] + (7).to_bytes(8, "big") + data[13:], data + b"\x00" * 32):
        with pytest.raises(ProofError) as e:
            CompactRange.from_bytes(bad)
        assert e.value.reason in {"FRONTIER_ENCODING", "FRONTIER_SHAPE"}


def test_node_store_scheme_serves_proofs():
    """The gateway's scheme: store every (level, index) node CompactRange reports, answer from it."""
    leaves = _leaves(333, 11)
    nodes: dict[tuple[int, int], bytes] = {}
    cr = CompactRange()
    lookups: list[tuple[int, int]] = []

    def subtree(level: int, index: int) -> bytes:
        lookups.append((level, index))
        return nodes[(level, index)]

    sizes_roots = {}
    for h in leaves:
        cr.append(h, lambda lvl, idx, hh: nodes.__setitem__((lvl, idx), hh))
        sizes_roots[cr.size] = cr.root()
    assert len(nodes) < 2 * len(leaves)
    for size in (1, 2, 100, 256, 257, 333):
        assert root_from(size, subtree) == sizes_roots[size] == root(leaves[:size])
        for i in (0, size // 3, size - 1):
            lookups.clear()
            proof = inclusion_proof_from(i, size, subtree)
            assert proof == inclusion_proof(i, leaves[:size])
            assert len(lookups) <= 2 * size.bit_length()  # O(log n) look-ups
        for m in (1, size // 2, size):
            if m:
                assert consistency_proof_from(m, size, subtree) == consistency_proof(m, leaves[:size])
    reader = leaf_reader_subtree(lambda a, b: leaves[a:b])
    assert inclusion_proof_from(200, 333, reader) == inclusion_proof(200, leaves)
    with pytest.raises(ProofError) as e:
        inclusion_proof_from(0, 8, leaf_reader_subtree(lambda a, b: leaves[a : min(b, 3)]))
    assert e.value.reason == "LEAVES_MISSING"


def test_million_appends_keep_one_hash_per_set_bit():
    """Scale: the gateway appends one leaf per decision; the compact range stays log-sized.

    How fast the appends are is measured by bench/crypto.py ("merkle append"), not asserted here.
    """
    base = hashlib.sha256(b"leaf").digest()
    cr = CompactRange()
    for _ in range(1_000_000):
        cr.append(base)
    assert cr.size == 1_000_000 and len(cr.hashes) == bin(1_000_000).count("1")


# --- the published vectors of chapter 06 (creditx/standard/vectors/gen_merkle.py) ---------------------


def test_generated_merkle_vectors_verify_and_match_upstream():
    import datetime

    from creditx.standard.vectors.gen_merkle import build

    out = build(datetime.date(2030, 1, 1))
    assert out == build(datetime.date(2024, 1, 1))  # deterministic, date-independent
    vec = out["merkle.json"]
    rfc, audit = vec["trees"]
    assert [rfc["roots"][str(k)] for k in range(1, 9)] == TD["roots"]  # same as transparency-dev
    for tree in (rfc, audit):
        hashes = [bytes.fromhex(h) for h in tree["leaf_hashes"]]
        assert hashes == [leaf_hash(bytes.fromhex(d)) for d in tree["leaf_data_hex"]]
        roots = {int(k): bytes.fromhex(v) for k, v in tree["roots"].items()}
        for c in tree["inclusion"]:
            verify_inclusion(
                c["index"], c["size"], hashes[c["index"]], [bytes.fromhex(p) for p in c["proof"]], roots[c["size"]]
            )
        for c in tree["consistency"]:
            m, n = c["old_size"], c["new_size"]
            verify_consistency(m, n, roots[m], roots[n], [bytes.fromhex(p) for p in c["proof"]])
        for k, blob in tree["compact_range"].items():
            assert CompactRange.from_bytes(bytes.fromhex(blob)).root() == roots[int(k)]
    hashes = [bytes.fromhex(h) for h in rfc["leaf_hashes"]]
    roots = {int(k): bytes.fromhex(v) for k, v in rfc["roots"].items()}
    for c in vec["invalid"]:
        proof = [bytes.fromhex(p) for p in c["proof"]]
        with pytest.raises(ProofError) as e:
            if c["kind"] == "inclusion":
                verify_inclusion(c["index"], c["size"], hashes[5], proof, roots[c["size"]])
            else:
                verify_consistency(c["old_size"], c["new_size"], roots[c["old_size"]], roots[c["new_size"]], proof)
        assert e.value.reason == c["reason"], c["desc"]


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 33, 130])
def test_inclusion_with_what_earlier_proofs_proved_decides_as_without(n):  # AUD-011, SIG-044
    """A memo of earlier successful walks changes no answer: every proof of the tree passes, and
    every tampered sibling, leaf or index, and a proof too long or too short, fails with the
    reason (and message) it fails with alone, after its neighbours were proved."""
    leaves = _leaves(n, n)
    rt = root(leaves)
    rng = random.Random(n)
    proved: dict = {}

    def outcome(i, leaf, proof, memo):
        try:
            verify_inclusion(i, n, leaf, proof, rt, memo)
        except ProofError as exc:
            return (exc.reason, str(exc))
        return "ok"

    for i in range(n):
        proof = inclusion_proof(i, leaves)
        cases = [(i, leaves[i], proof), (i, leaves[i], proof + [rt]), (i, leaves[i], proof[:-1])]
        cases += [
            (i, leaves[i], proof[:j] + [_flip(proof[j], rng.randrange(32))] + proof[j + 1 :]) for j in range(len(proof))
        ]
        cases += [(w, leaves[i], proof) for w in {i - 1, i + 1, i ^ 1} - {i} if 0 <= w < n]
        cases.append((i, _flip(leaves[i], 0), proof))
        for case in cases:
            assert outcome(*case, proved) == outcome(*case, None), case
    assert proved or n == 1, "the memo is filled by the proofs that passed (a one-leaf tree has none)"
