"""DIST-087/088 vectors (``list-batches.json``): the reference node rebuilds exactly the vector's
changes from the vector's compressed batch, the block holds exactly the changes of
``list-leaves.json``, and the reference gateway writes the vector's bytes for those changes and
that node key."""

from __future__ import annotations

import zlib

import pytest

from creditx.gateway.lists.wire import EncodedChange, compressed_batch_bytes
from creditx.node.replica import wire as node_wire
from creditx.standard import vectors
from creditx.standard.lists.withheld import index_source
from creditx.v1 import lists_pb2

CASES = vectors.load("list-batches.json")
LEAVES = vectors.load("list-leaves.json")


def test_the_vectors_hold_two_node_keys_with_one_block_and_a_person():
    assert len(CASES) == 2 and len({c["changes_zlib"] for c in CASES}) == 1
    assert len({c["subject_index_key"] for c in CASES}) == 2
    assert all(c["subject_indexes"] for c in CASES)
    a, b = (c["subject_indexes"] for c in CASES)
    assert [x["list_seq"] for x in a] == [x["list_seq"] for x in b] and a != b


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_node_rebuilds_the_vector_changes_from_the_vector_batch(case):
    batch = lists_pb2.ListChangeBatch.FromString(bytes.fromhex(case["batch_pb"]))
    got = [m.SerializeToString(deterministic=True).hex() for m in node_wire.batch_changes(batch)]
    assert got == case["changes"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_block_holds_the_changes_of_the_leaf_vectors_without_index_keys(case):
    raw = zlib.decompress(bytes.fromhex(case["changes_zlib"]))
    assert raw.hex() == case["changes_raw"] and len(raw) == case["changes_size"]
    inner = lists_pb2.ListChangeBatch.FromString(raw)
    assert [m.SerializeToString(deterministic=True).hex() for m in inner.changes] == [
        c["list_change_pb"] for c in LEAVES
    ]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_gateway_writes_the_vector_batch_for_the_changes_and_the_node_key(case):
    encoded = []
    for c in LEAVES:
        e = EncodedChange(node_wire.change_from_pb(lists_pb2.ListChange.FromString(bytes.fromhex(c["list_change_pb"]))))
        if e.list_seq in {s["list_seq"] for s in case["subject_indexes"]}:
            e.person = index_source(case["person_id"])  # the withheld origin's INDEX_FIELDS, which the vector names
        encoded.append(e)
    assert b"".join(e.part for e in encoded).hex() == case["changes_raw"]
    persons = [e for e in encoded if e.person is not None]
    last = encoded[-1].list_seq
    got = compressed_batch_bytes(
        bytes.fromhex(case["changes_zlib"]),
        case["changes_size"],
        persons,
        bytes.fromhex(case["subject_index_key"]),
        last,
        last,
        True,
    )
    assert got.hex() == case["batch_pb"]
