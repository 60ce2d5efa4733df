"""The quarantine as a loop that closes: hold invalid rows once, let fixed rows out, export them
in the template they came in.

* A quarantined *record* is one row of a source (file row, API record, database row); its
  problems are one ``quarantine`` table row each, sharing the record's ``row_key`` — a digest of
  its type, fields and meta (never of its position), so importing the same bad row again
  replaces its entry instead of adding one (NODE-024).
* The export carries a 隔离编号 (``quarantine_ref``) column holding the row_key. A re-imported
  row that names it replaces that entry when it is still wrong, and releases it when it goes
  through; a row that goes through under a source_id releases every entry with that source_id.
* :func:`export_quarantine` writes one row per record, in the columns, format (CSV/XLSX) and
  encoding of the file it came from (the template is kept per import and sheet), plus the
  columns 隔离编号, 问题字段, 问题规则, 问题说明, 修改建议. Every cell goes through
  :func:`creditx.standard.tabular.neutralise_cell`, so a spreadsheet never runs a formula from it.

Its tables come with node migration 4 (creditx/node/intake_schema.py).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from creditx.standard.catalogue import META_PREFIX, load_catalogue
from creditx.standard.legacy2015 import header_target
from creditx.standard.tabular import neutralise_cell

VOLATILE_META = (
    "sheet",
    "problems",
    "quarantine_ref",
    "problem_field",
    "problem_rule",
    "problem_message",
    "problem_fix",
    "row",
)
EXPORT_META = ("quarantine_ref", "problem_field", "problem_rule", "problem_message", "problem_fix")
PROBLEM_JOIN = " | "


def row_key(record_type: str, fields: Any, meta: Any) -> str:
    """The identity of a quarantined record: what it says, not where it stood in a file."""
    stable = {k: v for k, v in dict(meta or {}).items() if k not in VOLATILE_META}
    body = json.dumps([record_type, dict(fields), stable], sort_keys=True, ensure_ascii=False, default=str)
    return "Q" + hashlib.sha256(body.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Held:
    stored: int
    replaced: int


def _stored_meta(meta: Any) -> dict:
    return {
        k: v
        for k, v in dict(meta or {}).items()
        if k not in ("problems", "quarantine_ref") and not k.startswith("problem_")
    }


def hold_rows(store: Any, held: Sequence[tuple[Any, Sequence[Any]]], *, import_id: int, file: str, now: float) -> Held:
    """Quarantine ``held`` [(row, problems)] inside the caller's transaction; an entry for the same
    record (same row_key, or the 隔离编号 the row names) is replaced, not added to."""
    replaced = 0
    rows: list[dict] = []
    for r, problems in held:
        meta = dict(r.meta or {})
        key = row_key(r.record_type, r.fields, meta)
        ref = (meta.get("quarantine_ref") or "").strip()
        gone = _delete_keys(store, {key} | ({ref} if ref else set()))
        sid = (meta.get("source_id") or "").strip()
        if sid:  # a record with an id is held once, in its latest form
            gone += _delete_source(store, sid)
        replaced += gone
        if ref and gone:
            key = ref  # still wrong after an edit: the entry keeps the 隔离编号 the clerk's file carries
        stored_meta = json.dumps(_stored_meta(meta), ensure_ascii=False, default=str)
        for p in problems:
            rows.append(
                {
                    "import_id": import_id,
                    "file": file,
                    "row": r.row,
                    "record_type": r.record_type,
                    "source_id": (meta.get("source_id") or "").strip(),
                    "created_at": now,
                    "fields": stored_fields(r.fields),
                    "row_key": key,
                    "meta": stored_meta,
                    "sheet": meta.get("sheet") or "",
                    **{k: str(getattr(p, k, "")) for k in ("field", "field_name", "rule", "reason", "message", "fix")},
                }
            )
    store.insert_quarantine(rows)
    return Held(len(held), replaced)


def _delete_keys(store: Any, keys: Iterable[str]) -> int:
    gone = 0
    for k in keys:
        n = store.conn.execute(
            "SELECT COUNT(DISTINCT COALESCE(row_key, id)) FROM quarantine WHERE row_key = ?", (k,)
        ).fetchone()[0]
        if n:
            store.conn.execute("DELETE FROM quarantine WHERE row_key = ?", (k,))
            gone += n
    return gone


def release_rows(store: Any, through: Sequence[tuple[Any, str]]) -> int:
    """Rows that went through (or were already submitted) leave the quarantine: by the 隔离编号
    they name, by their own row_key, and by the source_id they were recorded under."""
    gone = 0
    for r, source_id in through:
        meta = r.meta or {}
        keys = {k for k in ((meta.get("quarantine_ref") or "").strip(), row_key(r.record_type, r.fields, meta)) if k}
        gone += _delete_keys(store, keys)
        sid = source_id or (meta.get("source_id") or "").strip()
        if sid:
            gone += _delete_source(store, sid)
    return gone


def _delete_source(store: Any, sid: str) -> int:
    n = store.conn.execute(
        "SELECT COUNT(DISTINCT COALESCE(row_key, id)) FROM quarantine WHERE source_id = ?", (sid,)
    ).fetchone()[0]
    if n:
        store.conn.execute("DELETE FROM quarantine WHERE source_id = ?", (sid,))
    return int(n)


def record_templates(store: Any, import_id: int, rows: Any) -> None:
    """Keep the columns, format and encoding of each sheet an import read (for the export)."""
    templates = getattr(rows, "templates", None)
    if templates is None:
        columns = getattr(rows, "columns", None)
        if not columns:
            return
        templates = {"": (getattr(rows, "record_type", ""), list(columns))}
    fmt, enc = getattr(rows, "format", "") or "", getattr(rows, "encoding", "") or ""
    with store.transaction():
        for sheet, (record_type, columns) in templates.items():
            store.conn.execute(
                "INSERT OR REPLACE INTO import_templates VALUES (?, ?, ?, ?, ?, ?)",
                (import_id, sheet, record_type, fmt, enc, json.dumps(list(columns), ensure_ascii=False)),
            )


# --- reading -----------------------------------------------------------------------------------


def quarantine_counts(store: Any) -> dict[str, Any]:
    """Records (not problems) in quarantine, in total and per file."""
    per_file = [
        {"file": f, "records": n, "problems": p}
        for f, n, p in store.conn.execute(
            "SELECT file, COUNT(DISTINCT COALESCE(row_key, id)), COUNT(*) FROM quarantine GROUP BY file ORDER BY file"
        )
    ]
    total = store.conn.execute("SELECT COUNT(DISTINCT COALESCE(row_key, id)), COUNT(*) FROM quarantine").fetchone()
    return {"records": total[0], "problems": total[1], "files": per_file}


@dataclass
class QuarantinedRecord:
    key: str
    import_id: int
    file: str
    row: int
    sheet: str
    record_type: str
    fields: dict
    meta: dict
    problems: list[dict]


def quarantined_records(store: Any) -> list[QuarantinedRecord]:
    out: dict[str, QuarantinedRecord] = {}
    for r in store.rows("SELECT * FROM quarantine ORDER BY id"):
        key = r.get("row_key") or f"id{r['id']}"
        rec = out.get(key)
        if rec is None:
            rec = out[key] = QuarantinedRecord(
                key,
                r["import_id"] or 0,
                r["file"] or "",
                r["row"] or 0,
                r.get("sheet") or "",
                r["record_type"],
                json.loads(r["fields"] or "{}"),
                json.loads(r.get("meta") or "{}"),
                [],
            )
        rec.problems.append({k: r[k] for k in ("field", "field_name", "rule", "reason", "message", "fix")})
    return list(out.values())


# --- export ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    record_type: str
    format: str  # csv | xlsx
    encoding: str
    columns: tuple[str, ...]
    sheet: str


def _template_of(store: Any, rec: QuarantinedRecord) -> Template:
    row = store.conn.execute(
        "SELECT record_type, format, encoding, columns FROM import_templates WHERE import_id = ? AND sheet = ?",
        (rec.import_id, rec.sheet),
    ).fetchone()
    if row and row[1] in ("csv", "xlsx"):
        rt = load_catalogue().record_type(row[0] or rec.record_type)
        cols = [c for c in json.loads(row[3]) if (rt.resolve_header(c) or "")[len(META_PREFIX) :] not in EXPORT_META]
        enc = "gb18030" if row[2] == "gb18030" else "utf-16" if row[2] == "utf-16" else "utf-8-sig"
        return Template(rt.code, row[1], enc if row[1] == "csv" else "xlsx", tuple(cols), rec.sheet)
    # JSONL, the local API or a database: the catalogue's own columns, by field code
    rt = load_catalogue().record_type(rec.record_type)
    return Template(rt.code, "csv", "utf-8-sig", tuple(rt.codes) + ("op", "version", "source_id"), "")


_META_HEADERS = {
    "quarantine_ref": "隔离编号",
    "problem_field": "问题字段",
    "problem_rule": "问题规则",
    "problem_message": "问题说明",
    "problem_fix": "修改建议",
}


def _cells(t: Template, rec: QuarantinedRecord) -> list[str]:
    rt = load_catalogue().record_type(t.record_type)
    used: set[str] = set()
    extra = rec.meta.get("extra") or {}
    cells: list[str] = []
    for h in t.columns:
        target = rt.resolve_header(h) or header_target(rt.code, h)
        if target is None or target in used:
            value = extra.get(h, "") if target is None else ""
        elif target.startswith(META_PREFIX):
            value = str(rec.meta.get(target[len(META_PREFIX) :], ""))
        else:
            value = rec.fields.get(target, "")
            if value == "" and h in extra:  # a legacy value that could not be mapped stays as written
                value = extra[h]
        if target:
            used.add(target)
        cells.append(str(value))
    p = rec.problems
    cells += [
        rec.key,
        PROBLEM_JOIN.join(x["field"] for x in p),
        PROBLEM_JOIN.join(f"{x['rule']} {x['reason']}" for x in p),
        PROBLEM_JOIN.join(x["message"] for x in p),
        PROBLEM_JOIN.join(x["fix"] for x in p),
    ]
    return [neutralise_cell(c) for c in cells]


@dataclass(frozen=True)
class ExportedFile:
    path: Path
    records: int
    format: str
    encoding: str
    record_type: str


def export_quarantine(store: Any, path: Path) -> list[ExportedFile]:
    """One file per template the quarantined records came in (``path`` itself when there is one;
    else ``STEM-N.EXT``); the suffix follows the template's format."""
    groups: dict[Template, list[QuarantinedRecord]] = {}
    for rec in quarantined_records(store):
        groups.setdefault(_template_of(store, rec), []).append(rec)
    path = Path(path)
    out = []
    for n, (t, recs) in enumerate(groups.items(), start=1):
        suffix = ".xlsx" if t.format == "xlsx" else ".csv"
        target = path.with_suffix(suffix) if len(groups) == 1 else path.with_name(f"{path.stem}-{n}{suffix}")
        headers = list(t.columns) + [_META_HEADERS[k] for k in EXPORT_META]
        rows = [_cells(t, r) for r in recs]
        if t.format == "xlsx":
            _write_xlsx(target, t.sheet or t.record_type, headers, rows)
        else:
            with open(target, "w", newline="", encoding=t.encoding) as f:
                w = csv.writer(f)
                w.writerow(headers)
                w.writerows(rows)
        out.append(ExportedFile(target, len(recs), t.format, t.encoding, t.record_type))
    return out


def _write_xlsx(path: Path, sheet: str, headers: list[str], rows: list[list[str]]) -> None:
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(sheet[:31] or "Sheet1")
    ws.append(headers)
    for r in rows:
        ws.append(r)  # neutralised text: no cell starts with "=", so none becomes a formula
    wb.save(path)


def stored_fields(fields: Mapping[str, Any]) -> str:
    """The row's fields as stored in quarantine: readable UTF-8, or escaped when a value has no UTF-8 form."""
    text = json.dumps(dict(fields), ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(dict(fields), ensure_ascii=True)
    return text
