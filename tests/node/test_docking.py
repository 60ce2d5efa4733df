"""Database docking against the real PostgreSQL and MariaDB servers: each test creates its own
database and drops it. Rows sharing one tracking value, rows updated and deleted at the source,
rows changed while a poll runs, and a `creditx node run` process killed with SIGKILL mid-poll:
every source row reaches the outbox exactly once per change, corrections as U and deletions as D."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa

from creditx.node.app import NodeApp
from creditx.node.docking.config import DockingSource, parse_docking
from creditx.node.docking.poll import docking_stats, load_cursor, poll
from creditx.node.docking.reader import SourceReader
from creditx.node.reports import format_status
from creditx.standard.catalogue import load_catalogue
from creditx.standard.errors import InputError
from creditx.standard.synth import generate_rows
from tests.node.test_cli_app import _wait_for, node_dir  # noqa: F401 - the fixture
from tests.node.test_node_process import RUN

SERVERS = {
    "postgresql": ("postgresql+psycopg://postgres@127.0.0.1:5432/{db}", "postgres"),
    "mariadb": ("mysql+pymysql://root@127.0.0.1:3306/{db}?charset=utf8mb4", "test"),
}
CODES = load_catalogue().record_type("XZCF").codes
DATE_CODES = {"CF_JDRQ", "CF_YXQ", "CF_GSJZQ"}
BASE = dt.datetime(2026, 5, 1, 8, 0, 0)


@pytest.fixture(params=sorted(SERVERS))
def source_db(request):
    kind = request.param
    template, admin_db = SERVERS[kind]
    name = f"cx_dock_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(template.format(db=admin_db), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(sa.text(f"CREATE DATABASE {name}"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"{kind} server not reachable: {exc}")
    url = template.format(db=name)
    engine = sa.create_engine(url)
    tracking = "TIMESTAMP(6)" if kind == "postgresql" else "BIGINT"  # update time, or a row version
    cols = ", ".join(
        f"{c.lower()} {'DATE' if c in DATE_CODES else 'NUMERIC(18,6)' if c == 'CF_NR_FK' else 'TEXT'}" for c in CODES
    )
    with engine.begin() as c:
        c.execute(
            sa.text(
                f"CREATE TABLE cf_qzk (id INTEGER PRIMARY KEY, gxsj {tracking} NOT NULL, "
                f"deleted SMALLINT NOT NULL DEFAULT 0, {cols})"
            )
        )
    yield kind, url, engine
    engine.dispose()
    with admin.connect() as c:
        c.execute(sa.text(f"DROP DATABASE {name}" + (" WITH (FORCE)" if kind == "postgresql" else "")))
    admin.dispose()


def _tracking(kind: str, n: int):
    return BASE + dt.timedelta(seconds=n) if kind == "postgresql" else 1000 + n


def _db_row(i: int, fields: dict, kind: str, tick: int) -> dict:
    row = {"id": i, "gxsj": _tracking(kind, tick), "deleted": 0}
    for c in CODES:
        v = fields.get(c)
        if v and c in DATE_CODES:
            try:
                v = dt.date.fromisoformat(v)
            except ValueError:  # a broken date cannot be stored in a DATE column: the row arrives without it
                v = None
        elif v and c == "CF_NR_FK":
            try:
                v = Decimal(v)
            except ArithmeticError:
                v = None
        row[c.lower()] = v or None
    return row


def _insert(engine, rows: list[dict]) -> None:
    with engine.begin() as c:
        c.execute(
            sa.text(f"INSERT INTO cf_qzk ({', '.join(rows[0])}) VALUES ({', '.join(':' + k for k in rows[0])})"), rows
        )


def _source(url: str, **kw) -> DockingSource:
    return DockingSource(
        name=kw.pop("name", "market"),
        url=url,
        record_type="XZCF",
        key="id",
        tracking="gxsj",
        columns={c.lower(): c for c in CODES},
        table="cf_qzk",
        deleted_column="deleted",
        **kw,
    )


def _generated(n: int, seed: int, invalid: float = 0.0):
    return list(generate_rows("370100", "XZCF", n, seed=seed, invalid_share=invalid, today=dt.date.today()))


def _outbox(store) -> list[tuple[str, int, str, dict]]:
    return [
        (sid, v, op, json.loads(p)["fields"])
        for sid, v, op, p in store.conn.execute(
            "SELECT source_id, version, op, payload FROM outbox ORDER BY source_seq"
        )
    ]


def _assert_once_per_change(outbox) -> None:
    seen = [(sid, v) for sid, v, _, _ in outbox]
    assert len(seen) == len(set(seen)), "a (source_id, version) reached the outbox twice"
    by_id: dict[str, list[int]] = {}
    for sid, v, _, _ in outbox:
        by_id.setdefault(sid, []).append(v)
    assert all(vs == list(range(1, len(vs) + 1)) for vs in by_id.values()), "versions skip or go back"


def test_poll_reads_equal_timestamps_updates_deletes_and_fixes(node_dir, source_db):  # noqa: F811
    d, _ = node_dir
    kind, url, engine = source_db
    gen = _generated(60, seed=21, invalid=0.1)
    bad = {i for i, g in enumerate(gen, start=1) if g.defect}
    assert bad
    _insert(engine, [_db_row(i, g.fields, kind, tick=i // 7) for i, g in enumerate(gen, start=1)])  # 7 share a value
    src = _source(url, batch_rows=8)
    app, reader = NodeApp(d), SourceReader(src)
    try:
        r1 = poll(app.store, app.signer, src, reader, region="370100", today=dt.date.today())
        assert (r1.seen, r1.accepted + r1.quarantined, r1.pending) == (60, 60, 0)
        assert r1.quarantined == len(bad) > 0 and r1.pages == 8
        assert poll(app.store, app.signer, src, reader, region="370100", today=dt.date.today()).seen == 0
        cursor = load_cursor(app.store, "market")
        assert cursor is not None and cursor[1] == 60

        # at the source: 3 corrections, 2 deletions, one quarantined row fixed, 2 new rows that share
        # the cursor's own tracking value (equal timestamps, higher keys)
        last = 60 // 7
        goods = sorted(set(range(1, 61)) - bad)
        upd, dele, fixed_id = goods[:3], goods[3:5], min(bad)
        fresh = _generated(3, seed=99)
        with engine.begin() as c:
            for i in upd:
                c.execute(
                    sa.text("UPDATE cf_qzk SET bz = :bz, gxsj = :t WHERE id = :i"),
                    {"bz": f"更正：第{i}条", "t": _tracking(kind, last + 1), "i": i},
                )
            c.execute(
                sa.text("UPDATE cf_qzk SET deleted = 1, gxsj = :t WHERE id IN (:a, :b)"),
                {"t": _tracking(kind, last + 1), "a": dele[0], "b": dele[1]},
            )
            good = _db_row(fixed_id, fresh[0].fields, kind, last + 2)
            c.execute(sa.text("DELETE FROM cf_qzk WHERE id = :i"), {"i": fixed_id})
        _insert(engine, [good])
        _insert(engine, [_db_row(61 + j, g.fields, kind, tick=last) for j, g in enumerate(fresh[1:])])
        before = app.store.counts()["quarantined"]
        r2 = poll(app.store, app.signer, src, reader, region="370100", today=dt.date.today())
        assert (r2.seen, r2.accepted, r2.quarantined) == (8, 8, 0)
        assert app.store.counts()["quarantined"] == before - 1  # the fixed row left the quarantine
        outbox = _outbox(app.store)
        _assert_once_per_change(outbox)
        ops = {(sid, v): (op, f) for sid, v, op, f in outbox}
        for i in upd:
            op, f = ops[f"market:{i}", 2]
            assert op == "U" and f["BZ"] == f"更正：第{i}条"
        assert all(ops[f"market:{i}", 2][0] == "D" for i in dele)
        assert ops[f"market:{fixed_id}", 1][0] == "I"
        assert {f"market:{i}" for i in (61, 62)} <= {sid for sid, *_ in outbox}
        [stats] = docking_stats(app.store)
        assert (stats["seen"], stats["pending_rows"]) == (68, 0)
        assert stats["accepted"] == 60 - len(bad) + 8 and stats["quarantined"] == len(bad)
        shown = format_status(app.status())
        assert f"docking market: 68 rows seen, {60 - len(bad) + 8} accepted, {len(bad)} quarantined" in shown
        # every accepted record says what the source row said
        with engine.connect() as c:
            wsh = dict(c.execute(sa.text("SELECT id, cf_wsh FROM cf_qzk")).all())
        for sid, _, _, f in outbox:
            assert f["CF_WSH"] == wsh[int(sid.split(":")[1])]
    finally:
        reader.close()
        app.close()


class _ChangingReader(SourceReader):
    """Changes the source between the first and second page of a poll, as a department's system
    writing during the poll would."""

    def __init__(self, src, engine, kind):
        super().__init__(src)
        self.other, self.kind, self.calls = engine, kind, 0

    def page(self, cursor, limit):
        rows = super().page(cursor, limit)
        self.calls += 1
        if self.calls == 1:
            with self.other.begin() as c:  # one row already read, one not yet read
                c.execute(
                    sa.text("UPDATE cf_qzk SET bz = '读后修改', gxsj = :t WHERE id IN (1, 20)"),
                    {"t": _tracking(self.kind, 100)},
                )
        return rows


def test_rows_changed_during_a_poll_arrive_once_per_change(node_dir, source_db):  # noqa: F811
    d, _ = node_dir
    kind, url, engine = source_db
    _insert(engine, [_db_row(i, g.fields, kind, tick=i) for i, g in enumerate(_generated(24, seed=5), start=1)])
    src = _source(url, batch_rows=5)
    app, reader = NodeApp(d), _ChangingReader(src, engine, kind)
    try:
        r = poll(app.store, app.signer, src, reader, region="370100", today=dt.date.today())
        assert r.pending == 0
        outbox = _outbox(app.store)
        _assert_once_per_change(outbox)
        got = {(sid, v): (op, f.get("BZ")) for sid, v, op, f in outbox}
        assert got["market:1", 2] == ("U", "读后修改")  # read, changed, read again
        assert got["market:20", 1] == ("I", "读后修改") and ("market:20", 2) not in got  # read once, changed
        assert len(outbox) == 25
    finally:
        reader.close()
        app.close()


def test_docking_config_is_checked_with_the_setting_named():
    ok = {
        "name": "m",
        "url": "sqlite://",
        "table": "t",
        "record_type": "XZCF",
        "key": "id",
        "tracking": "ts",
        "columns": {"wsh": "CF_WSH"},
    }
    assert parse_docking([ok])[0].read_columns == ["id", "ts", "wsh"]
    for change, words in (
        ({"columns": {"wsh": "CF_NOPE"}}, "CF_NOPE"),
        ({"query": "SELECT 1"}, "exactly one"),
        ({"tracking": ""}, "tracking"),
        ({"url": ""}, "url"),
        ({"colour": 1}, "colour"),
    ):
        with pytest.raises(InputError) as exc:
            parse_docking([{**ok, **change}])
        assert words in exc.value.message


@pytest.mark.slow
def test_sigkill_mid_poll_loses_and_doubles_nothing(tmp_path, source_db):
    from creditx.pki.testing import make_pki
    from tests.node.fake_gateway import FakeGateway, serve
    from tests.node.test_cli_app import FREE_PORTS, creditx

    kind, url, engine = source_db
    total = 800
    _insert(engine, [_db_row(i, g.fields, kind, tick=i // 3) for i, g in enumerate(_generated(total, seed=8), start=1)])
    pki = make_pki(tmp_path / "pki")
    fake = FakeGateway(max_batch_records=50)
    server, target = serve(fake, pki)
    d = tmp_path / "node"
    try:
        assert (
            creditx(
                "init",
                "--dir",
                d,
                "--region",
                "370100",
                "--gateway",
                target,
                "--certs",
                pki.nodes["370100"].dir,
                *FREE_PORTS,
            )
            == 0
        )
        cfg = json.loads((d / "node.json").read_text())
        cfg["docking"] = [
            {
                "name": "market",
                "url": url,
                "table": "cf_qzk",
                "record_type": "XZCF",
                "key": "id",
                "tracking": "gxsj",
                "deleted_column": "deleted",
                "columns": {c.lower(): c for c in CODES},
                "interval_s": 0.1,
                "batch_rows": 10,
                "max_pages_per_poll": 2,
            }
        ]
        (d / "node.json").write_text(json.dumps(cfg))

        def outbox_count() -> int:
            if not (d / "node.db").exists():
                return 0
            with sqlite3.connect(d / "node.db") as c:
                try:
                    return c.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
                except sqlite3.OperationalError:
                    return 0

        proc = subprocess.Popen(
            [sys.executable, "-c", RUN, str(d)], cwd=os.getcwd(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            assert _wait_for(lambda: outbox_count() >= 200, timeout=60), proc.stderr
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        at_kill = outbox_count()
        assert at_kill < total, "the poll finished before the kill"
        with sqlite3.connect(d / "node.db") as c:
            read_up_to = json.loads(c.execute("SELECT pk FROM docking_cursors").fetchone()[0])
        # while the node is down: corrections and deletions of rows it read, and new rows
        changed, deleted = list(range(1, 21)), list(range(21, 26))
        assert read_up_to >= 25
        end = total // 3 + 10
        with engine.begin() as c:
            c.execute(
                sa.text(
                    f"UPDATE cf_qzk SET bz = '停机期间更正', gxsj = :t WHERE id IN ({','.join(map(str, changed))})"
                ),
                {"t": _tracking(kind, end)},
            )
            c.execute(
                sa.text(f"UPDATE cf_qzk SET deleted = 1, gxsj = :t WHERE id IN ({','.join(map(str, deleted))})"),
                {"t": _tracking(kind, end)},
            )
        _insert(
            engine, [_db_row(total + j + 1, g.fields, kind, tick=end) for j, g in enumerate(_generated(10, seed=77))]
        )
        proc = subprocess.Popen(
            [sys.executable, "-c", RUN, str(d)], cwd=os.getcwd(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        assert proc.stderr is not None
        expected = total + 10 + len(changed) + len(deleted)
        try:
            assert _wait_for(lambda: outbox_count() >= expected, timeout=120), proc.stderr
            assert _wait_for(lambda: fake.committed() >= expected, timeout=60)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0, proc.stderr.read().decode()
    finally:
        server.stop(None)
    app = NodeApp(d)
    try:
        outbox = _outbox(app.store)
        _assert_once_per_change(outbox)
        assert len(outbox) == expected
        ops = {(sid, v): (op, f) for sid, v, op, f in outbox}
        assert {sid for sid, v in ops if v == 1} == {f"market:{i}" for i in range(1, total + 11)}
        assert all(
            ops[f"market:{i}", 2][0] == "U" and ops[f"market:{i}", 2][1]["BZ"] == "停机期间更正" for i in changed
        )
        assert all(ops[f"market:{i}", 2][0] == "D" for i in deleted)
        [stats] = app.status()["docking"]
        assert stats["pending_rows"] == 0 and stats["seen"] == expected  # committed pages only, once each
    finally:
        app.close()


class _DroppingReader(SourceReader):
    """The database drops every connection of this source between two pages (a restart, a
    network cut): the pooled connection is dead when the next page is asked for."""

    def __init__(self, src, engine, kind):
        super().__init__(src)
        self.admin, self.kind, self.calls, self.dropped = engine, kind, 0, 0

    def page(self, cursor, limit):
        self.calls += 1
        if self.calls == 3:
            with self.admin.connect() as c:
                if self.kind == "postgresql":
                    self.dropped = len(
                        c.execute(
                            sa.text(
                                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                            )
                        ).all()
                    )
                else:
                    ids = (
                        c.execute(
                            sa.text(
                                "SELECT id FROM information_schema.processlist "
                                "WHERE db = DATABASE() AND id <> CONNECTION_ID()"
                            )
                        )
                        .scalars()
                        .all()
                    )
                    for i in ids:
                        c.execute(sa.text(f"KILL CONNECTION {int(i)}"))
                    self.dropped = len(ids)
        return super().page(cursor, limit)


def test_connections_dropped_mid_poll_lose_and_double_nothing(node_dir, source_db):  # noqa: F811
    d, _ = node_dir
    kind, url, engine = source_db
    _insert(engine, [_db_row(i, g.fields, kind, tick=i // 4) for i, g in enumerate(_generated(30, seed=3), start=1)])
    src = _source(url, batch_rows=4)
    app, reader = NodeApp(d), _DroppingReader(src, engine, kind)
    try:
        r = poll(app.store, app.signer, src, reader, region="370100", today=dt.date.today())
        assert reader.dropped >= 1  # the reader's own pooled connection was cut
        assert (r.seen, r.accepted, r.pending) == (30, 30, 0)
        outbox = _outbox(app.store)
        _assert_once_per_change(outbox)
        assert sorted(sid for sid, *_ in outbox) == sorted(f"market:{i}" for i in range(1, 31))
    finally:
        reader.close()
        app.close()


def test_an_unreachable_database_is_reported_on_the_source_and_the_node_carries_on(node_dir):  # noqa: F811
    d, _ = node_dir
    cfg = json.loads((d / "node.json").read_text())
    cfg["docking"] = [
        {
            "name": "down",
            "url": "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2",
            "table": "t",
            "record_type": "XZCF",
            "key": "id",
            "tracking": "ts",
            "columns": {"wsh": "CF_WSH"},
        }
    ]
    (d / "node.json").write_text(json.dumps(cfg))
    app = NodeApp(d)
    try:
        app.docking_job("down")  # does not raise
        [stats] = app.status()["docking"]
        assert "OperationalError" in stats["last_error"] and stats["last_error_at"]
        assert "last error OperationalError" in format_status(app.status())
    finally:
        app.close()


def test_an_operation_column_marks_revocations(node_dir, source_db):  # noqa: F811
    d, _ = node_dir
    kind, url, engine = source_db
    with engine.begin() as c:
        c.execute(sa.text("ALTER TABLE cf_qzk ADD COLUMN czbs VARCHAR(8)"))
    rows = [_db_row(i, g.fields, kind, tick=i) for i, g in enumerate(_generated(6, seed=12), start=1)]
    for r, flag in zip(rows, ("I", "新增", "I", "U", "I", "删除"), strict=True):
        r["czbs"] = flag
    _insert(engine, rows)
    src = DockingSource(
        name="market",
        url=url,
        record_type="XZCF",
        key="id",
        tracking="gxsj",
        columns={c.lower(): c for c in CODES},
        table="cf_qzk",
        op_column="czbs",
    )
    app, reader = NodeApp(d), SourceReader(src)
    try:
        r1 = poll(app.store, app.signer, src, reader, region="370100", today=dt.date.today())
        assert (r1.seen, r1.accepted, r1.skipped) == (6, 5, 1)  # row 6: a deletion of nothing sent
        with engine.begin() as c:
            c.execute(sa.text("UPDATE cf_qzk SET czbs = 'D', gxsj = :t WHERE id = 2"), {"t": _tracking(kind, 50)})
        r2 = poll(app.store, app.signer, src, reader, region="370100", today=dt.date.today())
        assert (r2.seen, r2.accepted) == (1, 1)
        ops = [(sid, v, op) for sid, v, op, _ in _outbox(app.store)]
        assert ops[-1] == ("market:2", 2, "D")
        assert ("market:4", 1, "I") in ops  # flagged U, but new to the outbox: a new record
    finally:
        reader.close()
        app.close()
