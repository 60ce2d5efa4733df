"""Cross-check with a third-party RFC 9162 implementation (pymerkle, PyPI): the roots our
gateway persists and the inclusion proofs it serves are accepted by pymerkle's own verifier.

pymerkle is written independently of creditx (different tree storage, proof encoding and
verification code); agreement on roots at every size and on inclusion paths is evidence that
our log is RFC 9162 and not merely self-consistent (AUD-003, AUD-010).
"""

from __future__ import annotations

import sqlite3
import warnings

import pytest

from creditx.gateway.audit import log as audit_log
from creditx.standard.merkle import leaf_hash

pymerkle = pytest.importorskip("pymerkle")
from pymerkle import InmemoryTree, verify_inclusion  # noqa: E402
from pymerkle.proof import InclusionProof  # noqa: E402


@pytest.fixture
def logged(tmp_path):
    """A real SQLite audit log filled in uneven batches, and pymerkle's tree of the same data."""
    conn = sqlite3.connect(tmp_path / "log.db", isolation_level=None)
    conn.execute("CREATE TABLE audit_leaves (idx INTEGER PRIMARY KEY, leaf_data BLOB, leaf_hash BLOB)")
    audit_log.create_tables(conn)
    data = [f'{{"kind":"record","seq":{i}}}'.encode() for i in range(83)]
    pos = 0
    for chunk in (1, 4, 15, 17, 30, 16):
        conn.execute("BEGIN")
        hashes = [leaf_hash(d) for d in data[pos : pos + chunk]]
        conn.executemany(
            "INSERT INTO audit_leaves VALUES (?,?,?)",
            [(pos + i, d, h) for i, (d, h) in enumerate(zip(data[pos : pos + chunk], hashes, strict=True))],
        )
        audit_log.append_leaves(conn, pos, hashes)
        conn.execute("COMMIT")
        pos += chunk
    tree = InmemoryTree(algorithm="sha256")  # security=True: RFC 9162 0x00/0x01 prefixes
    for d in data:
        tree.append_entry(d)
    return conn, tree, len(data)


def _root(tree, size: int) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return tree.get_state(size)


def test_roots_agree_at_every_size(logged):
    conn, tree, n = logged
    for size in range(1, n + 1):
        assert audit_log.root_at(conn, size) == _root(tree, size), size


def test_our_inclusion_proofs_verify_with_pymerkle(logged):
    conn, tree, n = logged
    for size in (1, 2, 7, 16, 17, 50, n):
        root = _root(tree, size)
        for index in {0, size // 2, size - 1}:
            ours = audit_log.inclusion(conn, index, size)
            theirs = tree.prove_inclusion(index + 1, size)  # pymerkle counts leaves from 1
            leaf = tree.get_leaf(index + 1)
            assert theirs.path[1:] == ours, (index, size)
            # pymerkle's verifier, fed OUR sibling hashes.
            proof = InclusionProof("sha256", True, size, index + 1, theirs.rule, [leaf, *ours])
            verify_inclusion(leaf, root, proof)


def test_pymerkle_rejects_a_tampered_proof_of_ours(logged):
    conn, tree, n = logged
    ours = audit_log.inclusion(conn, 5, n)
    ours[1] = bytes(32)
    theirs = tree.prove_inclusion(6, n)
    leaf = tree.get_leaf(6)
    with pytest.raises(pymerkle.proof.InvalidProof):
        verify_inclusion(leaf, _root(tree, n), InclusionProof("sha256", True, n, 6, theirs.rule, [leaf, *ours]))
