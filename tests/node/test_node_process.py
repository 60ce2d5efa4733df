"""`creditx node run` as a real process: SIGTERM shuts it down gracefully, kill -9 mid-sync
loses and double-counts nothing, and `node import` from another process nudges it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from creditx.pki.testing import make_pki
from tests.node.fake_gateway import FakeGateway, serve
from tests.node.test_cli_app import _synth_file, _wait_for, creditx

pytestmark = pytest.mark.slow

RUN = (
    "import argparse, sys; from creditx.node.cli import register; p = argparse.ArgumentParser(); "
    "register(p.add_subparsers(dest='c', required=True)); a = p.parse_args(['node', 'run', '--dir', sys.argv[1]]); "
    "sys.exit(a.func(a))"
)

FREE_PORTS = ("--metrics-listen", "127.0.0.1:0", "--health-listen", "127.0.0.1:0")


def _start(d):
    return subprocess.Popen(
        [sys.executable, "-c", RUN, str(d)], cwd=os.getcwd(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


@pytest.fixture
def setup(tmp_path):
    pki = make_pki(tmp_path)
    fake = FakeGateway(max_batch_records=10, max_in_flight=1)
    server, target = serve(fake, pki)
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
        )
        == 0
    )
    yield d, fake, tmp_path
    if fake.hold_acks:
        fake.hold_acks.set()
    server.stop(None)


def test_sigterm_is_graceful_and_import_nudges_the_running_node(setup, capsys):
    d, fake, tmp = setup
    proc = _start(d)
    try:
        assert _wait_for(lambda: (d / "node.sock").exists())
        bad = _synth_file(tmp / "a.csv", n=30, encoding="utf-8")
        capsys.readouterr()
        creditx("import", tmp / "a.csv", "--dir", d, "--json")
        assert json.loads(capsys.readouterr().out)["sync"] is True
        assert _wait_for(lambda: fake.committed() == 30 - bad)
        creditx("import", tmp / "a.csv", "--dir", d)  # the same file again, as text: nothing new
        out = capsys.readouterr().out
        assert f"already submitted: {30 - bad}" in out and "sync: nothing new to send" in out
        assert "None" not in out and "no node is running" not in out
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, proc.stderr.read().decode()
    assert not (d / "node.sock").exists()


def test_kill_9_mid_sync_loses_and_double_counts_nothing(setup, capsys):
    d, fake, tmp = setup
    bad = _synth_file(tmp / "a.csv", n=40, encoding="utf-8")
    creditx("import", tmp / "a.csv", "--dir", d, "--json")
    fake.hold_acks = threading.Event()  # the gateway commits the first batch, its ack waits
    proc = _start(d)
    try:
        assert _wait_for(lambda: fake.committed() >= 10)
    finally:
        proc.kill()
        proc.wait(30)
    fake.hold_acks.set()
    fake.hold_acks = None
    proc = _start(d)
    try:
        assert _wait_for(lambda: fake.committed() == 40 - bad)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    assert max(fake.decide_count.values()) == 1
    capsys.readouterr()
    creditx("status", "--dir", d, "--json")
    s = json.loads(capsys.readouterr().out)
    assert s["outbox"]["accepted"] == 40 - bad and s["outbox"]["pending"] == 0 and s["outbox"]["sent"] == 0
