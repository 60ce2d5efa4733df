"""A docking source as configured in ``node.json`` (``"docking": [...]``), checked on load.

    {"name": "market-penalties",
     "url": "postgresql+psycopg://reader@10.0.0.5/qzk",    # or "url_env": "QZK_URL" (keeps passwords out)
     "table": "xzcf_qzk",                                   # or "query": "SELECT … FROM …"
     "record_type": "XZCF",
     "key": "id",                                           # primary key column (unique, comparable)
     "tracking": "gxsj",                                    # update time or row version, bumped on every change
     "columns": {"xdr_mc": "CF_XDR_MC", "wsh": "CF_WSH", …},  # column → field code
     "op_column": "czbs",                                   # optional: I/U/D (新增/修改/删除) per row
     "deleted_column": "",                                  # optional: a soft-delete flag (truthy → D)
     "interval_s": 60, "batch_rows": 500}

A row is new (I) the first time its key reaches the outbox and a correction (U) afterwards,
whatever an I/U flag says (a front-end table often re-flags rows); op D in ``op_column`` or a
truthy ``deleted_column`` is a revocation (D). Rows deleted outright at
the source cannot be seen by polling: a front-end database marks deletions instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from creditx.standard.catalogue import load_catalogue
from creditx.standard.errors import InputError


@dataclass(frozen=True)
class DockingSource:
    name: str
    url: str
    record_type: str
    key: str
    tracking: str
    columns: dict[str, str] = field(default_factory=dict)
    table: str = ""
    query: str = ""
    op_column: str = ""
    deleted_column: str = ""
    interval_s: float = 60.0
    batch_rows: int = 500
    max_pages_per_poll: int = 1000

    @property
    def read_columns(self) -> list[str]:
        cols = [self.key, self.tracking, *self.columns, self.op_column, self.deleted_column]
        return list(dict.fromkeys(c for c in cols if c))


def _bad(name: str, what: str, hint: str) -> InputError:
    return InputError(f"node.json: docking[{name}]: {what}", hint=hint)


def parse_docking(raw: list[Any]) -> tuple[DockingSource, ...]:
    if not isinstance(raw, list):
        raise InputError("node.json: docking must be a list of sources", hint='write "docking": [{…}, …]')
    out: list[DockingSource] = []
    cat = load_catalogue()
    known = {f.name for f in DockingSource.__dataclass_fields__.values()} | {"url_env"}
    for i, d in enumerate(raw):
        name = str(d.get("name") or f"#{i}") if isinstance(d, dict) else f"#{i}"
        if not isinstance(d, dict):
            raise _bad(name, "is not an object", "see the README, database docking")
        unknown = set(d) - known
        if unknown:
            raise _bad(name, f"unknown settings {sorted(unknown)}", f"known settings: {sorted(known)}")
        url = d.get("url") or (os.environ.get(d["url_env"], "") if d.get("url_env") else "")
        if not url:
            raise _bad(
                name,
                "no url (or url_env names an unset variable)",
                "write a SQLAlchemy URL such as postgresql+psycopg://user@host/db or mysql+pymysql://user@host/db",
            )
        if bool(d.get("table")) == bool(d.get("query")):
            raise _bad(name, "give exactly one of table and query", 'e.g. "table": "xzcf_qzk"')
        rt_code = str(d.get("record_type", ""))
        rt = cat.record_type(rt_code)  # InputError names the record types
        columns = d.get("columns") or {}
        if not isinstance(columns, dict) or not columns:
            raise _bad(name, "columns must map source columns to field codes", 'e.g. {"wsh": "CF_WSH"}')
        bad = sorted(v for v in columns.values() if v not in rt.codes)
        if bad:
            raise _bad(name, f"{bad} are not {rt.code} field codes (REC-026)", f"use codes such as {rt.codes[:3]}")
        for k in ("key", "tracking"):
            if not d.get(k):
                raise _bad(
                    name,
                    f"{k} is missing",
                    "key: the primary-key column; tracking: the update-time or row-version column",
                )
        try:
            src = DockingSource(
                name=str(d["name"]),
                url=url,
                record_type=rt.code,
                key=str(d["key"]),
                tracking=str(d["tracking"]),
                columns={str(k): str(v) for k, v in columns.items()},
                table=str(d.get("table") or ""),
                query=str(d.get("query") or ""),
                op_column=str(d.get("op_column") or ""),
                deleted_column=str(d.get("deleted_column") or ""),
                interval_s=float(d.get("interval_s", 60.0)),
                batch_rows=int(d.get("batch_rows", 500)),
                max_pages_per_poll=int(d.get("max_pages_per_poll", 1000)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise _bad(name, f"bad setting ({exc})", "see the README, database docking") from None
        if src.interval_s <= 0 or src.batch_rows <= 0 or src.max_pages_per_poll <= 0:
            raise _bad(
                name, "interval_s, batch_rows and max_pages_per_poll must be positive", "remove them for the defaults"
            )
        out.append(src)
    names = [s.name for s in out]
    for n in names:
        if names.count(n) > 1 or ":" in n:
            raise _bad(n, "name is repeated or contains ':'", "give every source a unique name without ':'")
    return tuple(out)
