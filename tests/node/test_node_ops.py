"""The node's monitoring surface on a running NodeApp: a Prometheus scrape that parses, the
standard health service and reflection on a plaintext port; and init refusing what would
only fail later (an existing directory, a region its certificates are not issued for)."""

from __future__ import annotations

import json
import threading
import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from prometheus_client.parser import text_string_to_metric_families

from creditx.node.app import NodeApp
from creditx.pki.testing import make_pki
from creditx.v1 import node_api_pb2 as pb
from creditx.v1 import node_api_pb2_grpc as pb_grpc
from tests.node.fake_gateway import FakeGateway, serve
from tests.node.test_cli_app import FREE_PORTS, _wait_for, creditx


def test_running_node_serves_metrics_and_plain_health(tmp_path):
    pki = make_pki(tmp_path / "pki")
    fake = FakeGateway(max_batch_records=50)
    server, target = serve(fake, pki)
    d = tmp_path / "jinan"
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
    app, stop = NodeApp(d), threading.Event()
    t = threading.Thread(target=app.run, args=(stop,))
    t.start()
    try:
        assert _wait_for(lambda: (d / "run.json").exists())
        run = json.loads((d / "run.json").read_text())
        with grpc.insecure_channel(f"unix:{d / 'node.sock'}") as ch:
            pb_grpc.NodeApiStub(ch).Status(pb.NodeStatusRequest(), timeout=10)
        with urllib.request.urlopen(run["metrics"], timeout=10) as r:
            families = {f.name: f for f in text_string_to_metric_families(r.read().decode())}
        for name in (
            "creditx_node_outbox",
            "creditx_node_last_source_seq",
            "creditx_node_list_applied_seq",
            "process_resident_memory_bytes",
        ):
            assert name in families, name
        timed = {
            (s.labels["grpc_service"], s.labels["grpc_method"])
            for s in families["grpc_server_handling_seconds"].samples
        }
        assert ("creditx.v1.NodeApi", "Status") in timed  # local API latency (Departments.Check alike)
        from tests.alert_rules import metric_names

        assert metric_names("creditx_node_") and metric_names("creditx_node_") <= set(families)
        states = {s.labels["state"] for s in families["creditx_node_outbox"].samples}
        assert {"pending", "accepted", "rejected", "quarantined"} <= states
        with grpc.insecure_channel(run["health"]) as ch:
            resp = health_pb2_grpc.HealthStub(ch).Check(  # type: ignore[attr-defined]  # the stub's HealthStub declares no methods
                health_pb2.HealthCheckRequest(), timeout=10
            )
            assert resp.status == health_pb2.HealthCheckResponse.SERVING
            assert "grpc.health.v1.Health" in set(ProtoReflectionDescriptorDatabase(ch).get_services())
    finally:
        stop.set()
        t.join(30)
        server.stop(None)
    assert not t.is_alive() and not (d / "run.json").exists()


def test_init_refuses_an_existing_node_and_a_region_the_certificates_do_not_carry(tmp_path, capsys):
    pki = make_pki(tmp_path / "pki")
    d = tmp_path / "jinan"
    assert (
        creditx("init", "--dir", d, "--region", "370100", "--gateway", "h:1", "--certs", pki.nodes["370100"].dir) == 0
    )
    before = (d / "node.json").read_bytes()
    capsys.readouterr()
    assert (
        creditx("init", "--dir", d, "--region", "370100", "--gateway", "other:2", "--certs", pki.nodes["370100"].dir)
        == 2
    )
    assert "already exists" in capsys.readouterr().out
    assert (d / "node.json").read_bytes() == before
    assert (
        creditx(
            "init",
            "--dir",
            tmp_path / "qingdao",
            "--region",
            "370200",
            "--gateway",
            "h:1",
            "--certs",
            pki.nodes["370100"].dir,
        )
        == 2
    )
    out = capsys.readouterr().out
    assert "370200" in out and "issued for region 370100" in out and "--region 370100" in out
    assert not (tmp_path / "qingdao" / "node.json").exists()
