"""The hall tables in the node's ``node.db`` (node migration 5, HALL-0xx).

Tables (:func:`migration_5`):

* ``hall_tokens`` — per-department bearer tokens the operator issues; only SHA-256 of the token
  is stored, so a copy of node.db does not let anyone call the hall API.
* ``hall_subjects`` — subject index of the node's OWN penalties and licences (outbox records):
  ``U:``USCC / ``R:``注册号 / ``P:``keyed hash → source_seq. Built after intake by
  :meth:`HallStore.index_outbox` from a cursor; a natural person's number is only ever hashed.
* ``hall_objections`` — 异议 status per own record (source_id).
* ``hall_actions`` — department action reports, keyed by report_id: ``INSERT OR IGNORE``
  keeps each exactly once (HALL-031); ``forwarded_at`` is set once the gateway acknowledged it.
* ``hall_counters`` — cumulative checks and hits per (department, list type).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlite_utils

from creditx.standard.errors import InputError
from creditx.standard.identifiers import USCC_PLACEHOLDER, normalise
from creditx.standard.natural_key import person_subject_id
from creditx.standard.publication import published_fields
from creditx.standard.record import RecordError, decode_record

if TYPE_CHECKING:
    from creditx.node.store import NodeStore

INDEX_CURSOR = "hall_indexed_seq"
OBJECTION_STATES = ("异议处理中", "异议成立", "异议不成立")


def migration_5(db: sqlite_utils.Database) -> None:
    """Hall tables (appended to creditx.node.store.MIGRATIONS; never edit, append a new one)."""
    db.execute(
        "CREATE TABLE hall_tokens(token_id TEXT PRIMARY KEY, sha256 BLOB NOT NULL UNIQUE,"
        " department TEXT NOT NULL, name TEXT NOT NULL, created_at REAL NOT NULL, revoked_at REAL)"
    )
    db.execute(
        "CREATE TABLE hall_subjects(subject TEXT NOT NULL, source_seq INTEGER NOT NULL,"
        " PRIMARY KEY(subject, source_seq)) WITHOUT ROWID"
    )
    db.execute(
        "CREATE TABLE hall_objections(source_id TEXT PRIMARY KEY, status TEXT NOT NULL, updated_at REAL NOT NULL)"
    )
    db.execute(
        "CREATE TABLE hall_actions(report_id TEXT PRIMARY KEY, department TEXT NOT NULL, check_id TEXT NOT NULL,"
        " action TEXT NOT NULL, measure_id TEXT NOT NULL, list_types TEXT NOT NULL, envelope TEXT NOT NULL,"
        " certificate BLOB NOT NULL, received_at REAL NOT NULL, forwarded_at REAL, gateway_result TEXT)"
    )
    db.execute("CREATE INDEX hall_actions_unforwarded ON hall_actions(received_at) WHERE forwarded_at IS NULL")
    db.execute(
        "CREATE TABLE hall_counters(department TEXT NOT NULL, list_type TEXT NOT NULL, checks INTEGER NOT NULL,"
        " hits INTEGER NOT NULL, PRIMARY KEY(department, list_type)) WITHOUT ROWID"
    )


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


@dataclass(frozen=True)
class TokenRow:
    token_id: str
    department: str
    name: str
    created_at: float
    revoked_at: float | None


@dataclass(frozen=True)
class OwnRecordRow:
    type: str
    source_id: str
    version: int
    fields: Mapping[str, str]
    objection: str
    outcome: str


def record_subjects(record_type: str, fields: Mapping[str, str], subject_key: bytes) -> set[str]:
    """The subject keys of an own XZCF/XZXK record (the same key forms as the replica's index)."""
    p = "CF_" if record_type == "XZCF" else "XK_"
    keys: set[str] = set()
    uscc = normalise(fields.get(p + "XDR_SHXYM", ""))
    if uscc and uscc != USCC_PLACEHOLDER:
        keys.add("U:" + uscc)
    if fields.get(p + "XDR_GSZC", "").strip():
        keys.add("R:" + normalise(fields[p + "XDR_GSZC"]))
    if fields.get(p + "XDR_ZJHM", "").strip() and fields.get(p + "XDR_ZJLX", "").strip():
        keys.add(person_subject_id(fields[p + "XDR_ZJLX"], fields[p + "XDR_ZJHM"], subject_key))
    return keys


class HallStore:
    def __init__(self, store: NodeStore, subject_key: bytes, *, clock=time.time) -> None:
        self.store, self.conn, self.key, self.clock = store, store.conn, subject_key, clock

    # --- tokens -------------------------------------------------------------------------------

    def issue_token(self, department: str, name: str) -> tuple[str, str]:
        """A new token for ``department``: (token_id, token). The token is shown once."""
        token_id, token = secrets.token_hex(4), "cxh_" + secrets.token_urlsafe(32)
        with self.store.transaction():
            self.conn.execute(
                "INSERT INTO hall_tokens VALUES (?,?,?,?,?,NULL)",
                (token_id, token_digest(token), department, name, self.clock()),
            )
        return token_id, token

    def tokens(self) -> list[TokenRow]:
        return [
            TokenRow(*r)
            for r in self.conn.execute(
                "SELECT token_id, department, name, created_at, revoked_at FROM hall_tokens ORDER BY created_at"
            )
        ]

    def revoke_token(self, token_id: str) -> None:
        with self.store.transaction():
            n = self.conn.execute(
                "UPDATE hall_tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL",
                (self.clock(), token_id),
            ).rowcount
        if not n:
            raise InputError(f"no active token {token_id!r} [HALL-003]", hint="see: creditx node tokens list")

    def token_owner(self, token: str) -> TokenRow | None:
        """The active token's row (per HTTP call: on a pooled read-only connection)."""
        with self.store.readers.borrow() as conn:
            r = conn.execute(
                "SELECT token_id, department, name, created_at, revoked_at FROM hall_tokens "
                "WHERE sha256 = ? AND revoked_at IS NULL",
                (token_digest(token),),
            ).fetchone()
        return TokenRow(*r) if r else None

    # --- own records --------------------------------------------------------------------------

    def index_outbox(self, limit: int = 5000) -> int:
        """Index own XZCF/XZXK records accepted into the outbox since the cursor; returns how many."""
        st = self.store.get_state()
        cursor = int(st.get(INDEX_CURSOR, 0))  # type: ignore[call-overload]
        rows = self.conn.execute(
            "SELECT source_seq, type, payload FROM outbox WHERE source_seq > ? ORDER BY source_seq LIMIT ?",
            (cursor, limit),
        ).fetchall()
        if not rows:
            return 0
        pairs = []
        for seq, rtype, payload in rows:
            if rtype not in ("XZCF", "XZXK"):
                continue
            try:
                rec = decode_record(bytes(payload))
            except RecordError:
                continue
            pairs += [(k, seq) for k in record_subjects(rtype, rec.fields, self.key)]
        with self.store.transaction():
            self.conn.executemany("INSERT OR IGNORE INTO hall_subjects VALUES (?,?)", pairs)
            self.conn.execute(
                "INSERT OR REPLACE INTO sync_state(key, value) VALUES (?, ?)", (INDEX_CURSOR, json.dumps(rows[-1][0]))
            )
        return len(rows)

    def own_records(self, subject: str) -> list[OwnRecordRow]:
        """The latest version of each own record about ``subject`` (revoked ones left out)."""
        return self.own_records_many((subject,)).get(subject, [])

    def own_records_many(self, subjects: Sequence[str]) -> dict[str, list[OwnRecordRow]]:
        """:meth:`own_records` of many subjects with one statement per 500 subjects, on a pooled
        read-only connection (the hall check's threads); subjects without records are absent."""
        rows: dict[str, list[tuple[bytes, str | None]]] = {}
        keys = list(dict.fromkeys(subjects))
        with self.store.readers.borrow() as conn:
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                for subject, payload, outcome in conn.execute(
                    "SELECT s.subject, o.payload, a.outcome FROM hall_subjects s JOIN outbox o"
                    " ON o.source_seq = s.source_seq LEFT JOIN outbox_acks a ON a.source_seq = s.source_seq"
                    " WHERE s.subject IN ({}) ORDER BY o.source_seq".format(",".join("?" * len(chunk))),
                    chunk,
                ):
                    rows.setdefault(subject, []).append((bytes(payload), outcome))
            if not rows:
                return {}
            latest_of: dict[str, dict[str, tuple]] = {}
            for subject, found in rows.items():
                latest: dict[str, tuple] = {}
                for payload, outcome in found:
                    rec = decode_record(payload)
                    latest[rec.source_id] = (rec, outcome)
                latest_of[subject] = latest
            ids = sorted({sid for latest in latest_of.values() for sid in latest})
            objections: dict[str, str] = {}
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                objections.update(
                    conn.execute(
                        "SELECT source_id, status FROM hall_objections WHERE source_id IN ({})".format(
                            ",".join("?" * len(chunk))
                        ),
                        chunk,
                    )
                )
        out: dict[str, list[OwnRecordRow]] = {}
        for subject, latest in latest_of.items():
            found_rows = [
                # REC-PII-01…03: what a hall answers or a credit report prints is the published form
                OwnRecordRow(
                    r.type, r.source_id, r.version, published_fields(r.fields), objections.get(r.source_id, ""), o or ""
                )
                for r, o in latest.values()
                if r.op != "D"
            ]
            out[subject] = sorted(
                found_rows,
                key=lambda r: (r.type, r.fields.get("CF_JDRQ") or r.fields.get("XK_JDRQ") or "", r.source_id),
                reverse=True,
            )
        return out

    def set_objection(self, source_id: str, status: str) -> None:
        if status not in OBJECTION_STATES + ("",):
            raise InputError(
                f"objection status {status!r} is not one of {', '.join(OBJECTION_STATES)} [HALL-012]",
                hint="give an empty status to clear it",
            )
        with self.store.transaction():
            if not self.conn.execute("SELECT 1 FROM outbox WHERE source_id = ? LIMIT 1", (source_id,)).fetchone():
                raise InputError(
                    f"no own record with source_id {source_id!r} [HALL-012]",
                    hint="objections are recorded against this node's own penalties and licences",
                )
            if status:
                self.conn.execute(
                    "INSERT OR REPLACE INTO hall_objections VALUES (?,?,?)", (source_id, status, self.clock())
                )
            else:
                self.conn.execute("DELETE FROM hall_objections WHERE source_id = ?", (source_id,))

    # --- actions ------------------------------------------------------------------------------

    def keep_action(
        self,
        report_id: str,
        department: str,
        check_id: str,
        action: str,
        measure_id: str,
        list_types: Sequence[str],
        envelope_json: str,
        certificate: bytes,
    ) -> bool:
        """HALL-031: store the report once; False if this report_id was already kept."""
        with self.store.transaction():
            cur = self.conn.execute(
                "INSERT OR IGNORE INTO hall_actions(report_id, department, check_id, action, measure_id, list_types,"
                " envelope, certificate, received_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    report_id,
                    department,
                    check_id,
                    action,
                    measure_id,
                    ",".join(list_types),
                    envelope_json,
                    certificate,
                    self.clock(),
                ),
            )
        return cur.rowcount == 1

    def unforwarded(self, limit: int) -> list[tuple[str, str, bytes]]:
        return [
            (r, e, bytes(c))
            for r, e, c in self.conn.execute(
                "SELECT report_id, envelope, certificate FROM hall_actions WHERE forwarded_at IS NULL "
                "ORDER BY received_at LIMIT ?",
                (limit,),
            )
        ]

    def mark_forwarded(self, results: Mapping[str, str]) -> None:
        with self.store.transaction():
            self.conn.executemany(
                "UPDATE hall_actions SET forwarded_at = ?, gateway_result = ? WHERE report_id = ?",
                [(self.clock(), v, k) for k, v in results.items()],
            )

    def action_counts(self) -> dict[str, int]:
        total, pending = self.conn.execute(
            "SELECT COUNT(*), COUNT(*) - COUNT(forwarded_at) FROM hall_actions"
        ).fetchone()
        return {"kept": total, "unforwarded": pending}

    # --- counters -----------------------------------------------------------------------------

    def add_counts(self, deltas: Mapping[tuple[str, str], tuple[int, int]]) -> None:
        if not deltas:
            return
        with self.store.transaction():
            self.conn.executemany(
                "INSERT INTO hall_counters VALUES (?,?,?,?) ON CONFLICT(department, list_type) DO UPDATE SET "
                "checks = checks + excluded.checks, hits = hits + excluded.hits",
                [(d, lt, c, h) for (d, lt), (c, h) in deltas.items()],
            )

    def counters(self) -> list[tuple[str, str, int, int]]:
        return list(
            self.conn.execute(
                "SELECT department, list_type, checks, hits FROM hall_counters ORDER BY department, list_type"
            )
        )
