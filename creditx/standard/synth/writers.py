"""Writers of generated rows in the national template formats: CSV, XLSX and JSONL.

Streaming: rows are written as they come from the iterator, so a million rows need no more
memory than one (XLSX through openpyxl's write-only mode). Invariants:

* columns are the catalogue's fields of the record type, in catalogue order, followed by the
  meta columns 操作标识 / 版本号 / 源记录标识 (``op`` / ``version`` / ``source_id``), so
  ``creditx.standard.tabular.read_table`` maps every column back to its field code (REC-010);
* headers are the template's Chinese names (``headers="zh"``) or the field codes
  (``headers="codes"``); CSV is UTF-8 or GB18030, as old city files are;
* every cell is text (identifiers such as 370102… must never become numbers in XLSX);
* JSONL lines are objects keyed by field code plus "op", "version" and "source_id"; empty
  fields are omitted there as on the wire.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any, BinaryIO

from creditx.standard.catalogue import load_catalogue
from creditx.standard.errors import InputError

FORMATS = ("csv", "xlsx", "jsonl")
ENCODINGS = ("utf-8", "gb18030")
HEADER_STYLES = ("zh", "codes")
META = ("op", "version", "source_id")


def columns(record_type: str, headers: str = "zh") -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(field codes, header texts) of a record type's file, meta columns last."""
    cat = load_catalogue()
    rt = cat.record_type(record_type)
    meta_names = {m.key: m.name_zh for m in cat.meta_columns}
    codes = rt.codes
    if headers == "codes":
        return codes, codes + META
    return codes, tuple(f.name_zh for f in rt.fields) + tuple(meta_names[k] for k in META)


def _check(fmt: str, encoding: str, headers: str) -> None:
    if fmt not in FORMATS:
        raise InputError(f"fmt {fmt!r} is not a supported file format", hint=f"use one of {', '.join(FORMATS)}")
    if encoding.lower() not in ENCODINGS:
        raise InputError(
            f"encoding {encoding!r} is not supported for CSV files", hint=f"use one of {', '.join(ENCODINGS)}"
        )
    if headers not in HEADER_STYLES:
        raise InputError(f"headers {headers!r} is not a header style", hint="use 'zh' or 'codes'")


def write_rows(
    out: BinaryIO,
    rows: Iterable[Any],
    *,
    record_type: str,
    fmt: str = "csv",
    encoding: str = "utf-8",
    headers: str = "zh",
) -> int:
    """Write ``rows`` (``GeneratedRow``s) to the binary stream ``out``, which the caller opened
    (``standards`` writes no files of its own); returns how many rows were written."""
    _check(fmt, encoding, headers)
    codes, header_row = columns(record_type, headers)
    if fmt == "jsonl":
        return _write_jsonl(out, rows)

    def cells(row: Any) -> list[str]:
        f = row.fields
        return [f.get(c, "") for c in codes] + [row.op, str(row.version), row.source_id]

    n = 0
    if fmt == "csv":
        text = io.TextIOWrapper(out, encoding=encoding.lower(), newline="")
        try:
            w = csv.writer(text)
            w.writerow(header_row)
            for row in rows:
                w.writerow(cells(row))
                n += 1
        finally:
            text.flush()
            text.detach()  # the caller's stream stays open
        return n
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=load_catalogue().record_type(record_type).name_zh)
    ws.append(list(header_row))
    for row in rows:
        ws.append(cells(row))
        n += 1
    wb.save(out)
    return n


def _write_jsonl(out: BinaryIO, rows: Iterable[Any]) -> int:
    n = 0
    for row in rows:
        obj = {**row.fields, "op": row.op, "version": row.version, "source_id": row.source_id}
        out.write(json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n")
        n += 1
    return n
