"""What of a record may be passed on beyond its deciding body (REC-PII-01 … 03). Pure.

:func:`published_fields` is the one rule, for every place a record's fields leave the node or
gateway that holds them (a hall's answer, a credit report, an export for others):

* REC-PII-01: a legal representative's ID number (``*_FR_ZJHM``) is left out;
* REC-PII-02: a natural person's ID number (``*_XDR_ZJHM``, ``MD_ZT_ZJHM``) is masked;
* REC-PII-03: a licence number (``XK_XKBH``) that is a citizen ID number — a 从业资格证, 执业证
  or 驾驶证 is often numbered by the holder's ID — is masked the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

from creditx.standard.identifiers import check_id_number, mask_id_number

PERSON_ID_FIELDS = ("XK_XDR_ZJHM", "CF_XDR_ZJHM", "MD_ZT_ZJHM")
REPRESENTATIVE_ID_FIELDS = ("XK_FR_ZJHM", "CF_FR_ZJHM")
LICENCE_NUMBER_FIELD = "XK_XKBH"


def is_id_number(value: str) -> bool:
    """REC-PII-03: the value is a valid citizen ID number (REC-ID-21…23, 18 or 15 digits)."""
    return bool(value.strip()) and check_id_number(value).valid


def published_fields(fields: Mapping[str, str]) -> dict[str, str]:
    """The fields as they may be passed on (REC-PII-01 … 03)."""
    out = {k: v for k, v in fields.items() if k not in REPRESENTATIVE_ID_FIELDS}
    for k in PERSON_ID_FIELDS:
        if out.get(k, "").strip():
            out[k] = mask_id_number(out[k])
    licence = out.get(LICENCE_NUMBER_FIELD, "")
    if is_id_number(licence):
        out[LICENCE_NUMBER_FIELD] = mask_id_number(licence)
    return out
