"""Reading national-template files: CSV, XLSX and JSONL rows → catalogue field codes (REC-060…).

``read_table(path, record_type="auto")`` returns a :class:`TableRows` — an iterator of
:class:`SourceRow` that streams the file (a million-row file is never held in memory) and,
once opened, tells which record type, encoding and columns it found.

What it normalises, and nothing else (validation is ``creditx.standard.validation``'s job):

* headers through the catalogue aliases: Chinese template names, field codes, 2015 legacy
  codes, full-/half-width brackets, spaces, trailing ``*`` (REC-010); the record type is
  detected from the headers when not given (REC-061);
* dates ``YYYY/MM/DD``, ``YYYY.MM.DD``, ``YYYYMMDD``, ``YYYY年M月D日``, Excel date cells and
  Excel serial numbers → ISO ``YYYY-MM-DD``; ``长期`` → 2099-12-31 (REC-062);
* enumeration spellings to their values (有效 → 1, 吊销执照 → 吊销许可证件), several
  category columns (CF_CFLB1/CF_CFLB2) joined with ``;`` (REC-024);
* meta columns (operation flag I/U/D, version, source record id, update time, test flag,
  region) go to ``SourceRow.meta``, never into ``fields``.

Invariants: nothing is silently dropped — columns that name no field are listed in
``TableRows.unknown_columns`` and their non-empty values kept in ``meta["extra"]``; a row
number is the row as a user counts it in the file (the header row is row 1 when it is the
first row; for JSONL the line number); blank rows are skipped but still counted.
"""

from __future__ import annotations

import codecs
import csv
import datetime as _dt
import json
import math
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from creditx.standard.catalogue import META_PREFIX, MULTI_SPLIT, Catalogue, RecordType, load_catalogue
from creditx.standard.errors import InputError

if TYPE_CHECKING:
    from creditx.standard.legacy2015 import LegacyPlan

FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
HEADER_SEARCH_ROWS = 5  # a template may carry a title row above the header
MIN_HEADER_MATCHES = 3  # fewer recognised columns than this is not a header (REC-061)
_EXCEL_EPOCH = _dt.date(1899, 12, 30)
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
)
LONG_TERM_WORDS = {"长期", "永久", "长期有效"}


@dataclass(frozen=True)
class FileLimits:
    """REC-064: what a file may cost to open. XLSX is a zip of XML: ``max_unpacked_bytes`` bounds
    the decompressed size (a 400 KB zip bomb unpacks to gigabytes), ``max_ratio`` the compression
    ratio of any member; ``max_rows`` and ``max_columns`` bound every format; a CSV cell may hold
    ``max_cell_chars`` characters (a record payload is at most 64 KiB anyway, SIG-020)."""

    max_unpacked_bytes: int = 512 * 1024 * 1024
    max_ratio: int = 500
    max_rows: int = 1_048_576  # Excel's own row limit
    max_columns: int = 512
    max_cell_chars: int = 64 * 1024


DEFAULT_LIMITS = FileLimits()
_ZIP_MAGIC = b"PK\x03\x04"
# every way a parser of a malformed file fails, opening it or reading its rows (REC-064)
_PARSER_ERRORS = (
    csv.Error,
    UnicodeError,
    ValueError,
    RecursionError,
    zipfile.BadZipFile,
    OSError,
    KeyError,
    EOFError,
    ArithmeticError,
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


_CellT = TypeVar("_CellT")


def neutralise_cell(value: _CellT) -> _CellT | str:
    """A cell value safe to write into a CSV an operator opens in a spreadsheet: text
    starting ``=``, ``+``, ``-``, ``@`` (or tab/CR) is prefixed with ``'`` so that it is shown,
    never evaluated as a formula (CSV injection, OWASP; REC-066). Other values are returned unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


@dataclass(frozen=True)
class SourceRow:
    row: int
    record_type: str
    fields: dict[str, str]
    meta: dict[str, Any] = field(default_factory=dict)


def normalise_date(value: object) -> str:
    """ISO form of a date as templates write it; unparseable text is returned unchanged."""
    if isinstance(value, _dt.datetime):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    text = _text(value)
    if text in LONG_TERM_WORDS:
        return "2099-12-31"
    if re.fullmatch(r"\d{5}(\.0+)?", text):  # an Excel serial that lost its date format
        return (_EXCEL_EPOCH + _dt.timedelta(days=int(float(text)))).isoformat()
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return _dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
            except ValueError:
                return text
    return text


def _text(value: object) -> str:
    """A cell as text: numbers without float noise (0.2 stays 0.2, 1.0 becomes 1)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return repr(value)  # nan / inf: text the validator rejects with a reason, not InvalidOperation
        d = Decimal(repr(value))
        return format(d.quantize(Decimal(1)) if d == d.to_integral() else d.normalize(), "f")
    if isinstance(value, (_dt.date, _dt.datetime)):
        return normalise_date(value)
    return str(value).strip()


def detect_record_type(headers: list[str], catalogue: Catalogue | None = None) -> RecordType:
    """The record type whose fields the headers name most (REC-061); InputError if unclear."""
    cat = catalogue or load_catalogue()
    scores = []
    for rt in cat.record_types.values():
        hits = {rt.resolve_header(h) for h in headers}
        scores.append((len({h for h in hits if h and not h.startswith(META_PREFIX) and h != "BZ"}), rt.code))
    scores.sort(reverse=True)
    (best, code), (second, _) = scores[0], scores[1]
    if best < MIN_HEADER_MATCHES:
        raise InputError(
            f"no recognisable header: at most {best} columns name a catalogue field (REC-061)",
            hint="the first row must hold the template's column names (Chinese names or "
            "field codes such as XK_XDR_MC); see `creditx standard catalogue`",
        )
    if best == second:
        raise InputError(
            f"the header fits several record types equally ({best} columns each) (REC-061)",
            hint="say which with --type XZXK|XZCF|LIST",
        )
    return cat.record_type(code)


class _Mapper:
    """Turns one row of cells into fields + meta, given the header."""

    def __init__(self, rt: RecordType, headers: list[str], catalogue: Catalogue):
        self.rt, self.cat = rt, catalogue
        self.targets = [rt.resolve_header(h) if h else None for h in headers]
        self.headers = headers
        self.unknown_columns = [h for h, t in zip(headers, self.targets, strict=True) if h and t is None]
        self.kinds = {f.code: f for f in rt.fields}

    def map(self, cells: list[object]) -> tuple[dict[str, str], dict[str, Any]]:
        fields: dict[str, str] = {}
        meta: dict[str, Any] = {}
        for i, cell in enumerate(cells):
            target = self.targets[i] if i < len(self.targets) else None
            fd = self.kinds.get(target) if target else None
            value = normalise_date(cell) if fd is not None and fd.kind == "date" else _text(cell)
            if not value:
                continue
            if target is None:
                header = self.headers[i] if i < len(self.headers) else f"column {i + 1}"
                meta.setdefault("extra", {})[header or f"column {i + 1}"] = value
            elif target.startswith(META_PREFIX):
                meta[target[len(META_PREFIX) :]] = value
            elif fd is not None and fd.kind == "multi-enum" and target in fields:
                fields[target] += ";" + value  # CF_CFLB1 + CF_CFLB2 (REC-024)
            elif target not in fields:
                fields[target] = value
        for code, value in fields.items():
            fd = self.kinds[code]
            if fd.enumeration:
                fields[code] = self._enum(fd.enumeration, fd.kind, value)
        if "op" in meta:
            meta["op"] = self.cat.operations.canonical(meta["op"]) or meta["op"]
        return fields, meta

    def _enum(self, name: str, kind: str, value: str) -> str:
        enum = self.cat.enumeration(name)
        if kind == "multi-enum":
            parts = [p.strip() for p in MULTI_SPLIT.split(value) if p.strip()]
            return ";".join(enum.canonical(p) or p for p in parts)
        return enum.canonical(value) or value


class TableRows(Iterator[SourceRow]):
    """Rows of one file, streamed. ``record_type``, ``format``, ``encoding``, ``columns`` and
    ``unknown_columns`` are known as soon as it is constructed. Close it (or exhaust it)."""

    def __init__(
        self,
        path: str | Path,
        record_type: str = "auto",
        *,
        catalogue: Catalogue | None = None,
        limits: FileLimits = DEFAULT_LIMITS,
    ):
        self.path = Path(path)
        self.limits = limits
        self.catalogue = catalogue or load_catalogue()
        self.format = FORMATS.get(self.path.suffix.lower())
        if self.format is None:
            raise InputError(
                f"{self.path.name}: unknown file format {self.path.suffix or '(no suffix)'!r} (REC-060)",
                hint="use a .csv, .xlsx or .jsonl file",
            )
        if not self.path.is_file():
            raise InputError(f"{self.path}: no such file", hint="check the path")
        self.encoding = ""
        self._requested = record_type
        self._close: Callable[[], None] = lambda: None
        try:
            self._rows: Iterator[SourceRow] = self._guarded(getattr(self, "_open_" + self.format)())
        except InputError:
            self.close()
            raise
        except _PARSER_ERRORS as exc:
            self.close()
            raise self._unreadable(exc, 0) from None

    def _unreadable(self, exc: BaseException, row: int) -> InputError:
        """REC-064: every way a file can be malformed is an InputError naming file, row and cause."""
        where = f" at row {row}" if row else ""
        if isinstance(exc, UnicodeError):
            return InputError(
                f"{self.path.name}: cannot be read as {self.encoding or 'text'}{where}: {exc}",
                hint="save the whole file in one encoding, UTF-8 or GB18030",
            )
        if isinstance(exc, csv.Error):
            return InputError(
                f"{self.path.name}: not a readable CSV{where}: {exc}",
                hint=f"a cell holds at most {self.limits.max_cell_chars} characters; check quotes "
                "are balanced, or export the sheet again as CSV",
            )
        return InputError(
            f"{self.path.name}: cannot be read{where} ({type(exc).__name__}: {str(exc)[:200]})",
            hint="open and save it again as .xlsx or UTF-8 CSV",
        )

    def _guarded(self, rows: Iterator[SourceRow]) -> Iterator[SourceRow]:
        """The rows, with any parser failure turned into InputError naming the last good row."""
        last = 0
        try:
            for r in rows:
                last = r.row
                yield r
        except InputError:
            raise
        except _PARSER_ERRORS as exc:
            raise self._unreadable(exc, last + 1) from None
        finally:
            self.close()

    # --- formats ---------------------------------------------------------------------------

    def _open_csv(self) -> Iterator[SourceRow]:
        with self.path.open("rb") as raw:
            if raw.read(4) == _ZIP_MAGIC:
                raise InputError(
                    f"{self.path.name}: is an XLSX workbook (a zip file), not CSV",
                    hint=f"rename it to {self.path.stem}.xlsx, or save it as CSV",
                )
        self.encoding = sniff_encoding(self.path)
        fh = self.path.open(encoding=self.encoding, newline="")
        self._close = fh.close
        first = fh.readline(self.limits.max_cell_chars)
        fh.seek(0)
        delimiter = "\t" if first.count("\t") > first.count(",") else ","
        reader = _bounded_csv(fh, delimiter, self.limits)
        return self._tabular(self._row_limit(enumerate(reader, start=1)))

    def _row_limit(
        self,
        numbered: Iterator[tuple[int, Sequence[object]]],
    ) -> Iterator[tuple[int, Sequence[object]]]:
        lim = self.limits
        for number, cells in numbered:
            if number > lim.max_rows:
                raise InputError(
                    f"{self.path.name}: more than {lim.max_rows} rows (max_rows, REC-064)", hint="split the file"
                )
            if len(cells) > lim.max_columns:
                raise InputError(
                    f"{self.path.name}: row {number} has {len(cells)} cells, more than "
                    f"{lim.max_columns} (max_columns, REC-064)",
                    hint="a template has about 60 columns",
                )
            yield number, cells

    def _open_xlsx(self) -> Iterator[SourceRow]:
        import openpyxl

        self.encoding = "xlsx"
        self._check_zip()
        try:
            wb = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a broken workbook
            raise InputError(
                f"{self.path.name}: not a readable XLSX workbook ({type(exc).__name__}: {str(exc)[:200]})",
                hint="open and save it again as .xlsx, or export it as CSV",
            ) from None
        self._close = wb.close
        return self._sheets(wb)

    def _check_zip(self) -> None:
        """REC-064: refuse a workbook whose members unpack beyond the limits, before any is read."""
        lim = self.limits
        try:
            with zipfile.ZipFile(self.path) as z:
                infos = z.infolist()
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise InputError(
                f"{self.path.name}: not a readable XLSX workbook ({exc})",
                hint="open and save it again as .xlsx, or export it as CSV",
            ) from None
        total = sum(i.file_size for i in infos)
        if total > lim.max_unpacked_bytes:
            raise InputError(
                f"{self.path.name}: unpacks to {total} bytes, more than {lim.max_unpacked_bytes} "
                "(max_unpacked_bytes, REC-064)",
                hint="split the workbook, or export it as CSV",
            )
        for i in infos:
            if i.file_size > 1 << 20 and i.file_size > lim.max_ratio * max(1, i.compress_size):
                ratio = i.file_size // max(1, i.compress_size)
                raise InputError(
                    f"{self.path.name}: member {i.filename} unpacks {ratio}"
                    f" times its size, more than {lim.max_ratio} (max_ratio, REC-064): not a real "
                    "workbook",
                    hint="export the sheet as CSV from the program that made it",
                )

    def _sheets(self, wb: Any) -> Iterator[SourceRow]:
        """Every sheet is read or refused by name (REC-060): a sheet with rows but no recognisable
        header is listed in ``refused_sheets`` with the reason; empty sheets are skipped. The
        first readable sheet is found now (record type, columns); the others as rows are read."""
        self.refused_sheets: list[tuple[str, str]] = []
        sheets = iter(wb.worksheets)
        for ws in sheets:
            first = self._open_sheet(ws)
            if first is not None:
                return self._more_sheets(first, sheets)
        self.close()
        refused = "; ".join(f"sheet {name!r}: {why}" for name, why in self.refused_sheets)
        raise InputError(
            f"{self.path.name}: no sheet holds a template header (REC-060, REC-061): "
            + (refused or "every sheet is empty"),
            hint="the first row of a sheet must hold the template's column names",
        )

    def _more_sheets(self, first: Iterator[SourceRow], sheets: Iterator[Any]) -> Iterator[SourceRow]:
        try:
            yield from first
            for ws in sheets:
                rows = self._open_sheet(ws)
                if rows is not None:
                    yield from rows
        finally:
            self.close()

    def _open_sheet(self, ws: Any) -> Iterator[SourceRow] | None:
        """One sheet's rows, or None when it holds no template header: then it is listed in
        ``refused_sheets`` with the reason, unless it is empty (REC-060)."""
        try:
            return self._tabular(
                self._row_limit(enumerate(ws.iter_rows(values_only=True), start=1)),
                sheet=ws.title,
                close_after=False,
            )
        except InputError as exc:
            if not _empty_sheet(exc):
                self.refused_sheets.append((ws.title, exc.message))
            return None

    def _tabular(
        self, numbered: Iterator[tuple[int, Sequence[object]]], *, sheet: str = "", close_after: bool = True
    ) -> Iterator[SourceRow]:
        """Find the header among the first rows, then map every following row."""
        try:
            number, headers, rt = self._find_header(numbered)
        except InputError:
            if not sheet:
                self.close()
            raise
        if not hasattr(self, "record_type"):
            self.record_type = rt.code
            self.header_row = number
            self.columns = headers
        self.templates = getattr(self, "templates", {})
        self.templates[sheet] = (rt.code, headers)
        from creditx.standard.legacy2015 import plan

        legacy = plan(rt.code, headers, self.catalogue)
        mapper = _Mapper(rt, headers, self.catalogue)
        consumed = legacy.consumed_headers if legacy else frozenset()
        unknown = [h for h in mapper.unknown_columns if h not in consumed]
        self.unknown_columns = list(dict.fromkeys(getattr(self, "unknown_columns", []) + unknown))
        rows = self._map_rows(numbered, rt, mapper) if close_after else self._map_sheet(numbered, rt, mapper)
        return _converted(rows, legacy, sheet)

    def _find_header(self, numbered: Iterator[tuple[int, Sequence[object]]]) -> tuple[int, list[str], RecordType]:
        error = InputError(
            f"{self.path.name}: the file is empty or has no header row (REC-061)",
            hint="the first row must hold the template's column names",
        )
        for number, cells in numbered:
            headers = [_text(c) for c in cells]
            try:
                return number, headers, self._resolve_type(headers)
            except InputError as exc:
                error = exc
            if number >= HEADER_SEARCH_ROWS:
                break
        raise error

    def _map_rows(
        self, numbered: Iterator[tuple[int, Sequence[object]]], rt: RecordType, mapper: _Mapper
    ) -> Iterator[SourceRow]:
        try:
            for number, cells in numbered:
                if not any(_text(c) for c in cells):
                    continue
                fields, meta = mapper.map(list(cells))
                yield SourceRow(number, rt.code, fields, meta)
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{self.path.name}: cannot be read as {self.encoding} after row {number}: {exc.reason}",
                hint="save the whole file in one encoding, UTF-8 or GB18030",
            ) from exc
        finally:
            self.close()

    def _map_sheet(self, numbered: Iterator[tuple[int, Any]], rt: RecordType, mapper: _Mapper) -> Iterator[SourceRow]:
        for number, cells in numbered:
            if any(_text(c) for c in cells):
                fields, meta = mapper.map(list(cells))
                yield SourceRow(number, rt.code, fields, meta)

    def _resolve_type(self, headers: list[str]) -> RecordType:
        if self._requested in ("auto", "", None):
            return detect_record_type(headers, self.catalogue)
        rt = self.catalogue.record_type(self._requested)
        found = sum(1 for h in headers if (t := rt.resolve_header(h)) and not t.startswith(META_PREFIX))
        if found < MIN_HEADER_MATCHES:
            raise InputError(
                f"{self.path.name}: no recognisable {rt.code} header (REC-061)",
                hint=f"the first row must name {rt.code} fields, e.g. {', '.join(rt.required[:3])}",
            )
        return rt

    def _open_jsonl(self) -> Iterator[SourceRow]:
        self.encoding = "utf-8"
        fh = self.path.open(encoding="utf-8-sig")
        self._close = fh.close
        self.unknown_columns = []
        self.columns = []
        first_obj = None
        lines = enumerate(fh, start=1)
        pending = []
        for number, line in lines:  # find the first object to fix the record type
            pending.append((number, line))
            try:
                first_obj = json.loads(line) if line.strip() else None
            except (ValueError, RecursionError):  # bad JSON, a too-long number, nesting too deep
                first_obj = None
            if isinstance(first_obj, dict):
                break
        if not isinstance(first_obj, dict):
            self.close()
            raise InputError(
                f"{self.path.name}: no JSON object found (REC-060)",
                hint="write one JSON object per line, keyed by field codes or Chinese names",
            )
        keys = list((first_obj.get("fields") or first_obj).keys())
        if self._requested in ("auto", "", None) and first_obj.get("type") in self.catalogue.record_types:
            self._requested = first_obj["type"]
        rt = self._resolve_type(keys)
        self.record_type = rt.code
        self.header_row = 0
        return self._json_rows(rt, pending, lines)

    def _json_rows(
        self, rt: RecordType, pending: Iterable[tuple[int, str]], lines: Iterable[tuple[int, str]]
    ) -> Iterator[SourceRow]:
        import itertools

        seen_unknown: set[str] = set()
        for number, line in itertools.chain(pending, lines):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise ValueError("not a JSON object")
            except (ValueError, RecursionError) as exc:
                yield SourceRow(
                    number,
                    rt.code,
                    {},
                    {"parse_error": f"line {number} is not a JSON object: {type(exc).__name__}: {str(exc)[:200]}"},
                )
                continue
            body = obj["fields"] if isinstance(obj.get("fields"), dict) else obj
            envelope_meta = {k: _text(obj[k]) for k in ("op", "version", "source_id") if k in obj and body is not obj}
            keys = [k for k in body if not (body is obj and k == "type")]
            mapper = _Mapper(rt, keys, self.catalogue)
            for h in mapper.unknown_columns:
                if h not in seen_unknown:
                    seen_unknown.add(h)
                    self.unknown_columns.append(h)
            fields, meta = mapper.map([body[k] for k in keys])
            yield SourceRow(number, rt.code, fields, {**envelope_meta, **meta})
        self.close()

    # --- iterator protocol -----------------------------------------------------------------

    def __next__(self) -> SourceRow:
        return next(self._rows)

    def close(self) -> None:
        self._close()

    def __enter__(self) -> TableRows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _empty_sheet(exc: InputError) -> bool:
    return "is empty or has no header row" in exc.message


def _converted(rows: Iterator[SourceRow], legacy: LegacyPlan | None, sheet: str) -> Iterator[SourceRow]:
    """Rows through the 2015-template plan (REC-064), each tagged with its sheet name."""
    for r in rows:
        fields, meta = (r.fields, r.meta) if legacy is None else legacy.convert(r.fields, r.meta)
        if sheet:
            meta = dict(meta, sheet=sheet)
        yield SourceRow(r.row, r.record_type, fields, meta) if (fields is not r.fields or meta is not r.meta) else r


def sniff_encoding(path: Path, sample_size: int = 1 << 16) -> str:
    """``utf-8-sig`` (BOM), ``utf-16`` (BOM), ``utf-8`` when the sample decodes, else ``gb18030``."""
    with path.open("rb") as fh:
        sample = fh.read(sample_size)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=len(sample) < sample_size)
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def _bounded_csv(fh: TextIO, delimiter: str, limits: FileLimits) -> Iterator[list[str]]:
    """csv.reader with the cell bound as the field limit (csv's own default is 128 KiB, as an
    exception type nobody catches; here it becomes an InputError naming the row)."""
    old = csv.field_size_limit()
    try:
        csv.field_size_limit(limits.max_cell_chars)
        yield from csv.reader(fh, delimiter=delimiter)
    finally:
        csv.field_size_limit(old)


def read_table(
    path: str | Path,
    record_type: str = "auto",
    *,
    catalogue: Catalogue | None = None,
    limits: FileLimits = DEFAULT_LIMITS,
) -> TableRows:
    """Stream the rows of a CSV, XLSX or JSONL file as :class:`SourceRow` (see module doc)."""
    return TableRows(path, record_type, catalogue=catalogue, limits=limits)
