"""A PostgreSQL cluster of the benchmark's own: initdb into a temporary directory, a free port,
given settings; stopped and removed after. So a benchmark compares server settings (stock against
the README's advice for a gateway) without touching a shared server.

    with own_cluster(TUNED) as url: ...   # postgresql://postgres@127.0.0.1:<port>/postgres

The binaries are PostgreSQL's own (``pg_config --bindir``, else the newest under
/usr/lib/postgresql); run as root, the cluster belongs to the ``postgres`` user.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The README's settings for a gateway's server ("Running PostgreSQL for the gateway"), for a
# machine of 24 GB shared with other work. shared_buffers holds the hot random-key indexes
# (current_versions, the records' natural-key hash index: ~1.5 GB at 10 M records); a checkpoint
# at most every 30 min / 16 GB of WAL, so a hot index page costs one full-page image per
# checkpoint, not one per few records; lz4 compresses those images.
TUNED = {
    "shared_buffers": "3GB",
    "max_wal_size": "16GB",
    "min_wal_size": "1GB",
    "checkpoint_timeout": "30min",
    "checkpoint_completion_target": "0.9",
    "wal_compression": "lz4",
    "wal_buffers": "64MB",
}
STOCK: dict[str, str] = {}  # initdb's defaults (shared_buffers 128 MB, max_wal_size 1 GB, 5 min)


def _bindir() -> Path:
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise SystemExit("no PostgreSQL server binaries (initdb) found")
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def own_cluster(settings: dict[str, str], *, under: str | None = None) -> Iterator[str]:
    bindir, port = _bindir(), _free_port()
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    tmp = Path(tempfile.mkdtemp(prefix="bench-pg-", dir=under))
    data = tmp / "data"
    if as_user:
        shutil.chown(tmp, "postgres")
    try:
        subprocess.run(
            [*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
        )
        opts = {"port": str(port), "listen_addresses": "127.0.0.1", "unix_socket_directories": str(tmp), **settings}
        with (data / "postgresql.auto.conf").open("a") as f:
            f.writelines(f"{k} = '{v}'\n" for k, v in opts.items())
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(tmp / "log"), "-w", "start"],
            check=True,
            capture_output=True,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"  # pg_ctl -w returned: it accepts connections
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                check=False,
                capture_output=True,
            )
        shutil.rmtree(tmp, ignore_errors=True)
