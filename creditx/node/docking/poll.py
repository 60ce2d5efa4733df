"""One poll of a docking source: read pages after the cursor, turn rows into intake rows, and
ingest each page in ONE node transaction that also moves the cursor and the counters — so a
node killed at any point resumes exactly after the last page it committed (nothing missed,
nothing doubled), and a database that goes away only delays the next poll.

Rows become records as configured (creditx.node.docking.config): ``source_id`` is
``SOURCE:KEY``; the op comes from ``op_column``, a soft-delete flag, or whether the key was seen
before; the version is one more than the latest in the outbox. A deletion of a row that never
reached the outbox has nothing to revoke and is counted as ``skipped``. Invalid rows go to the
quarantine like file rows; once fixed at the source, their next version releases them."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from creditx.node.docking.config import DockingSource
from creditx.node.docking.reader import SourceReader, decode_value, encode_value
from creditx.node.intake import IntakeReport, IntakeRow, ingest
from creditx.node.store import NodeStore
from creditx.standard.catalogue import MULTI_SPLIT, load_catalogue
from creditx.standard.envelope import Signer
from creditx.standard.registry import Member
from creditx.standard.tabular import normalise_date

TRUE_WORDS = {"1", "Y", "YES", "TRUE", "T", "是", "删除", "D"}


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, Decimal):
        return format(v.normalize(), "f")
    if isinstance(v, float):
        return format(Decimal(repr(v)).normalize(), "f")
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "replace").strip()
    if isinstance(v, (dt.date, dt.datetime)):
        return normalise_date(v)
    return str(v).strip()


def map_row(src: DockingSource, row: dict[str, Any]) -> dict[str, str]:
    """Columns → field codes, dates ISO, enumeration spellings to their values (as REC-062)."""
    cat = load_catalogue()
    rt = cat.record_type(src.record_type)
    kinds = {f.code: f for f in rt.fields}
    fields: dict[str, str] = {}
    for col, code in src.columns.items():
        fd = kinds[code]
        value = normalise_date(row.get(col)) if fd.kind == "date" and row.get(col) is not None else _text(row.get(col))
        if not value:
            continue
        if fd.enumeration:
            enum = cat.enumeration(fd.enumeration)
            if fd.kind == "multi-enum":
                value = ";".join(enum.canonical(p.strip()) or p.strip() for p in MULTI_SPLIT.split(value) if p.strip())
            else:
                value = enum.canonical(value) or value
        fields[code] = value
    return fields


def _deleted(src: DockingSource, row: dict[str, Any]) -> bool:
    if src.op_column:
        return (load_catalogue().operations.canonical(_text(row.get(src.op_column))) or "") == "D"
    if src.deleted_column:
        return _text(row.get(src.deleted_column)).upper() in TRUE_WORDS
    return False


def source_id(src: DockingSource, row: dict[str, Any]) -> str:
    return f"{src.name}:{_text(row[src.key])}"


def load_cursor(store: NodeStore, name: str) -> tuple[Any, Any] | None:
    r = store.conn.execute("SELECT tracking, pk FROM docking_cursors WHERE source = ?", (name,)).fetchone()
    return (decode_value(r[0]), decode_value(r[1])) if r else None


def _save(
    store: NodeStore,
    name: str,
    cursor: tuple[Any, Any],
    seen: int,
    accepted: int,
    quarantined: int,
    skipped: int,
    now: float,
) -> None:
    store.conn.execute(
        "INSERT OR REPLACE INTO docking_cursors VALUES (?, ?, ?, ?)",
        (name, encode_value(cursor[0]), encode_value(cursor[1]), now),
    )
    store.conn.execute("INSERT INTO docking_stats(source) VALUES (?) ON CONFLICT(source) DO NOTHING", (name,))
    store.conn.execute(
        "UPDATE docking_stats SET seen = seen + ?, accepted = accepted + ?, "
        "quarantined = quarantined + ?, skipped = skipped + ?, last_poll_at = ? WHERE source = ?",
        (seen, accepted, quarantined, skipped, now, name),
    )


def set_poll_state(
    store: NodeStore,
    name: str,
    *,
    pending: int | None = None,
    lag_s: float | None = None,
    error: str | None = None,
    now: float,
) -> None:
    with store.transaction():
        store.conn.execute("INSERT INTO docking_stats(source) VALUES (?) ON CONFLICT(source) DO NOTHING", (name,))
        if error is not None:
            store.conn.execute(
                "UPDATE docking_stats SET last_error = ?, last_error_at = ? WHERE source = ?", (error, now, name)
            )
        else:
            store.conn.execute(
                "UPDATE docking_stats SET pending_rows = ?, lag_s = ?, last_poll_at = ?, "
                "last_error = NULL WHERE source = ?",
                (pending, lag_s, now, name),
            )


def docking_stats(store: NodeStore) -> list[dict]:
    return store.rows("SELECT * FROM docking_stats ORDER BY source")


@dataclass
class PollResult:
    pages: int = 0
    seen: int = 0
    accepted: int = 0
    quarantined: int = 0
    skipped: int = 0
    pending: int = 0
    lag_s: float = 0.0


def _lag(oldest: Any) -> float:
    if isinstance(oldest, dt.datetime):
        now = dt.datetime.now(oldest.tzinfo) if oldest.tzinfo else dt.datetime.now()
        return max((now - oldest).total_seconds(), 0.0)
    return 0.0


def poll(
    store: NodeStore,
    signer: Signer,
    src: DockingSource,
    reader: SourceReader,
    *,
    region: str,
    today: dt.date,
    clock: Callable[[], float] = time.time,
    member: Member | None = None,
    registry_known: bool = False,
    record_suite: str = "envelope",
) -> PollResult:
    """Read and ingest pages until the source is drained (or ``max_pages_per_poll``). ``member`` and
    ``registry_known`` are the node's entry in the member registry it holds: a row for a deciding
    body not granted to it is quarantined here with its field, rule and fix (NODE-022), as a file
    import's, instead of being refused at the gateway after a push."""
    result = PollResult()
    cursor = load_cursor(store, src.name)
    while result.pages < src.max_pages_per_poll:
        page = reader.page(cursor, src.batch_rows)
        if not page:
            break
        result.pages += 1
        last = (page[-1][src.tracking], page[-1][src.key])
        rows, skipped = _intake_rows(store, src, page)

        def commit(
            batch: list,
            report: IntakeReport,
            page_len: int = len(page),
            skipped: int = skipped,
            last: tuple[Any, Any] = last,
        ) -> None:
            _save(store, src.name, last, page_len, report.accepted, report.quarantined, skipped, clock())

        if rows:
            report = ingest(
                store,
                signer,
                rows,
                region=region,
                source=f"docking:{src.name}",
                today=today,
                clock=clock,
                batch_size=len(rows),
                in_batch=commit,
                member=member,
                registry_known=registry_known,
                record_suite=record_suite,
            )
            result.accepted += report.accepted
            result.quarantined += report.quarantined
        else:  # only deletions of rows never sent: move the cursor past them
            with store.transaction():
                _save(store, src.name, last, len(page), 0, 0, skipped, clock())
        result.seen += len(page)
        result.skipped += skipped
        cursor = last
    result.pending, oldest = reader.pending(cursor)
    result.lag_s = _lag(oldest) if result.pending else 0.0
    set_poll_state(store, src.name, pending=result.pending, lag_s=result.lag_s, now=clock())
    return result


def _intake_rows(store: NodeStore, src: DockingSource, page: list[dict[str, Any]]) -> tuple[list[Any], int]:
    ids = [source_id(src, r) for r in page]
    latest = store.latest_versions(ids)
    rows: list[Any] = []  # IntakeRow, the RowLike shape ingest() takes
    skipped = 0
    for n, (sid, r) in enumerate(zip(ids, page, strict=True), start=1):
        deleted = _deleted(src, r)
        known = latest.get(sid)
        if deleted and known is None:
            skipped += 1
            continue
        op = "D" if deleted else ("U" if known else "I")
        version = (known or 0) + 1
        latest[sid] = version
        rows.append(
            IntakeRow(n, src.record_type, map_row(src, r), {"op": op, "version": str(version), "source_id": sid})
        )
    return rows, skipped
