"""Test vectors of DIST-050: the list-log leaf of a ``ListChange`` as it travels; and of
DIST-087/088: a compressed Subscribe batch holding those changes.

``build(today)`` returns ``{"list-leaves.json": [...], "list-batches.json": [...]}``. In the first, for each case, the ``ListChange``
message (its protobuf bytes in hex, and the same message as proto3 JSON with the .proto field
names), the leaf content DIST-050 makes of it (RFC 8785 JSON text) and its RFC 9162 leaf hash.
A vendor's node checks that it folds exactly these leaves from exactly these messages (DIST-052);
a vendor's gateway, that it sends these bytes for these changes.

The leaf is made here straight from the message, by the mapping chapter 08 states (DIST-050), so
the vector is a second, independent reading of the text; the tests hold the reference node's
decoder and the reference gateway's encoder to it. Fixed data, no clock: ``today`` is unused.

``list-batches.json``: the five changes as one compressed ``ListChangeBatch`` for a node of a
given subject key — its bytes, its ``changes_zlib`` block (zlib level 1) and ``changes_size``,
its side list (``subject_indexes``, DIST-088: the persons' keys made with that key from the
given 证件类型/证件号码, REC-FP-014), and the changes a node rebuilds, each as the bytes
``list-leaves.json`` holds plus its joined ``subject_index``. A second node key gives the same
block and another side list. Made here from the text (block = the changes' fields, side list
beside), not from the gateway's encoder.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import zlib
from typing import Any

from google.protobuf import json_format

from creditx.standard.canonical import canonicalize
from creditx.standard.merkle import leaf_hash
from creditx.standard.natural_key import person_subject_id
from creditx.standard.timestamps import rfc3339
from creditx.v1 import lists_pb2

_AT = 1_767_254_400_000  # 2026-01-01T08:00:00.000Z in ms since the epoch


def _fp(label: str) -> bytes:
    return hashlib.sha256(f"list vector record {label}".encode()).digest()


def _entry(**over: Any) -> dict[str, Any]:
    """An SCJGYZWF entry of an organisation (the fields of lists.proto ListEntry)."""
    base: dict[str, Any] = {
        "entry_id": "a6f0c0d7e3b54d2b9b1f6f1e0c7d2a19",
        "list_type": "SCJGYZWF",
        "colour": "black",
        "subject_name": "山东星际云科技发展有限公司",
        "subject_category": "法人及非法人组织",
        "subject_uscc": "91370502MA3RBA290K",
        "listed_on": "2025-12-02",
        "period_start": "2025-12-02",
        "period_end": "2027-12-02",
        "listing_reason": "提交虚假材料取得登记",
        "basis": "《市场监督管理严重违法失信名单管理办法》第九条",
        "basis_document": "决定书",
        "basis_number": "东市监列〔2025〕1号",
        "authority": "东营市市场监督管理局",
        "authority_uscc": "11370500004273161F",
        "state": "LIST_ENTRY_STATE_LISTED",
        "version": 1,
        "origin_fingerprint": _fp("v1"),
        "origin_region": "370500",
        "listing": 1,
    }
    base.update(over)
    return base


def _cases() -> list[tuple[str, dict[str, Any]]]:
    person = _entry(
        entry_id="0d3c5b7a91e24f0f8a6b2c4d6e8f0a1b",
        list_type="SXBZXR",
        subject_name="张某某",
        subject_category="自然人",
        subject_uscc="",
        subject_id_masked="370502********0018",
        authority="东营市中级人民法院",
        authority_uscc="11370500004273153M",
        origin_fingerprint=_fp("person v1"),
        period_end="",
    )
    return [
        ("add", {"list_seq": 1, "kind": "CHANGE_KIND_ADD", "entry": _entry()}),
        (
            "correct",
            {
                "list_seq": 2,
                "kind": "CHANGE_KIND_CORRECT",
                "entry": _entry(version=2, origin_fingerprint=_fp("v2"), basis_number="东市监列〔2025〕1-1号"),
            },
        ),
        (
            "remove-repaired",
            {
                "list_seq": 3,
                "kind": "CHANGE_KIND_REMOVE",
                "reason": "REMOVAL_REASON_REPAIRED",
                "entry": _entry(
                    version=3,
                    origin_fingerprint=_fp("v3"),
                    state="LIST_ENTRY_STATE_REMOVED",
                    removed_on="2026-12-03",
                    removal_reason="REMOVAL_REASON_REPAIRED",
                    removal_authority="东营市市场监督管理局",
                ),
            },
        ),
        # a natural person's entry: the origin envelope stays at the gateway (DIST-076), the leaf
        # needs none of it; EXPIRED has no causing record, fp/node are the listed version's
        ("add-person", {"list_seq": 4, "kind": "CHANGE_KIND_ADD", "entry": person}),
        (
            "remove-expired-person",
            {
                "list_seq": 5,
                "kind": "CHANGE_KIND_REMOVE",
                "reason": "REMOVAL_REASON_EXPIRED",
                "entry": {
                    **person,
                    "state": "LIST_ENTRY_STATE_REMOVED",
                    "removed_on": "2028-12-02",
                    "removal_reason": "REMOVAL_REASON_EXPIRED",
                },
            },
        ),
    ]


def _message(i: int, case: dict[str, Any]) -> lists_pb2.ListChange:
    entry = case["entry"]
    return lists_pb2.ListChange(
        list_seq=case["list_seq"],
        kind=case["kind"],  # enum values by name
        reason=case.get("reason", "REMOVAL_REASON_UNSPECIFIED"),
        list_type=entry["list_type"],
        entry=lists_pb2.ListEntry(
            **{k: v for k, v in entry.items() if k != "removal_reason"},
            removal_reason=entry.get("removal_reason", "REMOVAL_REASON_UNSPECIFIED"),
        ),
        at_unix_ms=_AT + i * 86_400_000 + i * 7,
    )


def leaf_from_message(m: lists_pb2.ListChange) -> bytes:
    """DIST-050, as chapter 08 states the mapping from a ListChange."""
    kind = lists_pb2.ChangeKind.Name(m.kind).removeprefix("CHANGE_KIND_")
    reason = lists_pb2.RemovalReason.Name(m.reason).removeprefix("REMOVAL_REASON_") if kind == "REMOVE" else ""
    at = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC) + _dt.timedelta(milliseconds=m.at_unix_ms)
    return canonicalize(
        {
            "kind": "list",
            "list_seq": m.list_seq,
            "fp": m.entry.origin_fingerprint.hex(),
            "node": m.entry.origin_region,
            "list_type": m.list_type,
            "change": kind,
            "reason": reason,
            "at": rfc3339(at),
        }
    )


_PERSON_ID = ("身份证", "370502199001010018")  # 张某某's 证件类型 and 证件号码 (REC-FP-014)
NODE_KEYS = {"node-a": bytes(range(32)), "node-b": bytes(range(32, 64))}


def _field(m: lists_pb2.ListChange) -> bytes:
    """One change as a ``changes`` field of ListChangeBatch (tag 0x0a, varint length, message)."""
    body = m.SerializeToString(deterministic=True)
    n, length = len(body), bytearray()
    while n > 0x7F:
        length.append(n & 0x7F | 0x80)
        n >>= 7
    length.append(n)
    return b"\x0a" + bytes(length) + body


def _batches(messages: list[lists_pb2.ListChange]) -> list[dict[str, Any]]:
    """DIST-087/088: the five changes as one compressed batch, for each of two nodes' keys."""
    raw = b"".join(_field(m) for m in messages)
    block = zlib.compress(raw, 1)
    out = []
    for name, key in NODE_KEYS.items():
        keys = [person_subject_id(*_PERSON_ID, key)]
        side = [
            lists_pb2.SubjectIndexKeys(list_seq=m.list_seq, subject_index=keys)
            for m in messages
            if not m.HasField("origin") and m.entry.subject_id_masked
        ]
        batch = lists_pb2.ListChangeBatch(
            through_list_seq=messages[-1].list_seq,
            head_list_seq=messages[-1].list_seq,
            live=True,
            changes_zlib=block,
            changes_size=len(raw),
            subject_indexes=side,
        )
        rebuilt = []
        for m in messages:
            joined = lists_pb2.ListChange()
            joined.CopyFrom(m)
            joined.subject_index.extend(keys if any(s.list_seq == m.list_seq for s in side) else [])
            rebuilt.append(joined.SerializeToString(deterministic=True).hex())
        out.append(
            {
                "name": f"compressed-batch-{name}",
                "subject_index_key": key.hex(),
                "person_id": {"MD_ZT_ZJLX": _PERSON_ID[0], "MD_ZT_ZJHM": _PERSON_ID[1]},
                "batch_pb": batch.SerializeToString(deterministic=True).hex(),
                "changes_zlib": block.hex(),
                "changes_size": len(raw),
                "changes_raw": raw.hex(),
                "subject_indexes": [{"list_seq": s.list_seq, "subject_index": list(s.subject_index)} for s in side],
                "changes": rebuilt,
            }
        )
    return out


def build(today: _dt.date) -> dict[str, Any]:
    del today  # fixed data
    out = []
    messages = []
    for i, (name, case) in enumerate(_cases()):
        m = _message(i, case)
        messages.append(m)
        leaf = leaf_from_message(m)
        out.append(
            {
                "name": name,
                "list_change": json_format.MessageToDict(m, preserving_proto_field_name=True),
                "list_change_pb": m.SerializeToString(deterministic=True).hex(),
                "leaf": leaf.decode("utf-8"),
                "leaf_hash": leaf_hash(leaf).hex(),
            }
        )
    return {"list-leaves.json": out, "list-batches.json": _batches(messages)}
