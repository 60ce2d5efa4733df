"""Audit evidence from the gateway database: full verification and the exportable bundle.

:func:`verify_database` (``creditx gateway audit verify``) runs the pure log checks of
:mod:`creditx.standard.evidence` over the stored leaves and checkpoints, then ties leaves and
records together, so that changing a byte of a stored record or leaf, deleting, inserting or
swapping rows is detected and the first bad leaf index named:

* every ``kind: record`` leaf (AUD-004) has its record row ``(node, seq)`` whose
  ``log_index`` is that leaf, whose outcome and reason are the leaf's, and whose stored
  fingerprint and *payload* still give the leaf's ``fp`` (REC-FP recomputed from the bytes);
* every record row points at a leaf (no record without its leaf);
* every ``kind: registry`` leaf (AUD-007) is a kept member-registry version whose signed bytes
  still hash to it, and every kept version has its leaf;
* the persisted frontier (audit_log) is the frontier of the leaves.

:func:`export_bundle` writes the self-contained bundle that ``creditx standard
verify-bundle`` checks with no gateway (format in :mod:`creditx.standard.evidence`).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from creditx.gateway.audit import log as audit_log
from creditx.gateway.audit.checkpoints import all_checkpoints
from creditx.gateway.ingest.reasons import Outcome
from creditx.gateway.store.engine import is_postgres
from creditx.standard.checkpoint import NoteVerifier
from creditx.standard.evidence import BUNDLE_FORMAT, Problem, StoredCheckpoint, check_log, report
from creditx.standard.fingerprint import fingerprint
from creditx.standard.merkle import CompactRange, ProofError
from creditx.standard.record import RecordError, decode_record

T = TypeVar("T")


def _checkpoints(conn: sqlite3.Connection) -> list[StoredCheckpoint]:
    return [StoredCheckpoint(c.size, c.root, c.note) for c in all_checkpoints(conn)]


def _counted(rows: Iterable[T], advance: Callable[[int], None], step: int = 5000) -> Iterator[T]:
    """``rows`` unchanged, calling ``advance(step)`` every ``step`` rows and once for the rest."""
    n = 0
    for row in rows:
        yield row
        n += 1
        if n == step:
            advance(n)
            n = 0
    advance(n)


def verify_database(
    conn: sqlite3.Connection,
    verifier: NoteVerifier,
    origin: str,
    *,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
) -> dict:
    """AUD-006/026 + records: the verdict (see :func:`creditx.standard.evidence.report`).

    ``progress(label, total)`` returns an ``advance(n)`` callback for each of the two passes
    (leaves, then records); the default shows nothing."""

    def quiet(label: str, total: int) -> Callable[[int], None]:
        return lambda n: None

    progress = progress or quiet
    leaves = conn.execute("SELECT COUNT(*) FROM audit_leaves").fetchone()[0]
    # SQLite: in storage order, so a reordered table shows; PostgreSQL has no stable row order
    order = "idx" if is_postgres(conn) else "rowid"
    rows = conn.execute(f"SELECT idx, leaf_data, leaf_hash FROM audit_leaves ORDER BY {order}")
    cps = _checkpoints(conn)
    hashes, problems = check_log(
        _counted(((r[0], bytes(r[1]), r[2]) for r in rows), progress("audit leaves", leaves)), cps, [verifier], origin
    )
    problems += _check_records(conn, progress("records", _count(conn)))
    problems += _check_registry(conn)
    try:
        stored, cr = audit_log.frontier(conn), CompactRange()
        cr.extend(hashes)
        if stored != cr:
            problems.append(
                Problem(
                    min(stored.size, len(hashes)),
                    "FRONTIER",
                    "AUD-003",
                    f"the persisted tree state (size {stored.size}) is not that of the {len(hashes)} stored leaves",
                )
            )
    except ProofError as exc:
        problems.append(Problem(0, exc.reason, exc.rule, exc.message))
    return report(problems, leaves=len(hashes), checkpoints=len(cps), records_checked=_count(conn))


def _check_registry(conn) -> list[Problem]:
    """AUD-007: every registry leaf is a kept registry version whose signed bytes still hash to
    the leaf's ``sha256``, and every kept version points at its leaf."""
    problems: list[Problem] = []
    rows = {
        r[0]: (r[1], bytes(r[2]), r[3])
        for r in conn.execute("SELECT version, sha256, envelope, log_index FROM registry_versions")
    }
    seen = set()
    for idx, data in conn.execute("SELECT idx, leaf_data FROM audit_leaves ORDER BY idx"):
        try:
            leaf = json.loads(data)
        except ValueError:
            continue  # reported by check_log
        if not isinstance(leaf, dict) or leaf.get("kind") != "registry":
            continue
        row = rows.get(leaf.get("version"))
        if row is None or row[2] != idx:
            problems.append(
                Problem(
                    idx, "REGISTRY_MISSING", "AUD-007", f"leaf {idx}: no kept registry version {leaf.get('version')}"
                )
            )
            continue
        seen.add(leaf["version"])
        if hashlib.sha256(row[1]).hexdigest() != leaf.get("sha256") or row[0] != leaf.get("sha256"):
            problems.append(
                Problem(
                    idx,
                    "REGISTRY_ALTERED",
                    "AUD-007",
                    f"leaf {idx} / registry version {leaf['version']}: the kept signed file no longer hashes "
                    "to the leaf's sha256",
                )
            )
    for version, (_, _, log_index) in rows.items():
        if version not in seen:
            problems.append(
                Problem(
                    log_index if log_index is not None else -1,
                    "REGISTRY_UNLOGGED",
                    "AUD-007",
                    f"registry version {version} has no audit leaf",
                )
            )
    return problems


def _count(conn) -> int:
    return conn.execute("SELECT COUNT(*) FROM records").fetchone()[0]


def _check_records(conn: sqlite3.Connection, advance: Callable[[int], None]) -> list[Problem]:
    problems: list[Problem] = []
    by_key = {}
    for rid, node, seq, outcome, reason, fp, payload, sha, log_index in _counted(
        conn.execute("SELECT id, node, source_seq, outcome, reason, fp, payload, payload_sha, log_index FROM records"),
        advance,
    ):
        if log_index is None:
            problems.append(
                Problem(-1, "RECORD_UNLOGGED", "AUD-006", f"record id {rid} ({node}#{seq}) has no audit leaf")
            )
            continue
        by_key[(node, seq)] = (log_index, outcome, reason or "", fp or b"", bytes(payload or b""), sha or b"")
    seen = set()
    fp_jobs: list[tuple[int, str, bytes, str]] = []
    for idx, data in conn.execute("SELECT idx, leaf_data FROM audit_leaves ORDER BY idx"):
        try:
            leaf = json.loads(data)
        except ValueError:
            continue  # reported by check_log
        if not isinstance(leaf, dict) or leaf.get("kind") != "record":
            continue
        key = (leaf.get("node"), leaf.get("seq"))
        rec = by_key.get(key)
        if rec is None:
            problems.append(
                Problem(idx, "RECORD_MISSING", "AUD-004", f"leaf {idx}: no stored record {key[0]}#{key[1]}")
            )
            continue
        seen.add(key)
        log_index, outcome, reason, fp, payload, sha = rec
        msg = _mismatch(leaf, log_index, idx, outcome, reason, fp, payload, sha)
        if msg:
            problems.append(Problem(idx, "RECORD_ALTERED", "AUD-004", f"leaf {idx} / record {key[0]}#{key[1]}: {msg}"))
        elif leaf.get("fp") and hashlib.sha256(payload).digest() == bytes(sha):
            # a rejected record's fingerprint (AUD-004, 1.1) is recomputed only from a whole kept payload
            fp_jobs.append((idx, f"{key[0]}#{key[1]}", payload, leaf["fp"]))
    for idx, name, msg in _content_fingerprints(fp_jobs):
        problems.append(Problem(idx, "RECORD_ALTERED", "AUD-004", f"leaf {idx} / record {name}: {msg}"))
    for key, rec in by_key.items():
        if key not in seen:
            problems.append(
                Problem(
                    rec[0],
                    "RECORD_UNLOGGED",
                    "AUD-006",
                    f"record {key[0]}#{key[1]} claims leaf {rec[0]}, which is not its leaf",
                )
            )
    return problems


def _mismatch(leaf: dict, log_index, idx, outcome, reason, fp, payload, sha) -> str:
    if log_index != idx:
        return f"record says leaf {log_index}"
    if Outcome(outcome).name != leaf.get("decision") or reason != leaf.get("reason"):
        return "decision or reason differ from the leaf"
    if fp.hex() != leaf.get("fp"):
        return "stored fingerprint differs from the leaf"
    if hashlib.sha256(payload).digest() != bytes(sha) and not _kept_prefix(outcome, payload):
        return "payload bytes no longer match their SHA-256"
    return ""


def _kept_prefix(outcome: int, payload: bytes) -> bool:
    """SYNC-041: of a rejected payload above the bound only its first ``rejected_payload_prefix_bytes``
    are stored (its SHA-256 and the leaf commit to the whole); such a prefix cannot match the hash."""
    from creditx.gateway.config import GatewayConfig

    return outcome == int(Outcome.REJECTED) and len(payload) == GatewayConfig.rejected_payload_prefix_bytes


PARALLEL_FROM = 20_000  # records; below this a worker pool costs more than it saves
CHUNK = 5_000


def _fingerprint_chunk(jobs: list[tuple[int, str, bytes, str]]) -> list[tuple[int, str, str]]:
    """The records whose payload's content fingerprint (REC-FP) is not the one in their leaf."""
    out = []
    for idx, name, payload, want in jobs:
        try:
            if fingerprint(decode_record(payload)).hex() != want:
                out.append((idx, name, "payload's content fingerprint differs from the leaf (REC-FP)"))
        except RecordError:
            out.append((idx, name, "payload no longer decodes"))
    return out


def _content_fingerprints(jobs: list[tuple[int, str, bytes, str]]) -> list[tuple[int, str, str]]:
    """Recompute every fingerprint (the costly part of verify: decode + RFC 8785 + SHA-256),
    on every core when there are many."""
    import os

    workers = min(os.cpu_count() or 1, 8)
    if len(jobs) < PARALLEL_FROM or workers < 2:
        return _fingerprint_chunk(jobs)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    chunks = [jobs[i : i + CHUNK] for i in range(0, len(jobs), CHUNK)]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return [r for part in pool.map(_fingerprint_chunk, chunks) for r in part]


def export_bundle(conn: sqlite3.Connection, origin: str, verifier_key: str, signing_cert_pem: str, ca_pem: str) -> dict:
    """AUD-050: every leaf, checkpoint, proof and certificate needed to check the log offline."""
    leaves = [bytes(r[0]).hex() for r in conn.execute("SELECT leaf_data FROM audit_leaves ORDER BY idx")]
    cps = _checkpoints(conn)
    consistency = [
        {"old": a.size, "new": b.size, "hashes": [h.hex() for h in audit_log.consistency(conn, a.size, b.size)]}
        for a, b in zip(cps, cps[1:], strict=False)
    ]
    inclusion = []
    if cps:
        size = cps[-1].size
        inclusion = [
            {"index": i, "size": size, "hashes": [h.hex() for h in audit_log.inclusion(conn, i, size)]}
            for i in range(size)
        ]
    return {
        "format": BUNDLE_FORMAT,
        "origin": origin,
        "verifier_key": verifier_key,
        "certificates": {"signing": signing_cert_pem, "ca": ca_pem},
        "leaves": leaves,
        "checkpoints": [{"size": c.size, "root": c.root.hex(), "note": c.note} for c in cps],
        "consistency": consistency,
        "inclusion": inclusion,
    }
