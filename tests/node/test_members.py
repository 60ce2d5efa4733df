"""The node keeps the member registry from a real gateway's handshake and refuses at import what
the gateway would refuse (SEC-036, SEC-039): rows of another city's deciding bodies are
quarantined with row, field, rule and fix instead of entering the outbox."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from creditx.cli.main import main
from creditx.gateway import members as gw_members
from creditx.gateway.init import init_gateway_dir
from creditx.gateway.server import Gateway
from creditx.node import members
from creditx.node.app import NodeApp
from creditx.pki.testing import make_pki
from creditx.standard.registry import RegistryError
from creditx.standard.synth import generate_rows, write_rows
from tests.node.test_docking import source_db  # noqa: F401 - the fixture
from tests.ports import gateway_config

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def province(tmp_path):
    pki = make_pki(tmp_path, regions=("370100",))
    gw_dir = tmp_path / "gw"
    init_gateway_dir(
        gw_dir,
        pki.gateway.dir,
        cfg=gateway_config(),
    )
    g = Gateway(gw_dir)
    g.start()
    d = tmp_path / "jinan"
    assert (
        main(
            [
                "node",
                "init",
                "--dir",
                str(d),
                "--region",
                "370100",
                "--gateway",
                g.address,
                "--certs",
                str(pki.nodes["370100"].dir),
            ]
        )
        == 0
    )
    yield g, gw_dir, d
    g.stop(grace=1)


def _file(path, region, n):
    rows = list(generate_rows(region, "XZCF", n, seed=3, today=dt.date.today()))
    with open(path, "wb") as out:
        write_rows(out, rows, record_type="XZCF", fmt="csv", encoding="utf-8")
    return path


def test_node_takes_the_registry_from_the_handshake_and_refuses_other_bodies_at_import(province, tmp_path, capsys):
    g, gw_dir, d = province
    app = NodeApp(d)
    try:
        app.sync_job()
    finally:
        app.close()
    held = members.held(d)
    assert held is not None and held.version == g.members().version
    capsys.readouterr()
    assert main(["node", "import", str(_file(tmp_path / "qd.csv", "370200", 10)), "--dir", str(d), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["accepted"] == 0 and report["quarantined"] == 10
    assert {(p["reason"], p["rule"], p["field"]) for p in report["problems"]} == {
        ("SEC_AUTHORITY_NOT_GRANTED", "SEC-036", "CF_CFJGDM")
    }
    assert all(p["fix"] for p in report["problems"])
    assert main(["node", "import", str(_file(tmp_path / "jn.csv", "370100", 10)), "--dir", str(d), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accepted"] == 10


def test_a_rolled_back_or_expired_registry_is_refused_and_the_held_one_stays(province):
    g, gw_dir, d = province
    app = NodeApp(d)
    try:
        app.sync_job()
    finally:
        app.close()
    old = (gw_dir / gw_members.REGISTRY_FILE).read_bytes()
    key = gw_dir / "tls" / "signing.key"
    newer = gw_members.changed(g.members(), NOW)
    assert members.accept_registry(d, gw_members.sign_registry(newer, key), NOW)
    with pytest.raises(RegistryError, match="REGISTRY_ROLLBACK"):
        members.accept_registry(d, old, NOW)
    expired = gw_members.changed(newer, NOW - dt.timedelta(days=400))
    with pytest.raises(RegistryError, match="REGISTRY_EXPIRED"):
        members.accept_registry(d, gw_members.sign_registry(expired, key), NOW)
    with pytest.raises(RegistryError, match="REGISTRY_SIGNATURE"):  # signed by the node's own key
        members.accept_registry(d, gw_members.sign_registry(newer, d / "signing.key"), NOW)
    held = members.held(d)
    assert held is not None and held.version == newer.version


def test_docking_rows_of_an_ungranted_body_are_refused_at_the_node(province, source_db):  # noqa: F811
    """NODE-022 for database docking: rows from the real PostgreSQL/MariaDB source whose 处罚机关 is
    not granted to Jinan are quarantined with row, field, rule and fix; Jinan's own go out."""
    from creditx.node.docking.poll import poll
    from creditx.node.docking.reader import SourceReader
    from tests.node.test_docking import _db_row, _insert, _source

    g, _, d = province
    kind, url, engine = source_db
    own = list(generate_rows("370100", "XZCF", 4, seed=7, today=dt.date.today()))
    other = list(generate_rows("370200", "XZCF", 3, seed=8, today=dt.date.today()))  # Qingdao's bodies
    _insert(engine, [_db_row(i, r.fields, kind, tick=i) for i, r in enumerate(own + other, start=1)])
    app = NodeApp(d)
    try:
        app.sync_job()  # the handshake brings the registry (SEC-039)
        known, member = members.own_entry(d, "370100", NOW)
        assert known and member is not None
        src = _source(url)
        r = poll(
            app.store,
            app.signer,
            src,
            SourceReader(src),
            region="370100",
            today=dt.date.today(),
            member=member,
            registry_known=known,
        )
        assert (r.seen, r.accepted, r.quarantined) == (7, 4, 3)
        rows = app.store.conn.execute("SELECT row, field, rule, reason, fix, source_id FROM quarantine").fetchall()
        assert {(f, rule, reason) for _, f, rule, reason, _, _ in rows} == {
            ("CF_CFJGDM", "SEC-036", "SEC_AUTHORITY_NOT_GRANTED")
        }
        assert all(fix and "grant" in fix for *_, fix, _ in rows) and len({sid for *_, sid in rows}) == 3
        outbox = [json.loads(p)["fields"]["CF_CFJGDM"] for (p,) in app.store.conn.execute("SELECT payload FROM outbox")]
        assert sorted(outbox) == sorted(x.fields["CF_CFJGDM"] for x in own)
    finally:
        app.close()
