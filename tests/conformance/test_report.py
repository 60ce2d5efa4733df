"""The suite's core, without any implementation under test: the registry, the runner's verdicts
and exit status, the three report forms, and the signed report."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import pytest

from creditx.cli.main import main
from creditx.conformance.checks import Evidence, Level, Registry, failed, not_applicable, passed
from creditx.conformance.report import to_junit, to_text
from creditx.conformance.runner import run_checks
from creditx.conformance.signing import generate_key, load_key, sign_report, verify_report
from creditx.standard.errors import InputError


def _registry(must_fails: bool = False, should_fails: bool = False, crash: bool = False) -> Registry:
    reg = Registry("toy")

    @reg.check("T-PASS", ("SYNC-010",), "05", "passes")
    def _p(ctx):
        return passed("ok", Evidence("ping", "pong"))

    @reg.check("T-MUST", ("SYNC-011",), "05", "a MUST")
    def _m(ctx):
        return failed("gap", Evidence("seq 3", "REJECTED SYNC_SEQ_GAP")) if must_fails else passed()

    @reg.check("T-SHOULD", ("SYNC-016",), "05", "a SHOULD", level=Level.SHOULD)
    def _s(ctx):
        return failed("no rule key", Evidence("call", "no creditx-rule")) if should_fails else passed()

    @reg.check("T-NA", ("SEC-071",), "07", "not applicable here")
    def _n(ctx):
        if crash:
            raise RuntimeError("peer hung up")
        return not_applicable("no trust bundle in use")

    reg.not_covered("T-TODO", ("DIST-052",), "08", "later")
    return reg


def _run(reg: Registry, **kw):
    return run_checks(reg, None, subject={"vendor": "toy"}, progress=io.StringIO(), **kw)


def test_registry_refuses_duplicates_and_checks_without_requirements():
    reg = _registry()
    with pytest.raises(ValueError, match="twice"):
        reg.not_covered("T-PASS", ("SYNC-010",), "05", "again")
    with pytest.raises(ValueError, match="no requirement"):
        reg.not_covered("T-NONE", (), "05", "nothing")


def test_exit_status_follows_the_musts_only():
    assert _run(_registry()).exit_code() == 0
    assert _run(_registry(should_fails=True)).exit_code() == 0
    report = _run(_registry(must_fails=True))
    assert report.exit_code() == 1
    assert [o.check.id for o in report.must_failures()] == ["T-MUST"]


def test_a_check_that_raises_is_a_failure_with_the_exception_as_evidence():
    report = _run(_registry(crash=True)).as_dict()
    na = next(c for c in report["checks"] if c["id"] == "T-NA")
    assert na["status"] == "fail" and "peer hung up" in na["detail"]
    assert "RuntimeError: peer hung up" in na["evidence"][0]["received"]


def test_not_covered_is_reported_never_passed():
    d = _run(_registry()).as_dict()
    assert d["counts"] == {"pass": 3, "fail": 0, "not_applicable": 1, "not_covered": 1}
    assert "DIST-052" in d["not_covered_requirements"] and "DIST-052" not in d["certified_requirements"]
    assert d["certified_requirements"] == ["SYNC-010", "SYNC-011", "SYNC-016"]


def test_progress_names_every_check_on_its_stream():
    stream = io.StringIO()
    run_checks(_registry(), None, subject={}, progress=stream)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 5 and lines[0].startswith("[1/5] PASS") and "T-TODO (DIST-052)" in lines[-1]


def test_only_runs_the_named_checks_and_refuses_unknown_ones():
    assert [o.check.id for o in _run(_registry(), only=["T-MUST"]).outcomes] == ["T-MUST"]
    with pytest.raises(InputError, match="T-NOPE"):
        _run(_registry(), only=["T-NOPE"])


def test_text_shows_failures_with_their_evidence():
    text = to_text(_run(_registry(must_fails=True)).as_dict())
    assert "FAIL MUST   T-MUST" in text and "sent:     seq 3" in text and "received: REJECTED SYNC_SEQ_GAP" in text
    assert "verdict: NOT CONFORMANT" in text and "1 not yet covered" in text


def test_junit_has_one_testcase_per_check_with_failures_and_skips():
    root = ET.fromstring(to_junit(_run(_registry(must_fails=True)).as_dict()))
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "5" and suite.get("failures") == "1"
    assert suite.get("skipped") == "2"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    failing = cases["T-MUST [SYNC-011] MUST"]
    failure = failing.find("failure")
    assert failure is not None and "REJECTED SYNC_SEQ_GAP" in (failure.text or "")
    assert cases["T-TODO [DIST-052] MUST"].find("skipped") is not None


def test_signed_report_verifies_and_any_change_is_caught(tmp_path):
    kid = generate_key(tmp_path / "suite.key")
    report = _run(_registry()).as_dict()
    doc = sign_report(report, load_key(tmp_path / "suite.key"))
    got, signer = verify_report(json.loads(json.dumps(doc)), pinned_keyid=kid)
    assert got == report and signer == kid
    forged = dict(report, subject={"vendor": "another vendor"})
    forged_doc = sign_report(forged, load_key(tmp_path / "suite.key"))
    tampered = dict(doc, payload=forged_doc["payload"])  # new payload, old signature
    with pytest.raises(InputError, match="signature check failed"):
        verify_report(tampered)
    generate_key(tmp_path / "other.key")
    other = sign_report(report, load_key(tmp_path / "other.key"))
    verify_report(other)  # valid on its own …
    with pytest.raises(InputError, match="not by the pinned suite key"):
        verify_report(other, pinned_keyid=kid)  # … but not by the province's suite


def test_cli_keygen_and_verify_report_exit_statuses(tmp_path, capsys):
    key = tmp_path / "suite.key"
    assert main(["conformance", "keygen", str(key)]) == 0
    assert (key.stat().st_mode & 0o777) == 0o600
    assert main(["conformance", "keygen", str(key)]) == 2  # never overwrites a key
    doc = sign_report(_run(_registry()).as_dict(), load_key(key))
    good = tmp_path / "report.json"
    good.write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["conformance", "verify-report", str(good), "--key", str(key), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["valid"] is True
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(dict(doc, payload=doc["payload"][:-8] + "AAAAAAA=")))
    assert main(["conformance", "verify-report", str(bad)]) == 1
    assert "INVALID" in capsys.readouterr().out
    assert main(["conformance", "verify-report", str(tmp_path / "missing.json")]) == 2


def test_cli_usage_errors_exit_2(tmp_path, capsys):
    assert main(["conformance", "gateway"]) == 2  # neither --own nor --address
    assert main(["conformance", "gateway", "--address", "h:1"]) == 2  # no --ca-dir
    assert main(["conformance", "node", "--signed-report", str(tmp_path / "r.json")]) == 2  # no --key
    assert main(["conformance", "node", "--submit-cmd", "vendor-import"]) == 2  # no {file}
    assert main(["conformance", "node", "--region", "371200"]) == 2
    err = capsys.readouterr().err
    assert "--ca-dir" in err and "{file}" in err and "371200" in err


def test_a_vendor_command_that_does_not_exist_is_a_usage_error(tmp_path, capsys):
    argv = ["conformance", "node", "--run-cmd", "no-such-vendor-node run {dir}", "--workdir", str(tmp_path)]
    status = main(argv)
    out = capsys.readouterr()
    assert status == 2, out.out + out.err + "".join(p.read_text() for p in tmp_path.glob("*.log"))
    assert "command not found: no-such-vendor-node" in out.err


def test_adapter_fills_placeholders_word_by_word_and_names_no_vendor_it_is_not(tmp_path):
    import sys

    from creditx.conformance.adapter import NodeAdapter

    ours = NodeAdapter.load(None)
    assert ours.vendor == "creditx"
    argv = ours.argv("submit", file=tmp_path / "a b.csv", dir=tmp_path / "node")
    assert argv[:3] == [sys.executable, "-m", "creditx.cli.main"]  # this installation's creditx
    assert argv[3:] == ["node", "import", str(tmp_path / "a b.csv"), "--dir", str(tmp_path / "node")]
    other = NodeAdapter.load(None, run="vendor-node serve --home {dir} --mode '{region} fast'")
    assert other.vendor == "unnamed"
    assert other.argv("run", dir="/d", region="370100") == [
        "vendor-node",
        "serve",
        "--home",
        "/d",
        "--mode",
        "370100 fast",
    ]
    with pytest.raises(InputError, match="unknown placeholder"):
        other.argv("run", dir="/d")
    (tmp_path / "adapter.json").write_text('{"vendor": "acme", "colour": "red"}')
    with pytest.raises(InputError, match="keys must be among"):
        NodeAdapter.load(tmp_path / "adapter.json")


def test_the_status_command_is_ours_only_for_our_node_and_a_vendors_when_named(tmp_path):
    from creditx.conformance.adapter import OUR_NODE, NodeAdapter
    from creditx.conformance.node_suite import recorded_outcomes

    assert NodeAdapter.load(None).status == OUR_NODE["status"]
    vendor = NodeAdapter.load(None, run="vendor-node serve --home {dir}", submit="vendor-import {file}")
    assert vendor.status == ""  # our status command would not read another node's state
    (tmp_path / "a.json").write_text('{"run": "vendor-node serve", "status": "vendor-node outcomes --home {dir}"}')
    assert NodeAdapter.load(tmp_path / "a.json").status == "vendor-node outcomes --home {dir}"
    # the counts are read at the top level or under "outbox", in any case
    assert recorded_outcomes({"outbox": {"accepted": 3, "rejected": 1, "pending": 0}}) == {
        "accepted": 3,
        "duplicate": 0,
        "superseded": 0,
        "rejected": 1,
    }
    assert recorded_outcomes({"ACCEPTED": 2, "DUPLICATE": 1})["duplicate"] == 1
