"""The suite's key and the signed report (chapter 10, CONF-010 … CONF-012).

A signed report is a DSSE envelope in its JSON form (SIG-014): ``payloadType``
``application/vnd.creditx.conformance-report+json;v=1``, the payload the RFC 8785 canonical JSON
of the report, one ``ED25519`` signature (SIG-006) by the suite's key. The suite's public key is
carried beside it (``publicKey``, PEM) so a reader can check the signature; the province accepts a
report only when that key's id (SIG-004) is the one it pinned for its conformance suite
(``verify-report --key``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from creditx.pki import files
from creditx.standard.canonical import canonicalize
from creditx.standard.envelope import Envelope, SignatureError, Signer, sign_envelope, verify_envelope
from creditx.standard.errors import InputError
from creditx.standard.suites import key_id

REPORT_PAYLOAD_TYPE = "application/vnd.creditx.conformance-report+json;v=1"


def generate_key(path: Path) -> str:
    """Write a new Ed25519 suite key (PKCS#8 PEM, 0600, SEC-060) and return its key id."""
    if path.exists():
        raise InputError(f"{path} exists", hint="choose another file or remove the old key first")
    key = ed25519.Ed25519PrivateKey.generate()
    files.write_key(path, key)
    return key_id(key.public_key())


def load_key(path: Path) -> ed25519.Ed25519PrivateKey:
    try:
        key = files.read_key(path)
    except FileNotFoundError:
        raise InputError(f"suite key {path} not found", hint="create one: creditx conformance keygen FILE") from None
    except ValueError as exc:
        raise InputError(f"{path} is not a PEM private key: {exc}", hint="point --key at a suite key") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise InputError(f"{path} is not an Ed25519 key (CONF-010)", hint="create one: creditx conformance keygen FILE")
    return key


def sign_report(report: dict[str, Any], key: ed25519.Ed25519PrivateKey) -> dict[str, Any]:
    """The signed report document: the DSSE JSON envelope plus the signer's public key."""
    env = sign_envelope(REPORT_PAYLOAD_TYPE, canonicalize(report), Signer(key))
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return dict(env.to_json_obj(), publicKey=pem.decode("ascii"))


def verify_report(doc: Any, *, pinned_keyid: str | None = None) -> tuple[dict[str, Any], str]:
    """Check a signed report; return (report, signer key id). Raises InputError saying what is wrong."""
    if not isinstance(doc, dict) or not isinstance(doc.get("publicKey"), str):
        raise InputError("not a signed conformance report: no publicKey", hint="sign it with --sign KEY")
    try:
        public = serialization.load_pem_public_key(doc["publicKey"].encode("ascii"))
    except ValueError as exc:
        raise InputError(f"publicKey is not a PEM public key: {exc}") from None
    if not isinstance(public, ed25519.Ed25519PublicKey):
        raise InputError("publicKey is not an Ed25519 key (CONF-010)")
    kid = key_id(public)
    if pinned_keyid is not None and kid != pinned_keyid:
        raise InputError(
            f"report signed by {kid}, not by the pinned suite key {pinned_keyid} (CONF-011)",
            hint="only a report signed by the province's conformance suite key certifies",
        )
    try:
        env = Envelope.from_json_obj(doc)
        verify_envelope(env, {kid: public}.get, expected_type=REPORT_PAYLOAD_TYPE, max_payload=64 << 20)
    except SignatureError as exc:
        raise InputError(
            f"signature check failed: {exc} (CONF-011)", hint="the report was altered or not signed"
        ) from None
    report = json.loads(env.payload)
    if canonicalize(report) != env.payload:
        raise InputError("the signed payload is not RFC 8785 canonical JSON (CONF-010)")
    return report, kid


def public_key_id(path: Path) -> str:
    """Key id of a suite key or of a PEM public key file (for --key)."""
    data = path.read_bytes()
    try:
        return key_id(serialization.load_pem_public_key(data))
    except ValueError:
        return key_id(load_key(path).public_key())
