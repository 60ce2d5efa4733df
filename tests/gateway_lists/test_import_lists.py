"""`creditx gateway import-lists`: national platform LIST rows become list changes signed by
the gateway's own signing key (DIST-032), re-import is harmless, bad rows are reported with
field and rule, a removal row removes the imported entry."""

from __future__ import annotations

import json

import pytest

from creditx.cli.main import main  # the real dispatcher
from creditx.pki.files import read_cert
from creditx.standard.envelope import Envelope, Signature, verify_envelope
from creditx.standard.natural_key import person_subject_id
from creditx.standard.record import decode_record
from creditx.v1 import lists_pb2 as lpb
from tests.gateway_lists.client import INDEX_KEY, Subscriber, list_rows
from tests.pg import ENGINES

pytestmark = pytest.mark.parametrize("store_url", ENGINES, indirect=True)


def _write(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_import_lists_publishes_signed_changes_idempotently(gateway, gw_dir, pki, tmp_path, capsys):
    rows = [r["fields"] for r in list_rows("370000", 3, seed=41)]
    bad = dict(rows[0], MD_LRRQ="不是日期", MD_RDWSH="另一个文号〔2025〕1号")
    f = _write(tmp_path / "national.jsonl", rows + [bad])
    assert main(["gateway", "import-lists", str(f), "--dir", str(gw_dir), "--json"]) == 1  # one row rejected
    report = json.loads(capsys.readouterr().out)
    assert (report["rows"], report["published"], report["head"]) == (4, 3, 3)
    (rej,) = report["rejected"]
    assert rej["row"] == 4 and rej["field"] == "MD_LRRQ" and rej["rule"].startswith("REC-")

    sub = Subscriber(gateway.address, pki.nodes["370100"], from_list_seq=1)
    try:
        sub.until(
            lambda s: s.live and s.through == 3
        )  # written without a hub wake-up (as by another process): picked up by polling
        gw_key = read_cert(gw_dir / "tls" / "signing.crt").public_key()
        persons = {person_subject_id(r["MD_ZT_ZJLX"], r["MD_ZT_ZJHM"], INDEX_KEY) for r in rows if r.get("MD_ZT_ZJHM")}
        for c in sub.changes:
            if c.entry.subject_id_masked:  # DIST-076: a person's origin stays at the gateway
                assert not c.HasField("origin") and set(c.subject_index) & persons
                continue
            env = Envelope(
                c.origin.payload_type,
                c.origin.payload,
                tuple(Signature(s.keyid, s.suite, s.sig) for s in c.origin.signatures),
            )
            verify_envelope(env, lambda kid: gw_key)  # vouched for by the gateway
            assert decode_record(env.payload).region == "370000" and c.kind == lpb.CHANGE_KIND_ADD

        # re-import: nothing new; a removal row for entry 2 removes it
        assert main(["gateway", "import-lists", str(f), "--dir", str(gw_dir), "--json"]) == 1
        again = json.loads(capsys.readouterr().out)
        assert (again["published"], again["duplicates"]) == (0, 3)
        gone = dict(rows[1], MD_YCRQ=rows[1]["MD_LRRQ"], MD_YCYY="主体注销", MD_YCJG="某市市场监督管理局")
        g = _write(tmp_path / "removals.jsonl", [gone])
        assert main(["gateway", "import-lists", str(g), "--dir", str(gw_dir)]) == 0
        assert "1 list changes published" in capsys.readouterr().out
        sub.until(lambda s: s.through == 4)
        last = sub.changes[-1]
        assert (last.kind, last.reason) == (lpb.CHANGE_KIND_REMOVE, lpb.REMOVAL_REASON_DEREGISTERED)
        assert last.entry.entry_id == sub.changes[1].entry.entry_id and last.entry.version == 2
    finally:
        sub.close()
