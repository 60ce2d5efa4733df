"""CLI: init → run as a real process (SIGTERM) → status/records with the operator certificate."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess

import pytest

from creditx.cli.main import main  # the real dispatcher
from creditx.demo.procs import creditx_argv
from creditx.gateway.store.engine import open_conn
from creditx.standard.synth.members import OWN_NODE_DEPARTMENTS
from tests.gateway.push_client import PushClient, payloads
from tests.pg import fresh_database


def test_init_refuses_to_overwrite_and_names_missing_files(tmp_path, pki, capsys):
    assert main(["gateway", "init", "--dir", str(tmp_path / "g"), "--ca-dir", str(pki.gateway.dir)]) == 0
    cfg = json.loads((tmp_path / "g" / "gateway.json").read_text())
    assert cfg["max_batch_records"] == 500 and cfg["listen"] == "127.0.0.1:0"
    assert oct((tmp_path / "g" / "tls" / "tls.key").stat().st_mode & 0o777) == "0o600"
    assert main(["gateway", "init", "--dir", str(tmp_path / "g"), "--ca-dir", str(pki.gateway.dir)]) == 2
    assert main(["gateway", "init", "--dir", str(tmp_path / "h"), "--ca-dir", str(tmp_path)]) == 2
    assert "lacks" in capsys.readouterr().err


def test_init_with_a_postgresql_store_migrates_it_and_a_wrong_url_leaves_nothing(tmp_path, pki, capsys):
    with fresh_database() as url:
        assert (
            main(["gateway", "init", "--dir", str(tmp_path / "g"), "--ca-dir", str(pki.gateway.dir), "--store", url])
            == 0
        )
        assert json.loads((tmp_path / "g" / "gateway.json").read_text())["database"] == url
        conn = open_conn(url)
        try:
            assert conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] >= 4
        finally:
            conn.close()
        bad = url.rsplit("/", 1)[0] + "/creditx_no_such_database"
        assert (
            main(["gateway", "init", "--dir", str(tmp_path / "h"), "--ca-dir", str(pki.gateway.dir), "--store", bad])
            == 2
        )
        err = capsys.readouterr().err
        assert "cannot open the gateway database" in err and "Traceback" not in err
        assert not (tmp_path / "h").exists()


@pytest.mark.slow
def test_run_process_status_records_and_sigterm(tmp_path, pki, capsys):
    d = tmp_path / "g"
    assert (
        main(
            [
                "gateway",
                "init",
                "--dir",
                str(d),
                "--ca-dir",
                str(pki.gateway.dir),
                "--metrics-listen",
                "127.0.0.1:0",
                "--health-listen",
                "127.0.0.1:0",
                "--console-listen",
                "127.0.0.1:0",
            ]
        )
        == 0
    )
    shutil.copytree(pki.operator.dir, d / "operator")
    proc = subprocess.Popen(
        creditx_argv("gateway", "run", "--dir", str(d)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    try:
        assert "listening" in proc.stdout.readline()  # printed after run.json is written
        run = json.loads((d / "run.json").read_text())
        assert run["pid"] == proc.pid
        c = PushClient(run["address"], pki.nodes["370100"])
        c.handshake()
        c.push([c.batch(payloads("370100", 3))], backlog=7)
        c.close()
        capsys.readouterr()
        assert main(["gateway", "status", "--dir", str(d), "--json"]) == 0
        (node,) = json.loads(capsys.readouterr().out)["nodes"]
        assert (node["region"], node["committed_seq"], node["accepted"], node["backlog"]) == ("370100", 3, 3, 7)
        assert main(["gateway", "status", "--dir", str(d)]) == 0
        assert "370100" in capsys.readouterr().out
        assert (
            main(
                [
                    "gateway",
                    "records",
                    "--dir",
                    str(d),
                    "--region",
                    "370100",
                    "--type",
                    "XZCF",
                    "--limit",
                    "2",
                    "--json",
                ]
            )
            == 0
        )
        out = json.loads(capsys.readouterr().out)
        assert len(out["records"]) == 2 and out["next_page_token"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    assert not (d / "run.json").exists()


def test_members_add_grant_revoke_list_sign_each_version(tmp_path, pki, capsys):
    d = tmp_path / "g"
    assert main(["gateway", "init", "--dir", str(d), "--ca-dir", str(pki.gateway.dir)]) == 0
    capsys.readouterr()
    assert main(["gateway", "members", "list", "--dir", str(d), "--region", "370100", "--json"]) == 0
    seed = json.loads(capsys.readouterr().out)
    assert seed["version"] == 1 and [m["region"] for m in seed["members"]] == ["370100"]
    court = next(g for g in seed["members"][0]["grants"] if g["name"] == "济南市中级人民法院")
    assert court["list_types"] == ["SXBZXR"]
    assert main(["gateway", "members", "revoke", "--dir", str(d), "--region", "370100", "--uscc", court["uscc"]]) == 0
    assert (
        main(
            [
                "gateway",
                "members",
                "grant",
                "--dir",
                str(d),
                "--region",
                "370200",
                "--uscc",
                court["uscc"],
                "--name",
                court["name"],
                "--record-type",
                "LIST",
                "--list-type",
                "SXBZXR",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["gateway", "members", "list", "--dir", str(d)]) == 0
    out = capsys.readouterr().out
    assert "version 3" in out and out.count(court["uscc"]) == 1  # now Qingdao's, no longer Jinan's
    # everyday mistakes: exit 2 with a message, nothing written
    assert (
        main(
            ["gateway", "members", "grant", "--dir", str(d), "--region", "370200", "--uscc", "91370100X", "--name", "x"]
        )
        == 2
    )
    assert main(["gateway", "members", "revoke", "--dir", str(d), "--region", "370100", "--uscc", court["uscc"]]) == 2
    assert main(["gateway", "members", "add", "--dir", str(d), "--region", "370100", "--name", "again"]) == 2
    assert "USCC" in capsys.readouterr().err
    assert main(["gateway", "members", "list", "--dir", str(d), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == 3
    assert main(["gateway", "members", "seed", "--dir", str(d)]) == 2  # never overwrites
    (d / "registry.json").unlink()  # a gateway from before the registry
    assert main(["gateway", "members", "list", "--dir", str(d)]) == 2
    assert "members seed" in capsys.readouterr().err
    assert main(["gateway", "members", "seed", "--dir", str(d)]) == 0
    assert f"17 region nodes, {len(OWN_NODE_DEPARTMENTS)} departments' own nodes" in capsys.readouterr().out
