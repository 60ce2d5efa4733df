"""AUD-020: a gateway's log origin is for life. A gateway whose name would sign another origin
than the one its database's checkpoints carry (renamed, or a second gateway on the same database
with a name of its own) is refused with the name to use, before it signs anything."""

from __future__ import annotations

import json

import pytest

from creditx.cli.main import main
from creditx.demo.procs import start_gateway, stop_all
from creditx.gateway.audit.checkpoints import StoredCheckpoint, check_origin, origin_for
from creditx.gateway.store.engine import open_conn


@pytest.mark.slow
def test_a_renamed_gateway_is_refused_with_the_name_its_log_carries(tmp_path, pki, capsys):
    gw = tmp_path / "gw"
    assert main(["gateway", "init", "--dir", str(gw), "--ca-dir", str(pki.gateway.dir)]) == 0
    cfg = json.loads((gw / "gateway.json").read_text())
    cfg.update(metrics_listen="127.0.0.1:0", health_listen="127.0.0.1:0", console_listen="127.0.0.1:0")
    (gw / "gateway.json").write_text(json.dumps(cfg))
    name = cfg["name"]
    child, _ = start_gateway(gw)  # makes the database and logs the registry's first version
    stop_all([child])
    assert main(["gateway", "audit", "checkpoint", "--dir", str(gw)]) == 0
    cfg["name"] = "another-gateway"
    (gw / "gateway.json").write_text(json.dumps(cfg))
    capsys.readouterr()
    conn = open_conn(gw / "gateway.db")
    try:
        before = conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0]
    finally:
        conn.close()

    for argv in (["gateway", "audit", "checkpoint"], ["gateway", "run"]):
        assert main([*argv, "--dir", str(gw)]) == 2
        err = capsys.readouterr().err
        assert f'"name": "{name}"' in err and "another-gateway/audit/v1" in err and "Traceback" not in err
    conn = open_conn(gw / "gateway.db")
    try:
        assert conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0] == before  # nothing signed
    finally:
        conn.close()


def test_an_empty_log_or_the_same_origin_passes():
    check_origin(None, origin_for("gw"))
    check_origin(
        StoredCheckpoint(1, b"\0" * 32, f"{origin_for('gw')}\n1\nAA==\n", "2026-01-01T00:00:00Z"), "gw/audit/v1"
    )
