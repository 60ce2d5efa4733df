"""Reading a front-end database (前置库) incrementally with SQLAlchemy Core 2.x (PostgreSQL through
psycopg, MySQL/MariaDB through PyMySQL, any other dialect SQLAlchemy has a driver for).

A page is the next rows after the cursor in (tracking, key) order:
``WHERE tracking > :t OR (tracking = :t AND key > :k) ORDER BY tracking, key LIMIT :n`` — so
rows sharing one update time are neither skipped nor read twice, and a row changed while a poll
runs is read again later under its new tracking value (a correction)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from creditx.node.docking.config import DockingSource


def encode_value(v: Any) -> str:
    """A cursor value as JSON that keeps its type (datetime, date, Decimal, int, str)."""
    if isinstance(v, dt.datetime):
        return json.dumps({"datetime": v.isoformat()})
    if isinstance(v, dt.date):
        return json.dumps({"date": v.isoformat()})
    if isinstance(v, Decimal):
        return json.dumps({"decimal": str(v)})
    return json.dumps(v)


def decode_value(text: str) -> Any:
    v = json.loads(text)
    if isinstance(v, dict):
        ((kind, raw),) = v.items()
        make: dict[str, Callable[[str], Any]] = {
            "datetime": dt.datetime.fromisoformat,
            "date": dt.date.fromisoformat,
            "decimal": Decimal,
        }
        return make[kind](raw)
    return v


class SourceReader:
    def __init__(self, src: DockingSource) -> None:
        self.src = src
        self.engine = sa.create_engine(src.url, pool_pre_ping=True, pool_size=1, max_overflow=0)
        cols: list[sa.ColumnClause[Any]] = [sa.column(c) for c in src.read_columns]
        self.from_: Any
        if src.table:
            schema, _, name = src.table.rpartition(".")
            self.from_ = sa.table(name, *cols, schema=schema or None)
        else:
            self.from_ = sa.text(src.query).columns(*cols).subquery("src")
        self.t = self.from_.c[src.tracking]
        self.k = self.from_.c[src.key]

    def _after(self, cursor: tuple[Any, Any] | None) -> Any:
        if cursor is None:
            return sa.true()
        t, k = cursor
        return sa.or_(self.t > t, sa.and_(self.t == t, self.k > k))

    def page(self, cursor: tuple[Any, Any] | None, limit: int) -> list[dict[str, Any]]:
        stmt = (
            sa.select(*[self.from_.c[c] for c in self.src.read_columns])
            .where(self._after(cursor))
            .order_by(self.t, self.k)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def pending(self, cursor: tuple[Any, Any] | None) -> tuple[int, Any]:
        """Rows not read yet, and the oldest tracking value among them (None when none)."""
        stmt = sa.select(sa.func.count(), sa.func.min(self.t)).select_from(self.from_).where(self._after(cursor))
        with self.engine.connect() as conn:
            n, oldest = conn.execute(stmt).one()
        return int(n), oldest

    def close(self) -> None:
        self.engine.dispose()
