"""Natural keys: which records are versions of the same decision (REC-FP-010 … REC-FP-016).

``natural_key(record, subject_key)`` is::

    XZXK|<XK_XKJGDM>|<normalised XK_WSH>|<subject id>
    XZCF|<CF_CFJGDM>|<normalised CF_WSH>|<subject id>
    LIST|<MD_LX>|<MD_RDJGDM>|<normalised MD_RDWSH>|<subject id>

Subject id (REC-FP-012 … REC-FP-014): the subject's USCC; for a 个体工商户 reporting the
placeholder USCC, ``R:`` + its 工商注册号; for a natural person, ``P:`` + lowercase hex
HMAC-SHA256(subject_key, "证件类型:证件号码") so the ID number never appears in a key.

Invariants: the key is a pure function of the record's fields and ``subject_key``; every part is
normalised (full-width → half-width, whitespace removed, upper-case; brackets unified in document
numbers) so spelling variants of one document meet; "%" and "|" inside a part are written
%25 and %7C, so distinct parts never join to the same key; a record lacking a part raises
:class:`NaturalKeyError` naming the field rather than producing a key that could collide.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from creditx.standard.identifiers import USCC_PLACEHOLDER, id15_to_18, normalise
from creditx.standard.record import Record, RecordError

MIN_SUBJECT_KEY_BYTES = 16  # REC-FP-016

# REC-FP-011: every opening/closing bracket form seen in document numbers → 〔 〕 (GB/T 9704).
_OPEN = "([【〔［（﹝〖"
_CLOSE = ")]】〕］）﹞〗"
_BRACKETS = {ord(c): "〔" for c in _OPEN} | {ord(c): "〕" for c in _CLOSE}

# type → (authority USCC, document number, subject USCC, 工商注册号, ID type, ID number)
KEY_FIELDS: dict[str, tuple[str, str, str, str, str, str]] = {
    "XZXK": ("XK_XKJGDM", "XK_WSH", "XK_XDR_SHXYM", "XK_XDR_GSZC", "XK_XDR_ZJLX", "XK_XDR_ZJHM"),
    "XZCF": ("CF_CFJGDM", "CF_WSH", "CF_XDR_SHXYM", "CF_XDR_GSZC", "CF_XDR_ZJLX", "CF_XDR_ZJHM"),
    "LIST": ("MD_RDJGDM", "MD_RDWSH", "MD_ZT_SHXYM", "MD_ZT_GSZC", "MD_ZT_ZJLX", "MD_ZT_ZJHM"),
}


class NaturalKeyError(RecordError):
    """A record lacks a part of its natural key (reason NK_*, rule REC-FP-01x, field named)."""


def normalise_doc_number(s: str) -> str:
    """REC-FP-011: full-width → half-width, brackets → 〔〕, all whitespace removed, upper-case.

    ``"济市监罚［2025］ 12号"`` and ``"济市监罚〔２０２５〕12号"`` both give ``"济市监罚〔2025〕12号"``.
    """
    return normalise(s).translate(_BRACKETS)


def person_subject_id(id_type: str, id_number: str, subject_key: bytes) -> str:
    """REC-FP-014: ``P:`` + hex HMAC-SHA256(subject_key, "证件类型:证件号码") (UTF-8).

    The type has whitespace removed; the number is normalised and a 15-digit citizen ID is
    converted to 18 digits first, so both generations of one card give one subject."""
    return keyed_person_id(person_subject_message(id_type, id_number), subject_key)


def person_subject_message(id_type: str, id_number: str) -> bytes:
    """REC-FP-014's message, "证件类型:证件号码" normalised, before any key: one person's message
    can be keyed with many keys (DIST-077: each node's own) without normalising it again."""
    number = normalise(id_number)
    if len(number) == 15 and number.isascii() and number.isdigit():
        number = id15_to_18(number)
    return f"{''.join(id_type.split())}:{number}".encode()


def keyed_person_id(message: bytes, subject_key: bytes) -> str:
    """REC-FP-014: ``P:`` + hex HMAC-SHA256(subject_key, message) of :func:`person_subject_message`."""
    _check_key(subject_key)
    return "P:" + hmac.new(subject_key, message, hashlib.sha256).hexdigest()


def _check_key(subject_key: bytes) -> None:
    if not isinstance(subject_key, bytes) or len(subject_key) < MIN_SUBJECT_KEY_BYTES:
        raise ValueError(
            f"REC-FP-016: subject_key must be at least {MIN_SUBJECT_KEY_BYTES} bytes "
            "(the province-wide key from the gateway's configuration)"
        )


def subject_id(record_type: str, fields: Mapping[str, str], subject_key: bytes) -> str:
    """REC-FP-012 … REC-FP-014: the subject part of the natural key."""
    try:
        _, _, f_uscc, f_gszc, f_zjlx, f_zjhm = KEY_FIELDS[record_type]
    except KeyError:
        raise NaturalKeyError(
            "REC_UNKNOWN_TYPE", "SIG-023", "type", f"no natural key for record type {record_type!r}"
        ) from None
    uscc = normalise(fields.get(f_uscc, ""))
    if uscc and uscc != USCC_PLACEHOLDER:
        return uscc
    if uscc == USCC_PLACEHOLDER:
        gszc = normalise(fields.get(f_gszc, ""))
        if not gszc:
            raise NaturalKeyError(
                "NK_NO_REGISTRATION_NUMBER",
                "REC-FP-013",
                f_gszc,
                f"{f_uscc} is the placeholder {USCC_PLACEHOLDER}; give the 工商注册号 in {f_gszc}",
            )
        return "R:" + gszc
    number = fields.get(f_zjhm, "")
    if number.strip():
        id_type = fields.get(f_zjlx, "")
        if not id_type.strip():
            raise NaturalKeyError(
                "NK_NO_ID_TYPE", "REC-FP-014", f_zjlx, f"a natural person's {f_zjhm} needs its 证件类型 in {f_zjlx}"
            )
        return person_subject_id(id_type, number, subject_key)
    raise NaturalKeyError(
        "NK_NO_SUBJECT", "REC-FP-015", f_uscc, f"the record names no subject: give {f_uscc} (USCC) or {f_zjlx}/{f_zjhm}"
    )


def natural_key(record: Record, subject_key: bytes) -> str:
    """REC-FP-010: the natural key of ``record`` (see the module docstring for its form)."""
    _check_key(subject_key)
    f_auth, f_doc = KEY_FIELDS[record.type][:2]
    parts = [record.type]
    if record.type == "LIST":
        lx = normalise(record.fields.get("MD_LX", ""))
        if not lx:
            raise NaturalKeyError("NK_NO_LIST_TYPE", "REC-FP-015", "MD_LX", "a list entry needs its list type MD_LX")
        parts.append(lx)
    authority = normalise(record.fields.get(f_auth, ""))
    if not authority:
        raise NaturalKeyError(
            "NK_NO_AUTHORITY",
            "REC-FP-015",
            f_auth,
            f"the deciding authority's USCC {f_auth} is part of the natural key; fill it in",
        )
    doc = normalise_doc_number(record.fields.get(f_doc, ""))
    if not doc:
        raise NaturalKeyError(
            "NK_NO_DOCUMENT_NUMBER",
            "REC-FP-015",
            f_doc,
            f"the document number {f_doc} is part of the natural key; fill it in",
        )
    parts += [authority, doc, subject_id(record.type, record.fields, subject_key)]
    # REC-FP-010: "%" and "|" inside a part are percent-encoded, so the join is unambiguous.
    return "|".join(p.replace("%", "%25").replace("|", "%7C") for p in parts)
