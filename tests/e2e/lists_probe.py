"""Test-level inspection of list replication for the multi-process kill tests: read the
gateway's list state (SQLite or PostgreSQL) and a node's replica straight from their databases, ask a node's
Departments.Check over its Unix socket, and compare (DIST-040/042/070…073).

Reading is done with short-lived read-only connections (WAL: never blocks the running
processes). :func:`replica_faults` is the judged invariant — "no gap, no duplicate, no cursor
ahead of its data, same state as the gateway" — written once for both kill tests.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc

from creditx.standard.lists.replica import entry_subject


def _ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)


@contextmanager
def _gw(gw_dir: Path) -> Iterator[Any]:
    """A short-lived connection to the gateway's database, SQLite file or PostgreSQL (its
    ``database`` setting), taking the portable ``?`` SQL below."""
    from creditx.gateway.store.engine import is_url, open_conn

    database = json.loads((gw_dir / "gateway.json").read_text("utf-8")).get("database", "gateway.db")
    conn = open_conn(database) if is_url(database) else _ro(gw_dir / database)
    try:
        yield conn
    finally:
        conn.close()


def gateway_head(gw_dir: Path) -> int:
    try:
        with _gw(gw_dir) as db:
            return db.execute("SELECT COALESCE(MAX(list_seq), 0) FROM list_log").fetchone()[0]
    except Exception as exc:  # not migrated yet (sqlite3.OperationalError, psycopg's UndefinedTable)
        if "list_log" in str(exc):
            return 0
        raise


def replica_applied(node_dir: Path) -> int:
    try:
        with _ro(node_dir / "node.db") as db:
            row = db.execute("SELECT value FROM replica_meta WHERE key = 'applied'").fetchone()
    except sqlite3.OperationalError:
        return 0
    return int(json.loads(row[0])) if row else 0


def checkpoint_result(node_dir: Path) -> tuple[str, int]:
    """The replica's last check against a signed list checkpoint (DIST-052): (result, replica size)."""
    try:
        with _ro(node_dir / "node.db") as db:
            row = db.execute("SELECT value FROM replica_meta WHERE key = 'checkpoint'").fetchone()
    except sqlite3.OperationalError:
        return "", 0
    cp = json.loads(row[0]) if row else {}
    return cp.get("result", ""), int(cp.get("replica_size", 0))


def snapshot_progress(node_dir: Path) -> dict | None:
    """The replica's committed snapshot progress (DIST-072), None when no snapshot is under way."""
    try:
        with _ro(node_dir / "node.db") as db:
            row = db.execute("SELECT value FROM replica_meta WHERE key = 'snapshot'").fetchone()
    except sqlite3.OperationalError:
        return None
    return json.loads(row[0]) if row else None


def gateway_state(gw_dir: Path, at: int | None = None) -> dict[str, dict]:
    """entry_id → entry object as the log stands after change ``at`` (None: the head)."""
    with _gw(gw_dir) as db:
        if at is None:
            rows = db.execute("SELECT entry FROM list_entries").fetchall()
        else:
            rows = db.execute(
                "SELECT entry FROM list_log WHERE list_seq IN (SELECT MAX(list_seq) FROM list_log"
                " WHERE list_seq <= ? GROUP BY entry_id)",
                (at,),
            ).fetchall()
    return {e["entry_id"]: e for e in (json.loads(r[0]) for r in rows)}


def gateway_log(gw_dir: Path) -> list[tuple[int, str, str, str]]:
    """(list_seq, kind, reason, entry_id) of every change, in order."""
    with _gw(gw_dir) as db:
        return db.execute("SELECT list_seq, kind, reason, entry_id FROM list_log ORDER BY list_seq").fetchall()


def gateway_faults(gw_dir: Path) -> list[str]:
    """DIST-001/050: the log is 1..head without a gap and its tree has head leaves."""
    from creditx.standard.merkle import CompactRange

    faults = []
    with _gw(gw_dir) as db:
        n, lo, hi = db.execute("SELECT count(*), MIN(list_seq), MAX(list_seq) FROM list_log").fetchone()
        size = CompactRange.from_bytes(db.execute("SELECT frontier FROM list_tree").fetchone()[0]).size
    if n and (lo, hi) != (1, n):
        faults.append(f"gateway list_log holds {n} changes between {lo} and {hi}")
    if size != n:
        faults.append(f"gateway list tree has {size} leaves for {n} changes")
    return faults


def replica_faults(node_dir: Path, gw_dir: Path) -> list[str]:
    """Everything wrong with a stopped node's replica against the gateway's list state and log:
    applied == head; per entry the same object (state, version, origin_fp, …); the history
    holds each list_seq once, changes_from+1..applied (and what it kept from before a
    re-bootstrap), each the log's own change; the cursor
    equals the newest list_seq of the data it holds."""
    name = node_dir.name
    log = gateway_log(gw_dir)
    head = log[-1][0] if log else 0
    with _ro(node_dir / "node.db") as db:
        meta = {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM replica_meta")}
        entries = {
            eid: (state, seq, json.loads(body))
            for eid, state, seq, body in db.execute("SELECT entry_id, state, list_seq, body FROM replica_entries")
        }
        history = db.execute(
            "SELECT list_seq, kind, reason, entry_id FROM replica_changes ORDER BY list_seq"
        ).fetchall()
    faults = []
    applied, base = int(meta.get("applied", 0)), int(meta.get("changes_from", 0))
    if meta.get("snapshot") or meta.get("alarm"):
        faults.append(f"{name}: snapshot in progress or alarm set: {meta.get('snapshot')} {meta.get('alarm')}")
    if applied != head:
        faults.append(f"{name}: applied list_seq {applied}, gateway head {head}")
    seqs = [h[0] for h in history if h[0] > base]  # rows up to a re-bootstrap's base are kept history (NODE-048)
    if seqs != list(range(base + 1, applied + 1)):
        missing = sorted(set(range(base + 1, applied + 1)) - set(seqs))[:5]
        extra = sorted(set(seqs) - set(range(base + 1, applied + 1)))[:5]
        faults.append(f"{name}: history is not {base + 1}..{applied}: missing {missing}, beyond {extra}")
    by_seq = {c[0]: tuple(c) for c in log}
    wrong = [h for h in history if by_seq.get(h[0]) != tuple(h)]
    if wrong:
        faults.append(
            f"{name}: {len(wrong)} history rows differ from the log, first {wrong[0]} vs {by_seq.get(wrong[0][0])}"
        )
    held = max([s for _, s, _ in entries.values()] + seqs + [base], default=0)
    if held != applied:
        faults.append(f"{name}: cursor {applied} but newest data held is list_seq {held}")
    with _gw(gw_dir) as db:
        tree = db.execute("SELECT frontier FROM list_tree").fetchone()[0].hex()
    if meta.get("frontier") != tree:  # DIST-074: the replica's log tree is the gateway's at the head
        faults.append(f"{name}: frontier {str(meta.get('frontier'))[:24]}… is not the gateway's {tree[:24]}…")
    want = gateway_state(gw_dir)
    if set(entries) != set(want):
        faults.append(f"{name}: {len(set(want) - set(entries))} entries missing, {len(set(entries) - set(want))} extra")
    diff = [
        eid for eid in set(entries) & set(want) if entries[eid][2] != want[eid] or entries[eid][0] != want[eid]["state"]
    ]
    if diff:
        eid = sorted(diff)[0]
        faults.append(f"{name}: {len(diff)} entries differ, first {eid}: {entries[eid][2]} vs {want[eid]}")
    return faults


def check_subject(node_dir: Path, uscc: str) -> tuple[dict[str, int], dict[str, int], int]:
    """Departments.Check (DIST-060) on the node's socket: ({listed id: version}, {removed id: version}, applied)."""
    from creditx.v1 import lists_pb2, lists_pb2_grpc

    with grpc.insecure_channel(f"unix://{node_dir / 'node.sock'}") as ch:
        resp = lists_pb2_grpc.DepartmentsStub(ch).Check(
            lists_pb2.CheckRequest(subject=lists_pb2.Subject(uscc=uscc)), timeout=10
        )
    return (
        {e.entry_id: e.version for e in resp.memberships},
        {e.entry_id: e.version for e in resp.history},
        resp.applied_list_seq,
    )


def check_person(node_dir: Path, id_type: str, id_number: str) -> set[str]:
    """Departments.Check by a natural person's ID (matched by the node's keyed hash): the list
    types of the person's current memberships."""
    from creditx.v1 import lists_pb2, lists_pb2_grpc

    person = lists_pb2.PersonId(id_type=id_type, id_number=id_number)
    with grpc.insecure_channel(f"unix://{node_dir / 'node.sock'}") as ch:
        resp = lists_pb2_grpc.DepartmentsStub(ch).Check(
            lists_pb2.CheckRequest(subject=lists_pb2.Subject(person=person)), timeout=10
        )
    return {e.list_type for e in resp.memberships}


def expected_check(gw_dir: Path, uscc: str) -> tuple[dict[str, int], dict[str, int]]:
    state = [e for e in gateway_state(gw_dir).values() if entry_subject(e["entry_id"]) == uscc]
    return (
        {e["entry_id"]: e["version"] for e in state if e["state"] == "LISTED"},
        {e["entry_id"]: e["version"] for e in state if e["state"] == "REMOVED"},
    )


def usccs_by_state(gw_dir: Path) -> tuple[list[str], list[str]]:
    """Organisation subjects (18-character USCC) with only listed, and with only removed, entries."""
    subjects: dict[str, set[str]] = {}
    for e in gateway_state(gw_dir).values():
        s = entry_subject(e["entry_id"])
        if len(s) == 18 and not s.startswith(("R:", "P:")):
            subjects.setdefault(s, set()).add(e["state"])
    return (
        sorted(s for s, st in subjects.items() if st == {"LISTED"}),
        sorted(s for s, st in subjects.items() if st == {"REMOVED"}),
    )


def replica_base(node_dir: Path) -> int:
    """The list_seq of the snapshot the replica was bootstrapped from (0: followed from 1)."""
    with _ro(node_dir / "node.db") as db:
        row = db.execute("SELECT value FROM replica_meta WHERE key = 'changes_from'").fetchone()
    return int(json.loads(row[0])) if row else 0


def snapshot_base_faults(node_dir: Path, gw_dir: Path) -> list[str]:
    """DIST-070/073: every entry the replica holds from its snapshot (not touched by a later
    change) is exactly the entry as it stood after the snapshot's list_seq, and every entry of
    that state untouched since is held from the snapshot."""
    base = replica_base(node_dir)
    want = gateway_state(gw_dir, at=base)
    with _gw(gw_dir) as db:
        touched = {r[0] for r in db.execute("SELECT DISTINCT entry_id FROM list_log WHERE list_seq > ?", (base,))}
    with _ro(node_dir / "node.db") as db:
        held = {
            eid: json.loads(body)
            for eid, body in db.execute("SELECT entry_id, body FROM replica_entries WHERE list_seq <= ?", (base,))
        }
    faults = []
    if set(held) != set(want) - touched:
        faults.append(
            f"{node_dir.name}: snapshot at {base}: {len(set(want) - touched - set(held))} entries missing, "
            f"{len(set(held) - (set(want) - touched))} unexpected"
        )
    diff = sorted(eid for eid in set(held) & set(want) if held[eid] != want[eid])
    if diff:
        faults.append(f"{node_dir.name}: snapshot at {base}: {len(diff)} entries differ, first {diff[0]}")
    return faults


def feed_faults(lines: list[dict], log: list[tuple[int, str, str, str]], state_at) -> list[str]:
    """Everything wrong with a department feed that took every list type (DIST-061/062, NODE-045/048):
    positions only move forward (a marker shares its position with the record after it); every
    list_seq 1..head is delivered once, as its own log change or inside exactly one range a
    marker names; each change line is the log's change; the state-difference records after a
    marker turn the state folded so far into the log's state at the range's end
    (``state_at(seq)``: entry_id → entry object); the fold of the whole feed is the head's state."""
    faults: list[str] = []
    head = log[-1][0] if log else 0
    by_seq = {c[0]: tuple(c) for c in log}
    covered: dict[int, int] = {}
    state: dict[str, dict] = {}
    last_pos, prev_marker = 0, False
    pending: dict | None = None  # the open marker and the records counted against it

    def close() -> None:
        if pending is None:
            return
        s = pending["skipped"]
        if pending["seen"] != s["differences"]:
            faults.append(f"marker {s}: {pending['seen']} state-difference records follow it")
        if state != state_at(s["to_list_seq"]):
            faults.append(f"after the state difference of {s}: the folded state is not the log's at its end")

    for line in lines:
        pos = line["list_seq"]
        if pos < last_pos or (pos == last_pos and not prev_marker and "state_difference" not in line):
            faults.append(f"feed position {pos} after {last_pos}")
        last_pos, prev_marker = pos, "skipped" in line
        if "skipped" in line:
            close()
            pending = {"skipped": line["skipped"], "seen": 0}
            for seq in range(line["skipped"]["from_list_seq"], line["skipped"]["to_list_seq"] + 1):
                covered[seq] = covered.get(seq, 0) + 1
            continue
        entry = line["entry"]
        if "state_difference" in line:
            if pending is None or line["state_difference"] != pending["skipped"]:
                faults.append(f"state-difference record at {pos} outside its marker's range")
            else:
                pending["seen"] += 1
        else:
            close()
            pending = None
            covered[pos] = covered.get(pos, 0) + 1
            if by_seq.get(pos) != (pos, line["kind"], line["reason"], entry["entry_id"]):
                faults.append(f"feed line {pos} {line['kind']} {entry['entry_id']} is not the log's {by_seq.get(pos)}")
        state[entry["entry_id"]] = entry
    close()
    twice = sorted(s for s, n in covered.items() if n > 1)
    missing = sorted(set(range(1, head + 1)) - set(covered))
    if twice or missing:
        faults.append(
            f"list_seqs delivered more than once: {twice[:5]} ({len(twice)}); never: {missing[:5]} ({len(missing)})"
        )
    if state != state_at(head):
        faults.append("the folded feed is not the log's state at the head")
    return faults
