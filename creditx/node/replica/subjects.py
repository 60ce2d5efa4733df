"""Subject index keys of the replica (DIST-060, NODE-041). Pure.

An entry is found by any of: ``U:<USCC>``, ``R:<工商注册号>`` and ``P:<node keyed hash>``. The
person key is HMAC-SHA256 under the node's own random subject key (REC-FP-014's construction,
:func:`creditx.standard.natural_key.person_subject_id`) over 证件类型:证件号码. The gateway makes
it with the key the node sends (DIST-077), because a person's origin record, which holds the
number, stays at the gateway (DIST-076); the entry itself holds only the masked number, and the
gateway's hash in ``entry_id`` uses a key the node does not have. The ID number is never stored.

Invariant: the keys an entry is indexed under and the key a question looks up are built by the
same normalisation (:func:`creditx.standard.identifiers.normalise`), so a question in full-width
characters or a 15-digit ID finds the entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from creditx.standard.errors import InputError
from creditx.standard.identifiers import (
    USCC_PLACEHOLDER,
    check_any,
    check_id_number,
    check_uscc,
    mask_id_number,
    normalise,
    uscc_valid_as_written,
)
from creditx.standard.lists.lifecycle import ListEntry
from creditx.standard.lists.replica import entry_subject
from creditx.standard.lists.withheld import origin_index_keys
from creditx.standard.natural_key import person_subject_id


def entry_keys(
    entry: ListEntry, origin_fields: Mapping[str, str] | None, subject_key: bytes, sent: Iterable[str] = ()
) -> set[str]:
    """Every index key of ``entry``; ``origin_fields`` are the fields of its origin record (None
    for a natural person's entry, whose origin stays at the gateway: DIST-076), ``sent`` the keys
    the gateway made for it with this node's key (DIST-077, already checked)."""
    return subject_keys(entry.subject_uscc, entry.entry_id, origin_fields, subject_key, sent)


def subject_keys(
    subject_uscc: str,
    entry_id: str,
    origin_fields: Mapping[str, str] | None,
    subject_key: bytes,
    sent: Iterable[str] = (),
) -> set[str]:
    """:func:`entry_keys` from the two members of the entry it reads (a snapshot's loader has
    the entry as its canonical bytes, not as a ListEntry, NODE-052)."""
    keys: set[str] = set(sent)
    uscc = normalise(subject_uscc)
    if uscc and uscc != USCC_PLACEHOLDER:
        keys.add("U:" + uscc)
    subject = entry_subject(entry_id)
    if subject.startswith("R:"):
        keys.add(subject)
    if origin_fields:
        keys.update(origin_index_keys(origin_fields, subject_key))
    return keys


@dataclass(frozen=True)
class Question:
    key: str  # the index key to look up
    kind: str  # "uscc" | "registration_number" | "person"
    shown: str  # what may be printed: the USCC, the number, or the masked ID


def question(kind: str, value: str, subject_key: bytes, *, id_type: str = "身份证") -> Question:
    """Validate a Check subject (REC-ID-0xx / REC-ID-02x) and make its index key. Raises
    InputError naming the field, the rule and what to do."""
    if kind == "uscc":
        if uscc_valid_as_written(value):  # the usual case, proven from its check characters alone
            return Question("U:" + value, kind, value)
        c = check_uscc(value)
        if not c.valid:
            raise InputError(
                f"subject.uscc {value!r}: {c.reason} [{c.rule}] {c.message}",
                hint="give the 18-character 统一社会信用代码 exactly as registered",
            )
        return Question("U:" + c.normalised, kind, c.normalised)
    if kind == "registration_number":
        n = normalise(value)
        if not n:
            raise InputError("subject.registration_number is empty [DIST-060]", hint="give the 工商注册号")
        return Question("R:" + n, kind, n)
    if kind == "person":
        if not id_type.strip():
            raise InputError("subject.person.id_type is empty [REC-FP-014]", hint="give the 证件类型, e.g. 身份证")
        if "身份证" in id_type:
            c = check_id_number(value)
            if not c.valid:
                raise InputError(
                    f"subject.person.id_number: {c.reason} [{c.rule}] {c.message}",
                    hint="give the 18-digit (or 15-digit) citizen ID number",
                )
        if not normalise(value):
            raise InputError("subject.person.id_number is empty [REC-FP-014]", hint="give the 证件号码")
        return Question(person_subject_id(id_type, value, subject_key), kind, mask_id_number(value))
    raise InputError(f"subject kind {kind!r} is not uscc, registration_number or person [DIST-060]")


def question_from_text(text: str, subject_key: bytes) -> Question:
    """The CLI's SUBJECT: a USCC or a citizen ID number, told apart by its check character
    (creditx.standard.identifiers.check_any); anything else is refused with the identifier's reason."""
    c = check_any(text)
    if not c.valid:
        raise InputError(
            f"SUBJECT {text!r}: {c.reason} [{c.rule}] {c.message}",
            hint="give a 统一社会信用代码 (18 characters) or a citizen ID number",
        )
    if c.kind == "uscc":
        return Question("U:" + c.normalised, "uscc", c.normalised)
    if c.kind == "id_card":
        return question("person", c.normalised, subject_key)
    raise InputError(
        f"SUBJECT {text!r} is a {c.kind}, not a USCC or an ID number [DIST-060]",
        hint="list entries are indexed by USCC, 工商注册号 or ID number",
    )
