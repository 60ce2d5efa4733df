"""File sinks: one append-only JSON Lines feed per department (DIST-061 for departments that only
read files). One line per matching feed item: :func:`creditx.node.replica.store.item_obj` +
``"department"`` — a change, a state-difference record or a re-bootstrap's marker (DIST-062).

Exactly-once, not at-least-once (NODE-045). A sink appends its lines, flushes and fsyncs, and only
then records its cursor in SQLite. A kill between the two leaves lines the cursor does not
cover; on the next run :func:`recover` reads the file's last complete line and takes its
``list_seq`` as the cursor when it is ahead, and drops a torn (unterminated) last line. A marker
shares its position with the first record after it and is written with it: a marker left last
in the file beyond the stored cursor lost that record to the tear, so it goes too and both are
written again. So after any crash each matching item is in the file exactly once, in order.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from creditx.node.config import Department
from creditx.node.replica.departments import feed_next
from creditx.node.replica.store import ReplicaStore, item_obj

SINK_CURSORS = "sink_cursors"
_TAIL = 64 * 1024


def recover(path: Path, stored: int = 0) -> int:
    """Cut a torn last line (and a marker its record was torn from); return the last complete
    line's list_seq (0 for none). ``stored`` is the sink's cursor in SQLite."""
    if not path.exists():
        return 0
    with open(path, "rb+") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - _TAIL))
        tail = f.read()
        cut = len(tail) if tail.endswith(b"\n") else tail.rfind(b"\n") + 1
        lines = tail[:cut].rstrip(b"\n").rsplit(b"\n", 1)
        last = json.loads(lines[-1]) if lines[-1] else None
        if last is not None and "skipped" in last and last["skipped"]["differences"] and last["list_seq"] > stored:
            cut -= len(lines[-1]) + 1  # the marker without its first record
            last = json.loads(lines[0].rsplit(b"\n", 1)[-1]) if len(lines) == 2 else None
        if cut < len(tail):
            f.truncate(size - len(tail) + cut)
            f.flush()
            os.fsync(f.fileno())
    return int(last["list_seq"]) if last else 0


def drain(replica: ReplicaStore, dept: Department, directory: Path, *, max_changes: int = 1000) -> int:
    """Append every feed item after the sink's cursor matching ``dept``'s list types; returns
    the number of lines written."""
    path = directory / dept.jsonl
    path.parent.mkdir(parents=True, exist_ok=True)
    stored = replica.cursor(SINK_CURSORS, dept.name)
    cursor = max(stored, recover(path, stored))
    written = 0
    while True:
        items, new_cursor = feed_next(replica, cursor, dept.list_types, max_changes=max_changes)
        if new_cursor == cursor:
            return written
        if items:
            with open(path, "ab") as f:
                f.write(
                    b"".join(
                        json.dumps(dict(item_obj(it), department=dept.name), ensure_ascii=False).encode() + b"\n"
                        for it in items
                    )
                )
                f.flush()
                os.fsync(f.fileno())
            written += len(items)
        replica.advance_cursor(SINK_CURSORS, dept.name, new_cursor)
        cursor = new_cursor
