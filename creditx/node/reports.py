"""What the node tells its operator, read straight from its SQLite file (works while the node
is stopped): status, rejects, quarantine listing and CSV export. Pure formatting of store rows;
no network."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from creditx.node.store import NodeStore

QUARANTINE_COLUMNS = (
    "id",
    "file",
    "row",
    "record_type",
    "source_id",
    "field",
    "field_name",
    "rule",
    "reason",
    "message",
    "fix",
    "fields",
)
REJECT_COLUMNS = ("source_seq", "source_id", "type", "reason", "requirement", "field", "message")


def _when(ts: object) -> str | None:
    if not isinstance(ts, (int, float)):
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")


def node_status(store: NodeStore) -> dict:
    st = store.get_state()
    return {
        "outbox": store.counts(),
        "last_source_seq": store.last_seq(),
        "first_unacked_seq": store.first_unacked(),
        "last_committed_seq": st.get("committed_seq"),
        "last_sync": _when(st.get("last_sync_at")),
        "last_ack": _when(st.get("last_ack_at")),
        "gateway_reachable": st.get("gateway_reachable"),
        "gateway_id": st.get("gateway_id"),
        "last_error": st.get("last_error") or None,
        "last_error_reason": st.get("last_error_reason") or None,  # the gateway's reason code (SYNC-016)
        "last_error_at": _when(st.get("last_error_at")),
    }


def format_status(s: dict) -> str:
    o = s["outbox"]
    lines = [
        "outbox:      "
        + ", ".join(f"{k} {o[k]}" for k in ("pending", "sent", "accepted", "duplicate", "superseded", "rejected")),
        f"quarantined: {o['quarantined']}",
        f"source_seq:  last assigned {s['last_source_seq']}, gateway committed {s['last_committed_seq'] or 0}",
        f"last sync:   {s['last_sync'] or 'never'}",
        f"gateway:     {'reachable' if s['gateway_reachable'] else 'unreachable' if s['gateway_reachable'] is False else 'unknown'}",
    ]
    if s["last_error"]:
        lines.append(f"last error:  {s['last_error']} ({s['last_error_at']})")
    return "\n".join(lines)


def export_quarantine(rows: list[dict], path: Path) -> int:
    """CSV (UTF-8 with BOM so spreadsheet programs read the Chinese) of quarantined rows."""
    import json

    with open(path, "w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow(QUARANTINE_COLUMNS)
        for r in rows:
            w.writerow([json.dumps(r[c], ensure_ascii=False) if c == "fields" else r[c] for c in QUARANTINE_COLUMNS])
    return len(rows)
