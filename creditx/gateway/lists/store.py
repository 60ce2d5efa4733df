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

Invariants: :func:`publish` runs inside the caller's open write transaction (the ingest batch's,
AUD-006), numbers changes ``MAX(list_seq) + 1, …`` (gap-free: writers are serialised by SQLite),
appends one list-log leaf and — when auditing — one audit leaf per change, and moves each entry
only along the lifecycle table (``creditx.standard.lists.lifecycle.apply_change``). A change row is never updated
or deleted.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from creditx.gateway.audit.log import append_leaves
from creditx.standard.catalogue import Catalogue, load_catalogue
from creditx.standard.envelope import Envelope, Signature
from creditx.standard.lists.lifecycle import ChangeKind, ListChange, ListEntry, ListError, apply_change, derive_change
from creditx.standard.lists.log import leaf_data
from creditx.standard.lists.snapshot import entry_bytes, entry_from_obj
from creditx.standard.merkle import CompactRange, leaf_hash
from creditx.standard.record import RecordError, decode_record
from creditx.standard.timestamps import rfc3339

_ACCEPTED, _SUPERSEDED = 1, 3  # creditx.gateway.ingest.reasons.Outcome values (SYNC-021)

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


def head(conn: sqlite3.Connection) -> int:
    """The newest published list_seq (0: empty log)."""
    return conn.execute("SELECT COALESCE(MAX(list_seq), 0) FROM list_log").fetchone()[0]


def frontier(conn: sqlite3.Connection) -> CompactRange:
    row = conn.execute("SELECT frontier FROM list_tree WHERE id = 1").fetchone()
    return CompactRange() if row is None else CompactRange.from_bytes(row[0])


def current_entry(conn: sqlite3.Connection, entry_id: str) -> ListEntry | None:
    row = conn.execute("SELECT entry FROM list_entries WHERE entry_id = ?", (entry_id,)).fetchone()
    return entry_from_obj(json.loads(row[0])) if row else None


def current_origin(conn: sqlite3.Connection, entry_id: str) -> Envelope | None:
    """DIST-032: the envelope of the record version the entry rests on now."""
    row = conn.execute(
        "SELECT l.origin_type, l.origin_payload, l.origin_sigs FROM list_entries e"
        " JOIN list_log l ON l.list_seq = e.last_seq WHERE e.entry_id = ?",
        (entry_id,),
    ).fetchone()
    return envelope_from_row(*row) if row else None


def publish(conn: sqlite3.Connection, drafts: Sequence[ListChange], *, audit: bool = True) -> list[ListChange]:
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
        base = conn.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_leaves").fetchone()[0]
        conn.executemany(
            "INSERT INTO audit_leaves (idx, leaf_data, leaf_hash) VALUES (?,?,?)",
            [(base + i, d, h) for i, (d, h) in enumerate(leaves)],
        )
        append_leaves(conn, base, [h for _, h in leaves])
        conn.executemany(
            "UPDATE list_log SET audit_idx = ? WHERE list_seq = ?", [(base + i, c.list_seq) for i, c in enumerate(out)]
        )
    return out


class Drafts:
    """Changes decided within one transaction before they are published: later decisions see
    earlier ones (two records of one entry in one batch), as :func:`publish` will store them."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.pending: list[ListChange] = []
        self._entries: dict[str, ListEntry] = {}
        self._origins: dict[str, Envelope | None] = {}

    def entry(self, entry_id: str) -> ListEntry | None:
        if entry_id in self._entries:
            return self._entries[entry_id]
        return current_entry(self.conn, entry_id)

    def origin(self, entry_id: str) -> Envelope | None:
        if entry_id in self._origins:
            return self._origins[entry_id]
        return current_origin(self.conn, entry_id)

    def add(self, change: ListChange) -> None:
        before = self.entry(change.entry.entry_id)
        self._entries[change.entry.entry_id] = apply_change(before, change)  # DIST-041 on our own side too
        self._origins[change.entry.entry_id] = change.origin
        self.pending.append(change)


@dataclass(frozen=True)
class Refusal:
    node: str
    source_seq: int
    entry_id: str
    error: ListError


def refuse(conn: sqlite3.Connection, refusals: Iterable[Refusal], at: str) -> None:
    conn.executemany(
        "INSERT INTO list_refusals (node, source_seq, entry_id, reason, rule, field, message, at)"
        " VALUES (?,?,?,?,?,?,?,?)",
        [
            (r.node, r.source_seq, r.entry_id, r.error.reason, r.error.rule, r.error.field, r.error.detail, at)
            for r in refusals
        ],
    )


def append_changes(
    conn: sqlite3.Connection,
    node: str,
    stored: Sequence[tuple[object, object]],
    at: str,
    *,
    catalogue: Catalogue | None = None,
    audit: bool = True,
) -> list[ListChange]:
    """DIST-010: the list changes of one committed ingest batch, in the batch's transaction.

    ``stored`` are the batch's stored ``(Decision, IncomingRecord)`` pairs; only LIST records
    ACCEPTED or SUPERSEDED *as current* are events; ``entry_id`` is the natural key the ingest
    computed, the fingerprint its content fingerprint. A lifecycle refusal (DIST-011/013/015)
    is kept in ``list_refusals``; the record itself stays stored as the ingest decided."""
    events = [
        (d, rec)
        for d, rec in stored
        if getattr(d, "record_type", "") == "LIST"
        and d.current
        and int(d.outcome) in (_ACCEPTED, _SUPERSEDED)
        and rec is not None
    ]
    if not events:
        return []
    cat = catalogue or load_catalogue()
    when = parse_at(at)
    drafts, refusals = Drafts(conn), []
    for d, rec in events:
        try:
            record = decode_record(rec.payload)
        except RecordError as exc:  # checked by the ingest already; kept, never silently dropped
            refusals.append(Refusal(node, d.source_seq, d.natural_key, ListError(exc.reason, exc.rule, exc.detail)))
            continue
        origin = Envelope(
            rec.payload_type, rec.payload, tuple(Signature(s.keyid, s.suite, s.sig) for s in rec.signatures)
        )
        decision = derive_change(
            drafts.entry(d.natural_key),
            record,
            entry_id=d.natural_key,
            fingerprint=d.fingerprint,
            at=when,
            catalogue=cat,
        )
        if decision.error is not None:
            refusals.append(Refusal(node, d.source_seq, d.natural_key, decision.error))
        elif decision.change is not None:
            drafts.add(_with_origin(decision.change, origin))
    refuse(conn, refusals, at)
    return publish(conn, drafts.pending, audit=audit)


def _with_origin(change: ListChange, origin: Envelope | None) -> ListChange:
    return replace(change, origin=origin)


class ListHook:
    """What the ingest store calls: :meth:`append` inside the batch transaction, :meth:`committed`
    after COMMIT with what it returned (then subscribers are woken, never before commit)."""

    def __init__(
        self, catalogue: Catalogue | None = None, on_publish: Callable[[int], None] = lambda head: None
    ) -> None:
        self.catalogue = catalogue or load_catalogue()
        self.on_publish = on_publish

    def append(
        self,
        conn: sqlite3.Connection,
        node: str,
        stored: Sequence[tuple[object, object]],
        at: str,
        *,
        audit: bool = True,
    ) -> int:
        """The list head after this batch's changes, 0 when it published none."""
        out = append_changes(conn, node, stored, at, catalogue=self.catalogue, audit=audit)
        return out[-1].list_seq if out else 0

    def committed(self, new_head: int) -> None:
        if new_head:
            self.on_publish(new_head)


# --- reads ------------------------------------------------------------------------------------


def changes_between(conn: sqlite3.Connection, first: int, last: int) -> list[ListChange]:
    """Changes with ``first <= list_seq <= last`` in order."""
    return [
        change_from_row(r)
        for r in conn.execute(
            f"SELECT {_LOG_COLS} FROM list_log WHERE list_seq BETWEEN ? AND ? ORDER BY list_seq", (first, last)
        )
    ]


def leaf_hashes(conn: sqlite3.Connection, start: int, end: int) -> list[bytes]:
    """List-log leaf hashes of leaves [start, end) (leaf i is list_seq i + 1)."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT leaf_hash FROM list_log WHERE list_seq > ? AND list_seq <= ? ORDER BY list_seq", (start, end)
        )
    ]


def at_ms_of(conn: sqlite3.Connection, list_seq: int) -> int | None:
    row = conn.execute("SELECT at_ms FROM list_log WHERE list_seq = ?", (list_seq,)).fetchone()
    return row[0] if row else None


def listed_candidates(conn: sqlite3.Connection, today: date, terms: dict[str, int]) -> list[ListEntry]:
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


def report_applied(conn: sqlite3.Connection, node: str, applied: int, verified: bool, at: str) -> None:
    """DIST-043: a node's applied list_seq (never moves back: a late report is ignored)."""
    conn.execute(
        "INSERT INTO list_applied (node, applied_list_seq, checkpoint_verified, reported_at)"
        " VALUES (?,?,?,?) ON CONFLICT(node) DO UPDATE SET applied_list_seq ="
        " MAX(applied_list_seq, excluded.applied_list_seq), checkpoint_verified ="
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


def lags(conn: sqlite3.Connection, now: datetime) -> dict[str, Lag]:
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


def open_conn(path) -> sqlite3.Connection:
    """A connection of its own to the gateway database (WAL: readers never block the ingest
    writer); autocommit, explicit transactions; waits for the write lock instead of failing."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn
