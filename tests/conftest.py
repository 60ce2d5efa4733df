"""Fixtures shared by every test folder: a real PKI (creditx.pki.testing.make_pki) and a real gateway on
port 0 with mutual TLS."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from creditx.gateway.init import init_gateway_dir
from creditx.gateway.server import Gateway
from creditx.pki.testing import make_pki
from creditx.standard.synth.members import OWN_NODE_DEPARTMENTS, department_uscc
from tests.pg import fresh_database
from tests.ports import gateway_config


@pytest.fixture(autouse=True)
def _root_logging():
    """An in-process ``creditx … run`` points the root logger at the stderr of its test, which
    pytest closes afterwards; put the root logger back so a later test's log lines (a gateway
    stopping in teardown) never land on a closed stream."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
            h.close()
    for h in handlers:
        if h not in root.handlers:
            root.addHandler(h)
    root.setLevel(level)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(
        tmp_path_factory.mktemp("pki"),
        regions=("370100", "370200", "370000"),
        members=tuple(department_uscc(n) for n in OWN_NODE_DEPARTMENTS[:2]),  # two departments' own nodes
    )


@pytest.fixture
def store_url(request):
    """The gateway's ``database`` setting: a SQLite file (default) or a fresh PostgreSQL database.
    Modules whose tests go through the store run on both engines:
    ``pytestmark = pytest.mark.parametrize("store_url", ENGINES, indirect=True)`` (tests.pg)."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield None
        return
    with fresh_database() as url:
        yield url


@pytest.fixture
def gw_dir(tmp_path, pki, store_url):
    d = tmp_path / "gw"
    cfg = gateway_config()
    if store_url:
        cfg = replace(cfg, database=store_url)
    init_gateway_dir(d, pki.gateway.dir, cfg=cfg)
    return d


@pytest.fixture
def gateway(gw_dir):
    g = Gateway(gw_dir)
    g.start()
    yield g
    g.stop(grace=1)


def pytest_collection_modifyitems(config, items):
    """``province16`` tests (17 processes, minutes) run only when asked for with ``-m province16``."""
    if "province16" in (config.getoption("markexpr", "") or ""):
        return
    skip = pytest.mark.skip(reason="the 16-city run: select it with -m province16")
    for item in items:
        if "province16" in item.keywords:
            item.add_marker(skip)
