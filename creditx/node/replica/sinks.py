"""File sinks: one append-only JSON Lines feed per department (DIST-061 for departments that only
read files). One line per matching change: :func:`creditx.node.replica.store.change_obj` + ``"department"``.

Exactly-once, not at-least-once (NODE-045). A sink appends its lines, flushes and fsyncs, and only
then records its cursor in SQLite. A kill between the two leaves lines the cursor does not
cover; on the next run :func:`recover` reads the file's last complete line and takes its
``list_seq`` as the cursor when it is ahead, and drops a torn (unterminated) last line. So after
any crash each matching change is in the file exactly once, in list_seq order.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from creditx.node.config import Department
from creditx.node.replica.departments import feed_next
from creditx.node.replica.store import ReplicaStore, change_obj

SINK_CURSORS = "sink_cursors"
_TAIL = 64 * 1024


def recover(path: Path) -> int:
    """Cut a torn last line; return the last complete line's list_seq (0 for none)."""
    if not path.exists():
        return 0
    with open(path, "rb+") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - _TAIL))
        tail = f.read()
        if tail and not tail.endswith(b"\n"):
            cut = tail.rfind(b"\n") + 1
            f.truncate(size - len(tail) + cut)
            tail = tail[:cut]
            f.flush()
            os.fsync(f.fileno())
    lines = tail.rstrip(b"\n").rsplit(b"\n", 1)
    return int(json.loads(lines[-1])["list_seq"]) if lines[-1] else 0


def drain(replica: ReplicaStore, dept: Department, directory: Path, *, max_changes: int = 1000) -> int:
    """Append every applied change after the sink's cursor matching ``dept``'s list types; returns
    the number of lines written."""
    path = directory / dept.jsonl
    path.parent.mkdir(parents=True, exist_ok=True)
    cursor = max(replica.cursor(SINK_CURSORS, dept.name), recover(path))
    written = 0
    while True:
        changes, new_cursor = feed_next(replica, cursor, dept.list_types, max_changes=max_changes)
        if new_cursor == cursor:
            return written
        if changes:
            with open(path, "ab") as f:
                f.write(
                    b"".join(
                        json.dumps(dict(change_obj(c), department=dept.name), ensure_ascii=False).encode() + b"\n"
                        for c in changes
                    )
                )
                f.flush()
                os.fsync(f.fileno())
            written += len(changes)
        replica.advance_cursor(SINK_CURSORS, dept.name, new_cursor)
        cursor = new_cursor
