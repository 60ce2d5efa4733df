"""The node as a witness of the gateway's audit log: stored checkpoints and receipt checks.

Keeps ``DIR/receipts.db`` (its own file, apart from the outbox): every signed checkpoint the
node verified, and every alarm. Rules (standard chapter 06):

* AUD-026: a checkpoint counts only if the pinned gateway key signed it. The key is pinned on
  first use (the verifier key string, AUD-025); a different key later is an alarm.
* AUD-030: the node's one witness rule (:class:`creditx.node.witness.CheckpointWitness`): a newer
  checkpoint is stored only after a consistency proof from the latest stored one verifies;
  ``ROLLBACK``, ``FORK`` and ``WRONG_ORIGIN`` are recorded as alarms with *both* signed notes,
  and raised — never retried.
* AUD-031/035: a record's decision is proven by rebuilding its leaf from the stored ack (1.1:
  with ``decided_at``, the whole leaf; 1.0: fp, node, seq, decision, reason compared with the
  gateway's leaf) and verifying the inclusion proof against a stored checkpoint.

The gateway is reached through callables (``consistency(old, new) -> proof``), so the rules
run without a network in tests; the CLI passes gRPC calls.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from creditx.node.witness import CheckpointWitness, LogAlarm
from creditx.sqlite import connect
from creditx.standard.checkpoint import Checkpoint, parse_verifier_key, verify_checkpoint
from creditx.standard.merkle import ProofError, leaf_hash, verify_inclusion
from creditx.standard.receipts import AckFacts, ReceiptError, verify_receipt

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS pinned_key (id INTEGER PRIMARY KEY CHECK (id = 1), verifier TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, root BLOB NOT NULL, note TEXT NOT NULL,"
    " seen_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS alarms (id INTEGER PRIMARY KEY, reason TEXT NOT NULL, message TEXT NOT NULL,"
    " old_note TEXT NOT NULL, new_note TEXT NOT NULL, seen_at TEXT NOT NULL)",
)


@dataclass(frozen=True)
class AckView:
    """What the node's outbox holds of one ack."""

    source_seq: int
    outcome: str
    reason_code: str
    fingerprint: bytes
    log_index: int
    decided_at: str = ""  # since 1.1 (AUD-035); "" from a 1.0 gateway


class ReceiptBook:
    def __init__(self, path: str | Path) -> None:
        self.conn = connect(path)
        for s in _SCHEMA:  # a single-version private file: its schema is created whole
            self.conn.execute(s)

    def close(self) -> None:
        self.conn.close()

    def latest(self) -> tuple[Checkpoint, str] | None:
        row = self.conn.execute("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1").fetchone()
        if row is None:
            return None
        return verify_checkpoint(row[0], [self._pinned()]), row[0]

    def _pinned(self):
        row = self.conn.execute("SELECT verifier FROM pinned_key").fetchone()
        return parse_verifier_key(row[0]) if row else None

    def alarms(self) -> list[dict]:
        cur = self.conn.execute("SELECT reason, message, old_note, new_note, seen_at FROM alarms ORDER BY id")
        return [dict(zip(("reason", "message", "old_note", "new_note", "seen_at"), r, strict=True)) for r in cur]

    def observe(
        self, note: str, verifier_key: str, consistency: Callable[[int, int], Sequence[bytes]], now: str
    ) -> Checkpoint:
        """AUD-026/030: verify ``note`` and store it if it extends what this node saw before."""
        pinned = self._pinned()
        offered = parse_verifier_key(verifier_key)
        if pinned is None:
            self.conn.execute("INSERT INTO pinned_key (id, verifier) VALUES (1, ?)", (offered.to_string(),))
            pinned = offered
        elif offered != pinned:
            reason, message = "KEY_CHANGED", f"gateway now offers key {offered.to_string()}"
            _Book(self, now).alarm(reason, message, "", note)
            raise LogAlarm(reason, message, rule="AUD-030")
        cp = verify_checkpoint(note, [pinned])
        CheckpointWitness(_Book(self, now)).observe(cp, note, consistency)
        return cp


class _Book:
    """The receipt book as the audit log's :class:`creditx.node.witness.WitnessRecord`."""

    def __init__(self, book: ReceiptBook, now: str) -> None:
        self.book, self.now = book, now

    def last_seen(self) -> tuple[Checkpoint, str] | None:
        return self.book.latest()

    def remember(self, cp: Checkpoint, note: str) -> None:
        self.book.conn.execute(
            "INSERT OR IGNORE INTO checkpoints (size, root, note, seen_at) VALUES (?,?,?,?)",
            (cp.size, cp.root_hash, note, self.now),
        )

    def alarm(self, reason: str, message: str, old_note: str, new_note: str) -> None:
        self.book.conn.execute(
            "INSERT INTO alarms (reason, message, old_note, new_note, seen_at) VALUES (?,?,?,?,?)",
            (reason, message, old_note, new_note, self.now),
        )


def check_receipt(ack: AckView, region: str, leaf_data: bytes, proof: Sequence[bytes], cp: Checkpoint) -> str:
    """AUD-031: "" when the ack's decision is leaf ``ack.log_index`` of ``cp``, else why not.

    With a 1.1 ack (``decided_at``) the leaf is rebuilt from the ack alone (AUD-035,
    :mod:`creditx.standard.receipts`) and ``leaf_data`` from the gateway is not trusted; with a
    1.0 ack the gateway's leaf is compared field by field, its time taken on trust."""
    if ack.decided_at:
        facts = AckFacts(
            ack.source_seq, ack.outcome, ack.reason_code, ack.fingerprint, ack.log_index, ack.decided_at, True
        )
        try:
            verify_receipt(facts, region, cp, proof)
        except (ProofError, ReceiptError) as exc:
            return str(exc)
        return ""
    try:
        leaf = json.loads(leaf_data)
    except ValueError:
        return "leaf content is not JSON"
    want = {
        "kind": "record",
        "fp": ack.fingerprint.hex(),
        "node": region,
        "seq": ack.source_seq,
        "decision": ack.outcome,
        "reason": ack.reason_code,
    }
    got = {k: leaf.get(k) for k in want}
    if got != want:
        bad = [k for k in want if got[k] != want[k]]
        return f"leaf {ack.log_index} does not describe this ack ({', '.join(bad)} differ)"
    try:
        verify_inclusion(ack.log_index, cp.size, leaf_hash(leaf_data), list(proof), cp.root_hash)
    except ProofError as exc:
        return exc.message
    return ""


# --- `creditx node receipts [--verify] [--json]` ----------------------------------------------


def acks_with_leaves(store_conn: sqlite3.Connection) -> list[AckView]:
    """Acked records of the outbox (read only) whose decision has an audit leaf."""
    cur = store_conn.execute(
        "SELECT source_seq, outcome, reason_code, fingerprint, log_index, decided_at FROM outbox_acks"
        " WHERE outcome != '' AND (logged IS NULL OR logged = 1)"
        " AND reason_code NOT IN ('SYNC_SEQ_GAP', 'SYNC_SEQ_CONFLICT') ORDER BY source_seq"
    )
    return [AckView(s, o, r or "", bytes(f or b""), i or 0, d or "") for s, o, r, f, i, d in cur]


def run_receipts(directory: Path, *, verify: bool, now: str) -> dict:
    """Fetch the gateway's latest checkpoint, check it against the stored ones (AUD-030) and,
    with ``verify``, prove every acked decision's inclusion (AUD-031)."""
    import grpc

    from creditx.node.app import NodeApp
    from creditx.v1 import audit_pb2, audit_pb2_grpc

    app = NodeApp(directory)
    book = ReceiptBook(Path(directory) / "receipts.db")
    try:
        ch = app.runner().settings.open()
        stub = audit_pb2_grpc.AuditStub(ch)
        timeout = app.config.limits.rpc_timeout_s
        try:
            latest = stub.GetCheckpoint(audit_pb2.GetCheckpointRequest(fresh=True), timeout=timeout)
            cp = book.observe(
                latest.note,
                latest.verifier_key,
                lambda o, n: list(
                    stub.GetConsistencyProof(
                        audit_pb2.ConsistencyProofRequest(old_size=o, new_size=n), timeout=timeout
                    ).hashes
                ),
                now,
            )
            out: dict[str, Any] = {
                "origin": cp.origin,
                "tree_size": cp.size,
                "checkpoints_seen": len(book.conn.execute("SELECT size FROM checkpoints").fetchall()),
                "alarms": book.alarms(),
                "verified": 0,
                "failed": [],
            }
            if verify:
                for ack in acks_with_leaves(app.store.conn):
                    if ack.log_index >= cp.size:
                        continue  # decided after this checkpoint: checked next time
                    p = stub.GetInclusionProof(
                        audit_pb2.InclusionProofRequest(index=ack.log_index, tree_size=cp.size), timeout=timeout
                    )
                    why = check_receipt(ack, app.config.member, p.leaf_data, list(p.hashes), cp)
                    if why:
                        out["failed"].append({"source_seq": ack.source_seq, "log_index": ack.log_index, "why": why})
                    else:
                        out["verified"] += 1
        except grpc.RpcError as exc:
            from creditx.standard.errors import UnavailableError

            raise UnavailableError(
                f"gateway audit service: {exc.code().name}: {exc.details()}", hint="is the gateway running? retry later"
            ) from None
        finally:
            ch.close()
        return out
    finally:
        book.close()
        app.close()
