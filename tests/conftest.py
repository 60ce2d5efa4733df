"""Fixtures shared by every test folder: a real PKI (creditx.pki.testing.make_pki) and a real gateway on
port 0 with mutual TLS."""

from __future__ import annotations

import pytest

from creditx.gateway.config import GatewayConfig
from creditx.gateway.init import init_gateway_dir
from creditx.gateway.server import Gateway
from creditx.pki.testing import make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"), regions=("370100", "370200", "370000"))


@pytest.fixture
def gw_dir(tmp_path, pki):
    d = tmp_path / "gw"
    init_gateway_dir(d, pki.gateway.dir, cfg=GatewayConfig(listen="127.0.0.1:0", verify_workers=0))
    return d


@pytest.fixture
def gateway(gw_dir):
    g = Gateway(gw_dir)
    g.start()
    yield g
    g.stop(grace=1)
