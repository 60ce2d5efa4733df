"""Envelope, PAE and signature suites (SIG-001 … SIG-014)."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from creditx.standard.envelope import (
    MAX_PAYLOAD_BYTES,
    MAX_SIGNATURES,
    Envelope,
    Signature,
    SignatureError,
    Signer,
    pae,
    sign_envelope,
    verify_envelope,
)
from creditx.standard.record import RECORD_PAYLOAD_TYPE
from creditx.standard.suites import SuiteError, get_suite, key_id, register_suite, suite_for_private_key

PT = RECORD_PAYLOAD_TYPE
PAYLOAD = b'{"v":1,"type":"XZCF"}'


@pytest.fixture(params=["ECDSA-P256-SHA256", "ED25519"])
def signer(request) -> Signer:
    key = (
        ec.generate_private_key(ec.SECP256R1())
        if request.param.startswith("ECDSA")
        else ed25519.Ed25519PrivateKey.generate()
    )
    s = Signer(key)
    assert s.suite.name == request.param
    return s


def resolver(*signers):
    keys = {s.keyid: s.public_key for s in signers}
    return keys.get


def test_pae_matches_dsse_spec_example():
    # DSSE protocol.md example: PAE("http://example.com/HelloWorld", "hello world")
    assert (
        pae("http://example.com/HelloWorld", b"hello world")
        == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert pae("", b"") == b"DSSEv1 0  0 "
    assert pae("类型", b"x") == "DSSEv1 6 类型 1 x".encode()  # LEN counts bytes, not characters


def test_sign_and_verify(signer):
    env = sign_envelope(PT, PAYLOAD, signer)
    sig = verify_envelope(env, resolver(signer), expected_type=PT)
    assert sig.keyid == signer.keyid and sig.suite == signer.suite.name
    assert env.payload == PAYLOAD  # carried verbatim


def test_tampered_payload_and_type_fail(signer):
    env = sign_envelope(PT, PAYLOAD, signer)
    for bad in (dataclasses.replace(env, payload=PAYLOAD + b" "), dataclasses.replace(env, payload_type=PT + "x")):
        with pytest.raises(SignatureError) as e:
            verify_envelope(bad, resolver(signer))
        assert (e.value.reason, e.value.rule) == ("SIG_INVALID", "SIG-011")


def test_wrong_key(signer):
    env = sign_envelope(PT, PAYLOAD, signer)
    other = Signer(
        ec.generate_private_key(ec.SECP256R1())
        if signer.suite.name.startswith("ECDSA")
        else ed25519.Ed25519PrivateKey.generate()
    )
    with pytest.raises(SignatureError) as e:
        verify_envelope(env, lambda kid: other.public_key)
    assert e.value.reason == "SIG_INVALID"
    with pytest.raises(SignatureError) as e:
        verify_envelope(env, resolver(other))
    assert (e.value.reason, e.value.rule) == ("SIG_UNKNOWN_KEY", "SIG-009")


def test_errors_by_reason(signer):
    env = sign_envelope(PT, PAYLOAD, signer)
    cases = [
        (dataclasses.replace(env, signatures=()), None, "SIG_NO_SIGNATURE", "SIG-007"),
        (
            dataclasses.replace(env, signatures=(dataclasses.replace(env.signatures[0], suite="SM2-SM3"),)),
            None,
            "SIG_UNKNOWN_SUITE",
            "SIG-008",
        ),
        (env, "application/other", "SIG_PAYLOAD_TYPE", "SIG-012"),
        (dataclasses.replace(env, signatures=env.signatures * (MAX_SIGNATURES + 1)), None, "SIG_LIMIT", "SIG-013"),
        (dataclasses.replace(env, payload=b"x" * (MAX_PAYLOAD_BYTES + 1)), None, "SIG_LIMIT", "SIG-013"),
        (dataclasses.replace(env, payload_type="t" * 257), None, "SIG_LIMIT", "SIG-013"),
    ]
    for e_, expected, reason, rule in cases:
        with pytest.raises(SignatureError) as e:
            verify_envelope(e_, resolver(signer), expected_type=expected)
        assert (e.value.reason, e.value.rule) == (reason, rule)


def test_suite_key_mismatch():
    ec_signer = Signer(ec.generate_private_key(ec.SECP256R1()))
    ed_key = ed25519.Ed25519PrivateKey.generate()
    env = sign_envelope(PT, PAYLOAD, ec_signer)
    with pytest.raises(SignatureError) as e:
        verify_envelope(env, lambda kid: ed_key.public_key())
    assert (e.value.reason, e.value.rule) == ("SIG_SUITE_KEY_MISMATCH", "SIG-010")
    with pytest.raises(SuiteError) as e2:
        Signer(ed_key, suite="ECDSA-P256-SHA256")
    assert e2.value.reason == "SIG_SUITE_KEY_MISMATCH"
    with pytest.raises(SuiteError):
        suite_for_private_key(ec.generate_private_key(ec.SECP384R1()))
    with pytest.raises(SuiteError):
        get_suite("ECDSA-P256-SHA256").sign(ed_key, b"x")


def test_multiple_signatures_any_trusted_one_suffices():
    a = Signer(ec.generate_private_key(ec.SECP256R1()))
    b = Signer(ed25519.Ed25519PrivateKey.generate())
    env = sign_envelope(PT, PAYLOAD, [a, b])
    assert verify_envelope(env, resolver(b)).keyid == b.keyid
    # a corrupt first signature by a known key is reported over an unknown second key
    bad = dataclasses.replace(env, signatures=(Signature(a.keyid, a.suite.name, b"\x00" * 70), env.signatures[1]))
    with pytest.raises(SignatureError) as e:
        verify_envelope(bad, resolver(a))
    assert e.value.reason == "SIG_INVALID"


def test_garbage_signature_bytes_are_invalid_not_crash(signer):
    env = sign_envelope(PT, PAYLOAD, signer)
    for junk in (b"", b"\x30\x00", b"\x00" * 64, b"\xff" * 200):
        bad = dataclasses.replace(env, signatures=(dataclasses.replace(env.signatures[0], sig=junk),))
        with pytest.raises(SignatureError) as e:
            verify_envelope(bad, resolver(signer))
        assert e.value.reason == "SIG_INVALID"


def test_key_id_is_sha256_of_spki():
    import hashlib

    from cryptography.hazmat.primitives import serialization

    k = ed25519.Ed25519PrivateKey.generate().public_key()
    spki = k.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert key_id(k) == "sha256:" + hashlib.sha256(spki).hexdigest()


def test_json_form_round_trip(signer):
    env = sign_envelope(PT, PAYLOAD, signer)
    obj = env.to_json_obj()
    assert set(obj) == {"payloadType", "payload", "signatures"}
    assert set(obj["signatures"][0]) == {"keyid", "sig", "suite"}
    assert Envelope.from_json(env.to_json()) == env
    urlsafe = dict(obj, payload=obj["payload"].replace("+", "-").replace("/", "_").rstrip("="))
    assert Envelope.from_json_obj(urlsafe).payload == PAYLOAD
    for broken in ("[]", '{"payloadType":1}', '{"payloadType":"x","payload":"!!","signatures":[]}', "{"):
        with pytest.raises(SignatureError) as e:
            Envelope.from_json(broken)
        assert (e.value.reason, e.value.rule) == ("SIG_BAD_ENVELOPE", "SIG-014")


def test_registry_refuses_silent_replacement_and_non_suites():
    with pytest.raises(ValueError):
        register_suite(get_suite("ED25519"))
    with pytest.raises(TypeError):
        register_suite(object())  # type: ignore[arg-type]
    with pytest.raises(SuiteError):
        Signer(rsa.generate_private_key(public_exponent=65537, key_size=1024))


def test_signer_repr_hides_key(signer):
    assert "Private" not in repr(signer) and signer.keyid in repr(signer)


def test_ecdsa_high_s_is_accepted():
    # SIG-005: verifiers accept both low-S and high-S; (r, n - s) verifies as well as (r, s).
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

    n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    s = Signer(ec.generate_private_key(ec.SECP256R1()))
    env = sign_envelope(PT, PAYLOAD, s)
    r_, s_ = decode_dss_signature(env.signatures[0].sig)
    flipped = dataclasses.replace(env.signatures[0], sig=encode_dss_signature(r_, n - s_))
    assert verify_envelope(dataclasses.replace(env, signatures=(flipped,)), resolver(s)) == flipped


def test_inputs_are_not_mutated(signer):
    env = sign_envelope(PT, PAYLOAD, signer)
    before = env.to_json()
    verify_envelope(env, resolver(signer))
    assert env.to_json() == before
    with pytest.raises(dataclasses.FrozenInstanceError):
        env.payload = b""  # type: ignore[misc]
