"""The ``creditx.v1.Operator`` servicer: Status and FindRecords for operator certificates only.

A peer certificate of another role (a node's) gets PERMISSION_DENIED; a bad or revoked one
UNAUTHENTICATED (mapping in creditx.gateway.call_errors).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import grpc

from creditx.gateway.access import caller
from creditx.gateway.call_errors import BatchError, abort
from creditx.gateway.exchange.keys import KeyRegistry
from creditx.gateway.exchange.presence import Presence
from creditx.gateway.ingest.reasons import Outcome
from creditx.gateway.operator.view import node_views
from creditx.gateway.store.base import GatewayStore
from creditx.v1 import operator_pb2 as opb
from creditx.v1 import operator_pb2_grpc

MAX_PAGE = 1000


class OperatorServicer(operator_pb2_grpc.OperatorServicer):
    def __init__(
        self,
        store: GatewayStore,
        presence: Presence,
        keys: KeyRegistry,
        gateway_id: str,
        clock: Callable[[], datetime],
        *,
        identity=caller,
        list_lags=None,
        audit_status=None,
    ) -> None:
        self.store, self.presence, self.keys, self.gateway_id, self.clock = store, presence, keys, gateway_id, clock
        self.identity = identity  # the caller verified by the gate (creditx.gateway.access)
        # now -> (list head, {region: creditx.gateway.lists.store.Lag}) (DIST-043)
        self.list_lags = list_lags
        # () -> creditx.gateway.audit.checkpoints.Checkpointer.status() dict: the audit log's seal (AUD-040)
        self.audit_status = audit_status

    def _check(self, context) -> None:
        try:
            self.identity(context)
        except BatchError as err:
            abort(context, err)

    def Status(self, request: opb.StatusRequest, context: grpc.ServicerContext) -> opb.StatusResponse:
        self._check(context)
        return self.status_response()

    def status_response(self) -> opb.StatusResponse:
        """The Status answer itself (also shown on the operator's web page)."""
        now = self.clock()
        nodes = [
            opb.NodeStatus(
                region=v.region,
                name=v.name,
                connected=v.connected,
                last_seen=v.last_seen,
                committed_seq=v.committed_seq,
                backlog=v.backlog,
                last_source_seq=v.last_source_seq,
                accepted=v.accepted,
                duplicate=v.duplicate,
                superseded=v.superseded,
                rejected=v.rejected,
                recent_rejections=[opb.ReasonCount(reason_code=r, count=c) for r, c in v.recent_rejections],
                auth_cert_not_after=v.auth_cert_not_after,
                signing_cert_not_after=v.signing_cert_not_after,
            )
            for v in node_views(self.store, self.presence, now)
        ]
        list_head, lags = self.list_lags(now) if self.list_lags else (0, {})
        for n in nodes:
            lag = lags.get(n.region)
            if lag is not None:
                n.applied_list_seq, n.list_lag_entries = lag.applied_list_seq, lag.lag_entries
                n.list_lag_seconds = lag.lag_seconds
        audit = self.audit_status() if self.audit_status else {}
        return opb.StatusResponse(
            gateway_id=self.gateway_id,
            nodes=nodes,
            audit_size=self.store.audit_size(),
            server_time_unix_ms=int(now.timestamp() * 1000),
            list_head=list_head,
            ingest_refusal=audit.get("refusal", ""),
            checkpoint_size=audit.get("checkpoint_size", 0),
            checkpoint_signed_at=audit.get("checkpoint_signed_at", ""),
            checkpoint_error=audit.get("last_error", ""),
        )

    def FindRecords(self, request: opb.FindRecordsRequest, context: grpc.ServicerContext) -> opb.FindRecordsResponse:
        self._check(context)
        try:
            after = int(request.page_token or "0")
        except ValueError:
            abort(
                context,
                BatchError(
                    "INVALID_ARGUMENT",
                    "BAD_PAGE_TOKEN",
                    "page_token must be the next_page_token of a previous response",
                ),
            )
        limit = min(request.limit or 100, MAX_PAGE)
        rows = self.store.find_records(
            region=request.region,
            record_type=request.type,
            natural_key=request.natural_key,
            fingerprint=request.fingerprint,
            after_id=after,
            limit=limit + 1,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        recs = [
            opb.StoredRecord(
                id=r["id"],
                node=r["node"],
                source_seq=r["source_seq"],
                outcome=Outcome(r["outcome"]).name,
                reason_code=r["reason"] or "",
                requirement=r["requirement"] or "",
                field=r["field"] or "",
                fingerprint=r["fp"] or b"",
                natural_key=r["natural_key"] or "",
                version=r["version"] or 0,
                type=r["type"] or "",
                region=r["region"] or "",
                op=r["op"] or "",
                current=bool(r["current"]),
                log_index=-1 if r["log_index"] is None else r["log_index"],
                received_at=r["received_at"] or "",
                payload=r["payload"] or b"",
            )
            for r in rows
        ]
        return opb.FindRecordsResponse(records=recs, next_page_token=str(rows[-1]["id"]) if more else "")
