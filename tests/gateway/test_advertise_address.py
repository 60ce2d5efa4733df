"""SYNC-018: the address a standby names for the writer — advertise_address, else listen — and a
wildcard listen address without one is refused before a standby could name it to nodes."""

from __future__ import annotations

import dataclasses
import json

import pytest

from creditx.cli.main import main
from creditx.gateway.config import GatewayConfig, advertised
from creditx.standard.errors import InputError
from tests.pg import fresh_database


def test_listen_address_is_published_when_nothing_is_advertised():
    cfg = GatewayConfig(listen="10.1.2.3:9741")
    assert advertised(cfg, "10.1.2.3", 9741) == "10.1.2.3:9741"


def test_advertise_address_wins_over_the_listen_address():
    cfg = GatewayConfig(listen="0.0.0.0:9741", advertise_address="gw-a.credit.example:9741")
    assert advertised(cfg, "0.0.0.0", 9741) == "gw-a.credit.example:9741"


@pytest.mark.parametrize("host", ["0.0.0.0", "[::]"])
def test_a_wildcard_listen_address_needs_an_advertised_one(host):
    cfg = GatewayConfig(listen=f"{host}:9741")
    with pytest.raises(InputError) as err:
        advertised(cfg, host, 9741)
    assert "advertise_address" in err.value.hint


@pytest.mark.parametrize("bad", ["gw-a.credit.example", "0.0.0.0:9741", ":9741", "gw-a:port", "gw-a:70000"])
def test_an_advertised_address_nodes_cannot_dial_is_refused(bad):
    cfg = dataclasses.replace(GatewayConfig(), advertise_address=bad)
    with pytest.raises(InputError) as err:
        advertised(cfg, "127.0.0.1", 9741)
    assert repr(bad) in str(err.value)


def test_gateway_run_on_a_shared_database_refuses_a_wildcard_listen_without_advertise(pki, tmp_path, capsys):
    with fresh_database() as url:
        gw = tmp_path / "gw"
        assert main(["gateway", "init", "--dir", str(gw), "--ca-dir", str(pki.gateway.dir), "--store", url]) == 0
        cfg = json.loads((gw / "gateway.json").read_text())
        cfg.update(listen="0.0.0.0:0", metrics_listen="", health_listen="", console_listen="")
        (gw / "gateway.json").write_text(json.dumps(cfg))
        capsys.readouterr()
        assert main(["gateway", "run", "--dir", str(gw)]) == 2
        err = capsys.readouterr().err
        assert "advertise_address" in err and "Traceback" not in err
