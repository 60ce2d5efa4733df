"""Content fingerprint (REC-FP-001 … REC-FP-004)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import rfc8785

from creditx.standard.fingerprint import fingerprint, fingerprint_hex, fingerprint_input
from creditx.standard.record import Record, decode_record, encode_record

FIELDS = {"CF_WSH": "济市监罚〔2025〕12号", "CF_XDR_MC": "济南某某商贸有限公司", "CF_NR_FK": "0.2"}


def rec(**kw) -> Record:
    base: dict[str, Any] = dict(
        type="XZCF", op="I", region="370100", source_id="a", version=1, source_seq=1, fields=FIELDS
    )
    base.update(kw)
    return Record(**base)


def test_definition_matches_independent_jcs():
    r = rec()
    expected = hashlib.sha256(rfc8785.dumps({"type": "XZCF", "op": "I", "fields": FIELDS})).digest()
    assert fingerprint(r) == expected and len(expected) == 32
    assert fingerprint_hex(r) == expected.hex()
    assert fingerprint_input("XZCF", "I", FIELDS).startswith(b'{"fields":{"CF_NR_FK":"0.2"')


def test_same_content_from_other_node_or_bytes_is_same_fingerprint():
    a = rec()
    b = rec(region="370200", source_id="other", version=7, source_seq=999)
    assert fingerprint(a) == fingerprint(b)
    # differently spaced/ordered payload bytes, same content
    obj = json.loads(encode_record(a))
    spaced = json.dumps(dict(reversed(list(obj.items()))), ensure_ascii=True, indent=1).encode()
    assert spaced != encode_record(a)
    assert fingerprint(decode_record(spaced)) == fingerprint(a)


def test_content_changes_change_fingerprint():
    a = rec()
    assert fingerprint(rec(op="U")) != fingerprint(a)
    assert fingerprint(rec(fields={**FIELDS, "CF_NR_FK": "0.3"})) != fingerprint(a)
    assert fingerprint(rec(fields={**FIELDS, "BZ": "x"})) != fingerprint(a)
    # empty fields are absent, so they do not change it
    assert fingerprint(rec(fields={**FIELDS, "BZ": ""})) == fingerprint(a)
