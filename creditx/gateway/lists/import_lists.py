"""``creditx gateway import-lists FILE [--dir DIR] [--json]``: list entries from outside the
province (the national platform's files) enter the list log like synced records.

Each row (``creditx.standard.tabular.read_table``, record type LIST) is validated against the
catalogue (REC-…); a valid row becomes a LIST record of region 370000 signed by the gateway's
own signing key — the gateway vouches for the national platform's entry, so every change still
carries a verifiable origin envelope (DIST-032) — and goes through the same lifecycle rule
(``creditx.standard.lists.lifecycle.derive_change``) and :func:`creditx.gateway.lists.store.publish` as an ingested one.

Invariants: one write transaction per chunk of rows (a kill loses at most the uncommitted
chunk; re-running the file is harmless); a row whose content was imported before is a
duplicate (``list_imports.fp``, the fingerprint of its content as op I), so re-importing a file
changes nothing; a row for an entry already listed becomes a correction/removal (op U) with
the next version; rejected rows are reported with row, field, rule and reason, never dropped.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from creditx.gateway.config import load_config
from creditx.gateway.lists import store
from creditx.gateway.lists.changes import Drafts
from creditx.gateway.store.engine import transaction
from creditx.pki.files import read_key
from creditx.standard.divisions import PROVINCE
from creditx.standard.envelope import Signer, sign_envelope
from creditx.standard.fingerprint import fingerprint
from creditx.standard.lists.lifecycle import REMOVAL_FIELDS, derive_change
from creditx.standard.natural_key import natural_key
from creditx.standard.record import RECORD_PAYLOAD_TYPE, Record, RecordError, encode_record
from creditx.standard.tabular import read_table
from creditx.standard.timestamps import rfc3339
from creditx.standard.validation import errors_only, validate_fields

CHUNK_ROWS = 500


@dataclass
class ImportReport:
    file: str
    rows: int = 0
    published: int = 0
    duplicates: int = 0
    no_change: int = 0
    rejected: list[dict] = field(default_factory=list)
    head: int = 0


def import_lists(
    directory: Path,
    path: Path,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    progress: Callable[[ImportReport], None] = lambda r: None,
) -> ImportReport:
    from creditx.gateway.server import load_subject_key
    from creditx.gateway.store.engine import open_store

    cfg = load_config(directory)
    db = cfg.database_spec(directory)
    open_store(db, now=clock().isoformat()).close()  # schema up to date (migrations) before writing
    signer = Signer(read_key(cfg.path(directory, "signing_key")))
    subject_key = load_subject_key(cfg.path(directory, "subject_key"))
    report = ImportReport(str(path))
    conn = store.open_conn(db)
    try:
        rows = iter(read_table(path, "LIST"))
        while True:
            chunk = [r for _, r in zip(range(CHUNK_ROWS), rows, strict=False)]
            if not chunk:
                break
            _import_chunk(conn, chunk, path, signer, subject_key, clock(), report)
            progress(report)
    finally:
        conn.close()
    return report


def _import_chunk(
    conn, chunk, path: Path, signer: Signer, subject_key: bytes, now: datetime, report: ImportReport
) -> None:
    with transaction(conn):
        drafts = Drafts(lambda entry_id: store.current_entry(conn, entry_id))
        seq = conn.execute("SELECT COALESCE(MAX(source_seq), 0) FROM list_imports").fetchone()[0]
        imported: list[tuple[int, bytes, str, int, str]] = []
        for row in chunk:
            report.rows += 1
            fields = {k: v for k, v in row.fields.items() if v}
            bad = errors_only(validate_fields("LIST", fields, today=now.date()))
            if bad:
                v = bad[0]
                report.rejected.append(
                    {
                        "row": row.row,
                        "field": v.field,
                        "rule": v.rule,
                        "reason": v.reason,
                        "message": f"{v.message}; {v.fix}",
                    }
                )
                continue
            seq += 1
            try:
                first = Record("LIST", "I", PROVINCE, f"import:{path.name}:{row.row}", 1, seq, fields)
                content_fp = fingerprint(first)
                if imported_before(conn, content_fp) or content_fp in {i[1] for i in imported}:
                    report.duplicates += 1
                    seq -= 1
                    continue
                entry_id = natural_key(first, subject_key)
            except RecordError as exc:
                report.rejected.append(
                    {"row": row.row, "field": exc.field, "rule": exc.rule, "reason": exc.reason, "message": exc.detail}
                )
                seq -= 1
                continue
            current = drafts.entry(entry_id)
            record = first
            if current is not None or any(f in fields for f in REMOVAL_FIELDS):
                record = replace(first, op="U", version=(current.version + 1) if current else 1)
            payload = encode_record(record)
            fp = fingerprint(record)
            decision = derive_change(current, record, entry_id=entry_id, fingerprint=fp, at=now)
            imported.append((seq, content_fp, str(path), row.row, rfc3339(now)))
            if decision.error is not None:
                e = decision.error
                report.rejected.append(
                    {"row": row.row, "field": e.field, "rule": e.rule, "reason": e.reason, "message": e.detail}
                )
            elif decision.change is None:
                report.no_change += 1
            else:
                env = sign_envelope(RECORD_PAYLOAD_TYPE, payload, signer)
                drafts.add(replace(decision.change, origin=env))
        conn.executemany("INSERT INTO list_imports (source_seq, fp, file, row, at) VALUES (?,?,?,?,?)", imported)
        out = store.publish(conn, drafts.pending)
    report.published += len(out)
    report.head = out[-1].list_seq if out else store.head(conn)


def imported_before(conn, content_fp: bytes) -> bool:
    return conn.execute("SELECT 1 FROM list_imports WHERE fp = ?", (content_fp,)).fetchone() is not None


# --- command line -----------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction) -> None:
    from creditx.cli.output import add_json_flag

    p = sub.add_parser("import-lists", help="publish red/black list entries from a national platform file")
    p.add_argument("file", type=Path, help="CSV / XLSX / JSONL in the LIST template (Chinese or code headers)")
    p.add_argument("--dir", type=Path, default=Path("."), help="gateway directory (default: .)")
    add_json_flag(p)
    p.set_defaults(func=cmd_import_lists)


def cmd_import_lists(args) -> int:
    import sys

    from creditx.cli.output import print_json
    from creditx.standard.errors import InputError

    if not args.file.exists():
        raise InputError(f"{args.file} does not exist", hint="give the path of a LIST file (CSV, XLSX or JSONL)")

    def progress(r: ImportReport) -> None:
        if not args.json:
            print(
                f"  {r.rows} rows: {r.published} published, {r.duplicates} duplicate, {len(r.rejected)} rejected",
                file=sys.stderr,
                flush=True,
            )

    report = import_lists(args.dir, args.file, progress=progress)
    if args.json:
        print_json(asdict(report))
    else:
        print(
            f"{report.file}: {report.rows} rows, {report.published} list changes published (list head "
            f"{report.head}), {report.duplicates} duplicate, {report.no_change} without change, "
            f"{len(report.rejected)} rejected"
        )
        for r in report.rejected[:20]:
            print(f"  row {r['row']}: {r['reason']} [{r['rule']}] {r['field']}: {r['message']}")
    return 1 if report.rejected else 0
