"""The list replica's SQLite tables, in the node's own ``node.db`` (migration 2, DIST-040…074).

Tables (:func:`migration_2`, :func:`migration_replica_rowid`): ``replica_entries`` (one row per
entry_id, the entry after the last applied change: a rowid table with a unique index on
entry_id, so a ~1 KB body shares pages instead of taking an overflow page each), ``replica_subjects`` (subject index: ``U:``USCC / ``R:``注册号 / ``P:``node
keyed hash → entry_id, a WITHOUT ROWID primary key so a check is one B-tree range scan — a few
page reads on a replica of millions of entries), ``replica_changes`` (every applied change: the
subject's history and the departments' feed source), ``replica_meta`` (applied list_seq,
frontier, last update, checkpoint state, alarm, snapshot progress), ``department_cursors`` and
``sink_cursors``.

Invariants kept here:

* DIST-040/042, NODE-040 :meth:`ReplicaStore.apply_batch` plans the batch with
  :func:`creditx.standard.lists.replica.plan_batch`, moves each entry with
  :func:`creditx.standard.lists.lifecycle.apply_change`, folds the leaves into the frontier
  (:func:`creditx.standard.lists.log.fold`) and stores the new applied list_seq — all in ONE
  transaction. Any refusal (gap, illegal move) raises before COMMIT: nothing of the batch stays.
* DIST-072/073 a snapshot chunk's entries and its progress commit together, into staging tables
  without indexes (``replica_load``, ``replica_load_subjects``); the applied cursor becomes
  ``at_list_seq`` only with the last chunk, whose transaction swaps the staging table in and
  builds the indexes and the subject index after the load. Until then checks answer, stale,
  from the entries the replica held.
* DIST-062, NODE-048 a reset (:meth:`ReplicaStore.discard_snapshot`) keeps the entries and the
  history and records where it was (``rebootstrap_from``); the snapshot that replaces it writes
  the state difference and its marker into ``replica_feed_gaps``, the departments' feed source
  beside ``replica_changes``.
* NODE-044 a department cursor never moves backwards.
* NODE-047 the replica never keeps a natural person's origin envelope (it holds the clear
  证件号码): the origin is checked and hashed into the subject index in memory, and only the entry
  (masked number, keyed hashes) and, for organisations, the origin are stored. A person's own-city
  records are in the node's outbox; another city's stay at the gateway (evidence on request).
* DIST-075 snapshot entries come with their origin envelopes; a natural person's entry is
  indexed by the node's keyed hash of the ID number read from its (checked) origin record, as
  for a change. Organisations (USCC / 注册号) are indexed from the entry itself. A chunk is
  decoded and indexed before its write transaction opens and written with ``executemany``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import sqlite_utils

from creditx.node.replica.feed import MARKER, FeedItem, Skipped, difference_kind, positions
from creditx.node.replica.origin import check_origin
from creditx.node.replica.subjects import entry_keys, subject_keys
from creditx.node.replica.wire import EPOCH, MS, CanonicalChunk
from creditx.standard.envelope import Envelope
from creditx.standard.lists.lifecycle import ChangeKind, ListChange, ListEntry, ListError, apply_change
from creditx.standard.lists.log import fold
from creditx.standard.lists.replica import BatchPlan, plan_batch
from creditx.standard.lists.snapshot import SnapshotChunk, SnapshotProgress, accept_chunk, entry_from_obj, entry_to_obj
from creditx.standard.merkle import CompactRange

if TYPE_CHECKING:
    from creditx.node.store import NodeStore

LOAD_TABLES = ("replica_load", "replica_load_subjects")
ENTRIES_COLUMNS = "entry_id TEXT NOT NULL, list_type TEXT NOT NULL, state TEXT NOT NULL, list_seq INTEGER NOT NULL, body TEXT NOT NULL"
ENTRIES_INDEXES = (
    "CREATE UNIQUE INDEX replica_entries_id ON replica_entries(entry_id)",
    "CREATE INDEX replica_entries_type ON replica_entries(list_type, state)",
)
SUBJECTS_TABLE = (
    "CREATE TABLE replica_subjects(subject TEXT NOT NULL, entry_id TEXT NOT NULL, "
    "PRIMARY KEY(subject, entry_id)) WITHOUT ROWID"
)


def migration_2(db: sqlite_utils.Database) -> None:
    """Replica tables (appended to creditx.node.store.MIGRATIONS; never edit, append a new one)."""
    db.execute(
        "CREATE TABLE replica_entries(entry_id TEXT PRIMARY KEY, list_type TEXT NOT NULL, "
        "state TEXT NOT NULL, list_seq INTEGER NOT NULL, body TEXT NOT NULL) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX replica_entries_type ON replica_entries(list_type, state)")
    db.execute(
        "CREATE TABLE replica_subjects(subject TEXT NOT NULL, entry_id TEXT NOT NULL, "
        "PRIMARY KEY(subject, entry_id)) WITHOUT ROWID"
    )
    db.execute(
        "CREATE TABLE replica_changes(list_seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, reason TEXT NOT NULL, "
        "list_type TEXT NOT NULL, entry_id TEXT NOT NULL, at_ms INTEGER NOT NULL, entry TEXT NOT NULL, "
        "origin TEXT)"
    )
    db.execute("CREATE INDEX replica_changes_entry ON replica_changes(entry_id, list_seq)")
    db.execute("CREATE TABLE replica_meta(key TEXT PRIMARY KEY, value TEXT)")
    db.execute("CREATE TABLE department_cursors(department TEXT PRIMARY KEY, cursor INTEGER NOT NULL, updated_at REAL)")
    db.execute("CREATE TABLE sink_cursors(sink TEXT PRIMARY KEY, cursor INTEGER NOT NULL, updated_at REAL)")


def _person_origin_fields(at: int, e: ListEntry, origin: Envelope | None) -> Mapping[str, str] | None:
    """DIST-075/NODE-041: the origin record's fields of a snapshot entry about a natural person
    (the only entries whose index key needs them: organisations are indexed from the entry), after
    the same check as a change's origin (DIST-032: type, region, fingerprint); None otherwise."""
    if origin is None or not e.subject_id_masked:
        return None
    return check_origin(ListChange(at, ChangeKind.ADD, "", e, EPOCH, origin), lambda keyid: None).fields


_NAMES = tuple(f.name for f in fields(ListEntry))
_DATES = frozenset(("listed_on", "period_start", "period_end", "removed_on"))


def _kept_origin(c: ListChange) -> str | None:
    """NODE-047: the origin as stored: None for a natural person's entry (masked number set)."""
    if c.origin is None or c.entry.subject_id_masked:
        return None
    return c.origin.to_json()


def migration_6_privacy(db: sqlite_utils.Database) -> None:
    """NODE-047: drop the natural persons' origin envelopes earlier versions kept in
    replica_changes (reserved migration number 6; appended after the replica's)."""
    db.execute(
        "UPDATE replica_changes SET origin = NULL WHERE origin IS NOT NULL AND "
        "COALESCE(json_extract(entry, '$.subject_id_masked'), '') != ''"
    )


def migration_replica_rowid(db: sqlite_utils.Database) -> None:
    """NODE-048 (appended after the privacy migration): ``replica_entries`` becomes a rowid table
    (a ~1 KB body in a WITHOUT ROWID row took an overflow page each, mostly empty) with a unique
    index on entry_id; the departments' state-difference records (DIST-062) get their table; a
    snapshot half-loaded by the old layout is dropped, so it restarts into the staging tables."""
    db.execute(f"CREATE TABLE replica_entries_rowid({ENTRIES_COLUMNS})")
    db.execute(
        "INSERT INTO replica_entries_rowid SELECT entry_id, list_type, state, list_seq, body FROM replica_entries"
    )
    db.execute("DROP TABLE replica_entries")
    db.execute("ALTER TABLE replica_entries_rowid RENAME TO replica_entries")
    for sql in ENTRIES_INDEXES:
        db.execute(sql)
    db.execute(
        "CREATE TABLE replica_feed_gaps(through INTEGER NOT NULL, n INTEGER NOT NULL, first INTEGER NOT NULL, "
        "skip_from INTEGER NOT NULL, skip_to INTEGER NOT NULL, snapshot_seq INTEGER NOT NULL, "
        "differences INTEGER NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL, list_type TEXT NOT NULL, "
        "at_ms INTEGER NOT NULL, entry TEXT, PRIMARY KEY(through, n))"
    )
    if db.execute("SELECT 1 FROM replica_meta WHERE key = 'snapshot'").fetchone():
        db.execute("DELETE FROM replica_entries")
        db.execute("DELETE FROM replica_subjects")
        db.execute("DELETE FROM replica_meta WHERE key IN ('snapshot', 'snapshot_frontier')")
    # the feed of a node bootstrapped before starts at its snapshot base, as it did
    db.execute(
        "INSERT OR IGNORE INTO replica_meta(key, value) SELECT 'feed_from', value FROM replica_meta "
        "WHERE key = 'changes_from'"
    )


def _body(e: ListEntry) -> str:
    """``json.dumps(entry_to_obj(e))`` without ``dataclasses.fields`` per entry, in the canonical
    form's key order and separators (so it equals, for these members, the entry_bytes text a
    DIST-081 snapshot carries); the same members and values, read back by entry_from_obj."""
    obj = {}
    for k in _NAMES:
        v = getattr(e, k)
        obj[k] = (v.isoformat() if v is not None else None) if k in _DATES else v
    obj["state"], obj["origin_fp"] = e.state.value, e.origin_fp.hex()
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _ms(c: ListChange) -> int:
    return (c.at - EPOCH) // MS


def change_obj(c: ListChange) -> dict:
    """The JSON form of a change (feeds, sinks, CLI): entry as in snapshots, time in ms."""
    return {
        "list_seq": c.list_seq,
        "kind": c.kind.value,
        "reason": c.reason,
        "list_type": c.entry.list_type,
        "at_unix_ms": _ms(c),
        "entry": entry_to_obj(c.entry),
    }


def item_obj(it: FeedItem) -> dict:
    """The JSON form of a feed item (feeds, sinks, CLI): a change as :func:`change_obj`; a
    state-difference record adds ``state_difference`` (the range it stands in for, DIST-062); a
    marker is ``{"list_seq", "kind": "SKIPPED", "skipped"}`` at the position of its first record."""
    if it.change is None:
        assert it.skipped is not None
        return {"list_seq": it.through, "kind": MARKER, "skipped": it.skipped.to_obj()}
    obj = change_obj(it.change)
    if it.skipped is not None:
        obj["state_difference"] = it.skipped.to_obj()
    return obj


@dataclass(frozen=True)
class ReplicaState:
    applied: int
    frontier: CompactRange | None
    last_update_ms: int
    changes_from: int  # changes <= this are not in replica_changes (snapshot base)
    alarm: str  # NODE-043: non-empty = stop applying, answer stale
    checkpoint: dict  # last verified checkpoint: {"note", "size", "result", "at_ms"}
    snapshot: SnapshotProgress | None
    head: int = 0  # the list log's head as last heard from the gateway
    rebootstrap_from: int = 0  # NODE-048: reset at this applied list_seq; a snapshot is due


LOOKUP_CHUNK = 500  # keys per statement: well under SQLite's bound-parameter limit


def lookup(conn: sqlite3.Connection, subject_keys: Sequence[str]) -> dict[str, list[ListEntry]]:
    """The one replica lookup (DIST-060): subject index key → the entries indexed under it, one
    statement per ``LOOKUP_CHUNK`` keys (subject index range scans joined to the entries)."""
    out: dict[str, list[ListEntry]] = {}
    keys = list(dict.fromkeys(subject_keys))
    for i in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[i : i + LOOKUP_CHUNK]
        sql = (
            "SELECT s.subject, e.body FROM replica_subjects s JOIN replica_entries e ON e.entry_id = s.entry_id "
            "WHERE s.subject IN (" + ",".join("?" * len(chunk)) + ")"
        )
        for k, b in conn.execute(sql, chunk):
            out.setdefault(k, []).append(entry_from_obj(json.loads(b)))
    return out


def _state(m: Mapping[str, Any]) -> ReplicaState:
    fr, snap, applied = m.get("frontier"), m.get("snapshot"), int(m.get("applied", 0))
    if "frontier" not in m and applied == 0:
        frontier: CompactRange | None = CompactRange()  # following from list_seq 1: the empty tree
    else:
        frontier = CompactRange.from_bytes(bytes.fromhex(str(fr))) if fr else None
    return ReplicaState(
        applied,
        frontier,
        int(m.get("last_update_ms", 0)),
        int(m.get("changes_from", 0)),
        str(m.get("alarm", "")),
        dict(m.get("checkpoint") or {}),
        SnapshotProgress(**snap) if snap else None,
        int(m.get("head", 0) or 0),
        int(m.get("rebootstrap_from", 0) or 0),
    )


class ReplicaStore:
    def __init__(self, store: NodeStore, subject_key: bytes, *, clock=time.time) -> None:
        self.store, self.conn, self.key, self.clock = store, store.conn, subject_key, clock

    # --- meta ------------------------------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self.conn.execute("SELECT key, value FROM replica_meta")}

    def _set(self, **values: object) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO replica_meta(key, value) VALUES (?, ?)",
            [(k, json.dumps(v)) for k, v in values.items()],
        )

    def set_meta(self, **values: object) -> None:
        with self.store.transaction():
            self._set(**values)

    def state(self) -> ReplicaState:
        return _state(self.meta())

    def applied(self) -> int:
        row = self.conn.execute("SELECT value FROM replica_meta WHERE key = 'applied'").fetchone()
        return int(json.loads(row[0])) if row else 0

    def feed_head(self) -> int:
        """The newest position a department may have acknowledged: the applied list_seq, or while
        a reset replica re-bootstraps the one it was reset at (its changes are still fed)."""
        row = self.conn.execute("SELECT value FROM replica_meta WHERE key = 'rebootstrap_from'").fetchone()
        return max(self.applied(), int(json.loads(row[0])) if row else 0)

    # --- applying (DIST-040/042) -------------------------------------------------------------------

    def _entry(self, entry_id: str) -> ListEntry | None:
        row = self.conn.execute("SELECT body FROM replica_entries WHERE entry_id = ?", (entry_id,)).fetchone()
        return entry_from_obj(json.loads(row[0])) if row else None

    def _put(self, e: ListEntry, list_seq: int, keys: Iterable[str]) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO replica_entries VALUES (?, ?, ?, ?, ?)",
            (e.entry_id, e.list_type, e.state.value, list_seq, _body(e)),
        )
        self.conn.executemany("INSERT OR IGNORE INTO replica_subjects VALUES (?, ?)", [(k, e.entry_id) for k in keys])

    def apply_batch(
        self,
        changes: Sequence[ListChange],
        origin_fields: Mapping[int, Mapping[str, str]],
        *,
        now_ms: int,
        sent_keys: Mapping[int, Sequence[str]] | None = None,
    ) -> BatchPlan:
        """NODE-040: apply a batch and its cursor in one transaction; raises ListError (DIST_GAP,
        DIST_ILLEGAL_CHANGE, DIST_WRONG_ENTRY) with nothing applied. ``origin_fields``: list_seq →
        fields of the change's origin record (for the subject index); ``sent_keys``: list_seq →
        the index keys the gateway made for a person's change (DIST-077)."""
        sent_keys = sent_keys or {}
        with self.store.transaction():
            st = self.state()
            if st.alarm:  # NODE-043: a halted replica applies nothing
                raise ListError(
                    "DIST_REPLICA_DIVERGED",
                    "DIST-052",
                    f"replica halted: {st.alarm}",
                    hint="creditx node replica --dir DIR --reset discards it; the node re-bootstraps",
                )
            plan = plan_batch(st.applied, changes)
            for c in plan.apply:
                entry = apply_change(self._entry(c.entry.entry_id), c)
                keys = entry_keys(entry, origin_fields.get(c.list_seq), self.key, sent_keys.get(c.list_seq, ()))
                self._put(entry, c.list_seq, keys)
                self.conn.execute(  # OR REPLACE: history kept from before a re-bootstrap (NODE-048)
                    "INSERT OR REPLACE INTO replica_changes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        c.list_seq,
                        c.kind.value,
                        c.reason,
                        entry.list_type,
                        entry.entry_id,
                        _ms(c),
                        _body(entry),
                        _kept_origin(c),
                    ),
                )
            frontier = st.frontier
            if frontier is not None and plan.apply:
                frontier = fold(frontier, list(plan.apply)) if frontier.size == st.applied else None
            self._set(
                applied=plan.applied_seq,
                last_update_ms=now_ms,
                frontier=frontier.to_bytes().hex() if frontier is not None else None,
            )
        return plan

    # --- snapshots (DIST-070…074) -------------------------------------------------------------------

    def _drop_load(self) -> None:
        for t in LOAD_TABLES:
            self.conn.execute(f"DROP TABLE IF EXISTS {t}")

    def discard_snapshot(self) -> None:
        """Reset (operator, divergence) or DIST-072 (the gateway cannot serve the partial snapshot):
        drop the partial snapshot and mark the replica for a re-bootstrap (NODE-048). The entries
        and history stay as they were at ``applied`` — checks answer from them, stale (NODE-043),
        and the departments are handed the state difference once the snapshot completes (DIST-062)."""
        with self.store.transaction():
            self._drop_load()
            st = self.state()
            if st.applied > 0 and not st.rebootstrap_from:
                self._set(rebootstrap_from=st.applied)
            # last_update_ms goes too: freshness belongs to the state being replaced (NODE-043)
            self.conn.execute(
                "DELETE FROM replica_meta WHERE key IN ('applied', 'frontier', 'changes_from', "
                "'snapshot', 'snapshot_frontier', 'alarm', 'checkpoint', 'last_update_ms')"
            )

    def apply_chunk(
        self,
        chunk: SnapshotChunk | CanonicalChunk,
        frontier: bytes,
        *,
        now_ms: int,
        origins: Sequence[Envelope | None] = (),
        sent_keys: Sequence[Sequence[str]] = (),
        bodies: Sequence[str] = (),
    ) -> SnapshotProgress:
        """DIST-072: one chunk's entries with its progress in one transaction, into staging tables
        without indexes (``replica_load``, ``replica_load_subjects``: appends in entry_id order);
        the last chunk swaps them in (:meth:`_finish_load`), sets the applied cursor to
        ``at_list_seq`` (DIST-073) and the frontier (DIST-074). Until then the replica keeps
        answering, stale, from the state it held. ``origins`` (DIST-075, parallel to the entries,
        or empty from an older gateway or when not asked for, DIST-082) give the person index its
        keys; an origin that does not match its entry refuses the chunk (DIST-032). ``sent_keys``
        (DIST-077, parallel too, or empty) are a withheld person's keys (checked). ``bodies``
        (DIST-081): the entries' canonical text as received, stored as it is instead of
        re-encoded; a :class:`CanonicalChunk` is loaded from its entries' checked JSON forms
        without building a ListEntry each (NODE-052)."""
        at = chunk.at_list_seq
        if isinstance(chunk, CanonicalChunk):
            columns = [
                (o["entry_id"], o["list_type"], o["state"], o["subject_uscc"], o["subject_id_masked"])
                for o in chunk.objs
            ]
        else:
            columns = [
                (e.entry_id, e.list_type, e.state.value, e.subject_uscc, e.subject_id_masked) for e in chunk.entries
            ]
            bodies = bodies or [_body(e) for e in chunk.entries]
        if origins and len(origins) != len(columns):
            raise ListError(
                "DIST_BAD_ENTRY",
                "DIST-075",
                f"chunk {chunk.index} has {len(columns)} entries but {len(origins)} origins",
                field="origins",
                hint="the gateway sent a malformed snapshot chunk; report it to the provincial operator",
            )
        entries = [(c[0], c[1], c[2], at, body) for c, body in zip(columns, bodies, strict=True)]
        subjects = []
        for i, (eid, _, _, uscc, masked) in enumerate(columns):  # decode outside the write transaction
            fields = None
            if masked and origins and origins[i] is not None:  # a person's origin gives its key (NODE-041)
                e = chunk.entry(i) if isinstance(chunk, CanonicalChunk) else chunk.entries[i]
                fields = _person_origin_fields(at, e, origins[i])
            sent = sent_keys[i] if sent_keys else ()
            subjects += [(k, eid) for k in subject_keys(uscc, eid, fields, self.key, sent)]
        with self.store.transaction():
            st = self.state()
            if st.snapshot is None and chunk.index == 0:
                self._drop_load()  # a new snapshot: fresh staging tables, no index until loaded
                self.conn.execute(f"CREATE TABLE replica_load({ENTRIES_COLUMNS})")
                self.conn.execute("CREATE TABLE replica_load_subjects(subject TEXT NOT NULL, entry_id TEXT NOT NULL)")
            progress = accept_chunk(st.snapshot, chunk)
            self.conn.executemany("INSERT INTO replica_load VALUES (?, ?, ?, ?, ?)", entries)
            self.conn.executemany("INSERT INTO replica_load_subjects VALUES (?, ?)", subjects)
            if chunk.index == 0:
                self._set(snapshot_frontier=frontier.hex() if frontier else None)
            if progress.complete:
                fr = self.meta().get("snapshot_frontier")
                if fr is not None and CompactRange.from_bytes(bytes.fromhex(str(fr))).size != chunk.at_list_seq:
                    fr = None  # a frontier of another size cannot be checked against (DIST-074)
                self._finish_load(st, chunk.at_list_seq, now_ms)
                self._set(applied=chunk.at_list_seq, changes_from=chunk.at_list_seq, frontier=fr, last_update_ms=now_ms)
                self.conn.execute(
                    "DELETE FROM replica_meta WHERE key IN ('snapshot', 'snapshot_frontier', 'rebootstrap_from')"
                )
            else:
                self._set(snapshot=progress.__dict__)
        return progress

    def _finish_load(self, st: ReplicaState, at: int, now_ms: int) -> None:
        """The last chunk's transaction: hand the departments the state difference when the
        snapshot replaces a replica that had applied changes (DIST-062), swap the staging table in
        for ``replica_entries`` and build its indexes and the subject index (sorted, after the load)."""
        old_at = st.rebootstrap_from or st.applied
        if old_at > 0:
            self._record_difference(old_at, at, now_ms)
        else:
            self._set(feed_from=at)  # a first bootstrap: the feed starts at the snapshot's base
        self.conn.execute("DROP TABLE replica_entries")
        self.conn.execute("ALTER TABLE replica_load RENAME TO replica_entries")
        for sql in ENTRIES_INDEXES:
            self.conn.execute(sql)
        self.conn.execute("DROP TABLE replica_subjects")
        self.conn.execute(SUBJECTS_TABLE)
        self.conn.execute(
            "INSERT OR IGNORE INTO replica_subjects SELECT subject, entry_id FROM replica_load_subjects "
            "ORDER BY subject, entry_id"
        )
        self.conn.execute("DROP TABLE replica_load_subjects")
        # a snapshot older than the old replica (a rolled-back gateway): the history beyond it is void
        self.conn.execute("DELETE FROM replica_changes WHERE list_seq > ?", (at,))

    def _record_difference(self, old_at: int, at: int, now_ms: int) -> None:
        """DIST-062: the entries added, changed or removed between the replica at ``old_at`` and
        the snapshot at ``at``, in entry_id order, with a marker naming the range jumped over; both
        tables are walked once in entry_id order (the staging rows are in that order, DIST-071)."""
        old = self.conn.execute("SELECT entry_id, body FROM replica_entries ORDER BY entry_id")
        new = self.conn.execute("SELECT entry_id, body FROM replica_load ORDER BY rowid")
        diffs: list[tuple[ListEntry | None, ListEntry]] = []
        o = old.fetchone()
        for eid, body in new:
            while o is not None and o[0] < eid:
                o = old.fetchone()  # an entry the snapshot does not hold: kept as it was (see below)
            held = o[1] if o is not None and o[0] == eid else None
            if held != body and (held is None or json.loads(held) != json.loads(body)):
                diffs.append(
                    (entry_from_obj(json.loads(held)) if held is not None else None, entry_from_obj(json.loads(body)))
                )
        # An entry only the old replica holds cannot arise in an honest log (entries are never
        # deleted, only REMOVED); after a divergence the snapshot's state is the truth and the
        # department is told of every entry it now holds differently.
        if at <= old_at:  # nothing jumped over (or a rolled-back log: its positions are taken)
            return
        first, last = old_at + 1, at
        marks = positions(old_at, last, len(diffs))
        skipped = (first, last, at, len(diffs))
        rows: list[tuple[Any, ...]] = [(marks[0] if diffs else last, 0, first, *skipped, MARKER, "", "", now_ms, None)]
        prev = old_at
        for n, ((before, after), through) in enumerate(zip(diffs, marks, strict=True), start=1):
            kind, reason = difference_kind(before, after)
            start = prev + 1 if through > prev else rows[-1][2]
            rows.append((through, n, start, *skipped, kind.value, reason, after.list_type, now_ms, _body(after)))
            prev = through
        self.conn.executemany("INSERT OR REPLACE INTO replica_feed_gaps VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)

    # --- reading ---------------------------------------------------------------------------------

    def entries_for(self, subject_key: str) -> list[ListEntry]:
        """DIST-060: every entry indexed under ``subject_key`` (PK range scan)."""
        return lookup(self.conn, (subject_key,)).get(subject_key, [])

    def read_many(self, subject_keys: Sequence[str]) -> tuple[ReplicaState, dict[str, list[ListEntry]]]:
        """The replica's state and the entries of each subject key, read together in ONE read
        transaction on a pooled read-only connection (the hall check: many threads at once,
        never waiting for the writer nor for each other); subjects without entries are absent."""
        with self.store.readers.borrow() as conn:
            conn.execute("BEGIN")
            m = {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM replica_meta")}
            found = lookup(conn, subject_keys)
            conn.execute("COMMIT")
        return _state(m), found

    def entry_at(self, list_seq: int) -> ListEntry | None:
        """The entry as change ``list_seq`` left it (an applied change, or a snapshot entry last
        changed by it); None when the replica holds neither (DIST-078)."""
        rows = self.store.rows("SELECT entry AS e FROM replica_changes WHERE list_seq = ?", (list_seq,)) or (
            self.store.rows("SELECT body AS e FROM replica_entries WHERE list_seq = ?", (list_seq,))
        )
        return entry_from_obj(json.loads(rows[0]["e"])) if rows else None

    def history_of(self, entry_ids: Sequence[str]) -> list[dict]:
        """Every applied change of these entries, oldest first (the subject's history)."""
        out: list[dict] = []
        for eid in entry_ids:
            out += [
                {"list_seq": s, "kind": k, "reason": r, "entry_id": eid, "at_unix_ms": at}
                for s, k, r, at in self.conn.execute(
                    "SELECT list_seq, kind, reason, at_ms FROM replica_changes WHERE entry_id = ? ORDER BY list_seq",
                    (eid,),
                )
            ]
        return sorted(out, key=lambda d: d["list_seq"])

    def _change(self, s: int, k: str, r: str, at: int, e: str, o: str | None) -> ListChange:
        return ListChange(
            s, ChangeKind(k), r, entry_from_obj(json.loads(e)), EPOCH + at * MS, Envelope.from_json(o) if o else None
        )

    def feed_items(self, cursor: int, limit: int) -> tuple[int, list[FeedItem]]:
        """The departments' feed source after ``cursor`` (DIST-061/062): applied changes and the
        state-difference records of re-bootstraps, in position order, whole positions only.
        ``cursor`` is raised to the first bootstrap's base (changes before it were never received
        one by one). Returns (effective cursor, items)."""
        cursor = max(cursor, int(self.meta().get("feed_from", 0)))
        items = [
            FeedItem(row[0], row[0], self._change(*row))
            for row in self.conn.execute(
                "SELECT list_seq, kind, reason, at_ms, entry, origin FROM replica_changes "
                "WHERE list_seq > ? ORDER BY list_seq LIMIT ?",
                (cursor, limit),
            )
        ]
        gaps = self.conn.execute(
            "SELECT * FROM replica_feed_gaps WHERE through > ? ORDER BY through, n LIMIT ?", (cursor, limit)
        ).fetchall()
        if gaps:  # a position is never cut: the rest of the last one's records too
            gaps += self.conn.execute(
                "SELECT * FROM replica_feed_gaps WHERE through = ? AND n > ? ORDER BY n", (gaps[-1][0], gaps[-1][1])
            ).fetchall()
        for through, _n, first, skip_from, skip_to, snap, count, kind, reason, _lt, at, entry in gaps:
            skipped = Skipped(skip_from, skip_to, snap, count)
            change = None if kind == MARKER else self._change(through, kind, reason, at, entry, None)
            items.append(FeedItem(first, through, change, skipped))
        items.sort(key=lambda it: (it.through, it.change is not None))
        if len(items) > limit:  # keep whole positions within about ``limit``
            cut = items[limit - 1].through
            items = [it for it in items if it.through <= cut]
        return cursor, items

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for lt, state, n in self.conn.execute(
            "SELECT list_type, state, COUNT(*) FROM replica_entries GROUP BY list_type, state"
        ):
            out.setdefault(lt, {"LISTED": 0, "REMOVED": 0})[state] = n
        return out

    # --- cursors (DIST-061, NODE-044/045) -------------------------------------------------------------

    def cursor(self, table: str, name: str) -> int:
        col = "department" if table == "department_cursors" else "sink"
        row = self.conn.execute(f"SELECT cursor FROM {table} WHERE {col} = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def advance_cursor(self, table: str, name: str, cursor: int) -> int:
        """Store ``cursor`` if it is ahead of the stored one (never backwards); returns the stored."""
        col = "department" if table == "department_cursors" else "sink"
        if cursor > self.feed_head():
            raise ValueError(f"NODE-044: cursor {cursor} is ahead of the replica's applied list_seq")
        with self.store.transaction():
            self.conn.execute(
                f"INSERT INTO {table}({col}, cursor, updated_at) VALUES (?, ?, ?) "
                f"ON CONFLICT({col}) DO UPDATE SET cursor = MAX(cursor, excluded.cursor), "
                "updated_at = excluded.updated_at",
                (name, cursor, self.clock()),
            )
        return self.cursor(table, name)
