"""DIST-050 vectors (``list-leaves.json``): the reference node folds exactly the vector's leaf
from the vector's ListChange bytes, and the reference gateway sends exactly those bytes for the
change they decode to."""

from __future__ import annotations

import pytest
from google.protobuf import json_format

from creditx.gateway.lists import wire as gateway_wire
from creditx.node.replica import wire as node_wire
from creditx.standard import vectors
from creditx.standard.lists.log import leaf_data
from creditx.standard.merkle import leaf_hash
from creditx.v1 import lists_pb2

CASES = vectors.load("list-leaves.json")


def _message(case) -> lists_pb2.ListChange:
    return lists_pb2.ListChange.FromString(bytes.fromhex(case["list_change_pb"]))


def test_the_vectors_cover_every_change_kind_and_a_person_without_origin():
    kinds = {(c["list_change"]["kind"], c["list_change"].get("reason", "")) for c in CASES}
    assert {k for k, _ in kinds} == {"CHANGE_KIND_ADD", "CHANGE_KIND_CORRECT", "CHANGE_KIND_REMOVE"}
    assert {"REMOVAL_REASON_REPAIRED", "REMOVAL_REASON_EXPIRED"} <= {r for _, r in kinds}
    assert any(c["list_change"]["entry"]["subject_category"] == "自然人" for c in CASES)
    assert not any("origin" in c["list_change"] for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_node_folds_the_vector_leaf_from_the_vector_bytes(case):
    change = node_wire.change_from_pb(_message(case))
    leaf = leaf_data(change)
    assert leaf.decode("utf-8") == case["leaf"]
    assert leaf_hash(leaf).hex() == case["leaf_hash"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_gateway_sends_the_vector_bytes_for_the_change(case):
    change = node_wire.change_from_pb(_message(case))
    sent = gateway_wire.change_to_pb(change)
    assert sent.SerializeToString(deterministic=True).hex() == case["list_change_pb"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_json_form_is_the_same_message(case):
    parsed = json_format.ParseDict(case["list_change"], lists_pb2.ListChange())
    assert parsed == _message(case)


def test_a_changed_byte_changes_the_leaf():
    case = CASES[0]
    m = _message(case)
    m.entry.origin_region = "370600"
    assert leaf_data(node_wire.change_from_pb(m)).decode("utf-8") != case["leaf"]
