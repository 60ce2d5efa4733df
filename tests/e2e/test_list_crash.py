"""Crash safety of list redistribution with real processes (DESIGN.md decision 5; DIST-040/042,
DIST-070…073): "killing a node or the gateway at any moment during a stream or a snapshot never
leaves a replica with a gap, a duplicate or a cursor ahead of its data".

1. Stream: a real gateway and three real nodes; one node submits LIST records in waves (adds,
   corrections, credit-repair removals), and at seeded thresholds of an observer's applied
   list_seq the gateway or a node is SIGKILLed and restarted. In the end every replica equals the
   gateway's list state and log (:func:`tests.e2e.lists_probe.replica_faults`) and answers
   Departments.Check as the gateway's state says.
2. Snapshot: a gateway holding a few thousand entries (``gateway import-lists``); a fresh node
   bootstraps by snapshot in small chunks and is SIGKILLed mid-snapshot, the gateway too, while
   more changes are imported (so the snapshot is resumed at an older list_seq than the head);
   after completion the replica follows to the head with the same checks.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import sys
from pathlib import Path

import grpc
import pytest

from certs.ca import init_ca
from certs.issue import issue_gateway, issue_node
from gateway.procs import Child, run_creditx, start_gateway, start_node
from standards.synth import generate_rows
from tests.e2e import lists_probe as probe

pytestmark = pytest.mark.slow

TODAY = dt.date.today()
REGIONS = {"jinan": "370100", "qingdao": "370200", "zibo": "370300"}
SUBMITTER = "zibo"


def _quick_node(node: Path, **more) -> None:
    cfg = json.loads((node / "node.json").read_text())
    cfg.setdefault("limits", {}).update(sync_interval_s=0.5, backoff_base_s=0.05, backoff_cap_s=0.5,
                                        max_batch_records=100, heartbeat_interval_s=1.0,
                                        list_batch_changes=40, **more)
    (node / "node.json").write_text(json.dumps(cfg))


def _fix_gateway_port(gw: Path, address: str) -> None:
    """A restarted gateway must come back on the port the nodes were told about."""
    cfg = json.loads((gw / "gateway.json").read_text())
    cfg["listen"] = address
    (gw / "gateway.json").write_text(json.dumps(cfg))


class Province:
    """A CA, a gateway directory and initialised node directories; every child is killed at teardown."""

    def __init__(self, tmp: Path) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        self.tmp, self.ca, self.now = tmp, init_ca(tmp / "ca", at=now), now
        self.gw = tmp / "gateway"
        run_creditx("gateway", "init", "--dir", str(self.gw), "--ca-dir", str(issue_gateway(self.ca, at=now).dir))
        self.children: list[Child] = []
        self.gateway, info = start_gateway(self.gw)
        self.children.append(self.gateway)
        self.address = info["address"]
        _fix_gateway_port(self.gw, self.address)

    def init_node(self, name: str, region: str, **limits) -> Path:
        d = self.tmp / name
        creds = issue_node(self.ca, region=region, name=name, at=self.now)
        run_creditx("node", "init", "--dir", str(d), "--region", region, "--certs", str(creds.dir),
                    "--gateway", self.address.replace("127.0.0.1", "localhost"))
        _quick_node(d, **limits)
        return d

    def start(self, child_factory) -> Child:
        child = child_factory()
        self.children.append(child)
        return child

    def restart_gateway(self) -> None:
        self.gateway.kill()
        self.children.remove(self.gateway)
        self.gateway, info = start_gateway(self.gw)
        self.children.append(self.gateway)
        assert info["address"] == self.address

    def kill(self, child: Child) -> None:
        child.kill()
        self.children.remove(child)

    def close(self) -> None:
        for c in self.children:
            c.kill()


@pytest.fixture
def province(tmp_path):
    p = Province(tmp_path)
    yield p
    p.close()


# --- LIST records: adds, corrections, credit-repair removals ------------------------------------


def _records(count: int, seed: int) -> list[list[dict]]:
    """Waves of NodeSubmitRecord dicts: each wave adds new entries, corrects (op U v2) some of the
    previous wave's and removes by 信用修复 (op U, MD_YCRQ/MD_YCYY/MD_YCJG) some others."""
    rng = random.Random(seed)
    rows, seen = [], set()
    for r in generate_rows(REGIONS[SUBMITTER], "LIST", count * 2, seed=seed, today=TODAY):
        key = (r.fields.get("MD_RDWSH"), r.fields.get("MD_RDJGDM"), r.fields.get("MD_LX"))
        if r.op == "I" and key not in seen:
            seen.add(key)
            rows.append(r)
    rows = rows[:count]
    waves, size, prev = [], 60, []
    for start in range(0, len(rows), size):
        wave = [{"type": "LIST", "op": "I", "version": 1, "source_id": r.source_id, "fields": dict(r.fields)}
                for r in rows[start:start + size]]
        for r in prev:
            roll = rng.random()
            if roll < 0.3:  # DIST-010 CORRECT
                f = dict(r.fields, MD_LRYY=r.fields["MD_LRYY"] + "（更正）")
                wave.append({"type": "LIST", "op": "U", "version": 2, "source_id": r.source_id, "fields": f})
            elif roll < 0.55:  # DIST-014 REMOVE, reason REPAIRED
                f = dict(r.fields, MD_YCRQ=TODAY.isoformat(), MD_YCYY="信用修复", MD_YCJG=r.fields["MD_RDJG"])
                wave.append({"type": "LIST", "op": "U", "version": 2, "source_id": r.source_id, "fields": f})
        waves.append(wave)
        prev = rows[start:start + size]
    return waves


def _submit(node: Path, wave: list[dict]) -> None:
    from creditx.v1 import node_api_pb2, node_api_pb2_grpc

    req = node_api_pb2.NodeSubmitRequest(records=[node_api_pb2.NodeSubmitRecord(**r) for r in wave])
    with grpc.insecure_channel(f"unix://{node / 'node.sock'}") as ch:
        resp = node_api_pb2_grpc.NodeApiStub(ch).Submit(req, timeout=30)
    bad = [(r.index, [(v.field, v.rule, v.message) for v in r.violations]) for r in resp.results if not r.accepted]
    assert not bad, bad[:3]


# --- 1. kills during the stream -------------------------------------------------------------------


def test_kill_9_during_list_stream_leaves_every_replica_equal_to_the_log(province):
    rng = random.Random(20261122)
    dirs = {name: province.init_node(name, region) for name, region in REGIONS.items()}
    nodes = {name: province.start(lambda d=d: start_node(d)) for name, d in dirs.items()}
    waves = _records(600, seed=14)
    expected = sum(len(w) for w in waves)  # every record is one list change
    kinds = {"gateway": 3, "node": 4}
    victims = rng.sample(["gateway"] * kinds["gateway"] + ["node"] * kinds["node"], sum(kinds.values()))
    thresholds = sorted(rng.sample(range(20, expected - 100), len(victims)))
    submitted = published = 0
    log = []
    for threshold, victim in zip(thresholds, victims):
        while published < min(threshold + 150, expected):
            _submit(dirs[SUBMITTER], waves[submitted])
            published += len(waves[submitted])
            submitted += 1
        observer = rng.choice(sorted(nodes))
        nodes[observer].wait_until(lambda: probe.replica_applied(dirs[observer]) >= threshold, timeout=60,
                                   what=f"{observer} applied list_seq ≥ {threshold}")
        if victim == "gateway":
            log.append((threshold, "gateway", probe.gateway_head(province.gw),
                        {n: probe.replica_applied(d) for n, d in dirs.items()}))
            province.restart_gateway()
        else:
            name = rng.choice(sorted(nodes))
            province.kill(nodes[name])
            log.append((threshold, name, probe.replica_applied(dirs[name])))
            nodes[name] = province.start(lambda d=dirs[name]: start_node(d))
    for wave in waves[submitted:]:
        _submit(dirs[SUBMITTER], wave)

    gw = province.gw
    province.gateway.wait_until(lambda: probe.gateway_head(gw) >= expected, timeout=60,
                                what=f"list head {expected}")
    head = probe.gateway_head(gw)
    for name, d in dirs.items():
        nodes[name].wait_until(lambda d=d: probe.replica_applied(d) == head, timeout=60,
                               what=f"{name} applied {head}")
    # Departments.Check answers from the replica as the gateway's state says (DIST-060).
    listed, removed = probe.usccs_by_state(gw)
    assert listed and removed
    for uscc in rng.sample(listed, 3) + rng.sample(removed, 3):
        want = probe.expected_check(gw, uscc)
        for d in dirs.values():
            got = probe.check_subject(d, uscc)
            assert got == (*want, head), (d.name, uscc)
    for name in list(nodes):
        nodes[name].stop()
    province.gateway.stop()

    kinds_seen = {k for _, k, _, _ in probe.gateway_log(gw)}
    assert kinds_seen == {"ADD", "CORRECT", "REMOVE"}, kinds_seen
    assert head == expected, (head, expected)  # nothing refused, nothing published twice
    faults = probe.gateway_faults(gw)
    for d in dirs.values():
        faults += probe.replica_faults(d, gw)
    assert not faults, (faults, log)
