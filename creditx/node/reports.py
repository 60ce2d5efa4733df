"""What the node tells its operator, read straight from its SQLite file (works while the node
is stopped): status and rejects (the quarantine is creditx.node.quarantine). Pure formatting of store rows;
no network."""

from __future__ import annotations

import datetime as dt

from creditx.node.store import NodeStore

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
        "clock_skew_s": st.get("clock_skew_s"),  # SEC-080: gateway time − node time at the last heartbeat
        "alarms": st.get("alarms") or [],  # SYNC-051, as the running node last saved them
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
    if s.get("clock_skew_s") is not None:
        lines.append(f"clock:       {s['clock_skew_s']:+.1f} s against the gateway's (+ = this node is behind)")
    for a in s.get("alarms", []):
        lines.append(f"ALARM {a['severity']}: {a['name']}: {a['message']} (since {_when(a['since'])})")
    for d in s.get("docking", []):
        lag = f", lag {d['lag_s']:.0f} s" if d.get("lag_s") else ""
        lines.append(
            f"docking {d['source']}: {d['seen']} rows seen, {d['accepted']} accepted, "
            f"{d['quarantined']} quarantined, {d['skipped']} deletions with nothing to revoke; "
            f"{d['pending_rows'] if d['pending_rows'] is not None else '?'} pending{lag}; "
            f"last poll {_when(d['last_poll_at']) or 'never'}"
            + (f"; last error {d['last_error']} ({_when(d['last_error_at'])})" if d.get("last_error") else "")
        )
    return "\n".join(lines)
