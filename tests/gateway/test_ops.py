"""Operations conventions on a real gateway: reflection v1 and v1alpha answer `list` and
`describe` (grpcio-reflection's own client), the plaintext health port needs no certificate,
the Prometheus scrape parses and carries the gRPC, process and alert figures."""

from __future__ import annotations

import json
import urllib.request

import grpc
import pytest
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from prometheus_client.parser import text_string_to_metric_families

from creditx.ops.grpc_ops import V1_SERVICE
from creditx.pki.tls import channel_credentials
from tests.gateway.push_client import PushClient, payloads


def operator_channel(gateway, pki):
    op = pki.operator
    return grpc.secure_channel(
        gateway.address,
        channel_credentials(op.ca, op.cert, op.key),
        options=[("grpc.ssl_target_name_override", "localhost")],
    )


def test_reflection_lists_and_describes_every_service(gateway, pki):
    with operator_channel(gateway, pki) as ch:
        db = ProtoReflectionDescriptorDatabase(ch)
        services = set(db.get_services())
        assert {
            "creditx.v1.Exchange",
            "creditx.v1.Operator",
            "creditx.v1.Audit",
            "creditx.v1.Distribution",
            "grpc.health.v1.Health",
            V1_SERVICE,
            "grpc.reflection.v1alpha.ServerReflection",
        } <= services
        pool = DescriptorPool(db)
        for name in ("creditx.v1.Exchange", "creditx.v1.Operator", "creditx.v1.Audit", "creditx.v1.Distribution"):
            svc = pool.FindServiceByName(name)  # `grpcurl describe SERVICE`
            assert svc.methods
            for m in svc.methods:  # `grpcurl describe SERVICE.METHOD` (asks for the method's file) and its types
                assert db.FindFileContainingSymbol(f"{name}.{m.name}").name == svc.file.name
                assert pool.FindMethodByName(f"{name}.{m.name}").input_type.full_name == m.input_type.full_name
                assert pool.FindMessageTypeByName(m.output_type.full_name).fields is not None


def test_reflection_v1_answers_under_its_own_name(gateway, pki):
    from grpc_reflection.v1alpha import reflection_pb2

    with operator_channel(gateway, pki) as ch:
        call = ch.stream_stream(
            f"/{V1_SERVICE}/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        (resp,) = list(
            call(
                iter([reflection_pb2.ServerReflectionRequest(file_containing_symbol="creditx.v1.Operator.Status")]),
                timeout=10,
            )
        )
        assert resp.file_descriptor_response.file_descriptor_proto, resp


def test_plain_health_port_needs_no_client_certificate(gateway):
    with grpc.insecure_channel(gateway.plain_health.address) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        for service in ("", "creditx.v1.Exchange"):
            resp = stub.Check(  # type: ignore[attr-defined]  # the stub's HealthStub declares no methods
                health_pb2.HealthCheckRequest(service=service), timeout=10
            )
            assert resp.status == health_pb2.HealthCheckResponse.SERVING
    run = json.loads((gateway.dir / "run.json").read_text())
    assert run["health"] == gateway.plain_health.address


def scrape(url: str) -> dict[str, list]:
    with urllib.request.urlopen(url, timeout=10) as r:
        text = r.read().decode()
    samples: dict[str, list] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            samples.setdefault(s.name, []).append(s)
    return samples


def test_scrape_parses_with_grpc_process_and_alert_figures(gateway, pki):
    c = PushClient(gateway.address, pki.nodes["370100"])
    c.handshake()
    c.push([c.batch(payloads("370100", 3))])
    c.close()
    gateway.checkpointer.sign_now()
    samples = scrape(json.loads((gateway.dir / "run.json").read_text())["metrics"])
    for name in (
        "process_resident_memory_bytes",
        "creditx_gateway_checkpoint_age_seconds",
        "creditx_gateway_ingest_refusing",
        "creditx_gateway_node_last_seen_age_seconds",
        "grpc_server_handling_seconds_bucket",
        "grpc_server_started_total",
    ):
        assert name in samples, name
    handled = {(s.labels["grpc_service"], s.labels["grpc_method"]) for s in samples["grpc_server_handled_total"]}
    assert ("creditx.v1.Exchange", "Push") in handled
    (refusing,) = samples["creditx_gateway_ingest_refusing"]
    assert refusing.value == 0
    (age,) = samples["creditx_gateway_checkpoint_age_seconds"]
    assert 0 <= age.value < 3600


@pytest.fixture
def gateway_without_ports(gw_dir):
    from dataclasses import replace

    from creditx.gateway.config import load_config, save_config
    from creditx.gateway.server import Gateway

    save_config(gw_dir, replace(load_config(gw_dir), metrics_listen="", health_listen=""))
    g = Gateway(gw_dir)
    g.start()
    yield g
    g.stop(grace=1)


def test_metrics_and_health_ports_can_be_switched_off(gateway_without_ports):
    run = json.loads((gateway_without_ports.dir / "run.json").read_text())
    assert "metrics" not in run and "health" not in run


def test_alert_rules_name_metrics_the_gateway_exports(gateway, pki):
    from tests.alert_rules import expressions, metric_names, promtool_problems

    c = PushClient(gateway.address, pki.nodes["370100"])
    c.handshake()
    c.push([c.batch(payloads("370100", 2))])
    c.close()
    assert len(expressions()) >= 5
    with urllib.request.urlopen(json.loads((gateway.dir / "run.json").read_text())["metrics"], timeout=10) as r:
        exported = {f.name for f in text_string_to_metric_families(r.read().decode())}
    wanted = metric_names("creditx_gateway_")
    assert {
        "creditx_gateway_node_last_seen_age_seconds",
        "creditx_gateway_list_lag_seconds",
        "creditx_gateway_checkpoint_age_seconds",
        "creditx_gateway_ingest_refusing",
    } <= wanted
    assert wanted <= exported, wanted - exported
    assert promtool_problems() in (None, "")
