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


def _modes(d):
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in d.iterdir()}


def _as_nobody_can_read(path) -> bool:
    code = ("import os, pwd, sys\n"
            "os.setgid(pwd.getpwnam('nobody').pw_gid); os.setuid(pwd.getpwnam('nobody').pw_uid)\n"
            "try:\n    open(sys.argv[1], 'rb').read(1)\nexcept PermissionError:\n    sys.exit(3)\n")
    return subprocess.run([sys.executable, "-c", code, str(path)], timeout=30).returncode == 0


@pytest.mark.parametrize("make, name", [(lambda p: SqliteStore(p / "gw" / "gateway.db"), "gateway.db"),
                                        (lambda p: NodeStore(p / "node" / "node.db"), "node.db")])
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
