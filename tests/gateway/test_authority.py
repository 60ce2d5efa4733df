"""Who may speak for a record (SEC-036/037), tried as a hostile node would over real mutual TLS:
each refusal is REJECTED with its reason, field and requirement, the rest of the batch goes
through, and nothing current changes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime

from creditx.gateway import members
from creditx.standard.natural_key import natural_key
from creditx.standard.record import decode_record, encode_record
from creditx.standard.synth.authorities import authority
from creditx.v1 import exchange_pb2 as pb
from tests.gateway.push_client import PushClient, payloads

ACC, SUP, REJ = pb.ACCEPTED, pb.SUPERSEDED, pb.REJECTED


def as_region(payload: bytes, region: str, seq: int, **fields: str) -> bytes:
    rec = decode_record(payload)
    return encode_record(replace(rec, region=region, source_seq=seq, fields={**rec.fields, **fields}))


def test_another_city_cannot_delist_a_city_court_entry(gateway, gw_dir, pki):
    jinan, qingdao = PushClient(gateway.address, pki.nodes["370100"]), PushClient(gateway.address, pki.nodes["370200"])
    jinan.handshake(), qingdao.handshake()
    entry = payloads("370100", 1, record_type="LIST")[0]
    (r,) = jinan.push([jinan.batch([entry])])
    assert r.acks[0].outcome == ACC
    rec = decode_record(entry)
    key = natural_key(rec, (gw_dir / "subject.key").read_bytes())
    delisting = replace(
        rec,
        op="U",
        version=2,
        region="370200",
        source_seq=1,
        fields={**rec.fields, "MD_YCRQ": rec.fields["MD_LRRQ"], "MD_YCYY": "信用修复"},
    )
    honest = payloads("370200", 1, start_seq=2)[0]
    (r,) = qingdao.push([qingdao.batch([encode_record(delisting), honest])])
    a = r.acks[0]
    assert (a.outcome, a.reason_code, a.requirement, a.field) == (
        REJ,
        "SEC_AUTHORITY_NOT_GRANTED",
        "SEC-036",
        "MD_RDJGDM",
    )
    assert r.acks[1].outcome == ACC  # the rest of the batch goes through
    assert gateway.store.current_versions([key]) == {key: 1}
    jinan.close()
    qingdao.close()


def test_a_body_not_granted_to_the_member_is_refused_and_a_revoked_grant_takes_effect(gateway, gw_dir, pki):
    c = PushClient(gateway.address, pki.nodes["370100"])
    c.handshake()
    p = payloads("370100", 3)
    foreign_body = authority("market", "370200").uscc  # 青岛市市场监督管理局
    batch = [p[0], as_region(p[1], "370100", 2, CF_CFJGDM=foreign_body), p[2]]
    (r,) = c.push([c.batch(batch)])
    assert [a.outcome for a in r.acks] == [ACC, REJ, ACC]
    assert (r.acks[1].reason_code, r.acks[1].field) == ("SEC_AUTHORITY_NOT_GRANTED", "CF_CFJGDM")
    # the operator withdraws a body's grant: the running gateway refuses it from the next batch
    body = decode_record(p[0]).fields["CF_CFJGDM"]
    reg = members.read_registry(gw_dir / members.REGISTRY_FILE, gw_dir / "tls" / "signing.crt")
    members.write_registry(
        gw_dir, members.revoke(reg, datetime.now(UTC), "370100", body), gw_dir / "tls" / "signing.key"
    )
    more = [q for q in payloads("370100", 12, start_seq=4) if decode_record(q).fields["CF_CFJGDM"] == body][:1]
    assert more, "the generator's Jinan penalties include that body"
    (r,) = c.push([c.batch([as_region(more[0], "370100", 4)], 4)])
    assert r.acks[0].outcome == REJ and r.acks[0].reason_code == "SEC_AUTHORITY_NOT_GRANTED"
    assert gateway.members().version == reg.version + 1
    c.close()


def test_a_registry_not_signed_by_the_gateway_is_refused_and_the_one_in_force_stays(gateway, gw_dir, pki):
    held = gateway.members()
    reg = members.revoke(held, datetime.now(UTC), "370100", held.member("370100").grants[0].uscc)
    members.write_registry(gw_dir, reg, pki.nodes["370100"].signing_key)  # a node's key, not the gateway's
    assert gateway.members() is held and gateway.members.last_error == "REGISTRY_SIGNATURE"


def test_each_registry_version_in_force_is_kept_with_its_signed_bytes(gateway, gw_dir):
    held = gateway.members()
    members.write_registry(
        gw_dir,
        members.revoke(held, datetime.now(UTC), "370200", held.member("370200").grants[0].uscc),
        gw_dir / "tls" / "signing.key",
    )
    assert gateway.members().version == held.version + 1
    rows = gateway.store.registry_versions()
    assert [r["version"] for r in rows] == [1, 2]
    assert rows[1]["sha256"] == hashlib.sha256((gw_dir / members.REGISTRY_FILE).read_bytes()).hexdigest()


def test_each_registry_version_is_an_audit_leaf_proven_in_the_signed_log(gateway, gw_dir):
    """AUD-007: version 2's leaf names the signed file's hash and is included in a checkpoint;
    audit verify covers it, and a kept version altered afterwards is found."""
    from creditx.gateway.audit.checkpoints import inclusion_for, open_db
    from creditx.gateway.audit.evidence import verify_database
    from creditx.pki.files import read_cert
    from creditx.standard.checkpoint import parse_checkpoint, verifier_for
    from creditx.standard.merkle import leaf_hash, verify_inclusion

    held = gateway.members()
    members.write_registry(
        gw_dir,
        members.revoke(held, datetime.now(UTC), "370200", held.member("370200").grants[0].uscc),
        gw_dir / "tls" / "signing.key",
    )
    assert gateway.members().version == held.version + 1
    (v1, v2) = gateway.store.registry_versions()
    cp = gateway.checkpointer.sign_now()
    conn = open_db(gw_dir / "gateway.db")
    try:
        p = inclusion_for(conn, v2["log_index"], cp.size)
        leaf = json.loads(p["leaf_data"])
        assert (leaf["kind"], leaf["version"]) == ("registry", 2)
        assert leaf["sha256"] == hashlib.sha256((gw_dir / members.REGISTRY_FILE).read_bytes()).hexdigest()
        signed = parse_checkpoint(cp.note)[0]
        verify_inclusion(v2["log_index"], cp.size, leaf_hash(bytes(p["leaf_data"])), p["hashes"], signed.root_hash)
        assert v1["log_index"] < v2["log_index"]
        origin = signed.origin
        verifier = verifier_for(origin, read_cert(gw_dir / "tls" / "signing.crt").public_key())
        assert verify_database(conn, verifier, origin)["ok"]
        conn.execute("UPDATE registry_versions SET envelope = ? WHERE version = 2", (b"{}",))
        conn.commit()
        verdict = verify_database(conn, verifier, origin)
        assert not verdict["ok"] and "REGISTRY_ALTERED" in json.dumps(verdict)
    finally:
        conn.close()


def _listing(region: str, list_type: str) -> bytes:
    found = [p for p in payloads(region, 200, record_type="LIST") if decode_record(p).fields["MD_LX"] == list_type]
    assert found, f"the generator lists {list_type} in {region}"
    return found[0]


def test_an_early_repair_is_refused_and_the_entry_stays_listed(gateway, gw_dir, pki):
    c = PushClient(gateway.address, pki.nodes["370100"])
    c.handshake()
    entry = decode_record(_listing("370100", "SCJGYZWF"))
    entry = replace(entry, source_seq=1)
    (r,) = c.push([c.batch([encode_record(entry)])])
    assert r.acks[0].outcome == ACC
    listed = datetime.fromisoformat(entry.fields["MD_LRRQ"]).date()
    repair = replace(
        entry,
        op="U",
        version=2,
        source_seq=2,
        fields={
            **entry.fields,
            "MD_YCRQ": listed.replace(day=min(listed.day + 1, 28)).isoformat(),
            "MD_YCYY": "信用修复",
            "MD_YCJG": entry.fields["MD_RDJG"],
        },
    )
    (r,) = c.push([c.batch([encode_record(repair)], 2)])
    a = r.acks[0]
    assert (a.outcome, a.reason_code, a.requirement, a.field) == (REJ, "LIST_EARLY_REPAIR", "SEC-045", "MD_YCRQ")
    key = natural_key(entry, (gw_dir / "subject.key").read_bytes())
    assert gateway.store.current_versions([key]) == {key: 1}
    c.close()


def test_another_citys_record_sent_again_is_refused_not_answered_duplicate(gateway, pki):
    qingdao, jinan = PushClient(gateway.address, pki.nodes["370200"]), PushClient(gateway.address, pki.nodes["370100"])
    qingdao.handshake(), jinan.handshake()
    original = payloads("370200", 1)[0]
    (r,) = qingdao.push([qingdao.batch([original])])
    assert r.acks[0].outcome == ACC
    (r,) = jinan.push([jinan.batch([as_region(original, "370100", 1)])])  # same content, Jinan's region
    assert (r.acks[0].outcome, r.acks[0].reason_code) == (REJ, "SEC_AUTHORITY_NOT_GRANTED")
    qingdao.close()
    jinan.close()
