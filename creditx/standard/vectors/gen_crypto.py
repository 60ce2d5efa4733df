"""Vectors for chapters 03 and 04: keys, PAE, envelopes, record codec, canonical JSON,
fingerprints, natural keys and document-number normalisation.

Test keys are derived from published strings, so anyone can rebuild them: an Ed25519 private
key is the 32-byte seed ``SHA-256(label)``; an ECDSA P-256 private scalar is
``int(SHA-256(label)) mod (n − 1) + 1``. ECDSA vector signatures use RFC 6979 deterministic nonces
so they are reproducible byte for byte (needs cryptography ≥ 44 built on OpenSSL ≥ 3.2);
verifiers MUST NOT assume signatures are deterministic (SIG-005).

Every case states the outcome it was built to show; ``build`` asserts the code agrees, so a
vector can never record a bug as the expected answer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Collection, Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from creditx.standard.canonical import canonicalize
from creditx.standard.envelope import Envelope, SignatureError, Signer, pae, sign_envelope, verify_envelope
from creditx.standard.fingerprint import fingerprint, fingerprint_input
from creditx.standard.natural_key import NaturalKeyError, natural_key, normalise_doc_number
from creditx.standard.record import RECORD_PAYLOAD_TYPE, Record, RecordError, decode_record, encode_record
from creditx.standard.suites import EcdsaP256Sha256, key_id

P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
SUBJECT_KEY_LABEL = "creditx test vector subject_key v1"
SUBJECT_KEY = hashlib.sha256(SUBJECT_KEY_LABEL.encode()).digest()


def trusted_keys(keys: Mapping[str, Any], trusted: Collection[str]) -> Callable[[str], Any]:
    """A ``resolve_key`` that knows ``keys`` but answers only for the key ids in ``trusted``."""
    return lambda kid: keys.get(kid) if kid in trusted else None


def _label(suite: str, n: int) -> str:
    return f"creditx test vector key {suite} #{n}"


def test_private_key(suite: str, n: int = 1) -> Any:
    """The published test key ``n`` of ``suite`` (never use outside tests)."""
    digest = hashlib.sha256(_label(suite, n).encode()).digest()
    if suite == "ED25519":
        return ed25519.Ed25519PrivateKey.from_private_bytes(digest)
    if suite == "ECDSA-P256-SHA256":
        return ec.derive_private_key(int.from_bytes(digest, "big") % (P256_N - 1) + 1, ec.SECP256R1())
    raise ValueError(suite)


class _Rfc6979EcdsaP256(EcdsaP256Sha256):
    """Same suite, deterministic nonces (RFC 6979) so vectors are reproducible."""

    def sign(self, private_key: Any, data: bytes) -> bytes:
        sig: bytes = private_key.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
        return sig


def vector_signer(suite: str, n: int = 1) -> Signer:
    key = test_private_key(suite, n)
    return Signer(key, _Rfc6979EcdsaP256() if suite == "ECDSA-P256-SHA256" else None)


SUITES = ("ECDSA-P256-SHA256", "ED25519")


def _keys() -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    for suite in SUITES:
        for n in (1, 2):
            k = test_private_key(suite, n)
            pub = k.public_key()
            out.append(
                {
                    "name": f"{suite}#{n}",
                    "suite": suite,
                    "derivation": f'SHA-256("{_label(suite, n)}")'
                    + (" as the Ed25519 seed" if suite == "ED25519" else " mod (n-1) + 1 as the P-256 scalar"),
                    "private_pkcs8_pem": k.private_bytes(
                        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                    ).decode(),
                    "public_spki_der_hex": pub.public_bytes(
                        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                    ).hex(),
                    "keyid": key_id(pub),
                }
            )
    return {
        "description": "Published test keys (SIG-004 key ids). Never trust them outside tests.",
        "keys": out,
        "subject_key": {"derivation": f'SHA-256("{SUBJECT_KEY_LABEL}")', "hex": SUBJECT_KEY.hex()},
    }


# --- records used across the vectors -------------------------------------------------------

AUTH = "11370100004308711K"
RECORDS = {
    "penalty-legal-person": Record(
        "XZCF",
        "I",
        "370100",
        "jn-cf-2025-000012",
        1,
        42,
        {
            "CF_WSH": "济市监罚〔2025〕12号",
            "CF_XDR_MC": "济南某某商贸有限公司",
            "CF_XDR_LB": "法人及非法人组织",
            "CF_XDR_SHXYM": "914403001922038216",
            "CF_FRDB": "张三",
            "CF_WFXW": "虚假宣传",
            "CF_CFLB": "罚款",
            "CF_NR_FK": "0.2",
            "CF_JDRQ": "2025-06-01",
            "CF_CFJG": "济南市市场监督管理局",
            "CF_CFJGDM": AUTH,
            "BZ": 'tab\there "quoted" \\ 😀',
        },
    ),
    "licence-natural-person": Record(
        "XZXK",
        "I",
        "370200",
        "qd-xk-7",
        3,
        7,
        {
            "XK_XDR_MC": "李四",
            "XK_XDR_LB": "自然人",
            "XK_XDR_ZJLX": "身份证",
            "XK_XDR_ZJHM": "11010519491231002X",
            "XK_WSH": "青审批（2025）第 0815 号",
            "XK_XKJGDM": AUTH,
            "XK_JDRQ": "2025-03-15",
        },
    ),
    "list-entry-placeholder-uscc": Record(
        "LIST",
        "U",
        "370000",
        "sd-md-1",
        2,
        1,
        {
            "MD_LX": "JYYC",
            "MD_ZT_MC": "某某小吃店",
            "MD_ZT_SHXYM": "00000000000000000X",
            "MD_ZT_GSZC": "370102600123456",
            "MD_RDWSH": "鲁市监异[2024]3号",
            "MD_RDJGDM": AUTH,
            "MD_LRRQ": "2024-05-01",
            "MD_YCRQ": "2025-05-01",
            "MD_YCYY": "期满",
        },
    ),
}


def _pae_cases() -> list[dict[str, Any]]:
    cases = [
        ("http://example.com/HelloWorld", b"hello world"),
        ("", b""),
        (RECORD_PAYLOAD_TYPE, encode_record(RECORDS["penalty-legal-person"])),
        ("类型", b"\x00\xff"),
    ]
    out = [{"payload_type": t, "payload_hex": p.hex(), "pae_hex": pae(t, p).hex()} for t, p in cases]
    assert bytes.fromhex(out[0]["pae_hex"]) == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    return out


def _envelope_cases() -> list[dict[str, Any]]:
    payload = encode_record(RECORDS["penalty-legal-person"])
    cases: list[tuple[str, Envelope, list[str], str | None, str | None]] = []
    for suite in SUITES:
        s1, s2 = vector_signer(suite, 1), vector_signer(suite, 2)
        env = sign_envelope(RECORD_PAYLOAD_TYPE, payload, s1)
        sig = env.signatures[0]
        forged = dataclasses.replace(sign_envelope(RECORD_PAYLOAD_TYPE, payload, s2).signatures[0], keyid=s1.keyid)
        cases += [
            (f"{suite}: valid", env, [s1.keyid], RECORD_PAYLOAD_TYPE, None),
            (
                f"{suite}: payload changed after signing",
                dataclasses.replace(env, payload=payload.replace(b"0.2", b"0.3")),
                [s1.keyid],
                None,
                "SIG_INVALID",
            ),
            (
                f"{suite}: payload type changed after signing",
                dataclasses.replace(env, payload_type="application/json"),
                [s1.keyid],
                None,
                "SIG_INVALID",
            ),
            (
                f"{suite}: signed by another key under the trusted key id",
                dataclasses.replace(env, signatures=(forged,)),
                [s1.keyid],
                None,
                "SIG_INVALID",
            ),
            (
                f"{suite}: signed by an untrusted key",
                sign_envelope(RECORD_PAYLOAD_TYPE, payload, s2),
                [s1.keyid],
                None,
                "SIG_UNKNOWN_KEY",
            ),
            (f"{suite}: not the expected payload type", env, [s1.keyid], "application/vnd.other", "SIG_PAYLOAD_TYPE"),
            (
                f"{suite}: unknown suite",
                dataclasses.replace(env, signatures=(dataclasses.replace(sig, suite="SM2-SM3"),)),
                [s1.keyid],
                None,
                "SIG_UNKNOWN_SUITE",
            ),
        ]
    ec1, ed1 = vector_signer("ECDSA-P256-SHA256"), vector_signer("ED25519")
    both = sign_envelope(RECORD_PAYLOAD_TYPE, payload, [ec1, ed1])
    ed_sig_as_ec = dataclasses.replace(both.signatures[1], keyid=ec1.keyid, suite="ED25519")
    cases += [
        ("two signatures, only the second key trusted", both, [ed1.keyid], None, None),
        ("no signature", dataclasses.replace(both, signatures=()), [ed1.keyid], None, "SIG_NO_SIGNATURE"),
        (
            "suite names Ed25519 but the key is ECDSA P-256",
            dataclasses.replace(both, signatures=(ed_sig_as_ec,)),
            [ec1.keyid],
            None,
            "SIG_SUITE_KEY_MISMATCH",
        ),
        (
            "five signatures (limit 4)",
            dataclasses.replace(both, signatures=both.signatures * 2 + both.signatures[:1]),
            [ed1.keyid],
            None,
            "SIG_LIMIT",
        ),
    ]
    keys = {
        key_id(test_private_key(s, n).public_key()): test_private_key(s, n).public_key() for s in SUITES for n in (1, 2)
    }
    out: list[dict[str, Any]] = []
    for name, env, trusted, expected_type, reason in cases:
        try:
            got = verify_envelope(env, trusted_keys(keys, trusted), expected_type=expected_type)
            result: dict[str, Any] = {"valid": True, "keyid": got.keyid, "suite": got.suite}
        except SignatureError as exc:
            result = {"valid": False, "reason": exc.reason, "rule": exc.rule}
        assert result.get("reason") == reason, (name, result)
        out.append(
            {
                "name": name,
                "envelope": env.to_json_obj(),
                "trusted_keyids": trusted,
                "expected_type": expected_type,
                "expect": result,
            }
        )
    return out


def _record_codec_cases() -> list[dict[str, Any]]:
    good = encode_record(RECORDS["penalty-legal-person"])
    base = json.loads(good)

    def variant(**kw: Any) -> bytes:
        return json.dumps({**base, **kw}, ensure_ascii=False, separators=(",", ":")).encode()

    cases: list[tuple[str, bytes, str | None]] = [(name, encode_record(r), None) for name, r in RECORDS.items()]
    cases += [
        (
            "same record, other whitespace and key order, \\u escapes",
            json.dumps(dict(reversed(list(base.items()))), ensure_ascii=True, indent=1).encode(),
            None,
        ),
        ("not UTF-8", good.replace("济".encode(), b"\xbc\xc3"), "REC_NOT_UTF8"),
        ("not JSON", good[:-1], "REC_NOT_JSON"),
        ("not an object", b"[]", "REC_NOT_OBJECT"),
        ("duplicate member", good.replace(b'"op":"I"', b'"op":"I","op":"D"'), "REC_DUPLICATE_KEY"),
        ("unknown member", variant(extra="x"), "REC_UNKNOWN_MEMBER"),
        ("v is 2", variant(v=2), "REC_UNSUPPORTED_VERSION"),
        ("unknown type", variant(type="XZQZ"), "REC_UNKNOWN_TYPE"),
        ("unknown op", variant(op="X"), "REC_UNKNOWN_OP"),
        ("historical region 371200", variant(region="371200"), "REC_BAD_REGION"),
        ("negative source_seq", variant(source_seq=-1), "REC_BAD_SOURCE_SEQ"),
        ("fractional version", variant(version=1.5), "REC_NOT_INTEGER"),
        ("field value a number", variant(fields={**base["fields"], "CF_NR_FK": 0.2}), "REC_NOT_INTEGER"),
        ("field value null", variant(fields={**base["fields"], "CF_NR_FK": None}), "REC_FIELD_NOT_STRING"),
        ("empty field value", variant(fields={**base["fields"], "CF_NR_FK": ""}), "REC_FIELD_EMPTY"),
        ("field of another type", variant(fields={**base["fields"], "XK_WSH": "x"}), "REC_FIELD_PREFIX"),
        ("lone surrogate", good.replace("😀".encode(), b"\\ud83d"), "REC_LONE_SURROGATE"),
    ]
    out: list[dict[str, Any]] = []
    for name, payload, reason in cases:
        try:
            r = decode_record(payload)
            result: dict[str, Any] = {
                "valid": True,
                "record": {
                    "type": r.type,
                    "op": r.op,
                    "region": r.region,
                    "source_id": r.source_id,
                    "version": r.version,
                    "source_seq": r.source_seq,
                    "fields": dict(r.fields),
                },
                "canonical_encoding": encode_record(r).decode(),
            }
        except RecordError as exc:
            result = {"valid": False, "reason": exc.reason, "rule": exc.rule, "field": exc.field}
        assert result.get("reason") == reason, (name, result)
        out.append({"name": name, "payload_hex": payload.hex(), "expect": result})
    return out


CANONICAL_INPUTS = [
    (
        "RFC 8785 §3.2.2 example",
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    ),
    (
        "RFC 8785 §3.2.3 sorting by UTF-16 code units",
        '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh",'
        ' "1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control",'
        ' "\\u00f6": "Latin Small Letter O With Diaeresis"}',
    ),
    ("CJK and astral keys", '{"名称": 1, "𠀀": 2, "\\uffff": 3, "a": 4, "Z": 5, "": 6}'),
    ("control characters and escapes", '["\\u0000\\u0001\\u001f\\u007f\\b\\f\\n\\r\\t\\"\\\\/\\u2028"]'),
    (
        "numbers",
        "[0, -0, 1, -1, 9007199254740991, -9007199254740991, 1e21, 1e20, 1e-6, 1e-7, 0.1, 5e-324,"
        " 1.7976931348623157e308, 123456789.123, -1.5e-10]",
    ),
    ("nesting", '{"b": [{"z": {}, "a": []}], "a": {"c": null, "b": false}}'),
    ("record content", None),
]
CANONICAL_ERRORS = [
    ("integer above 2^53-1", "9007199254740992"),
    ("infinity after parsing", "1e400"),
]


def _canonical_cases() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name, text in CANONICAL_INPUTS:
        if text is None:
            r = RECORDS["penalty-legal-person"]
            text = json.dumps({"type": r.type, "op": r.op, "fields": dict(r.fields)}, ensure_ascii=False)
        c = canonicalize(json.loads(text))
        out.append({"name": name, "input": text, "canonical": c.decode("utf-8"), "canonical_hex": c.hex()})
    for name, text in CANONICAL_ERRORS:
        try:
            canonicalize(json.loads(text))
        except ValueError:
            out.append({"name": name, "input": text, "error": True})
        else:
            raise AssertionError(f"canonical vector {name!r} should fail")
    return out


def _fingerprint_cases() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name, r in RECORDS.items():
        out.append(
            {
                "name": name,
                "payload": encode_record(r).decode(),
                "fingerprint_input": fingerprint_input(r.type, r.op, r.fields).decode(),
                "fingerprint_hex": fingerprint(r).hex(),
            }
        )
    moved = dataclasses.replace(
        RECORDS["penalty-legal-person"], region="370200", source_id="x", version=9, source_seq=1
    )
    assert fingerprint(moved) == fingerprint(RECORDS["penalty-legal-person"])
    out.append(
        {
            "name": "same content from another node",
            "payload": encode_record(moved).decode(),
            "fingerprint_input": fingerprint_input(moved.type, moved.op, moved.fields).decode(),
            "fingerprint_hex": fingerprint(moved).hex(),
        }
    )
    return out


def _natural_key_cases() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cases = list(RECORDS.items())
    base = RECORDS["penalty-legal-person"]
    no_auth = {k: v for k, v in base.fields.items() if k != "CF_CFJGDM"}
    cases.append(("no authority USCC", dataclasses.replace(base, fields=no_auth)))
    for name, r in cases:
        try:
            result: dict[str, Any] = {"natural_key": natural_key(r, SUBJECT_KEY)}
        except NaturalKeyError as exc:
            result = {"error": {"reason": exc.reason, "rule": exc.rule, "field": exc.field}}
        out.append({"name": name, "type": r.type, "fields": dict(r.fields), "expect": result})
    assert "error" in out[-1]["expect"]
    assert out[1]["expect"]["natural_key"].split("|")[-1].startswith("P:")
    return out


DOC_NUMBERS = [
    "济市监罚〔2025〕12号",
    "济市监罚[2025]12号",
    "济市监罚【2025】12号",
    "济市监罚（2025）12号",
    "济市监罚［２０２５］１２号",
    " 济市监罚 (2025) 12 号\t",
    "济市监罚﹝2025﹞12号",
    "济市监罚〖2025〗12号",
    "鲁ａｂ\u3000字-1号",
    "(2024)鲁01执1234号",
]


def build(today: dt.date) -> dict[str, Any]:
    del today  # nothing here depends on the date
    return {
        "crypto-keys.json": _keys(),
        "pae.json": {"rule": "SIG-002", "cases": _pae_cases()},
        "envelopes.json": {
            "rules": "SIG-001..SIG-014",
            "payload_type": RECORD_PAYLOAD_TYPE,
            "cases": _envelope_cases(),
        },
        "record-codec.json": {"rules": "SIG-020..SIG-029", "max_bytes": 65536, "cases": _record_codec_cases()},
        "canonical-json.json": {"rule": "REC-FP-002 (RFC 8785)", "cases": _canonical_cases()},
        "fingerprints.json": {"rules": "REC-FP-001..REC-FP-004", "cases": _fingerprint_cases()},
        "natural-keys.json": {
            "rules": "REC-FP-010..REC-FP-016",
            "subject_key_hex": SUBJECT_KEY.hex(),
            "cases": _natural_key_cases(),
        },
        "doc-numbers.json": {
            "rule": "REC-FP-011",
            "cases": [{"input": s, "normalised": normalise_doc_number(s)} for s in DOC_NUMBERS],
        },
    }
