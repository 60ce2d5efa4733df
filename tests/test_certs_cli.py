"""``creditx certs …`` end to end through argparse, as an operator runs it."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import UTC, datetime

from creditx.pki import cli
from creditx.pki.bundle import load_bundle
from creditx.pki.files import read_cert
from creditx.standard.errors import CreditxError


def run(argv, capsys) -> tuple[int, str, str]:
    """Like creditx.cli.main.main, but with only the certs command registered (the other roles'
    commands may not be importable while they are being built)."""
    parser = argparse.ArgumentParser(prog="creditx")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        code = int(args.func(args) or 0)
    except CreditxError as exc:
        print(exc.diagnostics(), file=sys.stderr)
        code = exc.exit_code
    out, err = capsys.readouterr()
    return code, out, err


def test_operator_workflow(tmp_path, capsys):
    d = str(tmp_path / "ca")
    pw = tmp_path / "pw"
    pw.write_text("correct horse\n")
    assert run(["certs", "init-ca", "--dir", d, "--passphrase-file", str(pw)], capsys)[0] == 0
    code, _, err = run(["certs", "issue-node", "--dir", d, "--region", "370100", "--name", "jinan"], capsys)
    assert code == 2 and "passphrase" in err and "hint:" in err
    code, out, _ = run(
        [
            "certs",
            "issue-node",
            "--dir",
            d,
            "--region",
            "370100",
            "--name",
            "jinan",
            "--passphrase-file",
            str(pw),
            "--json",
        ],
        capsys,
    )
    assert code == 0
    paths = json.loads(out)
    assert "PRIVATE KEY" not in out
    code, out, _ = run(
        [
            "certs",
            "issue-gateway",
            "--dir",
            d,
            "--passphrase-file",
            str(pw),
            "--host",
            "gw.local",
            "--ip",
            "127.0.0.1",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    assert run(["certs", "issue-operator", "--dir", d, "--name", "alice", "--passphrase-file", str(pw)], capsys)[0] == 0
    code, out, _ = run(
        [
            "certs",
            "issue-department",
            "--dir",
            d,
            "--region",
            "370100",
            "--name",
            "tax",
            "--passphrase-file",
            str(pw),
            "--json",
        ],
        capsys,
    )
    assert code == 0
    dept = json.loads(out)

    code, out, _ = run(["certs", "list", "--dir", d, "--json"], capsys)
    rows = json.loads(out)
    assert {r["role"] for r in rows} == {
        "node-auth",
        "node-signing",
        "gateway-tls",
        "gateway-signing",
        "operator",
        "department",
    }
    code, out, _ = run(["certs", "inspect", dept["cert"], "--dir", d, "--json"], capsys)
    info = json.loads(out)
    assert (info["role"], info["region"], info["status"]) == ("department", "370100", "ok")
    auth = next(r for r in rows if r["role"] == "node-auth")
    code, out, _ = run(["certs", "list", "--dir", d], capsys)
    assert auth["serial"] in out and "370100" in out

    code, out, _ = run(["certs", "inspect", paths["auth_cert"], "--dir", d, "--json"], capsys)
    info = json.loads(out)
    assert code == 0 and info["status"] == "ok" and info["region"] == "370100"
    assert info["role"] == "node-auth" and info["fingerprint"].startswith("sha256:")

    code, out, _ = run(
        ["certs", "revoke", "--dir", d, auth["serial"], "--reason", "key-compromise", "--passphrase-file", str(pw)],
        capsys,
    )
    assert code == 0 and auth["serial"] in out
    code, out, _ = run(["certs", "inspect", paths["auth_cert"], "--dir", d, "--json"], capsys)
    info = json.loads(out)
    assert code == 1 and info["status"] == "CERT_REVOKED" and info["database_status"] == "revoked"

    crl_out = tmp_path / "copy.crl"
    assert run(["certs", "crl", "--dir", d, "-o", str(crl_out), "--passphrase-file", str(pw)], capsys)[0] == 0
    assert crl_out.read_bytes() == (tmp_path / "ca" / "crl.pem").read_bytes()

    bundle = tmp_path / "bundle.json"
    assert run(["certs", "bundle", "--dir", d, "-o", str(bundle), "--passphrase-file", str(pw)], capsys)[0] == 0
    loaded = load_bundle(bundle.read_bytes(), ca=read_cert(tmp_path / "ca" / "ca.crt"), at=datetime.now(UTC))
    assert len(loaded.signing_certificates) == 2  # the node's and the gateway's


def test_bad_region_names_the_field_and_rule(tmp_path, capsys):
    d = str(tmp_path / "ca")
    run(["certs", "init-ca", "--dir", d], capsys)
    code, _, err = run(["certs", "issue-node", "--dir", d, "--region", "371200", "--name", "laiwu"], capsys)
    assert code == 2 and "--region" in err and "SEC-011" in err and "370000" in err


def test_a_department_node_is_issued_with_its_member_and_a_bad_member_is_refused(tmp_path, capsys):
    d = str(tmp_path / "ca")
    run(["certs", "init-ca", "--dir", d], capsys)
    member = "11370000001992013Q"
    argv = ["certs", "issue-node", "--dir", d, "--region", "370000", "--name", "gat", "--member", member, "--json"]
    code, out, _ = run(argv, capsys)
    assert code == 0
    code, out, _ = run(["certs", "inspect", json.loads(out)["auth_cert"], "--dir", d, "--json"], capsys)
    info = json.loads(out)
    assert code == 0 and (info["region"], info["member"], info["status"]) == ("370000", member, "ok")
    code, out, _ = run(["certs", "list", "--dir", d, "--json"], capsys)
    assert code == 0 and [r.get("member") for r in json.loads(out) if r["holder"] == "gat"] == [member, member]
    code, out, _ = run(["certs", "list", "--dir", d], capsys)
    assert code == 0 and out.count(member) == 2  # its auth and signing certificates
    code, _, err = run(
        ["certs", "issue-node", "--dir", d, "--region", "370100", "--name", "x", "--member", member], capsys
    )
    assert code == 2 and "--member" in err and "SEC-092" in err and "province-level" in err


def test_inspect_without_ca_dir(tmp_path, capsys):
    d = str(tmp_path / "ca")
    run(["certs", "init-ca", "--dir", d], capsys)
    run(["certs", "issue-operator", "--dir", d, "--name", "bob"], capsys)
    code, out, _ = run(["certs", "inspect", str(tmp_path / "ca" / "operators" / "bob" / "operator.crt")], capsys)
    assert code == 0 and "operator" in out and "status" not in out


def test_help_lists_every_subcommand():
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import argparse; from creditx.pki import cli; "
            "p = argparse.ArgumentParser(prog='creditx'); "
            "cli.register(p.add_subparsers()); p.parse_args(['certs', '--help'])",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    for name in (
        "init-ca",
        "issue-node",
        "issue-gateway",
        "issue-operator",
        "revoke",
        "crl",
        "list",
        "inspect",
        "bundle",
    ):
        assert name in done.stdout
