"""migrate-store, backup and restore on real stores: a SQLite gateway with records, list changes and
signed checkpoints moves to PostgreSQL with nothing lost and keeps serving where it stopped; a
backup of the PostgreSQL store restores into an empty SQLite store, verified."""

from __future__ import annotations

import json
import shutil

from creditx.cli.main import main
from creditx.gateway.server import Gateway
from creditx.gateway.store.engine import open_conn
from tests.gateway.push_client import PushClient, payloads
from tests.gateway_lists.client import list_payload, list_rows
from tests.pg import fresh_database

TABLES = ("records", "audit_leaves", "checkpoints", "list_log", "list_entries", "list_checkpoints", "nodes")


def counts(spec) -> dict[str, int]:
    conn = open_conn(spec)
    try:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        conn.close()


def _fill(gw_dir, pki) -> None:
    g = Gateway(gw_dir)
    g.start()
    try:
        c = PushClient(g.address, pki.nodes["370100"])
        c.handshake()
        lists = [list_payload("370100", r, 6 + i) for i, r in enumerate(list_rows("370100", 3, seed=41))]
        (r,) = c.push([c.batch(payloads("370100", 5) + lists)])
        assert r.committed_seq == 8
        c.close()
        g.checkpointer.sign_now()
        g.lists.checkpointer.sign_now()
    finally:
        g.stop(grace=1)


def test_migrate_store_moves_everything_and_the_gateway_continues_on_postgresql(gw_dir, pki, tmp_path, capsys):
    _fill(gw_dir, pki)
    sqlite_file = gw_dir / "gateway.db"
    before = counts(sqlite_file)
    assert before["list_log"] == 3 and before["checkpoints"] >= 1 and before["list_checkpoints"] >= 1
    with fresh_database() as url:
        assert main(["gateway", "migrate-store", "--dir", str(gw_dir), "--to", url, "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert (
            out["audit"]["ok"] and out["tables"]["records"] == 8 and out["tables"]["audit_leaves"] == 12
        )  # + the registry leaf (AUD-007)
        assert json.loads((gw_dir / "gateway.json").read_text())["database"] == url
        assert counts(url) == before and counts(sqlite_file) == before  # the SQLite file is kept as it was
        assert main(["gateway", "audit", "verify", "--dir", str(gw_dir)]) == 0
        g = Gateway(gw_dir)
        g.start()
        try:
            c = PushClient(g.address, pki.nodes["370100"])
            assert c.handshake().committed_seq == 8  # the node's high-water mark came along
            (r,) = c.push([c.batch(payloads("370100", 2, seed=9), start_seq=9)])
            assert r.committed_seq == 10 and [a.log_index for a in r.acks] == [12, 13]  # leaves continue, no gap
            c.close()
        finally:
            g.stop(grace=1)
        capsys.readouterr()
        # a second migration into the same (now used) database is refused, and says why
        shutil.copy(gw_dir / "gateway.json", tmp_path / "kept.json")
        cfg = json.loads((gw_dir / "gateway.json").read_text())
        (gw_dir / "gateway.json").write_text(json.dumps({**cfg, "database": "gateway.db"}))
        assert main(["gateway", "migrate-store", "--dir", str(gw_dir), "--to", url]) == 2
        assert "already holds records" in capsys.readouterr().err

        # backup of the PostgreSQL store, restored into an empty SQLite store
        shutil.copy(tmp_path / "kept.json", gw_dir / "gateway.json")
        backup = tmp_path / "backup.db"
        assert main(["gateway", "backup", "--dir", str(gw_dir), "--out", str(backup)]) == 0
        assert "audit log OK on the copy" in capsys.readouterr().out
        pg_counts = counts(url)
    assert counts(backup) == pg_counts and pg_counts["records"] == 10
    restored = tmp_path / "restored"
    shutil.copytree(gw_dir, restored, ignore=shutil.ignore_patterns("gateway.db*", "run.json"))
    cfg = json.loads((restored / "gateway.json").read_text())
    (restored / "gateway.json").write_text(json.dumps({**cfg, "database": "gateway.db"}))
    assert main(["gateway", "restore", "--dir", str(restored), "--from", str(backup)]) == 0
    assert counts(restored / "gateway.db") == pg_counts
    assert main(["gateway", "audit", "verify", "--dir", str(restored)]) == 0
