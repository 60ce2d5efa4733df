"""REC-PII-01 … 03: what of a record may be passed on. A licence number that is an ID number is
masked like the subject's ID; another licence number, and every other field, passes unchanged."""

from __future__ import annotations

from creditx.standard.identifiers import mask_id_number
from creditx.standard.publication import published_fields

ID = "11010519491231002X"


def test_licence_number_that_is_an_id_number_is_masked():
    f = {"XK_XKBH": ID, "XK_XKWS": "道路运输从业资格证", "XK_XDR_MC": "张三"}
    out = published_fields(f)
    assert out["XK_XKBH"] == mask_id_number(ID) == "110105********002X"
    assert ID not in repr(out) and out["XK_XKWS"] == f["XK_XKWS"]


def test_licence_number_of_another_form_passes_as_recorded():
    for number in ("鲁交运管许可济字370100123456号", "370105194912310021", "JY13701020012345"):
        # the second is ID-shaped but its check character is wrong: not an ID number (REC-ID-23)
        assert published_fields({"XK_XKBH": number})["XK_XKBH"] == number


def test_person_ids_are_masked_and_representatives_ids_left_out():
    out = published_fields({"CF_XDR_ZJHM": ID, "CF_FR_ZJHM": ID, "CF_WSH": "济市监罚〔2025〕12号"})
    assert out == {"CF_XDR_ZJHM": mask_id_number(ID), "CF_WSH": "济市监罚〔2025〕12号"}
