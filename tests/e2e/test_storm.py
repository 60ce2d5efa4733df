"""A SIGKILL storm of the writer gateway while nodes push and follow lists (issue #12, SYNC-018).

Two real ``creditx gateway run`` processes on two addresses share one PostgreSQL database; three
real nodes are configured with both addresses (``node init --gateway A --gateway B``). Two nodes
submit LIST records (each one a stored record and a list change), the third only follows the
list log. Round after round the writer is SIGKILLed while batches are in flight, the standby
takes the lease, and the killed gateway is started again as the new standby, so the roles
alternate and every node has to find the writer again by itself (a standby's refusal names it).

At the end: every (node, source_seq) is stored exactly once and every submitted record is there,
no fingerprint is stored twice, the audit log verifies, the list log holds one change per record,
and every replica — the follower's too — is EXACT against a signed list checkpoint at the head.

The default run is short (``STORM_KILLS`` = 3 kills); ``CREDITX_STORM_KILLS=20`` runs a longer
storm.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
from pathlib import Path

import pytest

from creditx.demo.procs import Child, run_creditx, start_gateway, start_node
from creditx.gateway.store.engine import open_conn
from creditx.gateway.store.lease import WriterLease
from creditx.pki.ca import init_ca
from creditx.pki.issue import issue_gateway, issue_node
from tests.e2e import lists_probe as probe
from tests.e2e.test_crash import _fix_gateway_port, node_status
from tests.e2e.test_list_crash import _listings, _quick_node, _submit
from tests.pg import fresh_database

pytestmark = pytest.mark.slow

STORM_KILLS = int(os.environ.get("CREDITX_STORM_KILLS", "3"))
SEED = int(os.environ.get("CREDITX_TEST_SEED", "20261201"))
SUBMITTERS = {"jinan": "370100", "qingdao": "370200"}
FOLLOWER = ("zibo", "370300")
WAVE = 40  # records per node per round


def _free_ports(gw: Path) -> None:
    cfg = json.loads((gw / "gateway.json").read_text())
    cfg.update(metrics_listen="127.0.0.1:0", health_listen="127.0.0.1:0", console_listen="127.0.0.1:0")
    (gw / "gateway.json").write_text(json.dumps(cfg))


class Pair:
    """Two gateway directories on one database; ``children[address]`` is the process there."""

    def __init__(self, tmp: Path, url: str) -> None:
        now = dt.datetime.now(dt.UTC)
        self.tmp, self.url, self.now = tmp, url, now
        self.ca = init_ca(tmp / "ca", at=now)
        a, b = tmp / "gw-a", tmp / "gw-b"
        creds = issue_gateway(self.ca, at=now).dir
        run_creditx("gateway", "init", "--dir", str(a), "--ca-dir", str(creds), "--store", url)
        _free_ports(a)
        shutil.copytree(a, b)  # one province: the same certificates and signing key on both hosts
        self.dirs: dict[str, Path] = {}
        self.procs: dict[str, Child] = {}
        self.nodes: list[Child] = []
        first, info = start_gateway(a)
        shutil.copy(a / "subject.key", b / "subject.key")  # one province, one subject key
        self._add(a, first, info["address"])
        second, info = start_gateway(b)
        self._add(b, second, info["address"])

    def _add(self, d: Path, proc: Child, address: str) -> None:
        _fix_gateway_port(d, address)  # a restarted gateway comes back where the nodes expect it
        self.dirs[address], self.procs[address] = d, proc

    def writer(self) -> str:
        return WriterLease(self.url, "").writer_address()

    def restart(self, address: str) -> None:
        proc, info = start_gateway(self.dirs[address])
        assert info["address"] == address and info["writer"] is False  # the other one holds the lease
        self.procs[address] = proc

    def init_node(self, name: str, region: str, *, standby_first: bool = False) -> Path:
        d = self.tmp / name
        creds = issue_node(self.ca, region=region, name=name, at=self.now)
        args = ["node", "init", "--dir", str(d), "--region", region, "--certs", str(creds.dir)]
        args += ["--metrics-listen", "127.0.0.1:0", "--health-listen", "127.0.0.1:0"]
        # the addresses the gateways publish, so a standby's refusal names one the node knows
        addresses = list(self.dirs)[::-1] if standby_first else list(self.dirs)
        args += ["--gateway", ",".join(addresses), "--gateway-server-name", "localhost"]
        run_creditx(*args)
        _quick_node(d, (), snapshot_threshold=10**9)  # replicas follow the log from the start
        return d

    def close(self) -> None:
        for c in [*self.nodes, *self.procs.values()]:
            c.kill()


@pytest.fixture
def pair(tmp_path):
    with fresh_database() as url:
        p = Pair(tmp_path, url)
        try:
            yield p
        finally:
            p.close()


def _one(url: str, sql: str) -> tuple:
    conn = open_conn(url)
    try:
        return tuple(conn.execute(sql).fetchone())
    finally:
        conn.close()


def test_sigkill_storm_of_the_writer_stores_everything_once_and_replicas_stay_exact(pair):
    rng = random.Random(SEED)
    # qingdao lists the standby first: its first Handshake is refused, naming the writer
    dirs = {name: pair.init_node(name, region, standby_first=name == "qingdao") for name, region in SUBMITTERS.items()}
    follower = pair.init_node(*FOLLOWER)
    node_cfg = json.loads((follower / "node.json").read_text())
    assert [node_cfg["gateway"], *node_cfg["gateways"]] == list(pair.dirs)
    first_writer = pair.writer()
    for d in (*dirs.values(), follower):
        pair.nodes.append(start_node(d))
    rows = {
        name: _listings(region, WAVE * (STORM_KILLS + 1), seed=rng.randrange(1 << 30))
        for name, region in SUBMITTERS.items()
    }
    waves = {
        name: [
            [
                {"type": "LIST", "op": "I", "version": 1, "source_id": r.source_id, "fields": dict(r.fields)}
                for r in rs[i : i + WAVE]
            ]
            for i in range(0, len(rs), WAVE)
        ]
        for name, rs in rows.items()
    }
    watcher = pair.nodes[0]
    kills = []
    for k in range(STORM_KILLS):
        for name, d in dirs.items():
            _submit(d, waves[name][k])
        target = (k * WAVE + rng.randint(1, WAVE - 1), rng.choice(sorted(dirs)))
        watcher.wait_until(
            lambda t=target: node_status(dirs[t[1]])[1] >= t[0],
            timeout=120,
            what=f"{target[1]} committed_seq ≥ {target[0]}",
        )
        writer = pair.writer()
        assert writer in pair.procs, (writer, list(pair.procs))
        pair.procs[writer].kill()  # SIGKILL while the other node's batches are still in flight
        standby = next(a for a in pair.procs if a != writer)
        watcher.wait_until(lambda s=standby: pair.writer() == s, timeout=60, what=f"{standby} taking the lease")
        pair.restart(writer)  # back as the standby: the roles have swapped
        kills.append((target, writer))
    for name, d in dirs.items():
        _submit(d, waves[name][STORM_KILLS])

    total = {name: sum(len(w) for w in waves[name]) for name in dirs}
    for name, d in dirs.items():
        watcher.wait_until(
            lambda d=d, n=total[name]: node_status(d)[1] >= n and node_status(d)[0].get("pending", 0) == 0,
            timeout=180,
            what=f"{name}'s outbox drained",
        )
    head = sum(total.values())
    for d in (*dirs.values(), follower):
        watcher.wait_until(
            lambda d=d: probe.checkpoint_result(d) == ("EXACT", head),
            timeout=120,
            what=f"{d.name} EXACT against a signed checkpoint at {head}",
        )
    assert len({w for _, w in kills}) == min(2, STORM_KILLS), kills  # both gateways were the writer
    moved = (dirs["qingdao"] / "node.log").read_text("utf-8")
    assert f"is a standby naming the writer {first_writer}; moving to {first_writer}" in moved

    url = pair.url
    for name, region in SUBMITTERS.items():
        n, distinct, lo, hi = _one(
            url,
            "SELECT count(*), count(DISTINCT source_seq), min(source_seq), max(source_seq) FROM records"
            f" WHERE node = '{region}'",
        )
        assert (n, distinct, lo, hi) == (total[name], total[name], 1, total[name]), (name, kills)
        counts, committed = node_status(dirs[name])
        assert committed == total[name] and counts.get("accepted", 0) == total[name], counts
    assert _one(
        url, "SELECT count(*) FROM (SELECT fp FROM records WHERE fp IS NOT NULL GROUP BY fp HAVING count(*) > 1) t"
    ) == (0,)
    # one leaf per stored record, one per list change and one per registry version (AUD-007; a
    # writer taking over does not log the same version again), gap-free from 0, none doubled
    (versions,) = _one(url, "SELECT count(*) FROM registry_versions")
    assert versions >= 1
    leaves = 2 * head + versions
    assert _one(url, "SELECT count(*), count(DISTINCT idx), min(idx), max(idx) FROM audit_leaves") == (
        leaves,
        leaves,
        0,
        leaves - 1,
    )
    assert _one(url, "SELECT count(*), min(list_seq), max(list_seq) FROM list_log") == (head, 1, head)
    for proc in pair.nodes:
        proc.stop()
    writer = pair.writer()
    audit = run_creditx("gateway", "audit", "verify", "--dir", str(pair.dirs[writer]))
    assert audit.returncode == 0, audit.stdout + audit.stderr
