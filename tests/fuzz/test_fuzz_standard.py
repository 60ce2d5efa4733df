"""Fuzz every decoder, validator and parser of the standard and the PKI: whatever the input,
the only exception that escapes is the module's own error type (SYNC-033, REC-064)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditx.standard import identifiers as ids
from creditx.standard.checkpoint import CheckpointError, parse_checkpoint, parse_verifier_key, verify_checkpoint
from creditx.standard.envelope import Envelope, Signature, SignatureError, verify_envelope
from creditx.standard.errors import CreditxError, InputError
from creditx.standard.evidence import verify_bundle
from creditx.standard.merkle import ProofError, verify_consistency, verify_inclusion
from creditx.standard.natural_key import NaturalKeyError, natural_key
from creditx.standard.record import RECORD_PAYLOAD_TYPE, Record, RecordError, decode_record, encode_record
from creditx.standard.tabular import read_table
from creditx.standard.validation import validate_fields

pytestmark = pytest.mark.fuzz

TODAY = dt.date(2026, 6, 1)
KEY = b"k" * 32
GOOD = {
    "v": 1,
    "type": "XZCF",
    "op": "I",
    "region": "370100",
    "source_id": "s1",
    "version": 1,
    "source_seq": 1,
    "fields": {"CF_WSH": "济市监罚〔2025〕1号", "CF_CFJGDM": "11370100001778877L", "CF_XDR_MC": "某公司"},
}

text = st.text(st.characters(codec=None), max_size=60)  # any code point, lone surrogates included
digits = st.text(st.characters(categories=("Nd", "No")), min_size=1, max_size=20)  # every script's digits
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | text,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(text, kids, max_size=4),
    max_leaves=30,
)


def _mutated_record() -> st.SearchStrategy[bytes]:
    """Valid records with one member or field replaced by anything JSON can hold."""

    def build(member: str, value, as_field: bool, escape: bool) -> bytes:
        obj = json.loads(json.dumps(GOOD))
        if as_field:
            obj["fields"][member] = value
        else:
            obj[member] = value
        return json.dumps(obj, ensure_ascii=escape).encode("utf-8", "surrogatepass")

    members = st.sampled_from([*GOOD, "CF_XDR_ZJHM", "CF_NR_FK", "CF_JDRQ"])
    return st.builds(build, st.one_of(members, text), json_values, st.booleans(), st.booleans())


def _deep(n: int) -> bytes:
    return b'{"fields":' * n + b"1" + b"}" * n


@given(st.one_of(st.binary(max_size=300), _mutated_record(), st.integers(1, 5000).map(_deep)))
def test_record_decoder_raises_only_record_error(payload):
    try:
        r = decode_record(payload)
    except RecordError:
        return
    assert decode_record(encode_record(r)) == r  # what decodes re-encodes to the same record


@given(
    st.dictionaries(
        st.one_of(
            text,
            st.sampled_from(
                ["CF_XDR_ZJHM", "CF_XDR_SHXYM", "CF_NR_FK", "CF_JDRQ", "CF_XDR_ZZJG", "CF_WSH", "CF_XDR_LB"]
            ),
        ),
        st.one_of(text, digits),
        max_size=8,
    ),
    st.sampled_from(["XZCF", "XZXK", "LIST"]),
)
def test_validation_and_natural_key_never_crash(fields, record_type):
    prefix = {"XZCF": "CF_", "XZXK": "XK_", "LIST": "MD_"}[record_type]
    fields = {k: v for k, v in fields.items() if v}
    validate_fields(record_type, dict(fields), today=TODAY)  # a list of violations, never an exception
    try:
        rec = Record(record_type, "I", "370100", "s", 1, 1, {k: v for k, v in fields.items() if k.startswith(prefix)})
        natural_key(rec, KEY)
    except (RecordError, NaturalKeyError):
        pass


@given(st.one_of(text, digits, digits.map(lambda d: "370115" + d)))
def test_identifier_checks_never_crash_and_accept_ascii_only(code):
    for check in (ids.check_uscc, ids.check_org_code, ids.check_id_number, ids.check_any):
        verdict = check(code)
        if verdict.valid:
            assert verdict.normalised.isascii()
    ids.detect_kind(code)
    ids.mask_id_number(code)


envelope_json = st.one_of(
    st.binary(max_size=200),
    text.map(lambda t: t.encode("utf-8", "surrogatepass")),
    text,
    st.builds(
        lambda t, p, sigs: json.dumps({"payloadType": t, "payload": p, "signatures": sigs}).encode(),
        json_values,
        json_values,
        json_values,
    ),
    st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n),
)


@given(envelope_json)
def test_envelope_parser_raises_only_signature_error(data):
    try:
        env = Envelope.from_json(data)
    except SignatureError:
        return
    try:
        verify_envelope(env, lambda keyid: None, expected_type=RECORD_PAYLOAD_TYPE)
    except SignatureError:
        pass


@given(
    text,
    st.binary(max_size=100),
    st.lists(
        st.builds(Signature, text, st.sampled_from(["ED25519", "ECDSA-P256-SHA256", "x"]), st.binary(max_size=80)),
        max_size=6,
    ),
)
def test_envelope_verifier_raises_only_signature_error(ptype, payload, sigs):
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.from_private_bytes(b"\1" * 32).public_key()
    try:
        verify_envelope(Envelope(ptype, payload, tuple(sigs)), lambda keyid: key if len(keyid) % 2 else None)
    except SignatureError:
        pass


@given(st.one_of(st.binary(max_size=400), text))
def test_checkpoint_parsers_raise_only_checkpoint_error(note):
    for f in (parse_checkpoint, lambda n: verify_checkpoint(n, [])):
        try:
            f(note)
        except CheckpointError:
            pass
    try:
        parse_verifier_key(note if isinstance(note, str) else note.decode("latin-1"))
    except CheckpointError:
        pass


@given(
    st.integers(-5, 2**64),
    st.integers(-5, 2**64),
    st.binary(max_size=40),
    st.lists(st.binary(max_size=40), max_size=70),
    st.binary(max_size=40),
)
def test_merkle_verifiers_raise_only_proof_error(a, b, h, proof, root):
    for f in (lambda: verify_inclusion(a, b, h, proof, root), lambda: verify_consistency(a, b, h, root, proof)):
        try:
            f()
        except ProofError:
            pass


def _bundle_mutation() -> st.SearchStrategy[bytes]:
    keys = st.sampled_from(
        ["format", "origin", "certificates", "leaves", "checkpoints", "consistency", "inclusion", "verifier_key"]
    )
    base = {
        "format": "creditx-evidence-bundle/1",
        "origin": "o",
        "certificates": {"signing": "", "ca": ""},
        "leaves": [],
        "checkpoints": [],
        "consistency": [],
        "inclusion": [],
    }

    def build(changes):
        b = dict(base, **changes)
        return json.dumps(b).encode()

    return st.one_of(
        st.binary(max_size=300),
        st.dictionaries(keys, json_values, max_size=4).map(build),
        st.integers(1, 3000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    )


@given(_bundle_mutation())
def test_evidence_bundle_verifier_raises_only_checkpoint_error(data):
    try:
        verify_bundle(data)
    except CheckpointError:
        pass


@given(st.binary(max_size=600), st.sampled_from([".csv", ".xlsx", ".jsonl", ".tsv"]))
def test_tabular_reader_raises_only_input_error(tmp_path_factory, data, suffix):
    p = tmp_path_factory.mktemp("fuzz") / ("f" + suffix)
    p.write_bytes(data)
    try:
        with read_table(p) as rows:
            for _ in rows:
                pass
    except InputError:
        pass


@given(st.one_of(st.binary(max_size=400), text))
def test_certificate_parsing_raises_only_identity_error(data):
    from creditx.pki.identity import IdentityError, parse_certificate

    try:
        parse_certificate(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
    except IdentityError:
        pass


def test_only_creditx_errors_are_named_above():
    """The error types the fuzz tests allow are all the standard's own (what the CLI prints)."""
    from creditx.pki.identity import IdentityError

    for e in (RecordError, NaturalKeyError, SignatureError, CheckpointError, ProofError, InputError, IdentityError):
        assert issubclass(e, CreditxError)
