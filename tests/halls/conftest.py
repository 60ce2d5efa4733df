"""A running node with its hall API on loopback, a department's own credentials elsewhere."""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from creditx.node.app import NodeApp
from creditx.node.intake import IntakeRow
from creditx.pki.issue import DepartmentCredentials, issue_department, issue_node_tls
from creditx.pki.testing import Pki, make_pki
from creditx.standard.identifiers import id_check_char
from creditx.standard.synth import generate_rows
from creditx.v1 import exchange_pb2_grpc
from tests.node.fake_distribution import USCCS, FakeDistribution, ListLog, serve_distribution
from tests.node.fake_gateway import FakeGateway
from tests.node.test_cli_app import FREE_PORTS, creditx
from tests.node.test_replica_follow import wait_for

PERSON = "37010219850304123" + id_check_char("37010219850304123")
DEBTOR, TAXPAYER, CLEAN = USCCS[0], USCCS[1], USCCS[2]


@dataclass
class Hall:
    node_dir: Path
    app: NodeApp
    pki: Pki
    cz: DepartmentCredentials  # 财政 of Jinan: may call
    other_city: DepartmentCredentials  # a department of Qingdao: refused by the Jinan node
    log: ListLog

    @property
    def grpc_target(self) -> str:
        halls = self.app.halls
        assert halls is not None
        return f"127.0.0.1:{halls.ports['grpc']}"

    @property
    def http_base(self) -> str:
        halls = self.app.halls
        assert halls is not None
        return f"https://127.0.0.1:{halls.ports['http']}"


def _own_penalty(uscc: str) -> IntakeRow:
    g = next(generate_rows("370100", "XZCF", 1, seed=7, today=date(2026, 6, 1)))
    fields = {**g.fields, "CF_XDR_SHXYM": uscc, "CF_XDR_MC": "济南某某商贸有限公司", "CF_XDR_LB": "法人及非法人组织"}
    for k in ("CF_XDR_ZJLX", "CF_XDR_ZJHM", "CF_XDR_GSZC"):
        fields.pop(k, None)
    return IntakeRow(0, "XZCF", fields, {"op": "I", "version": "1", "source_id": g.source_id})


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    """One running node per test module (tests only add tokens, reports and revocations of their own)."""
    tmp_path = tmp_path_factory.mktemp("hall")
    now = datetime.now(UTC)
    provincial = make_pki(tmp_path / "pki", regions=("370100", "370200"))
    ca = provincial.ca
    assert ca is not None
    issue_node_tls(ca, region="370100", name="node-370100", at=now, out=tmp_path / "hall-tls")
    cz = issue_department(ca, name="CZ", region="370100", at=now, out=tmp_path / "dept-cz")
    other = issue_department(ca, name="CZ", region="370200", at=now, out=tmp_path / "dept-qd")
    log = ListLog()
    fake = FakeDistribution(log)
    signing_key = serialization.load_pem_private_key(provincial.gateway.signing_key.read_bytes(), None)
    assert isinstance(signing_key, ec.EllipticCurvePrivateKey)
    fake.signing_key = signing_key
    server, target = serve_distribution(
        fake, provincial, extra=lambda s: exchange_pb2_grpc.add_ExchangeServicer_to_server(FakeGateway(), s)
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
            provincial.nodes["370100"].dir,
            "--gateway-server-name",
            "localhost",
            *FREE_PORTS,
        )
        == 0
    )
    for f in ("hall-tls.crt", "hall-tls.key"):
        shutil.copy(tmp_path / "hall-tls" / f, d / f)
    cfg = json.loads((d / "node.json").read_text())
    cfg["halls"] = {"grpc_listen": "127.0.0.1:0", "http_listen": "127.0.0.1:0", "rate_per_s": 1000, "burst": 1000}
    (d / "node.json").write_text(json.dumps(cfg))
    (d / "gateway-signing.crt").write_bytes(provincial.gateway.signing_cert.read_bytes())
    log.add(0)  # DEBTOR: 失信被执行人
    log.add(1, list_type="AJNSR", MD_RDJG="国家税务总局济南市税务局")  # TAXPAYER: A级纳税人
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
    report = app.ingest([_own_penalty(DEBTOR)], source="test")
    assert report.accepted == 1, report.problems
    stop = threading.Event()
    t = threading.Thread(target=app.run, args=(stop,), daemon=True)
    t.start()
    assert wait_for(lambda: app.halls is not None and app.halls.ports and app.replica.applied() >= 3, timeout=30)
    assert wait_for(lambda: app.halls is not None and app.halls.store.own_records(f"U:{DEBTOR}"), timeout=30)
    yield Hall(d, app, provincial, cz, other, log)
    stop.set()
    t.join(30)
    server.stop(None)
