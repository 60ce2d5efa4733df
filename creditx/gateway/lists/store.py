"""The list log and the list state in the gateway's SQLite database (DIST-001, DIST-050, AUD-005).

Tables (migration 3, :func:`create_tables`):

* ``list_log`` — one row per published change: ``list_seq`` (INTEGER PRIMARY KEY, 1, 2, …),
  entry_id, list type, kind, reason, the entry after the change (RFC 8785 bytes, DIST-071 —
  so a snapshot chunk's size is ``length(entry)``), decision time, origin envelope (DIST-032),
  the list-log leaf hash (DIST-050) and the audit leaf index (AUD-005).
* ``list_entries`` — the current state of every entry (DIST-016), with the columns the expiry
  job needs to find candidates without decoding every entry (DIST-020).
* ``list_tree`` — the list log's compact range (RFC 9162 frontier), advanced in the same
  transaction as the rows, so a checkpoint's size is always a committed ``list_seq``.
* ``list_refusals`` — accepted LIST records the lifecycle refused (DIST-013/015/011), for the
  operator; ``list_applied`` — each node's reported applied list_seq (DIST-043);
  ``list_checkpoints`` — signed list-log checkpoints (DIST-051); ``list_imports`` — rows taken
  from national platform files.

The ingest's changes are decided before the write (:mod:`creditx.gateway.lists.changes`) and
written by :func:`write_batch` inside the ingest store's batch transaction; the expiry job and
the national-file import publish through :func:`publish` in transactions of their own; the
Snapshot service reads through :func:`snapshot` (one read transaction).

Invariants: :func:`publish` runs inside the caller's open write transaction (the ingest batch's,
AUD-006), numbers changes ``MAX(list_seq) + 1, …`` (gap-free: writers are serialised by SQLite),
appends one list-log leaf and — when auditing — one audit leaf per change, and moves each entry
only along the lifecycle table (``creditx.standard.lists.lifecycle.apply_change``). A change row is never updated
or deleted.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from creditx.gateway.audit.log import append_audit
from creditx.gateway.lists.changes import ListBatch, ListStateMoved, Refusal
from creditx.gateway.store.engine import Conn, stream, transaction
from creditx.gateway.store.engine import open_conn as _open
from creditx.standard.envelope import Envelope, Signature
from creditx.standard.lists.lifecycle import ChangeKind, ListChange, ListEntry, ListError
from creditx.standard.lists.log import leaf_data
from creditx.standard.lists.snapshot import entry_bytes, entry_from_obj
from creditx.standard.lists.withheld import withholds_origin_bytes
from creditx.standard.merkle import CompactRange, leaf_hash
from creditx.standard.timestamps import rfc3339

_SCHEMA = (
    "CREATE TABLE list_log (list_seq INTEGER PRIMARY KEY, entry_id TEXT NOT NULL, list_type TEXT NOT NULL,"
    " kind TEXT NOT NULL, reason TEXT NOT NULL, entry BLOB NOT NULL, at TEXT NOT NULL, at_ms INTEGER NOT NULL,"
    " node TEXT NOT NULL, origin_type TEXT NOT NULL, origin_payload BLOB NOT NULL, origin_sigs TEXT NOT NULL,"
    " leaf_hash BLOB NOT NULL, audit_idx INTEGER)",
    "CREATE INDEX idx_list_log_entry ON list_log(entry_id, list_seq)",
    "CREATE TABLE list_entries (entry_id TEXT PRIMARY KEY, list_type TEXT NOT NULL, state TEXT NOT NULL,"
    " period_end TEXT, period_start TEXT NOT NULL, last_seq INTEGER NOT NULL, entry BLOB NOT NULL)",
    "CREATE INDEX idx_list_entries_due ON list_entries(state, list_type, period_end, period_start)",
    "CREATE TABLE list_tree (id INTEGER PRIMARY KEY CHECK (id = 1), frontier BLOB NOT NULL)",
    "CREATE TABLE list_refusals (id INTEGER PRIMARY KEY, node TEXT NOT NULL, source_seq INTEGER NOT NULL,"
    " entry_id TEXT NOT NULL, reason TEXT NOT NULL, rule TEXT NOT NULL, field TEXT NOT NULL,"
    " message TEXT NOT NULL, at TEXT NOT NULL)",
    "CREATE TABLE list_applied (node TEXT PRIMARY KEY, applied_list_seq INTEGER NOT NULL,"
    " checkpoint_verified INTEGER NOT NULL DEFAULT 0, reported_at TEXT NOT NULL)",
    "CREATE TABLE list_checkpoints (size INTEGER PRIMARY KEY, root BLOB NOT NULL, note TEXT NOT NULL,"
    " signed_at TEXT NOT NULL)",
    "CREATE TABLE list_imports (source_seq INTEGER PRIMARY KEY, fp BLOB NOT NULL UNIQUE, file TEXT NOT NULL,"
    " row INTEGER NOT NULL, at TEXT NOT NULL)",
)


# Migration 4. A snapshot's chunking (DIST-071/075) needs every entry's size before the first chunk
# goes out; reading them from list_log meant a pass over the whole state (GBs at provincial
# scale). This narrow table holds each change's snapshot size, written in the publish transaction.
_SIZES_SCHEMA = (
    "CREATE TABLE list_snap_sizes (list_seq INTEGER PRIMARY KEY, entry_id TEXT NOT NULL, bytes INTEGER NOT NULL)",
    "CREATE INDEX idx_list_snap_sizes_entry ON list_snap_sizes(entry_id, list_seq)",
)

# The sizes of the state after change ``at`` (each entry's latest change up to it), in snapshot order.
SNAPSHOT_SIZES_SQL = (
    "SELECT bytes FROM list_snap_sizes WHERE list_seq IN (SELECT MAX(list_seq) FROM list_snap_sizes"
    " WHERE list_seq <= ? GROUP BY entry_id) ORDER BY entry_id"
)


def snapshot_bytes(entry: bytes, origin_payload: bytes, origin_sigs: str) -> int:
    """DIST-071/075: what one entry counts towards a chunk's byte bound (ASCII signature JSON)."""
    return len(entry) + len(origin_payload) + len(origin_sigs)


def create_size_table(conn: sqlite3.Connection) -> None:
    """Schema of migration 4, filled from the existing log (called inside the migration's transaction)."""
    for stmt in _SIZES_SCHEMA:
        conn.execute(stmt)
    conn.execute(
        "INSERT INTO list_snap_sizes (list_seq, entry_id, bytes) SELECT list_seq, entry_id,"
        " length(entry) + length(origin_payload) + length(origin_sigs) FROM list_log"
    )


def create_tables(conn: sqlite3.Connection) -> None:
    """Schema of migration 3 (called inside the migration's transaction)."""
    for stmt in _SCHEMA:
        conn.execute(stmt)
    conn.execute("INSERT INTO list_tree (id, frontier) VALUES (1, ?)", (CompactRange().to_bytes(),))


# --- values -----------------------------------------------------------------------------------


def envelope_to_json(env: Envelope | None) -> tuple[str, bytes, str]:
    if env is None:
        return "", b"", "[]"
    return env.payload_type, env.payload, json.dumps([[s.keyid, s.suite, s.sig.hex()] for s in env.signatures])


def envelope_from_row(payload_type: str, payload: bytes, sigs: str) -> Envelope | None:
    if not payload_type:
        return None
    return Envelope(
        payload_type, bytes(payload), tuple(Signature(k, s, bytes.fromhex(h)) for k, s, h in json.loads(sigs))
    )


def parse_at(at: str) -> datetime:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(UTC)


_LOG_COLS = "list_seq, kind, reason, entry, at_ms, origin_type, origin_payload, origin_sigs"


def change_from_row(r) -> ListChange:
    entry = entry_from_obj(json.loads(r[3]))
    at = datetime.fromtimestamp(r[4] / 1000, UTC)
    return ListChange(r[0], ChangeKind(r[1]), r[2], entry, at, envelope_from_row(r[5], r[6], r[7]))


# --- writes (inside the caller's transaction) ---------------------------------------------------


def head(conn: Conn) -> int:
    """The newest published list_seq (0: empty log)."""
    return conn.execute("SELECT COALESCE(MAX(list_seq), 0) FROM list_log").fetchone()[0]


def frontier(conn: Conn) -> CompactRange:
    row = conn.execute("SELECT frontier FROM list_tree WHERE id = 1").fetchone()
    return CompactRange() if row is None else CompactRange.from_bytes(row[0])


def current_entry(conn: Conn, entry_id: str) -> ListEntry | None:
    row = conn.execute("SELECT entry FROM list_entries WHERE entry_id = ?", (entry_id,)).fetchone()
    return entry_from_obj(json.loads(row[0])) if row else None


def current_origin(conn: Conn, entry_id: str) -> Envelope | None:
    """DIST-032: the envelope of the record version the entry rests on now."""
    row = conn.execute(
        "SELECT l.origin_type, l.origin_payload, l.origin_sigs FROM list_entries e"
        " JOIN list_log l ON l.list_seq = e.last_seq WHERE e.entry_id = ?",
        (entry_id,),
    ).fetchone()
    return envelope_from_row(*row) if row else None


def publish(conn: Conn, drafts: Sequence[ListChange], *, audit: bool = True) -> list[ListChange]:
    """DIST-001: give ``drafts`` (unsequenced changes carrying their origin envelope, in decision
    order) the next list_seqs, store them, advance the entry state, the list-log tree and — when
    ``audit`` — the audit log (AUD-005), all in the caller's open transaction."""
    if not drafts:
        return []
    first = head(conn) + 1
    cr = frontier(conn)
    if cr.size != first - 1:  # the tree and the rows disagree: fail the transaction, never fork
        raise ListError(
            "DIST_LOG_DAMAGED",
            "DIST-050",
            f"list tree has {cr.size} leaves, the log {first - 1} changes",
            hint="restore the gateway database from backup; the list log must not be edited",
        )
    out, rows, entries, leaves = [], [], [], []
    for i, draft in enumerate(drafts):
        c = draft.sequenced(first + i)
        data = leaf_data(c)
        h = leaf_hash(data)
        cr.append(h)
        leaves.append((data, h))
        e = c.entry
        blob = entry_bytes(e)
        rows.append(
            (
                c.list_seq,
                e.entry_id,
                e.list_type,
                c.kind.value,
                c.reason,
                blob,
                rfc3339(c.at),
                int(c.at.timestamp() * 1000),
                e.origin_region,
                *envelope_to_json(c.origin),
                h,
            )
        )
        entries.append(
            (
                e.entry_id,
                e.list_type,
                e.state.value,
                e.period_end.isoformat() if e.period_end else None,
                (e.period_start or e.listed_on).isoformat(),
                c.list_seq,
                blob,
            )
        )
        out.append(c)
    conn.executemany(
        "INSERT INTO list_log (list_seq, entry_id, list_type, kind, reason, entry, at, at_ms, node,"
        " origin_type, origin_payload, origin_sigs, leaf_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    conn.executemany(
        "INSERT INTO list_snap_sizes (list_seq, entry_id, bytes) VALUES (?,?,?)",
        [(r[0], r[1], snapshot_bytes(r[5], r[10], r[11])) for r in rows],
    )
    conn.executemany(
        "INSERT INTO list_entries (entry_id, list_type, state, period_end, period_start, last_seq, entry)"
        " VALUES (?,?,?,?,?,?,?) ON CONFLICT(entry_id) DO UPDATE SET list_type=excluded.list_type,"
        " state=excluded.state, period_end=excluded.period_end, period_start=excluded.period_start,"
        " last_seq=excluded.last_seq, entry=excluded.entry",
        entries,
    )
    conn.execute("UPDATE list_tree SET frontier = ? WHERE id = 1", (cr.to_bytes(),))
    if audit:  # AUD-005/006: the same leaf bytes in the audit log, same transaction
        base = append_audit(conn, leaves)
        conn.executemany(
            "UPDATE list_log SET audit_idx = ? WHERE list_seq = ?", [(base + i, c.list_seq) for i, c in enumerate(out)]
        )
    return out


def refuse(conn: Conn, refusals: Iterable[Refusal], at: str) -> None:
    conn.executemany(
        "INSERT INTO list_refusals (node, source_seq, entry_id, reason, rule, field, message, at)"
        " VALUES (?,?,?,?,?,?,?,?)",
        [
            (r.node, r.source_seq, r.entry_id, r.error.reason, r.error.rule, r.error.field, r.error.detail, at)
            for r in refusals
        ],
    )


def entry_states(conn: Conn, entry_ids: Sequence[str]) -> dict[str, tuple[ListEntry, int]]:
    """entry id → (current entry, the list_seq it rests on) for those of ``entry_ids`` that exist."""
    ids = list(dict.fromkeys(entry_ids))
    out: dict[str, tuple[ListEntry, int]] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for entry_id, blob, last_seq in conn.execute(
            "SELECT entry_id, entry, last_seq FROM list_entries WHERE entry_id IN (" + ",".join("?" * len(chunk)) + ")",
            chunk,
        ):
            out[entry_id] = (entry_from_obj(json.loads(blob)), last_seq)
    return out


def write_batch(conn: Conn, batch: ListBatch, at: str, *, audit: bool) -> list[ListChange]:
    """Write what the ingest decided (:mod:`creditx.gateway.lists.changes`) in the caller's open
    transaction; :class:`ListStateMoved` when an entry it read has changed since."""
    now = {eid: last for eid, (_, last) in entry_states(conn, list(batch.bases)).items()}
    moved = sorted(eid for eid, base in batch.bases.items() if now.get(eid, 0) != base)
    if moved:
        raise ListStateMoved(f"list entries changed while the batch was decided: {', '.join(moved[:3])}")
    refuse(conn, batch.refusals, at)
    return publish(conn, batch.changes, audit=audit)


# --- reads ------------------------------------------------------------------------------------


def changes_between(conn: Conn, first: int, last: int) -> list[ListChange]:
    """Changes with ``first <= list_seq <= last`` in order."""
    return [
        change_from_row(r)
        for r in conn.execute(
            f"SELECT {_LOG_COLS} FROM list_log WHERE list_seq BETWEEN ? AND ? ORDER BY list_seq", (first, last)
        )
    ]


def leaf_hashes(conn: Conn, start: int, end: int) -> list[bytes]:
    """List-log leaf hashes of leaves [start, end) (leaf i is list_seq i + 1)."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT leaf_hash FROM list_log WHERE list_seq > ? AND list_seq <= ? ORDER BY list_seq", (start, end)
        )
    ]


def at_ms_of(conn: Conn, list_seq: int) -> int | None:
    row = conn.execute("SELECT at_ms FROM list_log WHERE list_seq = ?", (list_seq,)).fetchone()
    return row[0] if row else None


def listed_candidates(conn: Conn, today: date, terms: dict[str, int]) -> list[ListEntry]:
    """LISTED entries that may be due on ``today`` (DIST-020): an explicit period end before
    today, or — per list type with a catalogue term — a start at least ``term`` months (less a
    few days for month-end clamping) ago. The exact decision is ``creditx.standard.lists.expiry``'s."""
    from creditx.standard.lists.expiry import add_months

    rows = conn.execute(
        "SELECT entry FROM list_entries WHERE state = 'LISTED' AND period_end IS NOT NULL AND period_end < ?",
        (today.isoformat(),),
    ).fetchall()
    for code, months in sorted(terms.items()):
        cutoff = add_months(today, -months).toordinal() + 4
        rows += conn.execute(
            "SELECT entry FROM list_entries WHERE state = 'LISTED' AND period_end IS NULL"
            " AND list_type = ? AND period_start <= ?",
            (code, date.fromordinal(cutoff).isoformat()),
        ).fetchall()
    return [entry_from_obj(json.loads(r[0])) for r in rows]


def report_applied(conn: Conn, node: str, applied: int, verified: bool, at: str) -> None:
    """DIST-043: a node's applied list_seq (never moves back: a late report is ignored)."""
    conn.execute(
        "INSERT INTO list_applied (node, applied_list_seq, checkpoint_verified, reported_at)"
        " VALUES (?,?,?,?) ON CONFLICT(node) DO UPDATE SET applied_list_seq = CASE WHEN"
        " excluded.applied_list_seq > list_applied.applied_list_seq THEN excluded.applied_list_seq"
        " ELSE list_applied.applied_list_seq END, checkpoint_verified ="
        " excluded.checkpoint_verified, reported_at = excluded.reported_at",
        (node, applied, int(verified), at),
    )


@dataclass(frozen=True)
class Lag:
    node: str
    applied_list_seq: int
    lag_entries: int
    lag_seconds: float
    checkpoint_verified: bool
    reported_at: str


def lags(conn: Conn, now: datetime) -> dict[str, Lag]:
    """DIST-043: per node, how far behind the log head it is — in changes, and in seconds since
    the oldest change it has not applied was published (0 when caught up). A node that has never
    reported counts as having applied nothing: the gateway cannot assume more."""
    top = head(conn)
    reported = {
        node: (applied, verified, at)
        for node, applied, verified, at in conn.execute(
            "SELECT node, applied_list_seq, checkpoint_verified, reported_at FROM list_applied"
        ).fetchall()
    }
    nodes = {row[0] for row in conn.execute("SELECT region FROM nodes").fetchall()} | set(reported)
    out = {}
    for node in nodes:
        applied, verified, at = reported.get(node, (0, 0, ""))
        behind = max(0, top - applied)
        first_missing = at_ms_of(conn, applied + 1) if behind else None
        secs = max(0.0, now.timestamp() - first_missing / 1000) if first_missing is not None else 0.0
        out[node] = Lag(node, applied, behind, secs, bool(verified), at)
    return out


def open_conn(path: str | Path) -> Conn:
    """A connection of its own to the gateway database (a SQLite path or a PostgreSQL URL)."""
    return _open(path)


# --- Snapshot (DIST-070 … DIST-075) ------------------------------------------------------------


PERSON_ORIGINS_CHUNK = 500  # list_seqs per statement when a chunk's persons' origins are read


@dataclass
class Snapshot:
    """The list state after change ``at`` as one read transaction sees it: the list-log frontier
    at ``at``, every entry's snapshot size in entry order (DIST-071/075), and a cursor over the
    entries with the origin envelope of the version each rests on. Without origins (DIST-082)
    the cursor reads the entries alone, in entry order, and a chunk's natural persons' origin
    payloads (whose index keys are made from them, DIST-077) are read by list_seq per chunk:
    rows are then ``(entry, origin_type, origin_payload, "[]")`` with the origin empty for an
    organisation."""

    at: int
    head: int
    frontier: CompactRange
    sizes: list[int]
    _rows: Any
    _conn: Any = None  # set when the rows are (entry, list_seq): origins only for persons

    def skip(self, n: int) -> None:
        for _ in range(n):
            self._rows.fetchone()

    def take(self, n: int) -> list[tuple[bytes, str, bytes, str]]:
        rows = self._rows.fetchmany(n)
        if self._conn is None:
            return rows
        persons = [seq for entry, seq in rows if withholds_origin_bytes(bytes(entry))]
        origin: dict[int, tuple[str, bytes]] = {}
        for i in range(0, len(persons), PERSON_ORIGINS_CHUNK):
            part = persons[i : i + PERSON_ORIGINS_CHUNK]
            sql = "SELECT list_seq, origin_type, origin_payload FROM list_log WHERE list_seq IN (" + ",".join(
                "?" * len(part)
            )
            for seq, typ, payload in self._conn.cursor().execute(sql + ")", part):
                origin[seq] = (typ, payload)
        return [(entry, *origin.get(seq, ("", b"")), "[]") for entry, seq in rows]


@contextmanager
def snapshot(conn: Conn, at_list_seq: int = 0, *, origins: bool = True) -> Iterator[Snapshot]:
    """The snapshot at ``at_list_seq`` (0: the head), read inside one read transaction held until
    the block ends, so every chunk is of the same state (DIST-070). ListError DIST_SNAPSHOT_GONE
    when ``at_list_seq`` is beyond the head. ``origins`` False (DIST-082): see :class:`Snapshot`."""
    with transaction(conn, write=False):
        top = head(conn)
        at = at_list_seq or top
        if at > top:
            raise ListError(
                "DIST_SNAPSHOT_GONE",
                "DIST-072",
                f"no snapshot at list_seq {at}: the log's head is {top}",
                hint="discard the partial snapshot and start a new one from chunk 0 (at_list_seq 0)",
            )
        if at == top:
            cols = "e.entry, l.origin_type, l.origin_payload, l.origin_sigs" if origins else "e.entry, e.last_seq"
            join = " JOIN list_log l ON l.list_seq = e.last_seq" if origins else ""
            rows = stream(conn, f"SELECT {cols} FROM list_entries e{join} ORDER BY e.entry_id")
            cr = frontier(conn)
        else:  # the state after change `at`: each entry's latest change up to it
            cols = "entry, origin_type, origin_payload, origin_sigs" if origins else "entry, list_seq"
            rows = stream(
                conn,
                f"SELECT {cols} FROM list_log WHERE list_seq IN"
                " (SELECT MAX(list_seq) FROM list_log WHERE list_seq <= ? GROUP BY entry_id)"
                " ORDER BY entry_id",
                (at,),
            )
            cr = CompactRange()
            cr.extend(leaf_hashes(conn, 0, at))
        # the sizes come from a narrow table, not a pass over the state itself
        sizes = [r[0] for r in conn.cursor().execute(SNAPSHOT_SIZES_SQL, (at,))]
        yield Snapshot(at, top, cr, sizes, rows, None if origins else conn)
