"""Record codec (SIG-020 … SIG-029): round trip, determinism, and every rejection reason."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest

from creditx.standard.record import (
    MAX_RECORD_BYTES,
    RECORD_PAYLOAD_TYPE,
    FrozenFields,
    Record,
    RecordError,
    decode_record,
    encode_record,
)


def rec(**kw) -> Record:
    base: dict[str, Any] = dict(
        type="XZCF",
        op="I",
        region="370100",
        source_id="jn-cf-0001",
        version=1,
        source_seq=42,
        fields={"CF_WSH": "济市监罚〔2025〕12号", "CF_XDR_MC": "济南某某商贸有限公司", "BZ": "备注"},
    )
    base.update(kw)
    return Record(**base)


def raw(**kw) -> bytes:
    obj = {
        "v": 1,
        "type": "XZCF",
        "op": "I",
        "region": "370100",
        "source_id": "s",
        "version": 1,
        "source_seq": 1,
        "fields": {"CF_WSH": "x"},
    }
    obj.update(kw)
    return json.dumps(obj, ensure_ascii=False).encode()


def test_payload_type_constant():
    assert RECORD_PAYLOAD_TYPE == "application/vnd.creditx.record+json;v=1"


def test_round_trip_and_exact_bytes():
    r = rec()
    b = encode_record(r)
    assert (
        b
        == (
            '{"fields":{"BZ":"备注","CF_WSH":"济市监罚〔2025〕12号","CF_XDR_MC":"济南某某商贸有限公司"},'
            '"op":"I","region":"370100","source_id":"jn-cf-0001","source_seq":42,"type":"XZCF",'
            '"v":1,"version":1}'
        ).encode()
    )
    assert decode_record(b) == r


def test_empty_fields_omitted_and_fields_immutable():
    r = rec(fields={"CF_WSH": "1", "CF_BZ": ""})
    assert dict(r.fields) == {"CF_WSH": "1"}
    with pytest.raises(TypeError):
        r.fields["CF_WSH"] = "2"  # type: ignore[index]
    assert hash(r) == hash(rec(fields={"CF_WSH": "1"}))
    assert pickle.loads(pickle.dumps(r)) == r


def test_constructor_validates():
    with pytest.raises(RecordError) as e:
        rec(type="XZXK")  # CF_ fields under an XZXK record
    assert (e.value.reason, e.value.rule, e.value.field) == ("REC_FIELD_PREFIX", "SIG-028", "CF_WSH")
    with pytest.raises(RecordError) as e:
        Record("LIST", "I", "370100", "s", 1, 1, FrozenFields({"MD_LX": ""}))
    assert e.value.reason == "REC_FIELD_EMPTY"


@pytest.mark.parametrize(
    "payload, reason, rule, field",
    [
        (b"\xff\xfe", "REC_NOT_UTF8", "SIG-020", ""),
        (b"{", "REC_NOT_JSON", "SIG-021", ""),
        (b"[1]", "REC_NOT_OBJECT", "SIG-021", ""),
        (raw(v=2), "REC_UNSUPPORTED_VERSION", "SIG-022", "v"),
        (raw(v=True), "REC_UNSUPPORTED_VERSION", "SIG-022", "v"),
        (raw(type="XYZ"), "REC_UNKNOWN_TYPE", "SIG-023", "type"),
        (raw(type=["XZCF"]), "REC_UNKNOWN_TYPE", "SIG-023", "type"),
        (raw(op="X"), "REC_UNKNOWN_OP", "SIG-024", "op"),
        (raw(region="371200"), "REC_BAD_REGION", "SIG-025", "region"),
        (raw(source_id=""), "REC_BAD_SOURCE_ID", "SIG-026", "source_id"),
        (raw(source_seq=-1), "REC_BAD_SOURCE_SEQ", "SIG-027", "source_seq"),
        (raw(source_seq="1"), "REC_BAD_SOURCE_SEQ", "SIG-027", "source_seq"),
        (raw(version=-3), "REC_BAD_VERSION", "SIG-027", "version"),
        (raw(version=2**63), "REC_BAD_VERSION", "SIG-027", "version"),
        (raw(version=1.0), "REC_NOT_INTEGER", "SIG-027", ""),
        (raw(fields={"CF_NR_FK": 0.2}), "REC_NOT_INTEGER", "SIG-027", ""),
        (raw(fields={"CF_WSH": 5}), "REC_FIELD_NOT_STRING", "SIG-028", "CF_WSH"),
        (raw(fields={"CF_WSH": None}), "REC_FIELD_NOT_STRING", "SIG-028", "CF_WSH"),
        (raw(fields={"XK_WSH": "a"}), "REC_FIELD_PREFIX", "SIG-028", "XK_WSH"),
        (raw(fields={"CF_WSH": ""}), "REC_FIELD_EMPTY", "SIG-029", "CF_WSH"),
        (raw(fields=[]), "REC_FIELDS_NOT_OBJECT", "SIG-028", "fields"),
        (raw(extra=1), "REC_UNKNOWN_MEMBER", "SIG-022", "extra"),
        (b'{"v":1}', "REC_MISSING_MEMBER", "SIG-022", "fields"),
        (
            b'{"v":1,"type":"XZCF","op":"I","region":"370100","source_id":"s","version":1,"source_seq":1,'
            b'"fields":{"CF_WSH":"\\ud800"}}',
            "REC_LONE_SURROGATE",
            "SIG-021",
            "CF_WSH",
        ),
        (
            b'{"v":1,"type":"XZCF","op":"I","region":"370100","source_id":"s","version":1,"source_seq":1,'
            b'"fields":{"CF_WSH":NaN}}',
            "REC_NOT_JSON",
            "SIG-021",
            "",
        ),
    ],
)
def test_decode_rejects(payload, reason, rule, field):
    with pytest.raises(RecordError) as e:
        decode_record(payload)
    assert (e.value.reason, e.value.rule, e.value.field) == (reason, rule, field)
    assert rule in str(e.value)


def test_duplicate_keys_rejected_at_any_depth():
    top = raw().replace(b'"op": "I"', b'"op": "I", "op": "D"')
    with pytest.raises(RecordError) as e:
        decode_record(top)
    assert (e.value.reason, e.value.field) == ("REC_DUPLICATE_KEY", "op")
    inner = raw().replace(b'"CF_WSH": "x"', b'"CF_WSH": "x", "CF_WSH": "y"')
    with pytest.raises(RecordError) as e:
        decode_record(inner)
    assert (e.value.reason, e.value.field) == ("REC_DUPLICATE_KEY", "CF_WSH")


def test_size_limit():
    big = rec(fields={"CF_SY": "违" * (MAX_RECORD_BYTES // 3)})
    payload = encode_record(big)
    with pytest.raises(RecordError) as e:
        decode_record(payload)
    assert e.value.reason == "REC_TOO_LARGE"
    assert decode_record(payload, max_bytes=len(payload)) == big


def _compact(**over: Any) -> bytes:
    obj: dict[str, Any] = {
        "v": 1,
        "type": "XZCF",
        "op": "I",
        "region": "370100",
        "source_id": "s-1",
        "version": 1,
        "source_seq": 1,
        "fields": {"CF_WSH": "济市监罚〔2025〕12号", "BZ": 'q"\\\n\x01\u2028😀'},
    }
    obj.update(over)
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _general(payload: bytes) -> Any:
    from creditx.standard.record import FrozenFields, _checked_object, _parse

    try:
        return _checked_object(payload, _parse(payload), FrozenFields)
    except RecordError as exc:
        return (exc.reason, exc.rule, exc.field, exc.detail)


@pytest.mark.parametrize(
    "payload",
    [
        _compact(),
        _compact(version=2**63),
        _compact(version=10**19),  # 20 digits: orjson reads it, the record format refuses its length
        _compact(version=2**64),
        _compact(version=-(2**63)),
        _compact(source_seq=1.0),
        _compact(type=7),
        _compact(op=None),
        _compact(region=True),
        _compact(source_id=["s"]),
        _compact(v={"a": 1}),
        _compact(fields={"CF_WSH": "x", "CF_X": {"a": "b"}}),
        _compact(fields={"CF_WSH": ""}),
        _compact(fields={"XK_WSH": "x"}),
        _compact(fields={"CF_WSH": 1}),
        _compact(extra="x"),
        _compact().replace(b'"op":"I"', b'"op":"I","op":"D"'),
        _compact().replace(b'"CF_WSH":', b'"CF_WSH":"a","CF_WSH":'),
        _compact().replace(b'"version":1', b'"version":-0'),
        _compact().replace(b'"version":1', b'"version":1.0'),
        _compact().replace(b'"version":1', b'"version":1e0'),
        _compact().replace("济".encode(), b"\\u6d4e"),
        _compact().replace("😀".encode(), b"\\ud83d\\ude00"),
        _compact().replace("😀".encode(), b"\\ud83d"),
        _compact() + b"\n",
        b"\xef\xbb\xbf" + _compact(),
        _compact().replace(b'"v":1', b'"v":NaN'),
        _compact()[:-1],
        b"[]",
        b'"x"',
    ],
)
def test_canonical_fast_path_decides_as_the_general_parser(payload):
    """A payload in encode_record's exact form is parsed by orjson; every near miss must get the
    general parser's record or its exact reason, rule, field and message."""
    try:
        fast: Any = decode_record(payload)
    except RecordError as exc:
        fast = (exc.reason, exc.rule, exc.field, exc.detail)
    assert fast == _general(payload)
    if isinstance(fast, Record):
        assert list(fast.fields) == sorted(fast.fields)
