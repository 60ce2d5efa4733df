"""The gateway's own log: structured lines for connects, decided batches (rejections
summarised by reason), checkpoints; latency histograms for Push batches; levels and formats
set by configuration (creditx.ops.logs)."""

from __future__ import annotations

import json
import logging
from typing import Any

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from creditx.ops.logs import JsonFormatter, LogfmtFormatter, configure, fields
from tests.gateway.push_client import PushClient, payloads


def test_gateway_logs_connects_batches_and_checkpoints_as_json_lines(gateway, pki, tmp_path):
    log_file = tmp_path / "gateway.log"
    handler = configure("info", "json", log_file)
    try:
        c = PushClient(gateway.address, pki.nodes["370100"])
        c.handshake()
        c.push([c.batch(payloads("370100", 20, invalid_share=0.3))])
        c.close()
        gateway.checkpointer.sign_now()
        gateway._checkpoint_tick()
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    lines = [json.loads(x) for x in log_file.read_text().splitlines()]
    by_event: dict[str | None, list[dict[str, Any]]] = {}
    for ln in lines:
        assert {"ts", "level", "logger", "msg"} <= set(ln)
        by_event.setdefault(ln.get("event"), []).append(ln)
    (conn,) = by_event["connect"]
    assert conn["region"] == "370100"
    (batch,) = by_event["batch"]
    assert batch["records"] == 20 and batch["rejected"] > 0 and batch["accepted"] + batch["rejected"] == 20
    assert sum(batch["rejections"].values()) == batch["rejected"]
    assert by_event["checkpoint"][0]["size"] >= 20
    hist = {
        s.name: s
        for f in text_string_to_metric_families(generate_latest(gateway.registry).decode())
        for s in f.samples
        if s.name.startswith("creditx_gateway_push_batch_seconds")
    }
    assert hist["creditx_gateway_push_batch_seconds_count"].value == 1


def test_levels_and_formats(tmp_path):
    log_file = tmp_path / "x.log"
    handler = configure("warning", "logfmt", log_file)
    try:
        logging.getLogger("creditx.test").info("hidden")
        logging.getLogger("creditx.test").warning("shown here", extra=fields(region="370100", note="a b"))
        logging.getLogger("apscheduler.scheduler").warning("kept")
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    text = log_file.read_text()
    assert "hidden" not in text and 'msg="shown here" region=370100 note="a b"' in text and "kept" in text
    assert logging.getLogger("apscheduler").level == logging.WARNING
    rec = logging.LogRecord("n", logging.ERROR, __file__, 1, "m %s", ("x",), None)
    assert json.loads(JsonFormatter().format(rec))["msg"] == "m x"
    assert LogfmtFormatter().format(rec).startswith("ts=")
