"""Copy a whole gateway database from one store to another: backup, restore and migrate-store.

Both sides are migrated to the same schema version first (``open_store``); then every table the
schema has is copied, column by column as the destination names them, from one read
transaction of the source (a consistent snapshot, also of a running gateway) into one write
transaction of the destination, so a failed copy leaves the destination as empty as it was.
On PostgreSQL the rows go in with COPY, the log partitions are created ahead, and the sequences
are moved past the copied ids. The destination must hold no records and no audit leaves.

Backups are SQLite files whatever the store: one self-contained file that ``creditx gateway
audit verify`` can check and that restores onto either engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from creditx.gateway.store.engine import Conn, is_postgres, open_conn, open_store, stream, transaction
from creditx.standard.errors import InputError

CHUNK = 5000
# Tables whose rows a fresh store already has (one-row tree states, migration bookkeeping).
_REPLACED = ("audit_tree", "list_tree")
_SKIPPED = ("schema_migrations",)


@dataclass
class CopyReport:
    tables: dict[str, int] = field(default_factory=dict)  # table -> rows copied
    schema_version: int = 0


def tables(conn: Conn) -> list[str]:
    if is_postgres(conn):
        rows = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
            " ORDER BY c.relname"
        )
    else:
        rows = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    return [r[0] for r in rows]


def columns(conn: Conn, table: str) -> list[str]:
    if is_postgres(conn):
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = ? ORDER BY ordinal_position",
            (table,),
        )
        return [r[0] for r in rows]
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def schema_version(conn: Conn) -> int:
    row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()
    return int(row[0])


def _count(conn: Conn, table: str) -> int:
    return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _rows(conn: Conn, table: str, cols: list[str]) -> Iterator[list[tuple]]:
    order = "" if table in _REPLACED else f" ORDER BY {cols[0]}"
    cur = stream(conn, f"SELECT {', '.join(cols)} FROM {table}{order}")
    while True:
        chunk = cur.fetchmany(CHUNK)
        if not chunk:
            return
        yield [tuple(r) for r in chunk]


def _prepare_postgres(dst: Conn, src: Conn) -> None:
    from creditx.gateway.store import pg_migrations

    top = src.execute("SELECT COALESCE(MAX(idx), 0) FROM audit_leaves").fetchone()[0]
    pg_migrations.ensure_range_partitions(dst.conn, "audit_leaves", int(top))
    top = src.execute("SELECT COALESCE(MAX(list_seq), 0) FROM list_log").fetchone()[0]
    for table in ("list_log", "list_snap_sizes"):
        pg_migrations.ensure_range_partitions(dst.conn, table, int(top))


def _advance_sequences(dst: Conn) -> None:
    dst.execute("SELECT setval('records_id_seq', GREATEST((SELECT COALESCE(MAX(id), 0) FROM records), 1))")
    for table, column in dst.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND column_default LIKE 'nextval%'"
    ).fetchall():
        dst.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
            f" GREATEST((SELECT COALESCE(MAX({column}), 0) FROM {table}), 1))"
        )


def copy_database(
    source: str | Path, destination: str | Path, *, progress: Callable[[str, int, int], None] = lambda t, d, n: None
) -> CopyReport:
    """Copy every gateway table from ``source`` into the empty store at ``destination``
    (each a SQLite path or a PostgreSQL URL); ``progress(table, done, total)`` as rows go in."""
    for spec in (source, destination):
        open_store(spec).close()  # both at the current schema version
    src, dst = open_conn(source), open_conn(destination)
    report = CopyReport()
    try:
        with transaction(src, write=False), transaction(dst):
            report.schema_version = schema_version(src)
            if schema_version(dst) != report.schema_version:
                raise InputError(
                    f"the source is at schema version {report.schema_version}, the destination at {schema_version(dst)}",
                    hint="upgrade creditx so both stores are migrated by the same release",
                )
            if _count(dst, "records") or _count(dst, "audit_leaves") or _count(dst, "list_log"):
                raise InputError(
                    "the destination store already holds records or log entries",
                    hint="give an empty database (PostgreSQL: createdb a new one; SQLite: a new file name)",
                )
            if is_postgres(dst):
                _prepare_postgres(dst, src)
            wanted = set(tables(dst))
            for table in tables(src):
                if table not in wanted or table in _SKIPPED:
                    continue
                keep = set(columns(src, table))
                cols = [c for c in columns(dst, table) if c in keep]
                total = _count(src, table)
                if table in _REPLACED:
                    dst.execute(f"DELETE FROM {table}")
                marks = ", ".join("?" * len(cols))
                done = 0
                for chunk in _rows(src, table, cols):
                    dst.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", chunk)
                    done += len(chunk)
                    progress(table, done, total)
                report.tables[table] = done
            if is_postgres(dst):
                _advance_sequences(dst)
    finally:
        src.close()
        dst.close()
    return report
