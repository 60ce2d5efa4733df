"""The measures list (联合奖惩措施清单): the shipped data parses, covers every list type, and a
broken document is refused whole with the measure and the field."""

from __future__ import annotations

import copy
import json

import pytest

from creditx.standard.catalogue import load_catalogue
from creditx.standard.errors import InputError
from creditx.standard.measures import MEASURES_FILE, load_measures, parse_measures


def raw() -> dict:
    return json.loads(MEASURES_FILE.read_text(encoding="utf-8"))


def test_every_list_type_triggers_a_measure_of_its_colour():
    m = load_measures()
    for lt in load_catalogue().list_types:
        kinds = {x.kind for x in m.measures if lt.code in x.list_types}
        assert kinds == {"惩戒" if lt.colour == "black" else "激励"}, lt.code


def test_applicable_filters_by_matter_and_department_mandatory_first():
    m = load_measures()
    cat = m.category_of("ZFCG-GYS-001")
    assert cat == "GOV_PROCUREMENT" and m.category_of("GOV_PROCUREMENT") == "GOV_PROCUREMENT"
    got = m.applicable({"SXBZXR", "JYYC"}, category=cat, department="CZ")
    assert [x.id for x in got] == ["SXBZXR-01", "ZFCGSX-02", "JYYC-01"]
    assert got[0].basis.startswith("《关于对失信被执行人实施联合惩戒的合作备忘录》（发改财金〔2016〕141号）")
    assert not m.applicable({"SXBZXR"}, category="CUSTOMS", department="HG")
    assert {x.id for x in m.applicable({"AJNSR"}, category="TAX_SERVICE")} == {"AJNSR-02"}


def test_unknown_matter_is_an_input_error():
    with pytest.raises(InputError, match="HALL-010"):
        load_measures().category_of("NO-SUCH")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["measures"][0].update(kind="激励"), "cannot be triggered by the black list SXBZXR"),
        (lambda d: d["measures"][0]["basis"].update(source="NOPE"), "basis.source 'NOPE'"),
        (lambda d: d["measures"].append(copy.deepcopy(d["measures"][0])), "ID repeated"),
        (lambda d: d["measures"][0].update(list_types=["XXXX"]), "list type 'XXXX'"),
        (lambda d: d["measures"][0].update(departments=["ZZ"]), "department 'ZZ'"),
        (lambda d: d["matters"]["ZFCG-GYS-001"].update(category="NOPE"), "matters.ZFCG-GYS-001"),
        (lambda d: d.pop("sources"), "missing or malformed section"),
    ],
)
def test_broken_documents_are_refused(change, message):
    d = raw()
    change(d)
    with pytest.raises(InputError, match="HALL-001") as exc:
        parse_measures(json.dumps(d).encode())
    assert message in exc.value.message


def test_canonical_bytes_round_trip():
    m = load_measures()
    again = parse_measures(m.canonical())
    assert again.canonical() == m.canonical() and again.version == "1.0"
