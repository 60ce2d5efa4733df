"""SEC-090: database files, their WAL and SHM, are 0600 in 0700 directories on both sides, and
another local user cannot read them (checked as ``nobody`` in a child process)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from creditx.gateway.store.sqlite import SqliteStore
from creditx.node.store import NodeStore
from tests.ports import gateway_config


def _modes(d):
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in d.iterdir()}


def _as_nobody_can_read(path) -> bool:
    code = (
        "import os, pwd, sys\n"
        "os.setgid(pwd.getpwnam('nobody').pw_gid); os.setuid(pwd.getpwnam('nobody').pw_uid)\n"
        "try:\n    open(sys.argv[1], 'rb').read(1)\nexcept PermissionError:\n    sys.exit(3)\n"
    )
    return subprocess.run([sys.executable, "-c", code, str(path)], timeout=30).returncode == 0


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda p: SqliteStore(p / "gw" / "gateway.db"), "gateway.db"),
        (lambda p: NodeStore(p / "node" / "node.db"), "node.db"),
    ],
)
def test_database_wal_and_shm_are_private(tmp_path, make, name):
    old = os.umask(0o022)  # the usual umask: files would be 0644 without the rule
    try:
        store = make(tmp_path)
    finally:
        os.umask(old)
    store.conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
    store.conn.execute("INSERT INTO t VALUES (1)")
    d = next(p for p in tmp_path.iterdir() if p.is_dir())
    modes = _modes(d)
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert {n: m for n, m in modes.items() if n.startswith(name)} == {n: 0o600 for n in modes if n.startswith(name)}
    assert name + "-wal" in modes  # WAL mode: the companion files exist and were checked
    if os.geteuid() == 0:
        os.chmod(tmp_path, 0o755)  # only the role's own directory protects the files
        assert not _as_nobody_can_read(d / name)
        os.chmod(d, 0o755)
        assert not _as_nobody_can_read(d / name)  # the file itself is 0600 too
    store.close()


def test_an_existing_world_readable_database_is_tightened(tmp_path):
    d = tmp_path / "node"
    d.mkdir(mode=0o700)
    db = d / "node.db"
    NodeStore(db).close()
    os.chmod(db, 0o644)
    NodeStore(db).close()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_a_second_gateway_on_the_same_directory_refuses_and_leaves_the_first_alone(tmp_path):
    from creditx.gateway.init import init_gateway_dir
    from creditx.gateway.server import Gateway
    from creditx.pki.testing import make_pki
    from creditx.standard.errors import InputError

    pki = make_pki(tmp_path / "pki", regions=("370100",))
    d = tmp_path / "gw"
    init_gateway_dir(
        d,
        pki.gateway.dir,
        cfg=gateway_config(),
    )
    first = Gateway(d)
    first.start()
    try:
        run = (d / "run.json").read_text()
        with pytest.raises(InputError, match=f"already running.*pid {os.getpid()}"):
            Gateway(d)
        assert (d / "run.json").read_text() == run
        assert stat.S_IMODE(d.stat().st_mode) == 0o700
    finally:
        first.stop(grace=1)
    Gateway(d).stop(grace=1)  # the lock went with the first one


def test_a_second_node_run_refuses_and_keeps_the_live_socket(tmp_path):
    from creditx.pki.files import RunLock
    from creditx.standard.errors import InputError

    d = tmp_path / "node"
    d.mkdir(mode=0o700)
    lock = RunLock(d, "node")
    (d / "node.sock").write_bytes(b"")  # stands for the live socket
    try:
        code = (
            "import sys\nfrom pathlib import Path\nfrom creditx.pki.files import RunLock\n"
            "from creditx.standard.errors import InputError\n"
            "try:\n    RunLock(Path(sys.argv[1]), 'node')\nexcept InputError as e:\n    print(e.message); sys.exit(2)\n"
        )
        out = subprocess.run([sys.executable, "-c", code, str(d)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 2 and f"pid {os.getpid()}" in out.stdout
        assert (d / "node.sock").exists()
    finally:
        lock.release()
    with pytest.raises(InputError):  # in-process too: flock is per open file description
        a = RunLock(d, "node")
        try:
            RunLock(d, "node")
        finally:
            a.release()
