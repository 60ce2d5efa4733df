"""Natural persons' origin envelopes stay at the gateway (DIST-076 … DIST-079). Pure.

* :func:`withholds_origin` is the one test of whose origin is withheld: an entry with a masked
  ID number (``subject_id_masked``, DIST-017) is a natural person's.
* :func:`origin_index_keys` is the one construction of the subject index keys a replica files
  an entry under from its origin record's fields (DIST-077): ``P:`` + HMAC-SHA256(index key,
  证件类型:证件号码) (REC-FP-014) and ``R:`` + 工商注册号. The gateway computes them for a person's
  entry with the key the node sent; a node computes them itself from an organisation's origin.
* :func:`check_index_keys` is what a node accepts as such keys from the gateway.
* :func:`may_have_evidence` is the rule of DIST-079: who may ask for a person's origin.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from creditx.standard.divisions import PROVINCE
from creditx.standard.identifiers import normalise
from creditx.standard.lists.lifecycle import ListEntry, ListError
from creditx.standard.natural_key import keyed_person_id, person_subject_message
from creditx.standard.registry import Member

MIN_INDEX_KEY, MAX_INDEX_KEY = 16, 64  # bytes (REC-FP-016)
_P_KEY = re.compile(r"P:[0-9a-f]{64}")
MAX_INDEX_KEYS = 4  # a person has one P: key, at most one R: key; room for a later form
INDEX_FIELDS = ("MD_ZT_ZJLX", "MD_ZT_ZJHM", "MD_ZT_GSZC")  # the origin fields origin_index_keys reads


def withholds_origin(entry: ListEntry) -> bool:
    """DIST-076: the entry is about a natural person, so its origin is not sent to nodes."""
    return masked_person(entry.subject_id_masked)


def masked_person(subject_id_masked: str) -> bool:
    """:func:`withholds_origin` from the entry's ``subject_id_masked`` member alone (a snapshot's
    loader reads it from the entry's canonical bytes without building the entry)."""
    return bool(subject_id_masked)


ORGANISATION_MARK = b'"subject_id_masked":""'  # in an entry's RFC 8785 bytes: not a person's


def withholds_origin_bytes(entry: bytes) -> bool:
    """:func:`withholds_origin` on an entry's canonical bytes, without decoding them: an
    organisation's entry has ``"subject_id_masked":""`` (RFC 8785: no whitespace, and a quote
    inside a value is escaped, so this byte string can only be that member). Anything else, a
    missing member too, counts as a person, so an origin is withheld rather than leaked."""
    return ORGANISATION_MARK not in entry


def origin_index_keys(fields: Mapping[str, str], index_key: bytes) -> list[str]:
    """DIST-077: the subject index keys of an entry read from its origin record's fields."""
    return index_source(fields).keys(index_key)


@dataclass(frozen=True)
class IndexSource:
    """What an entry's index keys are made of before any node's key: REC-FP-014's message of the
    person's ID (None without one) and the ``R:`` key of its 工商注册号 — so the gateway, which
    makes a person's keys with each subscriber's own key, normalises them once per change."""

    person: bytes | None
    registered: str | None

    def keys(self, index_key: bytes) -> list[str]:
        keys = [keyed_person_id(self.person, index_key)] if self.person is not None else []
        return keys + [self.registered] if self.registered is not None else keys


def index_source(fields: Mapping[str, str]) -> IndexSource:
    person = None
    if fields.get("MD_ZT_ZJHM", "").strip() and fields.get("MD_ZT_ZJLX", "").strip():
        person = person_subject_message(fields["MD_ZT_ZJLX"], fields["MD_ZT_ZJHM"])
    registered = "R:" + normalise(fields["MD_ZT_GSZC"]) if fields.get("MD_ZT_GSZC", "").strip() else None
    return IndexSource(person, registered)


def check_index_key(key: bytes) -> str:
    """DIST-077: why ``key`` is not a usable subject index key ("" when it is)."""
    if not key:
        return "no subject_index_key: a 1.1 gateway withholds persons' origins and needs it"
    if not MIN_INDEX_KEY <= len(key) <= MAX_INDEX_KEY:
        return f"subject_index_key has {len(key)} bytes, not {MIN_INDEX_KEY}..{MAX_INDEX_KEY}"
    return ""


def check_index_keys(list_seq: int, keys: Iterable[str]) -> list[str]:
    """DIST-077: the gateway's index keys of a withheld change, or ListError DIST_BAD_ENTRY."""
    out = list(keys)
    bad = [k for k in out if not (_P_KEY.fullmatch(k) or (k.startswith("R:") and 2 < len(k) <= 66))]
    if bad or len(out) > MAX_INDEX_KEYS or not any(k.startswith("P:") for k in out):
        raise ListError(
            "DIST_BAD_ENTRY",
            "DIST-077",
            f"change {list_seq}: a natural person's entry without a usable subject_index "
            f"({len(out)} keys{', e.g. ' + repr(bad[0][:20]) if bad else ''})",
            field="subject_index",
            hint="the gateway must send the person's index keys made with this node's key; "
            "report it to the provincial operator (the node keeps its replica as it was)",
        )
    return out


def may_have_evidence(entry: ListEntry, member: Member | None, node: str) -> bool:
    """DIST-079: the city platform of the origin's region (it sent the record), or a member granted
    the entry's deciding body for its list type (it holds the authority), may see a person's origin.
    ``node`` is the asking node's member id (SEC-092). Region 370000 is shared by the 370000 node
    and the departments' own nodes, so there only the grant decides."""
    if node == entry.origin_region and node != PROVINCE:
        return True
    grant = member.grant(normalise(entry.authority_uscc)) if member is not None else None
    return grant is not None and grant.allows("LIST", entry.list_type)
