"""The hall API served from more processes (HALL-053): a serving process answers as the node
does, over real TLS sockets (gRPC and HTTPS), with the same gate, privacy and audit; it cannot
write node.db; its action reports and check counts reach the node's one writer."""

from __future__ import annotations

import json
import os
import sqlite3

import grpc
import pytest

from creditx.node.halls.processes import HallProcesses, ReadOnlyStore
from creditx.node.halls.service import Counters
from creditx.node.halls.wiring import build_halls, hall_settings, start_grpc, start_http
from creditx.standard.errors import InputError
from creditx.v1 import lists_pb2 as pb
from creditx.v1 import lists_pb2_grpc as pb_grpc
from tests.halls.client import grpc_channel, https, post, signed_report
from tests.halls.conftest import DEBTOR, PERSON

pytestmark = pytest.mark.slow


def _pool(hall, grpc_listen: str, listen: str, counters: Counters) -> HallProcesses:
    wiring = hall.app.halls
    return HallProcesses(
        hall.node_dir, wiring.settings, grpc_listen, listen, hall.app.store.path, wiring.store, counters
    )


def _stub(target: str, dept) -> pb_grpc.DepartmentsStub:
    return pb_grpc.DepartmentsStub(grpc_channel(target, dept.ca, dept.cert, dept.key))


def _raw(conn, path: str, body: object, token: str = "") -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    conn.request("POST", path, json.dumps(body, ensure_ascii=False).encode(), headers)
    r = conn.getresponse()
    return r.status, r.read()


def _same(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k != "check_id"}


def test_a_serving_process_answers_as_the_node_with_the_same_gate_privacy_and_audit(hall):
    counters = Counters()
    pool = _pool(hall, "127.0.0.1:0", "127.0.0.1:0", counters)
    [(pid, gport, port)] = pool.start(1)
    try:
        assert pid != os.getpid()
        mine = https(f"https://127.0.0.1:{port}", hall.cz.ca, hall.cz.cert, hall.cz.key)
        node = https(hall.http_base, hall.cz.ca, hall.cz.cert, hall.cz.key)
        ask = {"subject": {"uscc": DEBTOR}, "matter": "ZFCG-GYS-001"}
        status, got = post(mine, "/v1/check", ask)
        assert status == 200 and got["memberships"] and got["measures"] and got["records"]
        assert _same(got) == _same(post(node, "/v1/check", ask)[1])

        # HALL-013: a person's number is answered masked; the full number is in no byte of the answer
        person = {"subject": {"person": {"id_type": "身份证", "id_number": PERSON}}}
        status, raw = _raw(mine, "/v1/check", person)
        assert status == 200 and PERSON.encode() not in raw
        shown = json.loads(raw)["subject_shown"]
        assert "*" in shown and shown == post(node, "/v1/check", person)[1]["subject_shown"]

        # gRPC from the serving process: the node's answer; the person masked; another city refused
        theirs = _stub(f"127.0.0.1:{gport}", hall.cz)
        ours = _stub(hall.grpc_target, hall.cz)
        req = pb.CheckRequest(subject=pb.Subject(uscc=DEBTOR), matter="ZFCG-GYS-001")
        a, b = theirs.Check(req, timeout=10), ours.Check(req, timeout=10)
        a.check_id, b.check_id = "", ""
        assert a == b and a.memberships
        p = theirs.Check(
            pb.CheckRequest(subject=pb.Subject(person=pb.PersonId(id_type="身份证", id_number=PERSON))), timeout=10
        )
        assert p.subject_shown == shown and PERSON.encode() not in p.SerializeToString()
        with pytest.raises(grpc.RpcError) as refused:
            _stub(f"127.0.0.1:{gport}", hall.other_city).Check(req, timeout=10)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED

        # the one gate: no credentials, another city's certificate, a token issued and revoked at the node
        anonymous = https(f"https://127.0.0.1:{port}", hall.cz.ca)
        assert post(anonymous, "/v1/check", ask)[0] == 401
        other = https(f"https://127.0.0.1:{port}", hall.cz.ca, hall.other_city.cert, hall.other_city.key)
        assert post(other, "/v1/check", ask)[0] == 403
        token_id, token = hall.app.halls.store.issue_token("CZ", "processes test")
        assert post(https(f"https://127.0.0.1:{port}", hall.cz.ca), "/v1/check", ask, token)[0] == 200
        hall.app.halls.store.revoke_token(token_id)
        assert post(https(f"https://127.0.0.1:{port}", hall.cz.ca), "/v1/check", ask, token)[0] == 401

        # HALL-030/031: a report sent to the serving process is kept once, by the node
        kept = hall.app.halls.store.action_counts()["kept"]
        rep = signed_report(
            hall.cz.cert, hall.cz.key, report_id="proc-0001", check_id=got["check_id"], measure_id="SXBZXR-01"
        )
        assert post(mine, "/v1/actions", rep.json()) == (200, {"report_id": "proc-0001", "duplicate": False})
        assert post(node, "/v1/actions", rep.json()) == (200, {"report_id": "proc-0001", "duplicate": True})
        assert hall.app.halls.store.action_counts()["kept"] == kept + 1
    finally:
        pool.stop(10.0)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    # HALL-042: the serving process's checks reached the node's counters when it stopped
    # (HTTPS: the DEBTOR twice and the listed person; gRPC: the DEBTOR and the person; refused
    # calls are not checks)
    assert counters.take()[("CZ", "")] == (5, 5)


def test_processes_share_both_ports_and_a_port_taken_without_reuse_is_refused(hall):
    wiring = hall.app.halls
    parts = build_halls(
        hall.node_dir,
        wiring.settings,
        store=wiring.store,
        replica=hall.app.replica,
        subject_key=hall.app.subject_key,
        region="370100",
        stale_after_s=3600.0,
        measures=wiring.measures.current,
    )
    own, port = start_http(hall.node_dir, wiring.settings, parts, listen="127.0.0.1:0", reuse_port=True)
    own_g, gport = start_grpc(hall.node_dir, wiring.settings, parts, listen="127.0.0.1:0")
    counters = Counters()
    pool = _pool(hall, f"127.0.0.1:{gport}", f"127.0.0.1:{port}", counters)
    try:
        [(_pid, same_g, same)] = pool.start(1)
        assert (same_g, same) == (gport, port)
        ask = {"subject": {"uscc": DEBTOR}}
        for _ in range(24):  # new connections: the kernel spreads them over both processes' sockets
            conn = https(f"https://127.0.0.1:{port}", hall.cz.ca, hall.cz.cert, hall.cz.key)
            assert post(conn, "/v1/check", ask)[0] == 200
            conn.close()
            channel = grpc_channel(f"127.0.0.1:{gport}", hall.cz.ca, hall.cz.cert, hall.cz.key)
            pb_grpc.DepartmentsStub(channel).Check(pb.CheckRequest(subject=pb.Subject(uscc=DEBTOR)), timeout=10)
            channel.close()
    finally:
        pool.stop(10.0)
        own.stop(5.0)
        own_g.stop(None)
    served_there = counters.take().get(("CZ", ""), (0, 0))[0]
    served_here = parts.halls.counters.take().get(("CZ", ""), (0, 0))[0]
    assert served_there + served_here == 48 and served_there > 0 and served_here > 0

    # the node's own port (bound without SO_REUSEPORT): a serving process cannot take it
    taken = _pool(hall, "127.0.0.1:0", f"127.0.0.1:{wiring.ports['http']}", Counters())
    with pytest.raises(OSError, match="cannot serve the hall API"):
        taken.start(1)


def test_a_serving_process_cannot_write_the_node_database(hall):
    ro = ReadOnlyStore(hall.app.store.path)
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            ro.conn.execute("INSERT INTO hall_counters VALUES ('CZ', '', 1, 0)")
        assert ro.conn.execute("SELECT COUNT(*) FROM replica_entries").fetchone()[0] >= 3
    finally:
        ro.close()


def test_processes_must_be_positive(tmp_path):
    (tmp_path / "node.json").write_text(json.dumps({"halls": {"processes": 0}}))
    for f in ("hall-tls.crt", "hall-tls.key"):
        (tmp_path / f).write_text("x")
    with pytest.raises(InputError, match="processes"):
        hall_settings(tmp_path)
