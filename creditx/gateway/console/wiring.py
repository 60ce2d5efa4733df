"""Builds the console of a running gateway (page server, samples for its plots) from the
gateway's own objects, so ``gateway/server.py`` needs a few lines only."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from creditx.gateway.console.http import ConsoleData, ConsoleServer, load_token
from creditx.gateway.console.series import Sample, Series
from creditx.gateway.stats import DEPARTMENT_FIELD, UNKNOWN, _text, field_value

SAMPLE_S = 5


def rejected_records(db: Path, reason: str, department: str, limit: int, *, scan: int = 5000) -> list[dict]:
    """The newest rejected records with ``reason`` (and, if given, of ``department``)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        out = []
        for rid, node, seq, rtype, rsn, req, fld, msg, at, payload in conn.execute(
            "SELECT id, node, source_seq, type, reason, requirement, field, message, received_at, payload "
            "FROM records WHERE outcome = 4 AND reason = ? ORDER BY id DESC LIMIT ?",
            (reason, scan),
        ):
            if department:
                code = DEPARTMENT_FIELD.get(rtype or "")
                dept = (_text(field_value(bytes(payload) if payload else None, code)) if code else "") or UNKNOWN
                if dept != department:
                    continue
            out.append(
                {
                    "id": rid,
                    "node": node,
                    "source_seq": seq,
                    "type": rtype,
                    "reason": rsn,
                    "requirement": req,
                    "field": fld,
                    "message": msg,
                    "received_at": at,
                }
            )
            if len(out) >= limit:
                break
        return out
    finally:
        conn.close()


class Console:
    def __init__(self, gw: Any) -> None:
        from creditx.cli.output import message_to_json
        from creditx.pki.identity import IdentityError, verify
        from creditx.pki.profiles import OPERATOR

        c, d = gw.cfg, gw.dir
        self.gw = gw

        def status() -> dict:
            return message_to_json(gw.operator.status_response())

        def operator_ok(der: bytes) -> bool:
            try:
                verify(der, gw.keys.trust, at=gw.clock(), roles=OPERATOR)
                return True
            except IdentityError:
                return False

        def sample() -> Sample:
            views = gw.operator.status_response()
            decided = sum(n.accepted + n.duplicate + n.superseded + n.rejected for n in views.nodes)
            rejected = sum(n.rejected for n in views.nodes)
            applied = [n.applied_list_seq for n in views.nodes]
            return Sample(time.time(), decided, rejected, views.list_head, min(applied, default=0))

        self.series = Series(sample)
        data = ConsoleData(
            status,
            gw.statistics,
            self.series.rates,
            lambda reason, dept, limit: rejected_records(c.path(d, "database"), reason, dept, limit),
            gw.clock,
        )
        self.token_path = c.path(d, "console_token")
        self.server = ConsoleServer(
            c.console_listen,
            data,
            cert=c.path(d, "tls_cert"),
            key=c.path(d, "tls_key"),
            ca=c.path(d, "ca_cert"),
            token=load_token(self.token_path),
            operator_ok=operator_ok,
        )
        self.url = self.server.url

    def schedule(self, scheduler: Any) -> None:
        scheduler.add_job(
            self.series.sample, "interval", seconds=SAMPLE_S, id="console-sample", max_instances=1, coalesce=True
        )

    def start(self) -> None:
        self.series.sample()
        self.server.start()

    def stop(self) -> None:
        self.server.stop()


def console_url(directory: Path) -> str:
    """The page's address with its token, for ``creditx gateway console-url``."""
    from creditx.gateway.config import RUN_NAME, load_config
    from creditx.standard.errors import InputError

    run = directory / RUN_NAME
    if not run.exists() or "console" not in json.loads(run.read_text()):
        raise InputError(
            f"no running gateway with a console in {directory}",
            hint="start it with `creditx gateway run`; console_listen must not be empty",
        )
    token = load_config(directory).path(directory, "console_token").read_text("utf-8").strip()
    return f"{json.loads(run.read_text())['console']}?token={token}"
