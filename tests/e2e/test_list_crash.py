"""Crash safety of list redistribution with real processes (ADR 0007, ADR 0009; DIST-040/042,
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
import signal
import time
from pathlib import Path
from typing import Any

import grpc
import pytest

from creditx.demo.procs import Child, run_creditx, start_gateway, start_node
from creditx.pki.ca import init_ca
from creditx.pki.issue import issue_gateway, issue_node
from creditx.standard.synth import generate_rows
from tests.e2e import lists_probe as probe
from tests.e2e.test_crash import _fix_gateway_port  # a restarted gateway comes back on the same port
from tests.pg import ENGINES

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("store_url", ENGINES, indirect=True)]

TODAY = dt.date.today()
REGIONS = {"jinan": "370100", "qingdao": "370200", "zibo": "370300"}
SUBMITTER = "zibo"
SEED = int(os.environ.get("CREDITX_TEST_SEED", "20261122"))  # another seed: other kill points
FEED = ({"name": "credit", "jsonl": "feeds/credit.jsonl"},)  # a department fed every change (NODE-045)


def _quick_node(node: Path, departments: tuple[dict, ...] = (), **more) -> None:
    cfg = json.loads((node / "node.json").read_text())
    cfg["departments"] = list(departments)
    cfg.setdefault("limits", {}).update(
        sync_interval_s=0.5,
        backoff_base_s=0.05,
        backoff_cap_s=0.5,
        max_batch_records=100,
        heartbeat_interval_s=1.0,
        list_batch_changes=40,
        checkpoint_interval_s=0.5,
        **more,
    )
    (node / "node.json").write_text(json.dumps(cfg))


class Province:
    """A CA, a gateway directory and initialised node directories; every child is killed at teardown."""

    def __init__(self, tmp: Path, store_url: str | None = None) -> None:
        now = dt.datetime.now(dt.UTC)
        self.tmp, self.ca, self.now = tmp, init_ca(tmp / "ca", at=now), now
        self.gw = tmp / "gateway"
        run_creditx(
            "gateway",
            "init",
            "--dir",
            str(self.gw),
            "--ca-dir",
            str(issue_gateway(self.ca, at=now).dir),
            "--metrics-listen",
            "127.0.0.1:0",
            "--health-listen",
            "127.0.0.1:0",
            "--console-listen",
            "127.0.0.1:0",
            *(("--store", store_url) if store_url else ()),  # the gateway's database: SQLite or PostgreSQL
        )
        self.children: list[Child] = []
        self.gateway, info = start_gateway(self.gw)
        self.children.append(self.gateway)
        self.address = info["address"]
        _fix_gateway_port(self.gw, self.address)

    def init_node(self, name: str, region: str, departments: tuple[dict, ...] = (), **limits) -> Path:
        d = self.tmp / name
        creds = issue_node(self.ca, region=region, name=name, at=self.now)
        run_creditx(
            "node",
            "init",
            "--dir",
            str(d),
            "--region",
            region,
            "--certs",
            str(creds.dir),
            "--metrics-listen",
            "127.0.0.1:0",
            "--health-listen",
            "127.0.0.1:0",
            "--gateway",
            self.address.replace("127.0.0.1", "localhost"),
        )
        _quick_node(d, departments, **limits)
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
def province(tmp_path, store_url):
    p = Province(tmp_path, store_url)
    yield p
    p.close()


# --- LIST records: adds, corrections, credit-repair removals ------------------------------------


def _listings(region: str, count: int, seed: int) -> list:
    """``count`` generated LIST rows (op I), each its own entry (MD_RDWSH, MD_RDJGDM, MD_LX)."""
    rows, seen = [], set()
    for r in generate_rows(region, "LIST", count * 2, seed=seed, today=TODAY):
        key = (r.fields.get("MD_RDWSH"), r.fields.get("MD_RDJGDM"), r.fields.get("MD_LX"))
        if r.op == "I" and key not in seen:
            seen.add(key)
            rows.append(r)
    assert len(rows) >= count, len(rows)
    return rows[:count]


def _records(count: int, seed: int) -> list[list[dict]]:
    """Waves of NodeSubmitRecord dicts: each wave adds new entries, corrects (op U v2) some of the
    previous wave's and removes by 信用修复 (op U, MD_YCRQ/MD_YCYY/MD_YCJG) some others."""
    rng = random.Random(seed)
    rows = _listings(REGIONS[SUBMITTER], count, seed)
    waves: list[list[dict]] = []
    prev: list[Any] = []  # the previous wave's generated rows
    size = 60
    for start in range(0, len(rows), size):
        wave = [
            {"type": "LIST", "op": "I", "version": 1, "source_id": r.source_id, "fields": dict(r.fields)}
            for r in rows[start : start + size]
        ]
        for r in prev:
            roll = rng.random()
            if roll < 0.3:  # DIST-010 CORRECT
                f = dict(r.fields, MD_LRYY=r.fields["MD_LRYY"] + "（更正）")
                wave.append({"type": "LIST", "op": "U", "version": 2, "source_id": r.source_id, "fields": f})
            elif roll < 0.55:  # DIST-014 REMOVE: REPAIRED once the list allows it (SEC-045), else REVOKED
                f = dict(
                    r.fields, MD_YCRQ=TODAY.isoformat(), MD_YCYY=_removal_reason(r.fields), MD_YCJG=r.fields["MD_RDJG"]
                )
                wave.append({"type": "LIST", "op": "U", "version": 2, "source_id": r.source_id, "fields": f})
        waves.append(wave)
        prev = rows[start : start + size]
    return waves


def _removal_reason(fields: dict) -> str:
    from creditx.standard.catalogue import load_catalogue
    from creditx.standard.lists.expiry import add_months

    lt = load_catalogue().list_type(fields["MD_LX"])
    assert lt is not None
    months = lt.earliest_repair_months or 0
    repairable = add_months(dt.date.fromisoformat(fields["MD_LRRQ"]), months) <= TODAY
    return "信用修复" if repairable else "撤销"


def _submit(node: Path, wave: list[dict]) -> None:
    from creditx.v1 import node_api_pb2, node_api_pb2_grpc

    req = node_api_pb2.NodeSubmitRequest(records=[node_api_pb2.NodeSubmitRecord(**r) for r in wave])
    with grpc.insecure_channel(f"unix://{node / 'node.sock'}") as ch:
        resp = node_api_pb2_grpc.NodeApiStub(ch).Submit(req, timeout=30)
    bad = [(r.index, [(v.field, v.rule, v.message) for v in r.violations]) for r in resp.results if not r.accepted]
    assert not bad, bad[:3]


# --- 1. kills during the stream -------------------------------------------------------------------


def test_kill_9_during_list_stream_leaves_every_replica_equal_to_the_log(province):
    rng = random.Random(SEED)
    dirs = {name: province.init_node(name, region, FEED) for name, region in REGIONS.items()}
    nodes = {name: province.start(lambda d=d: start_node(d)) for name, d in dirs.items()}
    waves = _records(600, seed=14)
    expected = sum(len(w) for w in waves)  # every record is one list change
    kinds = {"gateway": 3, "node": 4}
    victims = rng.sample(["gateway"] * kinds["gateway"] + ["node"] * kinds["node"], sum(kinds.values()))
    thresholds = sorted(rng.sample(range(20, expected - 100), len(victims)))
    submitted = published = 0
    log = []
    for threshold, victim in zip(thresholds, victims, strict=True):
        while published < min(threshold + 150, expected):
            _submit(dirs[SUBMITTER], waves[submitted])
            published += len(waves[submitted])
            submitted += 1
        observer = rng.choice(sorted(nodes))
        nodes[observer].wait_until(
            lambda observer=observer, threshold=threshold: probe.replica_applied(dirs[observer]) >= threshold,
            timeout=60,
            what=f"{observer} applied list_seq ≥ {threshold}",
        )
        if victim == "gateway":
            behind = [n for n, d in dirs.items() if probe.replica_applied(d) < probe.gateway_head(province.gw)]
            province.restart_gateway()
        else:
            name = rng.choice(sorted(nodes))
            province.kill(nodes[name])
            behind = [name] if probe.replica_applied(dirs[name]) < probe.gateway_head(province.gw) else []
            nodes[name] = province.start(lambda d=dirs[name]: start_node(d))
        log.append((threshold, victim, behind))
    for wave in waves[submitted:]:
        _submit(dirs[SUBMITTER], wave)
    assert sum(bool(b) for _, _, b in log) >= 3, log  # most kills cut a replica that was still behind

    gw = province.gw
    province.gateway.wait_until(lambda: probe.gateway_head(gw) >= expected, timeout=60, what=f"list head {expected}")
    head = probe.gateway_head(gw)
    for name, d in dirs.items():
        nodes[name].wait_until(
            lambda d=d: probe.checkpoint_result(d) == ("EXACT", head),
            timeout=60,
            what=f"{name} applied {head} and proved it against a signed checkpoint",
        )
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
        sent = [json.loads(line)["list_seq"] for line in (d / "feeds" / "credit.jsonl").read_text("utf-8").splitlines()]
        if sent != list(range(1, head + 1)):  # exactly once, in order, after every kill
            faults.append(f"{d.name}: feed file holds {len(sent)} lines, {len(set(sent))} distinct, up to {max(sent)}")
    assert not faults, (faults, log)


# --- 2. kills during a snapshot ---------------------------------------------------------------------

ENTRIES = 4000
CHUNK_ENTRIES = 4  # 1000 chunks: a kill a few chunks after the resume point lands inside


def _national_rows(count: int, seed: int) -> list[dict]:
    return [dict(r.fields) for r in _listings("370000", count, seed)]


def _import(gw: Path, path: Path, rows: list[dict]) -> dict:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    report = json.loads(run_creditx("gateway", "import-lists", str(path), "--dir", str(gw), "--json").stdout)
    assert not report["rejected"] and report["published"] == len(rows), report
    return report


def _changes_of(rows: list[dict], rng: random.Random, n: int, tag: str) -> list[dict]:
    """``n`` corrections or repair removals of distinct rows (DIST-010/014)."""
    out = []
    for f in rng.sample(rows, n):
        if rng.random() < 0.5:
            out.append(dict(f, MD_LRYY=f["MD_LRYY"] + f"（更正{tag}）"))
        else:
            out.append(dict(f, MD_YCRQ=TODAY.isoformat(), MD_YCYY="信用修复", MD_YCJG=f["MD_RDJG"]))
    return out


def _frozen_inside_snapshot(node: Child, d: Path, threshold: int) -> dict:
    """A deterministic kill point: the node is frozen (SIGSTOP) while its snapshot progress is
    read, and left frozen once at least ``threshold`` chunks are applied — so the kill that
    follows cuts the snapshot exactly where it was observed, after a first chunk and before the
    last. A snapshot that completes first fails here, naming the cause, instead of later."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not node.alive():
            raise AssertionError(f"the node exited before snapshot chunk {threshold}:\n{node.log_tail()}")
        os.kill(node.pid, signal.SIGSTOP)
        progress = probe.snapshot_progress(d)
        if progress is not None and progress["next_chunk"] >= threshold:
            return progress  # still frozen: the caller kills
        os.kill(node.pid, signal.SIGCONT)
        if probe.replica_applied(d) > 0:
            raise AssertionError(f"the snapshot completed before chunk {threshold}: make it bigger ({ENTRIES})")
        time.sleep(0.05)  # polling the progress, under the deadline
    raise AssertionError(f"no snapshot chunk {threshold} within 60 s:\n{node.log_tail()}")


def test_kill_9_during_snapshot_resumes_to_the_snapshot_state_then_follows(province):
    rng = random.Random(SEED + 1)
    gw = province.gw
    rows = _national_rows(ENTRIES, seed=3)
    _import(gw, province.tmp / "base.jsonl", rows)
    pending = [r for r in rows]  # rows not yet changed after the base import
    d = province.init_node("weifang", "370700", snapshot_threshold=100, snapshot_chunk_entries=CHUNK_ENTRIES)
    node = province.start(lambda: start_node(d))

    # each kill a few chunks after the point the snapshot resumed from, so it lands inside it
    victims = rng.sample(["node", "node", "gateway", "gateway"], 4)
    kills, ats = [], set()
    for i, victim in enumerate(victims):
        resumed = (probe.snapshot_progress(d) or {}).get("next_chunk", 0)
        progress = _frozen_inside_snapshot(node, d, resumed + rng.randint(1, 6))
        if victim == "node":
            province.kill(node)  # SIGKILL of the frozen node: its state is the one just read
        else:
            province.gateway.kill()
            os.kill(node.pid, signal.SIGCONT)
        assert progress["next_chunk"] < progress["total"], (victim, progress)
        kills.append((victim, progress["at_list_seq"], progress["next_chunk"]))
        ats.add(progress["at_list_seq"])
        # the log moves on while the snapshot is cut: it is resumed at an older list_seq (DIST-072)
        batch = _changes_of(pending, rng, 40, str(i))
        pending = [r for r in pending if all(r["MD_RDWSH"] != b["MD_RDWSH"] or r["MD_LX"] != b["MD_LX"] for b in batch)]
        _import(gw, province.tmp / f"more{i}.jsonl", batch)
        if victim == "node":
            node = province.start(lambda: start_node(d))
        else:
            province.children.remove(province.gateway)
            province.gateway, info = start_gateway(gw)
            province.children.append(province.gateway)
            assert info["address"] == province.address

    node.wait_until(
        lambda: probe.snapshot_progress(d) is None and probe.replica_applied(d) > 0,
        timeout=60,
        what="the snapshot completed",
    )
    _import(gw, province.tmp / "after.jsonl", _changes_of(pending, rng, 60, "after"))
    head = probe.gateway_head(gw)
    node.wait_until(
        lambda: probe.checkpoint_result(d) == ("EXACT", head),
        timeout=60,
        what=f"applied {head} and proved it against a signed checkpoint",
    )
    listed, removed = probe.usccs_by_state(gw)
    for uscc in rng.sample(listed, 3) + rng.sample(removed, 3):
        assert probe.check_subject(d, uscc) == (*probe.expected_check(gw, uscc), head), uscc
    # DIST-075: people known only from the snapshot (never changed since) are found by ID number
    people = [r for r in pending if r.get("MD_ZT_ZJHM") and r.get("MD_ZT_LB") == "自然人"]
    assert people, "the generated lists hold no natural person"
    for r in people[:5]:
        assert r["MD_LX"] in probe.check_person(d, r["MD_ZT_ZJLX"], r["MD_ZT_ZJHM"]), r["MD_ZT_MC"]
    node.stop()
    province.gateway.stop()

    faults = probe.gateway_faults(gw) + probe.replica_faults(d, gw) + probe.snapshot_base_faults(d, gw)
    assert not faults, (faults, kills)
    assert len(ats) == 1, kills  # one snapshot, resumed after every kill, never restarted
    base = probe.replica_base(d)
    assert base in ats and base < head, (base, head, kills)  # snapshot at an older list_seq, then followed


# --- 3. kills with replica resets: the departments' feeds (DIST-062, NODE-045/048) ----------------

FEED_KILLS = int(os.environ.get("CREDITX_FEED_KILLS", "5"))  # the issue's storm: CREDITX_FEED_KILLS=100


def _feed_lines(d: Path) -> list[dict]:
    path = d / "feeds" / "credit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.endswith("}")]


def test_kill_9_with_replica_resets_keeps_every_department_feed_exactly_once(province):
    """SIGKILLs of the nodes while lists stream, every other one followed by an operator reset
    (`creditx node replica --reset`), some landing inside the re-bootstrap's snapshot: in the end
    every feed holds each list_seq once, as its change or inside a marked skipped range whose
    state difference brings the folded feed to the log's state there, and the feed's fold is the
    gateway's state (:func:`tests.e2e.lists_probe.feed_faults`)."""
    rng = random.Random(SEED + 2)
    names = {"zibo": "370300", "jinan": "370100"}
    dirs = {n: province.init_node(n, r, FEED, snapshot_chunk_entries=8) for n, r in names.items()}
    nodes = {n: province.start(lambda d=d: start_node(d)) for n, d in dirs.items()}
    waves = _records(max(240, FEED_KILLS * 40), seed=21)
    expected = sum(len(w) for w in waves)
    submitted = published = 0
    jumped = False  # a reset replica was down while the log moved on (so a marker must follow)
    log = []
    for k in range(FEED_KILLS):
        while submitted < len(waves) and published < (k + 1) * expected // (FEED_KILLS + 1):
            _submit(dirs[SUBMITTER], waves[submitted])
            published += len(waves[submitted])
            submitted += 1
        reset = k % 2 == 1
        name = rng.choice(sorted(nodes))
        if reset and not jumped:
            name = next(n for n in sorted(nodes) if n != SUBMITTER)  # the reset the log moves past (below)
        d = dirs[name]
        if (p := probe.snapshot_progress(d)) is not None and p["next_chunk"] < p["total"] - 1:
            at = p["next_chunk"] + rng.randint(0, 2)  # inside the snapshot of a reset replica
            nodes[name].wait_until(
                lambda d=d, at=at: (s := probe.snapshot_progress(d)) is None or s["next_chunk"] >= at,
                timeout=60,
                what=f"{name}: snapshot chunk {at}",
            )
        else:
            lines = len(_feed_lines(d))
            goal = lines + rng.randint(1, 30)
            nodes[name].wait_until(
                lambda d=d, goal=goal, top=published: len(_feed_lines(d)) >= goal or probe.replica_applied(d) >= top,
                timeout=60,
                what=f"{name}: feed lines ≥ {goal}",
            )
        province.kill(nodes[name])
        if reset:
            run_creditx("node", "replica", "--dir", str(d), "--reset", "--json")
            if name != SUBMITTER and submitted < len(waves):
                # DIST-062's case for certain: the log moves on while this replica is reset and
                # down, so the snapshot it bootstraps from jumps over changes its feed never had
                _submit(dirs[SUBMITTER], waves[submitted])
                published += len(waves[submitted])
                submitted += 1
                province.gateway.wait_until(
                    lambda top=published: probe.gateway_head(province.gw) >= top,
                    timeout=60,
                    what=f"list head {published}",
                )
                jumped = True
        log.append((k, name, probe.replica_applied(d), reset))
        nodes[name] = province.start(lambda d=d: start_node(d))
    for wave in waves[submitted:]:
        _submit(dirs[SUBMITTER], wave)

    gw = province.gw
    province.gateway.wait_until(lambda: probe.gateway_head(gw) >= expected, timeout=60, what=f"list head {expected}")
    head = probe.gateway_head(gw)
    for name, d in dirs.items():
        nodes[name].wait_until(
            lambda d=d: (
                probe.checkpoint_result(d) == ("EXACT", head)
                and (lines := _feed_lines(d)) != []
                and lines[-1]["list_seq"] == head
            ),
            timeout=90,
            what=f"{name} applied {head}, proved it, and fed it",
        )
    for name in list(nodes):
        nodes[name].stop()
    province.gateway.stop()

    changes = probe.gateway_log(gw)
    faults = probe.gateway_faults(gw)
    for d in dirs.values():
        faults += [
            f"{d.name}: {f}" for f in probe.feed_faults(_feed_lines(d), changes, lambda at: probe.gateway_state(gw, at))
        ]
        faults += probe.replica_faults(d, gw)
    assert not faults, (faults, log)
    markers = [x for d in dirs.values() for x in _feed_lines(d) if "skipped" in x]
    assert jumped and len(markers) >= 1, log  # a reset jumped over changes and said so
