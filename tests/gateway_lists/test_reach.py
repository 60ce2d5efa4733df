"""List changes reaching every city: counted (maintained, stats_list_reach) only once the last
city has applied them — a node that never reported holds everything back — and shown by
`creditx gateway stats --json` and the Prometheus histogram."""

from __future__ import annotations

import json

from prometheus_client import generate_latest

from creditx.cli.main import main
from creditx.v1 import lists_pb2 as lpb
from tests.gateway.push_client import PushClient
from tests.gateway_lists.client import Subscriber, list_payload, list_rows


def _reach(gw_dir, capsys) -> dict:
    capsys.readouterr()
    assert main(["gateway", "stats", "--dir", str(gw_dir), "--json"]) == 0
    return json.loads(capsys.readouterr().out)["list_changes_reached_every_city"]


def test_changes_count_once_every_city_has_them(gateway, gw_dir, pki, capsys):
    rows = list_rows("370100", 4, seed=41)
    c = PushClient(gateway.address, pki.nodes["370100"])
    c.handshake()
    c.push([c.batch([list_payload("370100", r, i + 1) for i, r in enumerate(rows)])])
    c.close()
    c2 = PushClient(gateway.address, pki.nodes["370200"])
    c2.handshake()  # a second city, which has applied nothing yet
    c2.close()
    jinan, qingdao = Subscriber(gateway.address, pki.nodes["370100"]), Subscriber(gateway.address, pki.nodes["370200"])
    try:
        jinan.heartbeat(4)
        assert _reach(gw_dir, capsys)["changes"] == 0  # Qingdao has none of them
        qingdao.stub.ReportApplied(lpb.ReportAppliedRequest(applied_list_seq=3), timeout=10)
        r = _reach(gw_dir, capsys)
        assert r["changes"] == 3 and r["cumulative"][-1]["changes"] == 3
        assert sum(n for kinds in r["by_type"].values() for n in kinds.values()) == 3
        qingdao.stub.ReportApplied(lpb.ReportAppliedRequest(applied_list_seq=4), timeout=10)
        qingdao.stub.ReportApplied(lpb.ReportAppliedRequest(applied_list_seq=4), timeout=10)  # counted once
        r = _reach(gw_dir, capsys)
        assert r["changes"] == 4 and r["median_within_s"] is not None
    finally:
        jinan.close()
        qingdao.close()
    text = generate_latest(gateway.registry).decode()
    assert "creditx_gateway_list_reach_all_seconds_count 4.0" in text
