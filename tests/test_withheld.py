"""DIST-076/077/079, pure: whose origin is withheld, the index keys made from an origin, what a
node accepts as such keys, and who may ask for a person's origin."""

from __future__ import annotations

from datetime import date

import pytest

from creditx.standard.lists.lifecycle import ListEntry, ListError, State
from creditx.standard.lists.withheld import (
    check_index_key,
    check_index_keys,
    may_have_evidence,
    origin_index_keys,
    withholds_origin,
)
from creditx.standard.natural_key import person_subject_id
from creditx.standard.registry import Grant, Member

COURT = "11370100001901935C"
KEY = bytes(range(32))


def _entry(masked: str = "110105********002X", **kw) -> ListEntry:
    base = dict(
        entry_id="LIST|SXBZXR|X|Y|P:ab",
        list_type="SXBZXR",
        colour="black",
        subject_name="张三",
        subject_category="自然人",
        subject_uscc="",
        subject_id_masked=masked,
        listed_on=date(2026, 1, 5),
        period_start=None,
        period_end=None,
        listing_reason="",
        basis="",
        basis_document="",
        basis_number="",
        authority="济南市中级人民法院",
        authority_uscc=COURT,
        measures="",
        state=State.LISTED,
        removed_on=None,
        removal_reason="",
        removal_authority="",
        version=1,
        origin_fp=b"\0" * 32,
        origin_region="370100",
    )
    return ListEntry(**{**base, **kw})


def test_a_person_is_withheld_and_an_organisation_is_not():
    assert withholds_origin(_entry()) and not withholds_origin(_entry(masked=""))


def test_index_keys_from_an_origin_use_the_nodes_key_and_the_normalisation():
    keys = origin_index_keys({"MD_ZT_ZJLX": "身份证", "MD_ZT_ZJHM": "11010519491231002x", "MD_ZT_GSZC": " 3701 "}, KEY)
    assert keys == [person_subject_id("身份证", "11010519491231002X", KEY), "R:3701"]
    assert origin_index_keys({"MD_ZT_ZJHM": "11010519491231002X"}, KEY) == []  # no type: no key (REC-FP-014)


def test_a_node_accepts_one_p_key_and_refuses_anything_else():
    good = person_subject_id("身份证", "11010519491231002X", KEY)
    assert check_index_keys(1, [good, "R:3701"]) == [good, "R:3701"]
    for bad in ([], ["R:3701"], ["P:xyz"], [good] * 5, ["U:" + COURT]):
        with pytest.raises(ListError) as exc:
            check_index_keys(7, bad)
        assert (exc.value.reason, exc.value.rule, exc.value.field) == ("DIST_BAD_ENTRY", "DIST-077", "subject_index")
    assert (
        check_index_key(KEY) == "" and check_index_key(b"") and check_index_key(b"x" * 8) and check_index_key(b"x" * 65)
    )


def test_evidence_goes_to_the_sender_or_a_member_granted_the_body_for_the_list_type():
    e = _entry()
    court = Grant(COURT, "济南市中级人民法院", ("LIST",), ("SXBZXR",))
    assert may_have_evidence(e, None, "370100")  # it sent the record
    assert may_have_evidence(e, Member("370000", "省级", "province", (court,)), "370000")  # holds the authority
    other_list = Grant(COURT, "济南市中级人民法院", ("LIST",), ("ZDSSWF",))
    assert not may_have_evidence(e, Member("370000", "省级", "province", (other_list,)), "370000")
    assert not may_have_evidence(e, Member("370200", "青岛", "city", ()), "370200")
    assert not may_have_evidence(e, None, "370200")


def test_at_370000_only_the_grant_decides_as_several_members_share_the_region():
    """SEC-092: the 370000 node and the departments' own nodes all send 370000 records, so being
    of the origin's region proves nothing there; the member granted the body may see it."""
    e = _entry(origin_region="370000")
    body = Grant(COURT, "山东省高级人民法院", ("LIST",), ())
    assert not may_have_evidence(e, None, "370000")
    assert not may_have_evidence(e, Member("370000", "省级", "province", ()), "370000")
    dept = "11370000001992013Q"
    assert may_have_evidence(e, Member("370000", "部门", "department", (body,), id=dept), dept)
    assert not may_have_evidence(e, Member("370000", "另一部门", "department", (), id=dept), dept)
