"""The committed vectors match the code (no drift), and each crypto/record vector holds when
checked with the code the way another vendor would check theirs (ADR 0016)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from creditx.standard.canonical import canonicalize
from creditx.standard.envelope import Envelope, SignatureError, pae, verify_envelope
from creditx.standard.fingerprint import fingerprint, fingerprint_input
from creditx.standard.natural_key import NaturalKeyError, natural_key, normalise_doc_number
from creditx.standard.record import Record, RecordError, decode_record, encode_record
from creditx.standard.suites import key_id
from creditx.standard.vectors import VECTOR_DIR, generate, load

GENERATED = generate.build_module("gen_crypto")


@pytest.mark.parametrize("module", generate.available_generators())
def test_committed_vectors_match_their_generator(module):
    # One case per generator module, so a drift is attributed to the module that owns it.
    for name, text in generate.build_module(module).items():
        path = VECTOR_DIR / name
        assert path.exists(), f"{name} missing: run python -m creditx.standard.vectors.generate"
        assert path.read_text(encoding="utf-8") == text, (
            f"{name} drifted: the code now produces something else; regenerate only if the change is intended"
        )


def test_runner_write_and_check(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(generate, "GENERATORS", ("gen_crypto",))
    assert generate.main(["--out", str(tmp_path)]) == 0
    assert generate.main(["--out", str(tmp_path), "--check"]) == 0
    some = tmp_path / "pae.json"
    some.write_text(some.read_text().replace('"pae_hex"', '"pae_hex" ', 1))
    (tmp_path / "stale.json").write_text("{}")
    assert generate.drift(tmp_path, GENERATED) == [
        "pae.json: differs from what the code generates",
        "stale.json: no generator produces it any more (delete it or restore its generator)",
    ]
    assert generate.main(["--out", str(tmp_path), "--check"]) == 1
    (tmp_path / "pae.json").unlink()
    assert "pae.json: missing" in generate.drift(tmp_path, GENERATED)[0]


def test_generation_is_deterministic():
    assert generate.build_module("gen_crypto") == GENERATED


def test_runner_reports_a_failing_generator(monkeypatch, capsys):
    monkeypatch.setattr(generate, "GENERATORS", ("gen_crypto", "gen_crypto"))
    assert generate.main(["--check"]) == 2
    assert "produced by both gen_crypto and gen_crypto" in capsys.readouterr().err


def _public_keys() -> dict:
    keys = {}
    for k in load("crypto-keys.json")["keys"]:
        pub = serialization.load_der_public_key(bytes.fromhex(k["public_spki_der_hex"]))
        priv = serialization.load_pem_private_key(k["private_pkcs8_pem"].encode(), None)
        assert key_id(pub) == k["keyid"] == key_id(priv.public_key())
        keys[k["keyid"]] = pub
    return keys


def test_pae_vectors():
    for c in load("pae.json")["cases"]:
        assert pae(c["payload_type"], bytes.fromhex(c["payload_hex"])).hex() == c["pae_hex"]


def test_envelope_vectors():
    keys = _public_keys()
    cases = load("envelopes.json")["cases"]
    assert {c["expect"]["valid"] for c in cases} == {True, False}
    for c in cases:
        env = Envelope.from_json_obj(c["envelope"])
        trusted = set(c["trusted_keyids"])
        try:

            def resolve(kid: str, trusted: set[str] = trusted) -> Any:
                return keys.get(kid) if kid in trusted else None

            sig = verify_envelope(env, resolve, expected_type=c["expected_type"])
            got = {"valid": True, "keyid": sig.keyid, "suite": sig.suite}
        except SignatureError as exc:
            got = {"valid": False, "reason": exc.reason, "rule": exc.rule}
        assert got == c["expect"], c["name"]


def test_record_codec_vectors():
    for c in load("record-codec.json")["cases"]:
        payload = bytes.fromhex(c["payload_hex"])
        exp = c["expect"]
        if exp["valid"]:
            r = decode_record(payload)
            assert r == Record(**exp["record"]), c["name"]
            assert encode_record(r).decode() == exp["canonical_encoding"]
        else:
            with pytest.raises(RecordError) as e:
                decode_record(payload)
            assert (e.value.reason, e.value.rule, e.value.field) == (exp["reason"], exp["rule"], exp["field"]), c[
                "name"
            ]


def test_canonical_vectors_agree_with_independent_implementation():
    import rfc8785

    for c in load("canonical-json.json")["cases"]:
        value = json.loads(c["input"])
        if c.get("error"):
            with pytest.raises(ValueError):
                canonicalize(value)
            continue
        assert canonicalize(value).decode() == c["canonical"] == rfc8785.dumps(value).decode(), c["name"]
        assert bytes.fromhex(c["canonical_hex"]) == c["canonical"].encode()


def test_fingerprint_vectors():
    fps = set()
    for c in load("fingerprints.json")["cases"]:
        r = decode_record(c["payload"].encode())
        assert fingerprint_input(r.type, r.op, r.fields).decode() == c["fingerprint_input"]
        assert fingerprint(r).hex() == c["fingerprint_hex"]
        fps.add(c["fingerprint_hex"])
    assert len(fps) == len(load("fingerprints.json")["cases"]) - 1  # the moved copy shares one


def test_natural_key_and_doc_number_vectors():
    data = load("natural-keys.json")
    key = bytes.fromhex(data["subject_key_hex"])
    for c in data["cases"]:
        r = Record(c["type"], "I", "370100", "s", 1, 1, c["fields"])
        if "error" in c["expect"]:
            with pytest.raises(NaturalKeyError) as e:
                natural_key(r, key)
            assert {"reason": e.value.reason, "rule": e.value.rule, "field": e.value.field} == c["expect"]["error"]
        else:
            assert natural_key(r, key) == c["expect"]["natural_key"]
    for c in load("doc-numbers.json")["cases"]:
        assert normalise_doc_number(c["input"]) == c["normalised"]


def test_member_id_and_registry_member_vectors():
    """SEC-092/038: each member id verdict, and the id each registry member entry decodes to, as
    another vendor's implementation would check them."""
    from creditx.standard.member_ids import member_id_problem
    from creditx.standard.registry import RegistryError, decode

    data = load("member-ids.json")
    assert {c["valid"] for c in data["member_ids"]} == {True, False}
    for c in data["member_ids"]:
        problem = member_id_problem(c["member"], c["region"])
        assert (problem is None) == c["valid"], c
        assert c["valid"] or c["refusal"] in (problem or ""), c
    head = {"version": 1, "issued_at": "2026-01-01T00:00:00.000Z", "expires_at": "2027-01-01T00:00:00.000Z"}
    for c in data["registry_members"]:
        raw = json.dumps({**head, "members": [c["member"]]}).encode()
        if c["valid"]:
            assert decode(raw).members[0].id == c["id"], c
        else:
            with pytest.raises(RegistryError, match="REGISTRY_MALFORMED"):
                decode(raw)
