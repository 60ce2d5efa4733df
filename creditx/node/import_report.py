"""What ``creditx node import`` tells the clerk: how many rows to expect (for the progress line)
and a summary that says exactly what happened (new, already submitted, quarantined, released,
with source_seq ranges), with the problems of the quarantined rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from creditx.cli.output import format_table
from creditx.node.intake import IntakeReport

SHOWN_PROBLEMS = 20  # on a terminal; --json lists every one


def count_rows(path: Path) -> int | None:
    """Data rows in the file, cheaply (newlines for CSV/JSONL, sheet dimensions for XLSX); None if
    it cannot be told. Only for the progress line: a header or title rows make it a little high."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            import openpyxl

            wb = openpyxl.load_workbook(path, read_only=True)
            try:
                return sum(max((ws.max_row or 1) - 1, 0) for ws in wb.worksheets)
            finally:
                wb.close()
        lines = 0
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                lines += chunk.count(b"\n")
        return max(lines - (0 if suffix in (".jsonl", ".ndjson") else 1), 0)
    except Exception:  # noqa: BLE001 - an estimate only; the import itself reports real errors
        return None


def _ranges(ranges: list[list[int]]) -> str:
    return ", ".join(f"{a}–{b}" if a != b else f"{a}" for a, b in ranges)


def format_import(report: IntakeReport, extra: dict[str, Any], *, node_dir: str) -> str:
    lines = [f"{extra['file']}: {report.rows} rows read"]
    new = f"  new:               {report.accepted}"
    if report.accepted:
        new += f" into the outbox (source_seq {_ranges(report.seq_ranges)})"
    lines.append(new)
    lines.append(
        f"  already submitted: {report.already_submitted}"
        + (" (in the outbox from an earlier import; nothing added)" if report.already_submitted else "")
    )
    q = f"  quarantined:       {report.quarantined}"
    if report.requarantined:
        q += f" ({report.requarantined} of them were already in quarantine and were replaced, not added)"
    lines.append(q)
    if report.released:
        lines.append(f"  left quarantine:   {report.released} (fixed rows that went through)")
    lines.append(f"  quarantine now holds {extra['quarantine_records']} records")
    for s in extra.get("refused_sheets", []):
        lines.append(f"  sheet {s['sheet']!r} refused: {s['reason']}")
    if extra.get("unknown_columns"):
        lines.append(f"  columns that name no field (values kept, not sent): {', '.join(extra['unknown_columns'])}")
    if report.problems:
        shown = report.problems[:SHOWN_PROBLEMS]
        lines.append(
            format_table(
                [(p.get("sheet", ""), p["row"], p["field"], p["rule"], p["reason"], p["fix"]) for p in shown],
                ["sheet", "row", "field", "rule", "reason", "fix"],
            )
            if any(p.get("sheet") for p in shown)
            else format_table(
                [(p["row"], p["field"], p["rule"], p["reason"], p["fix"]) for p in shown],
                ["row", "field", "rule", "reason", "fix"],
            )
        )
        if len(report.problems) > len(shown):
            lines.append(
                f"… {len(report.problems) - len(shown)} more problems: "
                f"creditx node quarantine --dir {node_dir}"
                " (or --json here)"
            )
    if report.quarantined:
        lines.append(
            f"fix them in a spreadsheet: creditx node quarantine --dir {node_dir} --export FILE, then import FILE again"
        )
    sync = extra["sync"]
    if sync == "nothing new to send":
        lines.append("sync: nothing new to send")
    elif sync:
        lines.append("sync: the running node was asked to sync now")
    elif (Path(node_dir) / "node.sock").exists():
        lines.append(
            "sync: the node's socket did not answer within 5 s; the records wait in the outbox "
            "and go with its next scheduled sync"
        )
    else:
        lines.append(
            "sync: no node is running in this directory; the records wait in the outbox for "
            f"creditx node run --dir {node_dir}"
        )
    return "\n".join(lines)
