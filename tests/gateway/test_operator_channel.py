"""The operator CLI checks the TLS name the gateway's certificate really carries, and a failure
names its cause (nothing listening, a name the certificate lacks) instead of "not reachable"."""

from __future__ import annotations

import json
import shutil
import socket
from datetime import UTC, datetime

import pytest

from creditx.cli.main import main
from creditx.gateway.config import GatewayConfig
from creditx.gateway.init import init_gateway_dir
from creditx.gateway.server import Gateway
from creditx.pki.issue import issue_gateway
from creditx.pki.names import dial_address, tls_name_for


def _gateway(tmp_path, pki, name, **issue):
    creds = issue_gateway(pki.ca, at=datetime.now(UTC), out=tmp_path / f"{name}-creds", **issue)
    d = tmp_path / name
    init_gateway_dir(
        d,
        creds.dir,
        cfg=GatewayConfig(
            listen="127.0.0.1:0", metrics_listen="127.0.0.1:0", health_listen="", console_listen="", verify_workers=0
        ),
    )
    shutil.copytree(pki.operator.dir, d / "operator")
    return d


@pytest.mark.parametrize("ips", [("127.0.0.1",), ()], ids=["dns+ip", "dns-only"])
def test_status_works_for_a_gateway_issued_for_its_own_host_name(tmp_path, pki, capsys, ips):
    d = _gateway(tmp_path, pki, "g", hosts=("gateway.example",), ips=ips)
    g = Gateway(d)
    g.start()
    try:
        assert tls_name_for(g.address, d / "tls" / "tls.crt") == ("" if ips else "gateway.example")
        capsys.readouterr()
        assert main(["gateway", "status", "--dir", str(d), "--json"]) == 0
        status = json.loads(capsys.readouterr().out)
        assert status["audit_size"] == 1 and isinstance(status["list_head"], int)  # int64 as a JSON number
        assert main(["gateway", "status", "--dir", str(d), "--server-name", "other.example"]) == 2
        err = capsys.readouterr().err
        assert "TLS" in err and "other.example" in err and "gateway.example" in err and "not reachable" not in err
    finally:
        g.stop(grace=1)


def test_nothing_listening_is_named_as_such(tmp_path, pki, capsys):
    d = _gateway(tmp_path, pki, "g", hosts=("gateway.example",))
    with socket.socket() as s:  # a port that was free a moment ago
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (d / "run.json").write_text(json.dumps({"address": f"127.0.0.1:{port}"}))
    assert main(["gateway", "status", "--dir", str(d)]) == 2
    assert "nothing accepts connections" in capsys.readouterr().err


def test_wildcard_listen_addresses_are_dialled_on_loopback():
    assert dial_address("0.0.0.0:7443") == "127.0.0.1:7443"
    assert dial_address("[::]:7443") == "[::1]:7443"
    assert dial_address("gw.example:7443") == "gw.example:7443"
