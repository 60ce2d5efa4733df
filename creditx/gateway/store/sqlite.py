"""SQLite implementation of :class:`creditx.gateway.store.base.GatewayStore` (sqlite-utils, WAL).

One connection (:func:`creditx.sqlite.connect`), used from gRPC handler threads under one lock. The hot path,
:meth:`SqliteStore.commit_batch`, writes a whole batch with prepared ``executemany`` statements
inside a single transaction (ADR 0010: sqlite-utils' ``insert_all`` is 3–4× slower).
``synchronous=NORMAL`` in WAL mode: a commit survives a process crash; a power loss may lose
the last transactions but never tears one, and acks are only sent after commit (SYNC-032).

Flat as it grows (bench/store_growth.py): the page cache is sized (``cache_mib``, gateway.json
``store_cache_mib``, 256 MiB by default, against SQLite's 2 MiB) so the random-key indexes' inner
pages stay in memory, and WAL checkpoints are off the commit path — ``wal_autocheckpoint`` is 0 and
a background thread of the store (:class:`_Checkpointer`, its own connection) copies the WAL back
into the database with ``PASSIVE`` checkpoints (which never block the writer) every
``checkpoint_every_s`` or when the WAL passes ``CHECKPOINT_WAL_PAGES``, and with a ``TRUNCATE``
one (which waits for the writer's transaction) once the WAL passes ``WAL_BOUND_BYTES``, so the
WAL stays bounded under continuous ingest.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlite_utils import Database

from creditx.gateway.audit.leaves import registry_leaf
from creditx.gateway.audit.log import append_audit
from creditx.gateway.ingest.reasons import Outcome
from creditx.gateway.ingest.values import Checked, Decision, IncomingRecord
from creditx.gateway.lists import store as list_store
from creditx.gateway.lists.changes import ListBatch
from creditx.gateway.store import chains, node_checkpoints
from creditx.gateway.store.base import NodeRow, SigningCert
from creditx.gateway.store.migrations import migrate
from creditx.gateway.store.node_checkpoints import NodeCheckpoint
from creditx.sqlite import connect, transaction
from creditx.standard.lists.lifecycle import ListEntry

if TYPE_CHECKING:
    from creditx.gateway.stats import StatsHook

_log = logging.getLogger(__name__)
_INSERT_RECORD = (
    "INSERT INTO records (id, node, source_seq, payload_sha, payload_type, payload, signatures, outcome,"
    " reason, requirement, field, message, fp, natural_key, version, type, region, op, keyid,"
    " current, log_index, received_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
_VERBATIM = re.compile(r"[0-9A-Za-z_.:+\-]*")  # nothing json.dumps would escape


def _signatures_json(rec: IncomingRecord | None) -> str:
    """``[[keyid, suite, sig hex], …]`` as json.dumps writes it (the common one-signature case
    without the encoder's per-call set-up)."""
    if rec is None:
        return "[]"
    sigs = rec.signatures
    if len(sigs) == 1 and _VERBATIM.fullmatch(sigs[0].keyid) and _VERBATIM.fullmatch(sigs[0].suite):
        s = sigs[0]
        return f'[["{s.keyid}", "{s.suite}", "{s.sig.hex()}"]]'
    return json.dumps([[s.keyid, s.suite, s.sig.hex()] for s in sigs])


_DECISION_COLS = (
    "source_seq, outcome, payload_sha, reason, requirement, field, message, fp,"
    " natural_key, version, type, region, op, keyid, current, log_index, received_at"
)


def _row_to_decision(r) -> Decision:
    checked = Checked(
        r[0],
        r[2],
        fingerprint=r[7] or b"",
        natural_key=r[8] or "",
        version=r[9] or 0,
        record_type=r[10] or "",
        region=r[11] or "",
        op=r[12] or "",
        keyid=r[13] or "",
    )
    return Decision(
        r[0],
        Outcome(r[1]),
        checked,
        reason=r[3] or "",
        requirement=r[4] or "",
        field=r[5] or "",
        message=r[6] or "",
        current=bool(r[14]),
        log_index=r[15] if r[15] is not None else -1,
        decided_at=(r[16] or "") if r[15] is not None else "",
    )


CHECKPOINT_WAL_PAGES = 16_384  # 64 MiB of 4 KiB pages: the background checkpoint runs at once past it
# Past this the background checkpoint is a TRUNCATE one: under continuous ingest a PASSIVE
# checkpoint never backfills the last frames, so the writer never restarts the WAL, which then
# grew without bound (8.7 GB at 4.8 M records) and with it the WAL index every read searches.
WAL_BOUND_BYTES = 256 << 20
DEFAULT_CACHE_MIB = 256  # GatewayConfig.store_cache_mib


def _wal_bytes(path: Path) -> int:
    try:
        return Path(f"{path}-wal").stat().st_size
    except OSError:
        return 0


class _Checkpointer:
    """Background PASSIVE WAL checkpoints on a connection of their own (off the commit path)."""

    def __init__(self, path: Path, every_s: float) -> None:
        self.path, self.every_s = path, every_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        import sqlite3

        conn = connect(self.path)
        try:
            while not self._stop.is_set():
                self._wake.wait(self.every_s)
                self._wake.clear()
                try:
                    mode = "TRUNCATE" if _wal_bytes(self.path) > WAL_BOUND_BYTES else "PASSIVE"
                    conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
                except sqlite3.Error as exc:  # busy or disk full: the next round tries again
                    _log.warning("background WAL checkpoint failed: %s", exc)
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)


class SqliteStore:
    stats_hook: StatsHook | None = (
        None  # creditx.gateway.stats.StatsHook: statistics counters kept in the batch's transaction
    )

    def __init__(
        self,
        path: str | Path | None,
        *,
        now: str = "",
        cache_mib: int = DEFAULT_CACHE_MIB,
        checkpoint_every_s: float = 1.0,
        background_checkpoint: bool = True,  # False: SQLite's own auto-checkpoint in the commit (the bench's A/B)
    ) -> None:
        conn = connect(path)
        conn.execute(f"PRAGMA cache_size=-{int(cache_mib) * 1024}")  # KiB when negative
        self.db = Database(conn)
        self.conn = conn
        self._lock = threading.RLock()
        migrate(self.db, now)
        self._checkpointer: _Checkpointer | None = None
        if path is not None and background_checkpoint:
            conn.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints off the commit path
            self._checkpointer = _Checkpointer(Path(path), checkpoint_every_s)

    # --- lookups used by the pure rules ---------------------------------------------------------

    def committed_seq(self, node: str) -> int:
        with self._lock:
            row = self.conn.execute("SELECT committed_seq FROM nodes WHERE region=?", (node,)).fetchone()
        return row[0] if row else 0

    def decision_for(self, node: str, seq: int) -> Decision | None:
        with self._lock:
            row = self.conn.execute(
                f"SELECT {_DECISION_COLS} FROM records WHERE node=? AND source_seq=?", (node, seq)
            ).fetchone()
        return _row_to_decision(row) if row else None

    def fingerprint_stored(self, fp: bytes) -> bool:
        return bool(self.stored_fingerprints([fp]))

    def current_version(self, natural_key: str) -> int | None:
        with self._lock:
            row = self.conn.execute(
                "SELECT version FROM current_versions WHERE natural_key=?", (natural_key,)
            ).fetchone()
        return row[0] if row else None

    def stored_fingerprints(self, fps: Sequence[bytes]) -> set[bytes]:
        out: set[bytes] = set()
        fps = list(dict.fromkeys(fps))
        with self._lock:
            for i in range(0, len(fps), 500):  # SQLite's default variable limit is far above 500
                chunk = fps[i : i + 500]
                marks = ",".join("?" * len(chunk))
                q = f"SELECT fp FROM current_versions WHERE fp IN ({marks}) UNION SELECT fp FROM older_versions WHERE fp IN ({marks})"
                out.update(r[0] for r in self.conn.execute(q, chunk + chunk))
        return out

    def current_versions(self, keys: Sequence[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        keys = list(dict.fromkeys(keys))
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                q = (
                    "SELECT natural_key, version FROM current_versions WHERE natural_key IN ("
                    + ",".join("?" * len(chunk))
                    + ")"
                )
                out.update(self.conn.execute(q, chunk).fetchall())
        return out

    def known_content(self, pairs: Sequence[tuple[str, bytes]]) -> tuple[set[bytes], dict[str, int]]:
        keys = list(dict.fromkeys(k for k, _ in pairs))
        rows: dict[str, tuple[int, bytes | None, int]] = {}
        hits: list[bytes] = []
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                q = "SELECT natural_key, version, fp, has_older FROM current_versions WHERE natural_key IN ("
                rows.update((r[0], r[1:]) for r in self.conn.execute(q + ",".join("?" * len(chunk)) + ")", chunk))
            todo = chains.probes(pairs, rows)
            for i in range(0, len(todo), 250):
                part = todo[i : i + 250]
                q = "SELECT fp FROM older_versions WHERE (natural_key, fp) IN (VALUES " + ",".join(
                    ["(?,?)"] * len(part)
                )
                hits += [r[0] for r in self.conn.execute(q + ")", [v for pair in part for v in pair])]
        return chains.known(pairs, rows, hits)

    # --- the hot path --------------------------------------------------------------------------

    def commit_batch(
        self,
        node: str,
        items: Sequence[tuple[Decision, IncomingRecord | None]],
        leaves: Sequence[tuple[bytes, bytes]] | None,
        committed_seq: int,
        at: str,
        *,
        lists: ListBatch | None = None,
        checkpoint: NodeCheckpoint | None = None,
    ) -> list[Decision]:
        stored = [(d, rec) for d, rec in items if d.stored]
        out: dict[int, Decision] = {}
        with transaction(self.conn, lock=self._lock) as c:
            if leaves is not None:
                if len(leaves) != len(stored):
                    raise ValueError("one audit leaf per stored decision (SYNC-031)")
                base = append_audit(c, leaves)  # AUD-006: leaves and tree state, same transaction
                for i, (d, _) in enumerate(stored):
                    out[id(d)] = d.with_log_index(base + i)
            # Row ids are assigned here (the write lock is held), so current_versions can
            # point at them without a look-up per row.
            first_id = c.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM records").fetchone()[0]
            rows = []
            counts: dict[int, int] = {}
            for i, (d, rec) in enumerate(stored):
                d = out.get(id(d), d)
                outcome = int(d.outcome)
                counts[outcome] = counts.get(outcome, 0) + 1
                rows.append(
                    (
                        first_id + i,
                        node,
                        d.source_seq,
                        d.payload_sha,
                        rec.payload_type if rec else "",
                        rec.payload if rec else b"",
                        _signatures_json(rec),
                        outcome,
                        d.reason,
                        d.requirement,
                        d.field,
                        d.message,
                        d.fingerprint or None,
                        d.natural_key or None,
                        d.version,
                        d.record_type,
                        d.region,
                        d.op,
                        d.keyid,
                        int(d.current),
                        d.log_index if d.log_index >= 0 else None,
                        at,
                    )
                )
            c.executemany(_INSERT_RECORD, rows)
            self._write_chains(c, chains.chain_rows((d, first_id + i) for i, (d, _) in enumerate(stored)))
            c.executemany(
                "INSERT INTO node_counts (node, outcome, n) VALUES (?,?,?) ON CONFLICT"
                "(node, outcome) DO UPDATE SET n = n + excluded.n",
                [(node, o, n) for o, n in counts.items()],
            )
            c.execute(
                "INSERT INTO nodes (region, name, committed_seq) VALUES (?, '', ?) ON CONFLICT"
                "(region) DO UPDATE SET committed_seq = MAX(committed_seq, excluded.committed_seq)",
                (node, committed_seq),
            )
            if self.stats_hook is not None:  # maintained statistics counters (creditx.gateway.stats)
                self.stats_hook.append(
                    c,
                    node,
                    [
                        (
                            int(d.outcome),
                            d.reason,
                            d.record_type,
                            d.region,
                            rec.payload if rec else None,
                            d.checked.department,  # read by the worker that decoded it
                            d.checked.decided_on,
                        )
                        for d, rec in stored
                    ],
                    at,
                )
            if checkpoint is not None:  # SYNC-064: the batch's outbox-log checkpoint, same transaction
                node_checkpoints.write(c, node, checkpoint, at)
            if lists:  # DIST-001: the list changes the pipeline decided, same transaction
                list_store.write_batch(c, lists, at, audit=leaves is not None)
        if self._checkpointer is not None and self._wal_pages() > CHECKPOINT_WAL_PAGES:
            self._checkpointer.nudge()
        return [out.get(id(d), d) for d, _ in items]

    @staticmethod
    def _write_chains(c, rows: chains.ChainRows) -> None:
        if rows.retire:  # the stored current of a superseded key becomes an older version
            c.executemany(
                "INSERT OR IGNORE INTO older_versions (natural_key, fp) SELECT natural_key, fp FROM current_versions"
                " WHERE natural_key = ? AND fp IS NOT NULL",
                [(k,) for k in rows.retire],
            )
        c.executemany(
            "INSERT INTO current_versions (natural_key, version, record_id, fp, has_older) VALUES (?,?,?,?,?)"
            " ON CONFLICT(natural_key) DO UPDATE SET version=excluded.version, record_id=excluded.record_id,"
            " fp=excluded.fp, has_older=MAX(has_older, excluded.has_older)",
            rows.currents,
        )
        c.executemany("INSERT OR IGNORE INTO older_versions (natural_key, fp) VALUES (?,?)", rows.older)
        c.executemany("UPDATE current_versions SET has_older=1 WHERE natural_key=?", [(k,) for k in rows.flag])

    def latest_checkpoint(self, node: str) -> NodeCheckpoint | None:
        with self._lock:
            return node_checkpoints.latest(self.conn, node)

    def _wal_pages(self) -> int:
        return _wal_bytes(Path(self.conn.execute("PRAGMA database_list").fetchone()[2])) // 4096

    def list_entries(self, entry_ids: Sequence[str]) -> dict[str, tuple[ListEntry, int]]:
        with self._lock:
            return list_store.entry_states(self.conn, entry_ids)

    def list_head(self) -> int:
        with self._lock:
            return list_store.head(self.conn)

    # --- member registry (SEC-038) ---------------------------------------------------------------

    def record_registry(
        self, version: int, sha256_hex: str, envelope: bytes, issued_at: str, expires_at: str, at: str
    ) -> None:
        """Keep a member-registry version the gateway puts in force (SEC-038) and append its audit
        leaf (AUD-007) in the same transaction; idempotent per version. Versions kept before
        leaves existed get theirs here too, in version order."""
        with transaction(self.conn, lock=self._lock) as c:
            c.execute(
                "INSERT INTO registry_versions (version, sha256, issued_at, expires_at, envelope, accepted_at) "
                "VALUES (?,?,?,?,?,?) ON CONFLICT(version) DO NOTHING",
                (version, sha256_hex, issued_at, expires_at, envelope, at),
            )
            for v, sha, iss, exp, acc in c.execute(
                "SELECT version, sha256, issued_at, expires_at, accepted_at FROM registry_versions "
                "WHERE log_index IS NULL ORDER BY version"
            ).fetchall():
                base = append_audit(c, [registry_leaf(v, sha, iss, exp, acc)])  # the one writer (AUD-006)
                c.execute("UPDATE registry_versions SET log_index = ? WHERE version = ?", (base, v))

    def registry_versions(self) -> list[dict]:
        with self._lock:
            cur = self.conn.execute(
                "SELECT version, sha256, issued_at, expires_at, accepted_at, log_index FROM registry_versions "
                "ORDER BY version"
            )
            cols = [c[0] for c in cur.description]
            return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    # --- nodes, keys, status -------------------------------------------------------------------

    def upsert_node(self, region: str, name: str, auth_serial: str, auth_not_after: str, at: str) -> None:
        with transaction(self.conn, lock=self._lock):
            self.conn.execute(
                "INSERT INTO nodes (region, name, auth_serial, auth_not_after, last_seen) VALUES (?,?,?,?,?)"
                " ON CONFLICT(region) DO UPDATE SET name=excluded.name, auth_serial=excluded.auth_serial,"
                " auth_not_after=excluded.auth_not_after, last_seen=excluded.last_seen",
                (region, name, auth_serial, auth_not_after, at),
            )

    def add_signing_cert(self, cert: SigningCert, at: str) -> None:
        with transaction(self.conn, lock=self._lock):
            self.conn.execute(
                "INSERT OR IGNORE INTO signing_certs (keyid, region, serial, not_after, cert_der,"
                " registered_at) VALUES (?,?,?,?,?,?)",
                (cert.keyid, cert.region, cert.serial, cert.not_after, cert.cert_der, at),
            )

    def signing_certs(self, region: str | None = None) -> list[SigningCert]:
        q = "SELECT keyid, region, serial, not_after, cert_der FROM signing_certs"
        args: tuple = ()
        if region is not None:
            q, args = q + " WHERE region=?", (region,)
        with self._lock:
            return [SigningCert(*r) for r in self.conn.execute(q + " ORDER BY not_after", args)]

    def heartbeat(self, region: str, backlog: int, last_source_seq: int, at: str) -> None:
        with transaction(self.conn, lock=self._lock):
            self.conn.execute(
                "INSERT INTO nodes (region, name, backlog, last_source_seq, last_seen)"
                " VALUES (?, '', ?, ?, ?) ON CONFLICT(region) DO UPDATE SET"
                " backlog=excluded.backlog, last_source_seq=excluded.last_source_seq,"
                " last_seen=excluded.last_seen",
                (region, backlog, last_source_seq, at),
            )

    def report_backlog(self, region: str, backlog: int, at: str) -> None:
        with transaction(self.conn, lock=self._lock):
            self.conn.execute("UPDATE nodes SET backlog=?, last_seen=? WHERE region=?", (backlog, at, region))

    def nodes(self, recent: int = 500) -> list[NodeRow]:
        out = []
        with self._lock:
            for r in self.conn.execute(
                "SELECT region, name, committed_seq, last_seen, backlog, last_source_seq,"
                " auth_serial, auth_not_after FROM nodes ORDER BY region"
            ).fetchall():
                counts = {
                    Outcome(o).name: n
                    for o, n in self.conn.execute("SELECT outcome, n FROM node_counts WHERE node=?", (r[0],))
                }
                reasons = self.conn.execute(
                    "SELECT reason, COUNT(*) c FROM (SELECT reason FROM records WHERE node=? AND outcome=4"
                    " ORDER BY source_seq DESC LIMIT ?) GROUP BY reason ORDER BY c DESC, reason LIMIT 5",
                    (r[0], recent),
                ).fetchall()
                out.append(
                    NodeRow(
                        r[0],
                        r[1] or "",
                        r[2] or 0,
                        r[3] or "",
                        r[4] or 0,
                        r[5] or 0,
                        r[6] or "",
                        r[7] or "",
                        counts,
                        [(a, b) for a, b in reasons],
                    )
                )
        return out

    def find_records(
        self,
        *,
        region: str = "",
        record_type: str = "",
        natural_key: str = "",
        fingerprint: bytes = b"",
        after_id: int = 0,
        limit: int = 100,
    ) -> list[dict]:
        where: list[str] = ["id > ?"]
        args: list[object] = [after_id]
        for col, val in (("region", region), ("type", record_type), ("natural_key", natural_key), ("fp", fingerprint)):
            if val:
                where.append(f"{col} = ?")
                args.append(val)
        with self._lock:
            cur = self.conn.execute(
                "SELECT id, node, source_seq, outcome, reason, requirement, field, fp, natural_key, version,"
                " type, region, op, current, log_index, received_at, payload FROM records WHERE "
                + " AND ".join(where)
                + " ORDER BY id LIMIT ?",
                (*args, limit),
            )
            cols = [c[0] for c in cur.description]
            return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    def audit_size(self) -> int:
        with self._lock:
            # Leaves are gap-free from 0 (AUD-006): the size is one primary-key look-up, not a
            # COUNT(*) over every leaf on each metrics scrape.
            return self.conn.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_leaves").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self.conn.close()
        if self._checkpointer is not None:  # the last connection to close checkpoints the WAL itself
            self._checkpointer.stop()
            self._checkpointer = None
