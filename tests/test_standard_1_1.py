"""Exchange standard 1.1, the pure parts: the receipts vector (AUD-035), the trust bundle's suite
and time form (SEC-070/072), the 16 city codes of chapter 02, the call-level reason carrier of
every gateway service (SYNC-016) and what "connected" means (SYNC-050)."""

from __future__ import annotations

import ast
import base64
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from creditx.gateway.exchange.presence import Presence
from creditx.standard.checkpoint import parse_verifier_key, verify_checkpoint
from creditx.standard.divisions import CITIES
from creditx.standard.receipts import AckFacts, ReceiptError, verify_receipt
from creditx.standard.vectors import VECTOR_DIR

ROOT = Path(__file__).resolve().parents[1]


def _facts(a: dict) -> AckFacts:
    return AckFacts(
        a["source_seq"],
        a["outcome"],
        a["reason_code"],
        bytes.fromhex(a["fp"]),
        a["log_index"],
        a["decided_at"],
        a["logged"],
    )


def test_receipts_vector_verifies_from_ack_and_checkpoint_alone():
    v = json.loads((VECTOR_DIR / "receipts.json").read_text())
    cp = verify_checkpoint(v["checkpoint"], [parse_verifier_key(v["verifier_key"])])
    for case in v["valid"]:
        leaf = verify_receipt(_facts(case["ack"]), case["node"], cp, [bytes.fromhex(h) for h in case["proof"]])
        assert leaf.hex() == case["leaf_hex"]
    bad = dict(v["valid"][0]["ack"], decided_at="2024-03-01T08:00:00.001Z")  # another time: another leaf
    with pytest.raises(Exception, match="ROOT_MISMATCH|root"):
        verify_receipt(_facts(bad), "370100", cp, [bytes.fromhex(h) for h in v["valid"][0]["proof"]])
    for case in v["no_leaf"]:
        with pytest.raises(ReceiptError) as exc:
            verify_receipt(_facts(case["ack"]), case["node"], cp, [])
        assert exc.value.reason == case["reason"]


def test_chapter_02_lists_exactly_the_sixteen_city_codes():
    text = (ROOT / "creditx/standard/spec/02-identifiers.md").read_text()
    table = dict(re.findall(r"^\s*\| `(37\d{4})` \| (\S+) \|", text, flags=re.M))
    assert table == CITIES and len(table) == 16 and "371200" not in table


def test_trust_bundle_names_its_suite_and_writes_rfc3339_z(tmp_path):
    from creditx.pki.bundle import BundleError, load_bundle
    from creditx.pki.files import read_cert
    from creditx.pki.testing import make_pki

    p = make_pki(tmp_path, regions=("370100",))
    raw = p.bundle.read_bytes()
    outer = json.loads(raw)
    assert outer["signatures"][0]["suite"] == "ECDSA-P256-SHA256"
    body = json.loads(base64.b64decode(outer["payload"]))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["issued_at"])
    ca = read_cert(p.ca_cert)
    now = datetime.fromisoformat(body["issued_at"]) + timedelta(minutes=1)
    assert load_bundle(raw, ca=ca, at=now).version >= 1
    outer["signatures"][0]["suite"] = "ED25519"  # a suite the signature is not made with
    with pytest.raises(BundleError) as exc:
        load_bundle(json.dumps(outer).encode(), ca=ca, at=now)
    assert exc.value.reason == "BUNDLE_SIGNATURE"
    del outer["signatures"][0]["suite"]  # a 1.0 bundle names none: ECDSA-P256-SHA256
    assert load_bundle(json.dumps(outer).encode(), ca=ca, at=now).version >= 1


def test_every_gateway_call_failure_carries_its_reason_as_trailing_metadata():
    """SYNC-016: gateway services end calls only through call_errors.abort / tls.refuse, which set
    creditx-reason; a bare context.abort would carry the reason as a text prefix only."""
    allowed = {ROOT / "creditx/gateway/call_errors.py", ROOT / "creditx/pki/tls.py"}
    bare = []
    for path in sorted((ROOT / "creditx/gateway").rglob("*.py")):
        if path in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "abort":
                if isinstance(node.func.value, ast.Name) and node.func.value.id == "context":
                    bare.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert bare == []


def test_connected_ends_with_the_stream_and_after_stale_after():
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    p = Presence(stale_after=30)
    p.seen("370100", t0)  # handshake
    assert p.connected("370100", t0)
    p.open("370100", t0)
    assert p.connected("370100", t0 + timedelta(hours=1))  # an open stream is connected however long
    p.close("370100", t0 + timedelta(hours=1))
    assert not p.connected("370100", t0 + timedelta(hours=1)), "a disconnect shows at once"
    p.seen("370100", t0 + timedelta(hours=2))  # heartbeat without a stream
    assert p.connected("370100", t0 + timedelta(hours=2, seconds=29))
    assert not p.connected("370100", t0 + timedelta(hours=2, seconds=30))
    assert not p.connected("370200", t0)
