"""The member registry's one authorisation rule and its codec (SEC-032, SEC-036 … SEC-038)."""

from __future__ import annotations

import json

import pytest

from creditx.standard.divisions import REGIONS
from creditx.standard.registry import NOT_GRANTED, REGION_MISMATCH, RegistryError, acceptable, authorise, decode, encode
from creditx.standard.synth.authorities import authority
from creditx.standard.synth.members import OWN_NODE_DEPARTMENTS, department_uscc, seed_registry

REG = seed_registry("2026-01-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z")


def test_seed_has_every_city_the_province_and_its_own_node_departments_and_round_trips():
    assert {m.id for m in REG.members if m.kind != "department"} == set(REGIONS)
    departments = [m for m in REG.members if m.kind == "department"]
    assert [m.name for m in departments] == list(OWN_NODE_DEPARTMENTS)
    assert all(m.region == "370000" and m.id == m.grants[0].uscc and len(m.grants) == 1 for m in departments)
    # a department with its own node is no longer the 370000 node's
    province_node = REG.member("370000")
    assert province_node is not None
    province = {g.uscc for g in province_node.grants}
    assert not province & {m.id for m in departments}
    assert decode(encode(REG)) == REG


def test_a_department_member_speaks_for_its_own_body_only_and_only_province_level_records():
    a, b = (REG.member(department_uscc(n)) for n in OWN_NODE_DEPARTMENTS[:2])
    assert a is not None and b is not None
    own = {"CF_CFJGDM": a.id}
    assert authorise(a, a.region, "XZCF", "370000", own) is None
    r = authorise(b, b.region, "XZCF", "370000", own)  # B for A's body: a correction or removal of A's
    assert r is not None and (r.reason, r.requirement, r.field) == (NOT_GRANTED, "SEC-036", "CF_CFJGDM")
    assert b.name in r.message and b.id in r.message
    r = authorise(a, a.region, "XZCF", "370100", own)  # a city's record
    assert r is not None and (r.reason, r.requirement) == (REGION_MISMATCH, "SEC-032")
    # nor may the 370000 node speak for a department that has a node of its own
    r = authorise(REG.member("370000"), "370000", "XZCF", "370000", own)
    assert r is not None and r.reason == NOT_GRANTED


def test_a_registry_written_before_member_ids_decodes_with_each_member_its_region():
    v1 = json.loads(encode(REG))
    v1["members"] = [m for m in v1["members"] if "id" not in m]
    reg = decode(json.dumps(v1).encode())
    assert [m.id for m in reg.members] == [m["region"] for m in v1["members"]]
    assert b'"id"' not in encode(reg)  # a region member's bytes are what 1.5 signed


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda m: {**m, "id": "370100"}, "is a region code"),
        (lambda m: {**m, "id": m["id"].lower()}, "neither a region code nor a valid"),
        (lambda m: {**m, "id": m["id"][:-1] + ("0" if m["id"][-1] != "0" else "1")}, "neither a region code"),
        (lambda m: {**m, "region": "370100"}, "province-level"),
        (lambda m: {**m, "kind": "province"}, "kind"),
    ],
)
def test_a_department_member_with_a_bad_id_region_or_kind_is_refused(change, why):
    obj = json.loads(encode(REG))
    i = next(i for i, m in enumerate(obj["members"]) if m.get("kind") == "department")
    obj["members"][i] = change(obj["members"][i])
    with pytest.raises(RegistryError, match="REGISTRY_MALFORMED") as err:
        decode(json.dumps(obj).encode())
    assert why in str(err.value)


def test_a_member_id_appearing_twice_is_refused():
    obj = json.loads(encode(REG))
    dept = next(m for m in obj["members"] if m.get("kind") == "department")
    obj["members"].append(dept)
    with pytest.raises(RegistryError, match="appears twice"):
        decode(json.dumps(obj).encode())


def test_a_city_may_send_for_its_own_court_only():
    jinan_court = authority("court", "370100").uscc
    fields = {"MD_RDJGDM": jinan_court, "MD_LX": "SXBZXR"}
    assert authorise(REG.member("370100"), "370100", "LIST", "370100", fields) is None
    r = authorise(REG.member("370200"), "370200", "LIST", "370200", fields)
    assert r is not None and (r.reason, r.requirement, r.field) == (NOT_GRANTED, "SEC-036", "MD_RDJGDM")
    # granted for SXBZXR, not for another list type
    r = authorise(REG.member("370100"), "370100", "LIST", "370100", {**fields, "MD_LX": "ZDSSWF"})
    assert r is not None and r.reason == NOT_GRANTED


def test_region_is_checked_first_with_one_code_and_no_entry_grants_nothing():
    fields = {"CF_CFJGDM": authority("market", "370100").uscc}
    r = authorise(REG.member("370100"), "370100", "XZCF", "370200", fields)
    assert r is not None and (r.reason, r.requirement, r.field) == (REGION_MISMATCH, "SEC-032", "region")
    r = authorise(None, "370100", "XZCF", "370100", fields)
    assert r is not None and r.reason == NOT_GRANTED


def test_expired_and_rolled_back_registries_are_refused():
    with pytest.raises(RegistryError, match="REGISTRY_EXPIRED"):
        acceptable(REG, None, "2027-01-01T00:00:00.000Z")
    newer = decode(encode(REG).replace(b'"version":1', b'"version":2'))
    acceptable(newer, REG, "2026-06-01T00:00:00.000Z")
    with pytest.raises(RegistryError, match="REGISTRY_ROLLBACK"):
        acceptable(REG, newer, "2026-06-01T00:00:00.000Z")
    with pytest.raises(RegistryError, match="REGISTRY_MALFORMED"):
        decode(b'{"version":1}')


def test_seed_covers_every_city_and_the_provincial_departments_with_distinct_codes():
    from creditx.standard.divisions import CITIES
    from creditx.standard.identifiers import check_uscc
    from creditx.standard.synth.members import PROVINCIAL_DEPARTMENTS

    assert {m.region for m in REG.members} == set(CITIES) | {"370000"}
    province = REG.member("370000")
    assert province is not None
    names = {g.name for g in province.grants}
    own_node = {g.name for m in REG.members if m.kind == "department" for g in m.grants}
    assert set(PROVINCIAL_DEPARTMENTS) - set(OWN_NODE_DEPARTMENTS) <= names and len(names) >= 30
    assert set(PROVINCIAL_DEPARTMENTS) <= names | own_node and not names & own_node
    # one code per body and one body per code (a customs district is granted to several cities)
    pairs = {(g.uscc, g.name) for m in REG.members for g in m.grants}
    assert len({c for c, _ in pairs}) == len({n for _, n in pairs}) == len(pairs)
    assert all(check_uscc(c).valid for c, _ in pairs)
