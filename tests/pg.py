"""A PostgreSQL database of a test's own: created fresh, dropped after (other tests and other
engineers use the same server at the same time).

The server is the one at ``CREDITX_TEST_PG`` (default: 127.0.0.1:5432, user postgres, trust
authentication; ``.ci/run`` starts one where none answers). Without a server the PostgreSQL
variants are skipped — except under ``CI=true``, where an unreachable server fails them.
"""

from __future__ import annotations

import atexit
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

ENGINES = ["sqlite", "postgresql"]  # the store_url fixture's values (tests/conftest.py)
SERVER = os.environ.get("CREDITX_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _admin():
    import psycopg

    return psycopg.connect(SERVER, autocommit=True, connect_timeout=5)


def server_or_skip() -> None:
    try:
        _admin().close()
    except Exception as exc:  # noqa: BLE001 — any reason the server does not answer
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {SERVER} is unreachable under CI=true: {exc}")
        pytest.skip(f"no PostgreSQL at {SERVER}: {exc}")


_template: list[str] = []  # the session's migrated template database, created on first use


def _drop_template() -> None:
    for name in _template:
        try:
            with _admin() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except Exception:  # noqa: BLE001 — the server went away first: nothing left to drop
            pass


def _migrated_template() -> str:
    """A database holding the gateway schema (all migrations, no rows), copied by CREATE DATABASE
    … TEMPLATE: a copy takes a fraction of running the migrations (~60 tables and partitions)."""
    if not _template:
        from creditx.gateway.store.postgres import PostgresStore

        name = f"creditx_tpl_{uuid.uuid4().hex[:16]}"
        with _admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        _template.append(name)
        atexit.register(_drop_template)
        PostgresStore(_url(name)).close()
    return _template[0]


def _url(name: str) -> str:
    return SERVER.rsplit("/", 1)[0] + "/" + name


@contextmanager
def fresh_database(*, migrated: bool = True) -> Iterator[str]:
    """The URL of a newly created, uniquely named database, dropped when the block ends; with
    ``migrated`` it starts with the gateway's schema (as a gateway's first start leaves it)."""
    server_or_skip()
    name = f"creditx_t_{uuid.uuid4().hex[:16]}"
    template = f' TEMPLATE "{_migrated_template()}"' if migrated else ""
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"{template}')
    try:
        yield _url(name)
    finally:
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
