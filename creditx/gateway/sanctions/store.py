"""Action reports and check counters in the gateway database (gateway migration 8, HALL-041).

* ``sanction_actions`` — one row per (node, report_id): the primary key keeps every report
  exactly once however often a node forwards it; each stored report gets one audit leaf
  (AUD-005 style, ``kind`` "action") in the same transaction, through the audit log writer
  (:func:`creditx.gateway.audit.log.append_leaves`).
* ``sanction_checks`` — each node's cumulative checks and hits per (department, list type),
  replaced by the node's newer absolute values (a repeated report changes nothing).

Plain SQL DDL, so that it ports to PostgreSQL.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from creditx.gateway.audit.log import append_audit
from creditx.gateway.store.engine import transaction
from creditx.standard.canonical import canonicalize
from creditx.standard.merkle import leaf_hash

DDL = (
    "CREATE TABLE sanction_actions (node TEXT NOT NULL, report_id TEXT NOT NULL, department TEXT NOT NULL,"
    " check_id TEXT NOT NULL, matter TEXT NOT NULL, measure_id TEXT NOT NULL, list_types TEXT NOT NULL,"
    " action TEXT NOT NULL, reason TEXT NOT NULL, reported_at TEXT NOT NULL, payload BLOB NOT NULL,"
    " signatures TEXT NOT NULL, certificate BLOB NOT NULL, signer_serial TEXT NOT NULL, received_at TEXT NOT NULL,"
    " audit_idx INTEGER, PRIMARY KEY (node, report_id))",
    "CREATE INDEX sanction_actions_measure ON sanction_actions (measure_id)",
    "CREATE TABLE sanction_checks (node TEXT NOT NULL, department TEXT NOT NULL, list_type TEXT NOT NULL,"
    " checks INTEGER NOT NULL, hits INTEGER NOT NULL, updated_at TEXT NOT NULL,"
    " PRIMARY KEY (node, department, list_type))",
)


def create_tables(conn: sqlite3.Connection) -> None:
    for stmt in DDL:
        conn.execute(stmt)


@dataclass(frozen=True)
class ActionRow:
    node: str
    report_id: str
    department: str
    check_id: str
    matter: str
    measure_id: str
    list_types: tuple[str, ...]
    action: str
    reason: str
    reported_at: str
    payload: bytes
    signatures: str
    certificate: bytes
    signer_serial: str


def action_leaf(row: ActionRow, at: str) -> bytes:
    """The audit leaf of a stored report: canonical JSON naming node, report and payload hash."""
    return canonicalize(
        {
            "kind": "action",
            "node": row.node,
            "report": row.report_id,
            "fp": hashlib.sha256(row.payload).hexdigest(),
            "action": row.action,
            "measure": row.measure_id,
            "at": at,
        }
    )


def store_actions(
    conn: sqlite3.Connection,
    rows: Sequence[ActionRow],
    counters: Sequence[tuple[str, str, int, int]],
    node: str,
    at: str,
    *,
    audit: bool = True,
) -> tuple[list[str], list[str]]:
    """Store new reports (one audit leaf each) and the node's counters in ONE transaction;
    returns (stored report_ids, duplicate report_ids)."""
    stored, dups = [], []
    with transaction(conn):  # either engine: one write transaction
        leaves = []
        for r in rows:
            cur = conn.execute(
                "INSERT INTO sanction_actions (node, report_id, department, check_id, matter, measure_id, list_types,"
                " action, reason, reported_at, payload, signatures, certificate, signer_serial, received_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (node, report_id) DO NOTHING",
                (
                    r.node,
                    r.report_id,
                    r.department,
                    r.check_id,
                    r.matter,
                    r.measure_id,
                    ",".join(r.list_types),
                    r.action,
                    r.reason,
                    r.reported_at,
                    r.payload,
                    r.signatures,
                    r.certificate,
                    r.signer_serial,
                    at,
                ),
            )
            if cur.rowcount == 1:
                stored.append(r.report_id)
                data = action_leaf(r, at)
                leaves.append((r.report_id, data, leaf_hash(data)))
            else:
                dups.append(r.report_id)
        if audit and leaves:
            base = append_audit(conn, [(d, h) for _, d, h in leaves])  # the one audit-leaf writer (AUD-006)
            conn.executemany(
                "UPDATE sanction_actions SET audit_idx = ? WHERE node = ? AND report_id = ?",
                [(base + i, node, rid) for i, (rid, _, _) in enumerate(leaves)],
            )
        conn.executemany(
            "INSERT INTO sanction_checks (node, department, list_type, checks, hits, updated_at) VALUES (?,?,?,?,?,?)"
            " ON CONFLICT (node, department, list_type) DO UPDATE SET"
            " checks = CASE WHEN excluded.checks > sanction_checks.checks THEN excluded.checks"
            " ELSE sanction_checks.checks END,"
            " hits = CASE WHEN excluded.hits > sanction_checks.hits THEN excluded.hits ELSE sanction_checks.hits END,"
            " updated_at = excluded.updated_at",
            [(node, d, lt, c, h, at) for d, lt, c, h in counters],
        )
    return stored, dups
