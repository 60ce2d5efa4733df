"""Tampering with the gateway database by hand is detected by ``creditx gateway audit verify``,
which names the first bad leaf index (AUD-004, AUD-006, AUD-026); the exported bundle verifies
in a fresh process with no gateway directory (AUD-050)."""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys

import pytest

from creditx.cli.main import main as gateway_main  # the real dispatcher
from creditx.gateway.init import init_gateway_dir
from creditx.gateway.server import Gateway
from tests.gateway.push_client import PushClient, payloads
from tests.ports import gateway_config


@pytest.fixture(scope="module")
def populated(tmp_path_factory, pki):
    d = tmp_path_factory.mktemp("gwpop") / "gw"
    init_gateway_dir(
        d,
        pki.gateway.dir,
        cfg=gateway_config(),
    )
    g = Gateway(d)
    g.start()
    try:
        c = PushClient(g.address, pki.nodes["370100"])
        c.handshake()
        c.push(
            [
                c.batch(payloads("370100", 20, invalid_share=0.2)),
                c.batch(payloads("370100", 20, start_seq=21, seed=2), start_seq=21),
            ]
        )
        c.push([c.batch(payloads("370100", 20, start_seq=21, seed=2)[:5], start_seq=41)])  # duplicates
        c.close()
        g.checkpointer.sign_now()
    finally:
        g.stop(grace=1)
    return d


def verify(d, capsys) -> tuple[int, dict]:
    capsys.readouterr()
    rc = gateway_main(["gateway", "audit", "verify", "--dir", str(d), "--json"])
    return rc, json.loads(capsys.readouterr().out)


@pytest.fixture
def copy(populated, tmp_path):
    d = tmp_path / "gw"
    shutil.copytree(populated, d)
    return d


def _sql(d, *statements):
    conn = sqlite3.connect(d / "gateway.db", isolation_level=None)
    for s, args in statements:
        conn.execute(s, args)
    conn.close()


def test_untouched_log_verifies(populated, capsys):
    rc, v = verify(populated, capsys)
    # 45 record leaves after leaf 0, the registry version put in force at start (AUD-007)
    assert rc == 0 and v["ok"] and v["leaves"] == 46 and v["checkpoints"] >= 1 and v["records_checked"] == 45


def _flip(blob: bytes, pos: int) -> bytes:
    return blob[:pos] + bytes([blob[pos] ^ 0x01]) + blob[pos + 1 :]


def test_one_byte_of_a_record_payload(copy, capsys):
    conn = sqlite3.connect(copy / "gateway.db")
    rid, payload = conn.execute("SELECT id, payload FROM records WHERE log_index = 7").fetchone()
    conn.close()
    i = payload.index(b'"fields"') + 20
    _sql(copy, ("UPDATE records SET payload = ? WHERE id = ?", (_flip(payload, i), rid)))
    rc, v = verify(copy, capsys)
    assert rc == 1 and v["first_bad_index"] == 7 and v["problems"][0]["reason"] == "RECORD_ALTERED"


def test_one_byte_of_a_record_payload_and_its_sha(copy, capsys):
    import hashlib

    conn = sqlite3.connect(copy / "gateway.db")
    rid, payload = conn.execute("SELECT id, payload FROM records WHERE log_index = 30").fetchone()
    conn.close()
    bad = payload.replace(b'"fields":{', b'"fields":{"BZ":"x",', 1)  # still decodes, new fingerprint
    _sql(
        copy, ("UPDATE records SET payload = ?, payload_sha = ? WHERE id = ?", (bad, hashlib.sha256(bad).digest(), rid))
    )
    rc, v = verify(copy, capsys)
    assert rc == 1 and v["first_bad_index"] == 30 and "REC-FP" in v["problems"][0]["message"]


def test_one_byte_of_a_leaf(copy, capsys):
    conn = sqlite3.connect(copy / "gateway.db")
    data = conn.execute("SELECT leaf_data FROM audit_leaves WHERE idx = 12").fetchone()[0]
    conn.close()
    _sql(copy, ("UPDATE audit_leaves SET leaf_data = ? WHERE idx = 12", (data.replace(b'"seq":12', b'"seq":13'),)))
    rc, v = verify(copy, capsys)
    assert rc == 1 and v["first_bad_index"] == 12


def test_leaf_rewritten_with_a_matching_hash_breaks_the_signed_root(copy, capsys):
    from creditx.standard.merkle import leaf_hash

    conn = sqlite3.connect(copy / "gateway.db")
    data = conn.execute("SELECT leaf_data FROM audit_leaves WHERE idx = 3").fetchone()[0]
    conn.close()
    forged = data.replace(b'"at":"', b'"at":"1', 1)
    _sql(copy, ("UPDATE audit_leaves SET leaf_data = ?, leaf_hash = ? WHERE idx = 3", (forged, leaf_hash(forged))))
    rc, v = verify(copy, capsys)
    reasons = {p["reason"] for p in v["problems"]}
    assert rc == 1 and "ROOT_MISMATCH" in reasons and "FRONTIER" in reasons


def test_deleted_leaf_row(copy, capsys):
    _sql(copy, ("DELETE FROM audit_leaves WHERE idx = 9", ()))
    rc, v = verify(copy, capsys)
    assert rc == 1 and v["first_bad_index"] == 9


def test_deleted_record_row(copy, capsys):
    _sql(copy, ("DELETE FROM records WHERE log_index = 25", ()))
    rc, v = verify(copy, capsys)
    assert rc == 1 and v["first_bad_index"] == 25 and v["problems"][0]["reason"] == "RECORD_MISSING"


def test_swapped_leaf_rows(copy, capsys):
    _sql(
        copy,
        ("UPDATE audit_leaves SET idx = -1 WHERE idx = 4", ()),
        ("UPDATE audit_leaves SET idx = 4 WHERE idx = 11", ()),
        ("UPDATE audit_leaves SET idx = 11 WHERE idx = -1", ()),
    )
    rc, v = verify(copy, capsys)
    assert rc == 1 and v["first_bad_index"] == 4


def test_swapped_record_contents(copy, capsys):
    conn = sqlite3.connect(copy / "gateway.db")
    a = conn.execute("SELECT payload, payload_sha, fp FROM records WHERE log_index = 15").fetchone()
    b = conn.execute("SELECT payload, payload_sha, fp FROM records WHERE log_index = 16").fetchone()
    conn.close()
    _sql(
        copy,
        ("UPDATE records SET payload=?, payload_sha=?, fp=? WHERE log_index = 16", a),
        ("UPDATE records SET payload=?, payload_sha=?, fp=? WHERE log_index = 15", b),
    )
    rc, v = verify(copy, capsys)
    assert rc == 1 and v["first_bad_index"] == 15


def test_inserted_leaf_row(copy, capsys):
    _sql(
        copy,
        (
            "INSERT INTO audit_leaves (idx, leaf_data, leaf_hash) SELECT 46, leaf_data, leaf_hash FROM "
            "audit_leaves WHERE idx = 0",
            (),
        ),
    )
    rc, v = verify(copy, capsys)
    assert rc == 1 and v["first_bad_index"] == 46


def test_bundle_verifies_in_a_fresh_process_and_detects_a_changed_leaf(populated, tmp_path, capsys):
    out = tmp_path / "evidence.json"
    assert gateway_main(["gateway", "audit", "export", "--dir", str(populated), "--out", str(out)]) == 0
    ca = tmp_path / "ca.pem"
    shutil.copy(populated / "tls" / "ca.crt", ca)
    cmd = [
        sys.executable,
        "-c",
        "from creditx.cli.main import main; raise SystemExit(main())",
        "standard",
        "verify-bundle",
        str(out),
        "--ca",
        str(ca),
        "--json",
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    v = json.loads(run.stdout)
    assert run.returncode == 0 and v["ok"] and v["leaves"] == 46 and v["proofs_checked"] >= 46
    b = json.loads(out.read_text())
    b["leaves"][20] = b["leaves"][20].replace("22", "23", 1) if "22" in b["leaves"][20] else b["leaves"][20][:-2] + "7d"
    out.write_text(json.dumps(b))
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 1 and json.loads(run.stdout)["first_bad_index"] == 20


def test_proof_command_prints_a_verifiable_path(populated, capsys):
    import base64

    from creditx.standard.checkpoint import parse_checkpoint
    from creditx.standard.merkle import leaf_hash, verify_inclusion

    conn = sqlite3.connect(populated / "gateway.db")
    fp = conn.execute("SELECT fp FROM records WHERE log_index = 33").fetchone()[0]
    conn.close()
    capsys.readouterr()
    assert (
        gateway_main(["gateway", "audit", "proof", "--dir", str(populated), "--fingerprint", fp.hex(), "--json"]) == 0
    )
    p = json.loads(capsys.readouterr().out)
    cp, _ = parse_checkpoint(p["checkpoint"])
    verify_inclusion(
        p["index"],
        p["tree_size"],
        leaf_hash(p["leaf"].encode()),
        [base64.b64decode(h) for h in p["hashes"]],
        cp.root_hash,
    )
    assert p["index"] == 33


def test_bundle_without_ca_warns_that_nothing_is_pinned(populated, tmp_path, capsys):
    out = tmp_path / "evidence.json"
    assert gateway_main(["gateway", "audit", "export", "--dir", str(populated), "--out", str(out)]) == 0
    capsys.readouterr()
    assert gateway_main(["standard", "verify-bundle", str(out)]) == 0
    cap = capsys.readouterr()
    assert "nothing is pinned" in cap.err and "(CA not pinned)" in cap.out
    assert (
        gateway_main(["standard", "verify-bundle", str(out), "--ca", str(populated / "tls" / "ca.crt"), "--json"]) == 0
    )
    cap = capsys.readouterr()
    assert json.loads(cap.out)["ca_pinned"] is True and "pinned" not in cap.err


def test_verify_reports_progress_over_both_passes(populated):
    from creditx.gateway.audit.cli import _verifier
    from creditx.gateway.audit.evidence import verify_database

    seen: dict[str, list[int]] = {}

    def progress(label, total):
        seen[label] = [total, 0]
        return lambda n: seen[label].__setitem__(1, seen[label][1] + n)

    from creditx.gateway.audit.cli import _open

    args = argparse.Namespace(dir=populated)
    cfg, conn, origin = _open(args)
    try:  # closed here: left to the garbage collector, its WAL files vanish under the next test's copy
        verdict = verify_database(conn, _verifier(cfg, args, origin), origin, progress=progress)
    finally:
        conn.close()
    assert verdict["ok"]
    assert seen["audit leaves"] == [verdict["leaves"]] * 2 and verdict["leaves"] == 46
    assert seen["records"] == [verdict["records_checked"]] * 2


@pytest.mark.parametrize("parallel", [False, True], ids=["inline", "worker-pool"])
def test_rewritten_payload_with_matching_sha_is_caught_by_its_fingerprint(copy, capsys, monkeypatch, parallel):
    import hashlib

    from creditx.gateway.audit import evidence

    if parallel:  # the path verify takes on a big log: fingerprints recomputed on every core
        monkeypatch.setattr(evidence, "PARALLEL_FROM", 1)
        monkeypatch.setattr(evidence, "CHUNK", 7)
        monkeypatch.setattr("os.cpu_count", lambda: 2)
    conn = sqlite3.connect(copy / "gateway.db")
    (payload,) = conn.execute("SELECT payload FROM records WHERE log_index = 22").fetchone()
    conn.close()
    obj = json.loads(payload)
    key = sorted(obj["fields"])[0]
    obj["fields"][key] = obj["fields"][key] + "改"
    forged = json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    _sql(
        copy,
        ("UPDATE records SET payload=?, payload_sha=? WHERE log_index = 22", (forged, hashlib.sha256(forged).digest())),
    )
    rc, v = verify(copy, capsys)
    assert rc == 1 and v["first_bad_index"] == 22 and "REC-FP" in v["problems"][0]["message"]
