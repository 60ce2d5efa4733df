"""A PostgreSQL database of a test's own: created fresh, dropped after (other tests and other
engineers use the same server at the same time).

The server is the one at ``CREDITX_TEST_PG`` (default: 127.0.0.1:5432, user postgres, trust
authentication; ``.ci/run`` starts one where none answers). Without a server the PostgreSQL
variants are skipped — except under ``CI=true``, where an unreachable server fails them.
"""

from __future__ import annotations

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


@contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a newly created, uniquely named database, dropped when the block ends."""
    server_or_skip()
    name = f"creditx_t_{uuid.uuid4().hex[:16]}"
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield SERVER.rsplit("/", 1)[0] + "/" + name
    finally:
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
