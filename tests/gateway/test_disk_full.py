"""SYNC-052 on a really full disk: the gateway's directory on a small tmpfs (mounted for the
test; needs root, as CI runs) that a filler file fills. A Push is refused UNAVAILABLE
``STORE_WRITE_FAILED`` naming "database or disk is full" (not UNKNOWN), health answers
NOT_SERVING, the metric and the operator's status show the alarm; once the filler is removed
the resent batch commits and everything clears by itself, with no restart."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2
from prometheus_client import generate_latest

from creditx.gateway.init import init_gateway_dir
from creditx.gateway.server import Gateway
from tests.disk import fill, small_disk
from tests.gateway.push_client import PushClient, trailers
from tests.gateway_lists.client import list_payload, list_rows
from tests.ports import gateway_config


def _health(gw: Gateway) -> int:
    gw.health_tick()
    return gw.health.Check(health_pb2.HealthCheckRequest(service=""), None).status  # type: ignore[arg-type]


def test_a_full_disk_refuses_batches_clearly_raises_the_alarm_and_resumes_by_itself(tmp_path, pki):
    with small_disk(tmp_path) as disk:
        d = disk / "gw"
        init_gateway_dir(d, pki.gateway.dir, cfg=gateway_config())
        gw = Gateway(d)
        gw.start()
        client = PushClient(gw.address, pki.nodes["370100"])
        try:
            client.handshake()
            rows = list_rows("370100", 40, seed=9)
            (first,) = client.push([client.batch([list_payload("370100", r, i + 1) for i, r in enumerate(rows[:20])])])
            assert first.committed_seq == 20
            fill(disk / "filler")
            second = client.batch([list_payload("370100", r, i + 21) for i, r in enumerate(rows[20:])], start_seq=21)
            with pytest.raises(grpc.RpcError) as e:
                client.push([second])
            assert e.value.code() is grpc.StatusCode.UNAVAILABLE
            assert dict(trailers(e.value)).get("creditx-reason") == "STORE_WRITE_FAILED"
            assert "database or disk is full" in (e.value.details() or "")
            assert _health(gw) == health_pb2.HealthCheckResponse.NOT_SERVING
            assert 'creditx_gateway_store_write_failing{what="ingest"} 1.0' in generate_latest(gw.registry).decode()
            assert gw.operator.audit_status is not None
            assert "database or disk is full" in gw.operator.audit_status()["refusal"]

            (disk / "filler").unlink()  # room again: the resent batch goes through, nothing restarted
            (again,) = client.push([second])
            assert again.committed_seq == 40 and len(again.acks) == 20
            assert _health(gw) == health_pb2.HealthCheckResponse.SERVING
            assert "creditx_gateway_store_write_failing{" not in generate_latest(gw.registry).decode()
        finally:
            client.close()
            gw.stop(grace=1)
