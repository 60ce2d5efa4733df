"""DIST-076 … DIST-079 with a real gateway and real nodes over mutual TLS: a Jinan person's entry
reaches Qingdao's replica without its origin and is found there by ID number (the gateway made
the index key with Qingdao's own key); `creditx node evidence` gives the origin to Jinan, which
sent it, and refuses Qingdao with the reason; Qingdao's directory never holds the ID number."""

from __future__ import annotations

import json
import stat

from creditx.cli.main import main
from creditx.node.app import NodeApp
from creditx.standard.record import decode_record
from tests.gateway.push_client import PushClient
from tests.gateway_lists.client import list_payload, list_rows


def _node(tmp_path, gateway, pki, region: str):
    d = tmp_path / region
    args = ["node", "init", "--dir", str(d), "--region", region, "--gateway", gateway.address]
    assert main([*args, "--certs", str(pki.nodes[region].dir)]) == 0
    app = NodeApp(d)
    try:
        app.follower().bootstrap()  # DIST-070…073 from the real gateway
    finally:
        app.close()
    return d


def test_person_entry_is_found_by_id_and_its_origin_only_reaches_who_may_ask(gateway, pki, tmp_path, capsys):
    person = next(r for r in list_rows("370100", 30, seed=5) if r["fields"].get("MD_ZT_ZJHM"))
    number = person["fields"]["MD_ZT_ZJHM"]
    payload = list_payload("370100", person, 1)
    c = PushClient(gateway.address, pki.nodes["370100"])
    c.handshake()
    assert [a.outcome for r in c.push([c.batch([payload])]) for a in r.acks] == [1]
    c.close()
    qingdao, jinan = _node(tmp_path, gateway, pki, "370200"), _node(tmp_path, gateway, pki, "370100")
    capsys.readouterr()

    assert main(["node", "check", number, "--dir", str(qingdao), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [e["subject_id_masked"] for e in found["memberships"]] == [found["subject"]] and "*" in found["subject"]

    assert main(["node", "evidence", "1", "--dir", str(qingdao)]) == 2
    err = capsys.readouterr().err
    assert "DIST_EVIDENCE_NOT_AUTHORISED" in err and number not in err

    out = tmp_path / "evidence.json"
    assert main(["node", "evidence", "1", "--dir", str(jinan), "--out", str(out), "--json"]) == 0
    said = json.loads(capsys.readouterr().out)
    assert said["signature_verified"] and stat.S_IMODE(out.stat().st_mode) == 0o600
    import base64

    env = json.loads(out.read_text())
    assert base64.b64decode(env["payload"]) == payload and decode_record(payload).fields["MD_ZT_ZJHM"] == number

    for p in qingdao.rglob("*"):  # NODE-047: not in any file of Qingdao's directory
        if p.is_file():
            assert number.encode() not in p.read_bytes(), p
