"""The member registry's one authorisation rule and its codec (SEC-032, SEC-036 … SEC-038)."""

from __future__ import annotations

import pytest

from creditx.standard.registry import NOT_GRANTED, REGION_MISMATCH, RegistryError, acceptable, authorise, decode, encode
from creditx.standard.synth.authorities import authority
from creditx.standard.synth.members import seed_registry

REG = seed_registry("2026-01-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z")


def test_seed_has_every_city_and_the_province_and_round_trips():
    assert len(REG.members) == 17 and decode(encode(REG)) == REG


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
    assert set(PROVINCIAL_DEPARTMENTS) <= names and len(names) >= 35
    # one code per body and one body per code (a customs district is granted to several cities)
    pairs = {(g.uscc, g.name) for m in REG.members for g in m.grants}
    assert len({c for c, _ in pairs}) == len({n for _, n in pairs}) == len(pairs)
    assert all(check_uscc(c).valid for c, _ in pairs)
