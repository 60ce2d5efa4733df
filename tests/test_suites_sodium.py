"""SIG-006 in libsodium (PyNaCl) agrees with pyca/OpenSSL on every Ed25519 vector of the
standard, on RFC 8032's own test vector, and on tampered inputs."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from creditx.standard.envelope import pae
from creditx.standard.suites import get_suite, key_id, sodium_verify

VECTORS = Path(__file__).resolve().parent.parent / "creditx" / "standard" / "vectors"


def _pyca_ok(pub: ed25519.Ed25519PublicKey, sig: bytes, data: bytes) -> bool:
    try:
        pub.verify(sig, data)
    except InvalidSignature:
        return False
    return True


def _ed_keys() -> dict[str, ed25519.Ed25519PrivateKey]:
    keys = json.loads((VECTORS / "crypto-keys.json").read_text())["keys"]
    out = {}
    for k in keys:
        if k["suite"] == "ED25519":
            priv = serialization.load_pem_private_key(k["private_pkcs8_pem"].encode(), None)
            assert isinstance(priv, ed25519.Ed25519PrivateKey)
            out[key_id(priv.public_key())] = priv
    return out


def test_every_ed25519_envelope_vector_verifies_the_same_in_both_libraries():
    keys = _ed_keys()
    assert keys
    cases = json.loads((VECTORS / "envelopes.json").read_text())["cases"]
    seen = {True: 0, False: 0}
    for case in cases:
        env = case["envelope"]
        data = pae(env["payloadType"], base64.b64decode(env["payload"]))
        for s in env["signatures"]:
            if s["suite"] != "ED25519" or s["keyid"] not in keys:
                continue
            pub = keys[s["keyid"]].public_key()
            sig = base64.b64decode(s["sig"])
            ours = sodium_verify(pub.public_bytes_raw(), sig, data)
            assert ours == _pyca_ok(pub, sig, data), case["name"]
            assert get_suite("ED25519").verify(pub, sig, data) == ours
            seen[ours] += 1
    assert seen[True] and seen[False]  # both verdicts exercised


def test_rfc8032_test_1_and_signatures_are_byte_identical():
    seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    expected = bytes.fromhex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )
    priv = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    assert get_suite("ED25519").sign(priv, b"") == expected == priv.sign(b"")
    assert sodium_verify(priv.public_key().public_bytes_raw(), expected, b"")
    for key in _ed_keys().values():
        for msg in (b"", b"x", bytes(range(256)) * 3):
            assert get_suite("ED25519").sign(key, msg) == key.sign(msg)


@pytest.mark.parametrize("flip", [0, 31, 32, 63])
def test_tampered_signature_message_and_key_fail_in_both(flip):
    priv = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    pub, msg = priv.public_key(), b"record bytes"
    sig = bytearray(priv.sign(msg))
    sig[flip] ^= 1
    assert not sodium_verify(pub.public_bytes_raw(), bytes(sig), msg)
    assert not _pyca_ok(pub, bytes(sig), msg)
    good = priv.sign(msg)
    assert not sodium_verify(pub.public_bytes_raw(), good, msg + b"!")
    assert not sodium_verify(b"\x00" * 32, good, msg)  # small-order key: refused, not a crash
    assert not sodium_verify(pub.public_bytes_raw()[:31], good, msg)
    assert not get_suite("ED25519").verify(pub, good[:63], msg)
