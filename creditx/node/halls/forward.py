"""Forward kept action reports and the check counters to the gateway (HALL-040).

One ``Sanctions.ReportActions`` call per batch of unforwarded reports (oldest first, at most
500) carrying the cumulative counters. A report is marked forwarded only after the gateway
answered for it — stored, already stored (duplicate) or rejected — so a crash between the call
and the mark sends it again and the gateway's report_id key keeps it once (HALL-041).
"""

from __future__ import annotations

from creditx.node.halls.store import HallStore
from creditx.node.replica.wire import envelope_to_pb
from creditx.standard.envelope import Envelope
from creditx.v1 import lists_pb2, sanctions_pb2, sanctions_pb2_grpc

BATCH = 500


def forward_once(store: HallStore, channel, *, timeout: float) -> int:
    """Send one batch (also when there are no reports: the counters); returns reports settled."""
    rows = store.unforwarded(BATCH)
    counters = [
        sanctions_pb2.CheckCounter(department=d, list_type=lt, checks=c, hits=h) for d, lt, c, h in store.counters()
    ]
    if not rows and not counters:
        return 0
    req = sanctions_pb2.ReportActionsRequest(
        reports=[
            lists_pb2.ActionReport(report=envelope_to_pb(Envelope.from_json(env)), certificate=cert)
            for _, env, cert in rows
        ],
        counters=counters,
    )
    resp = sanctions_pb2_grpc.SanctionsStub(channel).ReportActions(req, timeout=timeout)
    results = {r: "STORED" for r in resp.stored}
    results.update({r: "DUPLICATE" for r in resp.duplicates})
    for line in resp.rejected:
        rid, _, why = line.partition(": ")
        results[rid] = "REJECTED: " + why
    sent = {r for r, _, _ in rows}
    store.mark_forwarded({k: v for k, v in results.items() if k in sent})
    return len(sent & set(results))
