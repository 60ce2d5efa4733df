"""PostgreSQL implementation of :class:`creditx.gateway.store.base.GatewayStore` (psycopg 3).

The same contract as :class:`creditx.gateway.store.sqlite.SqliteStore`, for a province that
outgrows one SQLite file. One connection (autocommit; every write is an explicit transaction),
used from gRPC handler threads under one lock. :meth:`PostgresStore.commit_batch` is one
transaction: the records go in with ``COPY`` (the bulk path), the audit leaves, counters,
current versions and list changes with pipelined ``executemany``; range partitions of the
audit and list logs are created ahead of the writer (``pg_migrations.ensure_range_partitions``).

The audit-log and list-log functions (``creditx.gateway.audit.log``, ``creditx.gateway.lists.store``)
are written once, in portable SQL with ``?`` placeholders; :class:`QmarkConnection` lets them run
on this connection, so each of those rules exists once for both stores.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg

from creditx.gateway.audit.leaves import registry_leaf
from creditx.gateway.audit.log import append_audit
from creditx.gateway.audit.log import frontier as audit_frontier
from creditx.gateway.ingest.reasons import Outcome
from creditx.gateway.ingest.values import Decision, IncomingRecord
from creditx.gateway.lists import store as list_store
from creditx.gateway.lists.changes import ListBatch
from creditx.gateway.store import chains, node_checkpoints, pg_migrations
from creditx.gateway.store.base import NodeRow, SigningCert
from creditx.gateway.store.engine import transaction
from creditx.gateway.store.node_checkpoints import NodeCheckpoint
from creditx.gateway.store.sqlite import _DECISION_COLS, _row_to_decision, _signatures_json
from creditx.standard.lists.lifecycle import ListEntry
from creditx.standard.merkle import CompactRange

if TYPE_CHECKING:
    from creditx.gateway.stats import StatsHook

_RECORD_COLS = (
    "id",
    "node",
    "source_seq",
    "payload_sha",
    "payload_type",
    "payload",
    "signatures",
    "outcome",
    "reason",
    "requirement",
    "field",
    "message",
    "fp",
    "natural_key",
    "version",
    "type",
    "region",
    "op",
    "keyid",
    "current",
    "log_index",
    "received_at",
)


_names = itertools.count()
_PLAIN_INSERT = re.compile(r"INSERT INTO (\w+) \(([\w, ]+)\) VALUES \((?:\?,?\s*)+\)")


def _qmark(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


class QmarkConnection:
    """The slice of ``sqlite3.Connection`` the shared log functions use (``execute`` returning a
    cursor, ``executemany``), over a psycopg connection, with ``?`` placeholders."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor:
        return self.conn.execute(_qmark(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if not rows:
            return
        with self.conn.cursor() as cur:
            plain = _PLAIN_INSERT.fullmatch(sql)
            if plain:  # a plain multi-row insert goes in as COPY (the bulk path)
                with cur.copy(f"COPY {plain[1]} ({plain[2]}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cur.executemany(_qmark(sql), rows)  # psycopg pipelines executemany (one round trip)

    def cursor(self) -> QmarkConnection:
        return self

    def stream(self, sql: str, params: Sequence[Any] = ()) -> psycopg.ServerCursor:
        """A server-side cursor (inside the caller's open transaction)."""
        cur = self.conn.cursor(name=f"stream_{id(self):x}_{next(_names)}")
        cur.itersize = 2000
        cur.execute(_qmark(sql), tuple(params))
        return cur

    def close(self) -> None:
        self.conn.close()


class PostgresStore:
    stats_hook: StatsHook | None = (
        None  # creditx.gateway.stats.StatsHook: statistics counters kept in the batch's transaction
    )

    def __init__(self, url: str, *, now: str = "") -> None:
        self.url = url
        self.conn = psycopg.connect(url, autocommit=True)
        self.q = QmarkConnection(self.conn)
        self._lock = threading.RLock()
        pg_migrations.migrate(self.conn, now=now)
        self._leaf_bound = self._list_bound = -1  # highest key the existing partitions cover

    @contextmanager
    def _tx(self) -> Iterator[psycopg.Connection]:
        """A write transaction, serialised with every other writer (``engine.WRITE_LOCK``)."""
        with transaction(self.q, lock=self._lock):
            yield self.conn

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._lock:
            return self.conn.execute(sql, tuple(params)).fetchone()

    # --- lookups used by the pure rules ---------------------------------------------------------
    # The bulk look-ups probe the index once per key (a LATERAL ... LIMIT 1 keeps the planner from a
    # hash join over every partition), so their cost follows log(size), never the size itself.

    def committed_seq(self, node: str) -> int:
        row = self._one("SELECT committed_seq FROM nodes WHERE region = %s", (node,))
        return row[0] if row else 0

    def decision_for(self, node: str, seq: int) -> Decision | None:
        row = self._one(f"SELECT {_DECISION_COLS} FROM records WHERE node = %s AND source_seq = %s", (node, seq))
        return _row_to_decision(row) if row else None

    def fingerprint_stored(self, fp: bytes) -> bool:
        return bool(self.stored_fingerprints([fp]))

    def current_version(self, natural_key: str) -> int | None:
        row = self._one("SELECT version FROM current_versions WHERE natural_key = %s", (natural_key,))
        return row[0] if row else None

    def stored_fingerprints(self, fps: Sequence[bytes]) -> set[bytes]:
        with self._lock:
            return {
                r[0]
                for r in self.conn.execute(
                    "SELECT fp FROM current_versions WHERE fp = ANY(%s::bytea[])"
                    " UNION SELECT fp FROM older_versions WHERE fp = ANY(%s::bytea[])",
                    (list(dict.fromkeys(fps)),) * 2,
                )
            }

    def current_versions(self, keys: Sequence[str]) -> dict[str, int]:
        with self._lock:
            return dict(
                self.conn.execute(
                    "SELECT c.natural_key, c.version FROM unnest(%s::text[]) k(nk) CROSS JOIN LATERAL"
                    " (SELECT natural_key, version FROM current_versions WHERE natural_key = k.nk LIMIT 1) c",
                    (list(dict.fromkeys(keys)),),
                ).fetchall()
            )

    def known_content(self, pairs: Sequence[tuple[str, bytes]]) -> tuple[set[bytes], dict[str, int]]:
        keys = list(dict.fromkeys(k for k, _ in pairs))
        with self._lock:
            rows = {
                r[0]: r[1:]
                for r in self.conn.execute(
                    "SELECT c.natural_key, c.version, c.fp, c.has_older FROM unnest(%s::text[]) k(nk) CROSS JOIN"
                    " LATERAL (SELECT natural_key, version, fp, has_older FROM current_versions"
                    " WHERE natural_key = k.nk LIMIT 1) c",
                    (keys,),
                )
            }
            todo = chains.probes(pairs, rows)
            hits = (
                [
                    r[0]
                    for r in self.conn.execute(
                        "SELECT o.fp FROM unnest(%s::text[], %s::bytea[]) k(nk, fp) CROSS JOIN LATERAL"
                        " (SELECT fp FROM older_versions WHERE natural_key = k.nk AND fp = k.fp LIMIT 1) o",
                        ([k for k, _ in todo], [fp for _, fp in todo]),
                    )
                ]
                if todo
                else []
            )
        return chains.known(pairs, rows, hits)

    # --- the hot path --------------------------------------------------------------------------

    def _ensure_partitions(self, c: psycopg.Connection, leaves_upto: int, list_upto: int) -> None:
        if leaves_upto > self._leaf_bound:
            pg_migrations.ensure_range_partitions(c, "audit_leaves", leaves_upto)
            self._leaf_bound = (leaves_upto // pg_migrations.LEAF_RANGE + 2) * pg_migrations.LEAF_RANGE - 1
        if list_upto > self._list_bound:
            for table in ("list_log", "list_snap_sizes"):
                pg_migrations.ensure_range_partitions(c, table, list_upto)
            self._list_bound = (list_upto // pg_migrations.LIST_RANGE + 2) * pg_migrations.LIST_RANGE - 1

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
        with self._tx() as c:
            if leaves is not None and len(leaves) != len(stored):
                raise ValueError("one audit leaf per stored decision (SYNC-031)")
            n_list = len(lists.changes) if lists else 0
            size = list_store.frontier(self.q).size if n_list else 0
            tree = audit_frontier(self.q)
            self._ensure_partitions(c, tree.size + len(stored) + n_list, size + n_list)
            if leaves is not None:
                base = append_audit(self.q, leaves)  # AUD-006: leaves and tree state, same transaction
                for i, (d, _) in enumerate(stored):
                    out[id(d)] = d.with_log_index(base + i)
            ids = (
                [
                    r[0]
                    for r in c.execute("SELECT nextval('records_id_seq') FROM generate_series(1, %s)", (len(stored),))
                ]
                if stored
                else []
            )
            counts: dict[int, int] = {}
            with c.cursor() as cur, cur.copy(f"COPY records ({', '.join(_RECORD_COLS)}) FROM STDIN") as copy:
                for rid, (d, rec) in zip(ids, stored, strict=True):
                    d = out.get(id(d), d)
                    outcome = int(d.outcome)
                    counts[outcome] = counts.get(outcome, 0) + 1
                    copy.write_row(
                        (
                            rid,
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
            self._write_chains(c, chains.chain_rows(zip((d for d, _ in stored), ids, strict=True)))
            self.q.executemany(
                "INSERT INTO node_counts (node, outcome, n) VALUES (?,?,?) ON CONFLICT (node, outcome)"
                " DO UPDATE SET n = node_counts.n + excluded.n",
                [(node, o, n) for o, n in counts.items()],
            )
            c.execute(
                "INSERT INTO nodes (region, name, committed_seq) VALUES (%s, '', %s) ON CONFLICT (region)"
                " DO UPDATE SET committed_seq = GREATEST(nodes.committed_seq, excluded.committed_seq)",
                (node, committed_seq),
            )
            if self.stats_hook is not None:  # maintained statistics counters (creditx.gateway.stats)
                self.stats_hook.append(
                    self.q,
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
                node_checkpoints.write(self.q, node, checkpoint, at)
            if lists:  # DIST-001: the list changes the pipeline decided, same transaction
                list_store.write_batch(self.q, lists, at, audit=leaves is not None)
        return [out.get(id(d), d) for d, _ in items]

    @staticmethod
    def _write_chains(c: psycopg.Connection, rows: chains.ChainRows) -> None:
        """The batch's chain rows (``chains``), one statement each: arrays, not a statement per row."""
        if rows.retire:  # the stored current of a superseded key becomes an older version
            c.execute(
                "INSERT INTO older_versions (natural_key, fp) SELECT natural_key, fp FROM current_versions"
                " WHERE natural_key = ANY(%s::text[]) AND fp IS NOT NULL ON CONFLICT DO NOTHING",
                (rows.retire,),
            )
        if rows.currents:
            keys, versions, rids, fps, older = zip(*rows.currents, strict=True)
            c.execute(
                "INSERT INTO current_versions (natural_key, version, record_id, fp, has_older)"
                " SELECT * FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::bytea[], %s::smallint[])"
                " ON CONFLICT (natural_key) DO UPDATE SET version = excluded.version, record_id = excluded.record_id,"
                " fp = excluded.fp, has_older = GREATEST(current_versions.has_older, excluded.has_older)",
                (list(keys), list(versions), list(rids), list(fps), list(older)),
            )
        if rows.older:
            c.execute(
                "INSERT INTO older_versions (natural_key, fp) SELECT * FROM unnest(%s::text[], %s::bytea[])"
                " ON CONFLICT DO NOTHING",
                ([k for k, _ in rows.older], [fp for _, fp in rows.older]),
            )
        if rows.flag:
            c.execute("UPDATE current_versions SET has_older = 1 WHERE natural_key = ANY(%s::text[])", (rows.flag,))

    def latest_checkpoint(self, node: str) -> NodeCheckpoint | None:
        with self._lock:
            return node_checkpoints.latest(self.q, node)

    def list_entries(self, entry_ids: Sequence[str]) -> dict[str, tuple[ListEntry, int]]:
        with self._lock:
            return list_store.entry_states(self.q, entry_ids)

    def list_head(self) -> int:
        with self._lock:
            return list_store.head(self.q)

    # --- member registry (SEC-038) ---------------------------------------------------------------

    def record_registry(
        self, version: int, sha256_hex: str, envelope: bytes, issued_at: str, expires_at: str, at: str
    ) -> None:
        """Keep a member-registry version the gateway puts in force (SEC-038) and append its audit
        leaf (AUD-007) in the same transaction, as the SQLite store."""
        with self._tx() as c:
            c.execute(
                "INSERT INTO registry_versions (version, sha256, issued_at, expires_at, envelope, accepted_at) "
                "VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT (version) DO NOTHING",
                (version, sha256_hex, issued_at, expires_at, envelope, at),
            )
            todo = c.execute(
                "SELECT version, sha256, issued_at, expires_at, accepted_at FROM registry_versions "
                "WHERE log_index IS NULL ORDER BY version"
            ).fetchall()
            if todo:
                self._ensure_partitions(c, audit_frontier(self.q).size + len(todo), 0)
            for v, sha, iss, exp, acc in todo:
                base = append_audit(self.q, [registry_leaf(v, sha, iss, exp, acc)])  # the one writer (AUD-006)
                c.execute("UPDATE registry_versions SET log_index = %s WHERE version = %s", (base, v))

    def registry_versions(self) -> list[dict]:
        with self._lock:
            cur = self.conn.execute(
                "SELECT version, sha256, issued_at, expires_at, accepted_at, log_index FROM registry_versions "
                "ORDER BY version"
            )
            cols = [c[0] for c in cur.description or ()]
            return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    # --- nodes, keys, status -------------------------------------------------------------------

    def upsert_node(self, region: str, name: str, auth_serial: str, auth_not_after: str, at: str) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT INTO nodes (region, name, auth_serial, auth_not_after, last_seen) VALUES (%s,%s,%s,%s,%s)"
                " ON CONFLICT (region) DO UPDATE SET name = excluded.name, auth_serial = excluded.auth_serial,"
                " auth_not_after = excluded.auth_not_after, last_seen = excluded.last_seen",
                (region, name, auth_serial, auth_not_after, at),
            )

    def add_signing_cert(self, cert: SigningCert, at: str) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT INTO signing_certs (keyid, region, serial, not_after, cert_der, registered_at)"
                " VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT (keyid) DO NOTHING",
                (cert.keyid, cert.region, cert.serial, cert.not_after, cert.cert_der, at),
            )

    def signing_certs(self, region: str | None = None) -> list[SigningCert]:
        q = "SELECT keyid, region, serial, not_after, cert_der FROM signing_certs"
        args: tuple = ()
        if region is not None:
            q, args = q + " WHERE region = %s", (region,)
        with self._lock:
            return [SigningCert(*r) for r in self.conn.execute(q + " ORDER BY not_after", args)]

    def heartbeat(self, region: str, backlog: int, last_source_seq: int, at: str) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT INTO nodes (region, name, backlog, last_source_seq, last_seen) VALUES (%s, '', %s, %s, %s)"
                " ON CONFLICT (region) DO UPDATE SET backlog = excluded.backlog,"
                " last_source_seq = excluded.last_source_seq, last_seen = excluded.last_seen",
                (region, backlog, last_source_seq, at),
            )

    def report_backlog(self, region: str, backlog: int, at: str) -> None:
        with self._tx() as c:
            c.execute("UPDATE nodes SET backlog = %s, last_seen = %s WHERE region = %s", (backlog, at, region))

    def nodes(self, recent: int = 500) -> list[NodeRow]:
        out = []
        with self._lock:
            for r in self.conn.execute(
                "SELECT region, name, committed_seq, last_seen, backlog, last_source_seq,"
                " auth_serial, auth_not_after FROM nodes ORDER BY region"
            ).fetchall():
                counts = {
                    Outcome(o).name: n
                    for o, n in self.conn.execute("SELECT outcome, n FROM node_counts WHERE node = %s", (r[0],))
                }
                reasons = self.conn.execute(
                    "SELECT reason, COUNT(*) c FROM (SELECT reason FROM records WHERE node = %s AND outcome = 4"
                    " ORDER BY source_seq DESC LIMIT %s) t GROUP BY reason ORDER BY c DESC, reason LIMIT 5",
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
        where: list[str] = ["id > %s"]
        args: list[object] = [after_id]
        for col, val in (("region", region), ("type", record_type), ("natural_key", natural_key), ("fp", fingerprint)):
            if val:
                where.append(f"{col} = %s")
                args.append(val)
        with self._lock:
            cur = self.conn.execute(
                "SELECT id, node, source_seq, outcome, reason, requirement, field, fp, natural_key, version,"
                " type, region, op, current, log_index, received_at, payload FROM records WHERE "
                + " AND ".join(where)
                + " ORDER BY id LIMIT %s",
                (*args, limit),
            )
            cols = [c.name for c in cur.description or ()]
            return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    def audit_size(self) -> int:
        row = self._one("SELECT frontier FROM audit_tree WHERE id = 1")
        return CompactRange.from_bytes(row[0]).size

    def close(self) -> None:
        with self._lock:
            self.conn.close()
