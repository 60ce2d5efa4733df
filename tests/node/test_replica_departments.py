"""A running node's list replica as its departments see it: Check and Feed on the local socket,
JSON Lines sinks, `creditx node check/replica/feed`, checkpoint verification (DIST-052/060/061)."""

from __future__ import annotations

import json
import threading

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from creditx.node.app import NodeApp
from creditx.node.config import Department
from creditx.node.replica.sinks import SINK_CURSORS, drain
from creditx.node.replica.store import ReplicaStore
from creditx.node.store import NodeStore
from creditx.pki.testing import make_pki
from creditx.standard.identifiers import id_check_char
from creditx.v1 import exchange_pb2_grpc
from creditx.v1 import lists_pb2 as pb
from creditx.v1 import lists_pb2_grpc as pb_grpc
from tests.node.fake_distribution import USCCS, FakeDistribution, ListLog, serve_distribution
from tests.node.fake_gateway import FakeGateway
from tests.node.test_cli_app import creditx
from tests.node.test_replica_follow import wait_for

PERSON = "37010219900101123" + id_check_char("37010219900101123")

FREE_PORTS = ("--metrics-listen", "127.0.0.1:0", "--health-listen", "127.0.0.1:0")


@pytest.fixture
def running(tmp_path):
    # The gateway's checkpoint key is a verifiable gateway-signing certificate
    # (creditx.node.replica.trust refuses anything else).
    pki = make_pki(tmp_path)
    log = ListLog()
    fake = FakeDistribution(log)
    key = serialization.load_pem_private_key(pki.gateway.signing_key.read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)  # the CA issues P-256 signing keys
    fake.signing_key = key
    server, target = serve_distribution(
        fake, pki, extra=lambda s: exchange_pb2_grpc.add_ExchangeServicer_to_server(FakeGateway(), s)
    )
    d = tmp_path / "node"
    assert (
        creditx(
            "init",
            "--dir",
            d,
            "--region",
            "370100",
            "--gateway",
            target,
            "--certs",
            pki.nodes["370100"].dir,
            *FREE_PORTS,
            "--gateway-server-name",
            "localhost",
        )
        == 0
    )
    cfg = json.loads((d / "node.json").read_text())
    cfg["departments"] = [{"name": "court", "list_types": ["SXBZXR"], "jsonl": "feeds/court.jsonl"}, {"name": "all"}]
    (d / "node.json").write_text(json.dumps(cfg))
    (d / "gateway-signing.crt").write_bytes(pki.gateway.signing_cert.read_bytes())
    cs = [log.add(i) for i in range(4)] + [log.add(5, list_type="JYYC")]
    log.push(
        log.record(
            source_id="person-1",
            MD_ZT_ZJLX="身份证",
            MD_ZT_ZJHM=PERSON,
            MD_ZT_MC="张三",
            MD_ZT_LB="自然人",
            MD_RDWSH="(2026)鲁0102执900号",
        )
    )
    app = NodeApp(d)
    stop = threading.Event()
    t = threading.Thread(target=app.run, args=(stop,), daemon=True)
    t.start()
    assert wait_for(lambda: (d / "node.sock").exists())
    ch = grpc.insecure_channel(f"unix:{d / 'node.sock'}")
    yield d, log, fake, cs, app, pb_grpc.DepartmentsStub(ch)
    ch.close()
    stop.set()
    t.join(30)
    server.stop(None)


def _check(stub, **subject):
    person = subject.pop("person", None)
    s = pb.Subject(person=pb.PersonId(id_type="身份证", id_number=person)) if person else pb.Subject(**subject)
    return stub.Check(pb.CheckRequest(subject=s), timeout=5)


def test_check_feed_sink_and_removal(running, capsys):
    d, log, fake, cs, app, stub = running
    assert wait_for(lambda: app.replica.applied() == 6)
    a = _check(stub, uscc=USCCS[0])
    assert [e.list_type for e in a.memberships] == ["SXBZXR", "SXBZXR"] and a.applied_list_seq == 6 and not a.stale
    assert a.memberships[0].authority and a.memberships[0].basis and a.memberships[0].listed_on == "2024-01-10"
    p = _check(stub, person=PERSON)  # found by the node's own keyed hash of the origin's ID (NODE-041)
    assert len(p.memberships) == 1 and p.memberships[0].subject_id_masked.startswith("370102")
    assert PERSON.encode() not in (d / "node.db").read_bytes()
    with pytest.raises(grpc.RpcError) as e:
        _check(stub, uscc="914403001922038217")
    assert e.value.code() is grpc.StatusCode.INVALID_ARGUMENT and "USCC_CHECKSUM" in (e.value.details() or "")

    # Feed: the court department sees only SXBZXR; acknowledging via from_cursor moves its cursor
    feed = stub.Feed(pb.FeedRequest(department="court"), timeout=5)
    first = next(feed)
    feed.cancel()
    assert all(c.list_type == "SXBZXR" for c in first.changes) and first.cursor >= 1
    assert [c.list_seq for c in first.changes] == [1, 2, 3, 4, 6] and first.cursor == 6
    feed = stub.Feed(pb.FeedRequest(department="court", from_cursor=first.cursor), timeout=5)
    # credit repair propagates: not listed any more, visible in history
    log.remove(cs[0])
    fake.publish(None)
    assert wait_for(lambda: app.replica.applied() == 7)
    a = _check(stub, uscc=USCCS[0])
    assert len(a.memberships) == 1 and [h.removal_reason for h in a.history] == [pb.REMOVAL_REASON_REPAIRED]
    nxt = next(feed)  # the open stream delivers the removal as it is applied
    feed.cancel()
    assert [c.list_seq for c in nxt.changes] == [7] and nxt.changes[0].kind == pb.CHANGE_KIND_REMOVE
    assert app.replica.cursor("department_cursors", "court") == first.cursor
    with pytest.raises(grpc.RpcError) as e:
        next(stub.Feed(pb.FeedRequest(department="nobody"), timeout=5))
    assert e.value.code() is grpc.StatusCode.NOT_FOUND

    # the file sink holds exactly the matching changes, once each
    lines = [json.loads(x) for x in (d / "feeds/court.jsonl").read_text().splitlines()]
    assert [x["list_seq"] for x in lines] == [1, 2, 3, 4, 6, 7]

    # the CLI answers from the same replica
    capsys.readouterr()
    assert creditx("check", USCCS[0], "--dir", d, "--json", "--history") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["listed"] and len(out["memberships"]) == 1 and len(out["history"]) == 1 and len(out["changes"]) == 3
    assert creditx("check", "914403001922038217", "--dir", d) == 2
    assert "USCC_CHECKSUM" in capsys.readouterr().out  # the test helper prints diagnostics to stdout
    assert creditx("feed", "--dir", d, "--department", "all", "--json", "--ack") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cursor"] == 7 and [c["list_seq"] for c in out["changes"]] == list(range(1, 8))
    assert creditx("feed", "--dir", d, "--department", "all", "--json") == 0
    assert json.loads(capsys.readouterr().out)["changes"] == []


def test_checkpoint_verified_then_fork_halts_applying(running, capsys):
    d, log, fake, cs, app, stub = running
    assert wait_for(lambda: app.replica.applied() == 6)
    app.checkpoint_job()
    assert app.replica.state().checkpoint["result"] == "EXACT" and fake.reports[-1].checkpoint_verified
    assert fake.reports[-1].applied_list_seq == 6
    log.add(7)
    fake.publish(None)
    assert wait_for(lambda: app.replica.applied() == 7)
    fake.fork = True
    app.checkpoint_job()
    assert "FORK" in app.replica.state().alarm or "DIVERGED" in app.replica.state().alarm
    log.add(8)
    fake.publish(None)
    assert _check(stub, uscc=USCCS[0]).stale
    assert not wait_for(lambda: app.replica.applied() == 8, timeout=1.0)  # NODE-043: nothing applied
    capsys.readouterr()
    assert creditx("replica", "--dir", d, "--json") == 0
    assert json.loads(capsys.readouterr().out)["alarm"]


def test_sink_exactly_once_after_a_crash_between_write_and_cursor(tmp_path):
    log = ListLog()
    cs = [log.add(i, list_type="SXBZXR" if i % 2 else "JYYC") for i in range(8)]
    r = ReplicaStore(NodeStore(tmp_path / "node.db"), b"n" * 32)
    r.apply_batch(cs[:5], {}, now_ms=1)
    dept = Department("tax", frozenset({"SXBZXR"}), "feeds/tax.jsonl")
    assert drain(r, dept, tmp_path) == 2  # list_seq 2, 4
    path = tmp_path / "feeds/tax.jsonl"
    r.apply_batch(cs, {}, now_ms=2)
    # a crash after appending 6 and half of 8, before the cursor was recorded
    with open(path, "ab") as f:
        f.write(json.dumps({"list_seq": 6}).encode() + b"\n" + b'{"list_seq": 8, "ki')
    assert r.cursor(SINK_CURSORS, "tax") == 5  # 5 is filtered out, yet covered
    drain(r, dept, tmp_path)
    seqs = [json.loads(x)["list_seq"] for x in path.read_text().splitlines()]
    assert seqs == [2, 4, 6, 8] and r.cursor(SINK_CURSORS, "tax") == 8
