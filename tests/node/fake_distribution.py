"""A scriptable fake of the gateway's ``Distribution`` service (lists.proto) for node tests,
over real mutual TLS on port 0 (ADR 0016), and a small list log that builds real changes.

:class:`ListLog` turns signed LIST records into changes with the standard's own rules
(``derive_change``), keeps the state for snapshots and the leaf hashes for checkpoints signed
with a real ECDSA gateway-signing key. :class:`FakeDistribution` serves it and can be told to
drop a stream after N changes, skip a list_seq (gap), require a snapshot below a list_seq,
sign a forked checkpoint, serve snapshots slowly, or forget a snapshot (DIST_SNAPSHOT_GONE).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent import futures
from datetime import UTC, datetime, timedelta

import grpc
from cryptography.hazmat.primitives.asymmetric import ec

from creditx.node.replica.wire import change_to_pb, entry_to_pb
from creditx.pki.testing import Pki
from creditx.standard.call_status import trailing
from creditx.standard.checkpoint import Checkpoint, sign_checkpoint
from creditx.standard.envelope import sign_envelope
from creditx.standard.fingerprint import fingerprint
from creditx.standard.lists.lifecycle import derive_change
from creditx.standard.lists.log import change_leaf_hash, list_log_origin
from creditx.standard.lists.snapshot import chunk_snapshot
from creditx.standard.lists.withheld import origin_index_keys, withholds_origin
from creditx.standard.merkle import CompactRange, consistency_proof, root
from creditx.standard.natural_key import natural_key
from creditx.standard.record import RECORD_PAYLOAD_TYPE, Record, decode_record, encode_record
from creditx.v1 import lists_pb2 as pb
from creditx.v1 import lists_pb2_grpc as pb_grpc
from tests.node.fake_gateway import PERMIT_NODE_PINGS
from tests.node.helpers import make_signer

GW_KEY = b"g" * 32  # the gateway's subject key: the node never learns it
T0 = datetime(2026, 5, 1, 8, 0, 0, 123000, tzinfo=UTC)
BASE = {
    "MD_LX": "SXBZXR",
    "MD_ZT_MC": "济南某某商贸有限公司",
    "MD_ZT_LB": "法人及非法人组织",
    "MD_LRRQ": "2024-01-10",
    "MD_LRYY": "有履行能力而拒不履行",
    "MD_RDYJ": "《最高人民法院关于公布失信被执行人名单信息的若干规定》",
    "MD_RDWS": "执行决定书",
    "MD_RDJG": "济南市历下区人民法院",
    "MD_RDJGDM": "11370000004265891L",
    "MD_GLQX_Q": "2024-01-10",
}
USCCS = ["914403001922038216", "91370303MAKEJDBW7N", "91110116348294556H"]


class ListLog:
    """The gateway's side in miniature: records → sequenced changes, state, leaves."""

    def __init__(self) -> None:
        self.signer = make_signer()
        self.changes: list = []
        self.state: dict = {}
        self.leaves: list[bytes] = []
        self._src = 0

    def record(self, op="I", version=1, source_id=None, region="370100", **fields) -> Record:
        self._src += 1
        f = {**BASE, **fields}
        return Record(
            "LIST", op, region, source_id or f"src-{self._src}", version, self._src, {k: v for k, v in f.items() if v}
        )

    def push(self, record: Record):
        eid = natural_key(record, GW_KEY)
        env = sign_envelope(RECORD_PAYLOAD_TYPE, encode_record(record), self.signer)
        d = derive_change(
            self.state.get(eid),
            record,
            entry_id=eid,
            fingerprint=fingerprint(record),
            at=T0 + timedelta(seconds=len(self.changes)),
        )
        assert d.change is not None, d
        c = d.change.sequenced(len(self.changes) + 1, env)
        self.changes.append(c)
        self.state[eid] = c.entry
        self.leaves.append(change_leaf_hash(c))
        return c

    def add(self, i: int, *, doc=None, list_type="SXBZXR", **fields):
        """A new listing of company i (USCCS[i % 3]) under document ``doc``."""
        f = {
            "MD_ZT_SHXYM": USCCS[i % len(USCCS)],
            "MD_RDWSH": doc or f"(2026)鲁0102执{i}号",
            "MD_LX": list_type,
            **fields,
        }
        return self.push(self.record(source_id=f"e-{doc or i}", **f))

    def remove(self, change, reason="信用修复"):
        """Credit repair (or another reason) of the entry ``change`` listed."""
        old = self.state[change.entry.entry_id]
        rec = decode_record(change.origin.payload)
        fields = dict(rec.fields, MD_YCRQ="2026-05-02", MD_YCYY=reason, MD_YCJG="济南市历下区人民法院")
        return self.push(Record("LIST", "U", rec.region, rec.source_id, old.version + 1, rec.source_seq + 1000, fields))

    def frontier(self, size: int) -> CompactRange:
        cr = CompactRange()
        cr.extend(self.leaves[:size])
        return cr


class FakeDistribution(pb_grpc.DistributionServicer):
    def __init__(self, log: ListLog, *, host: str = "gw.test", batch: int = 3) -> None:
        self.log, self.batch = log, batch
        self.origin = list_log_origin(host)
        self.signing_key = ec.generate_private_key(ec.SECP256R1())
        self.published = threading.Condition()
        self.drop_after: int | None = None  # abort a Subscribe after sending this many changes
        self.gap_at: int | None = None  # leave this list_seq out (one-shot)
        self.snapshot_required_below = 0  # DIST_SNAPSHOT_REQUIRED for from_list_seq below
        self.snapshot_gone = False
        self.chunk_entries = 2
        self.chunk_gate: threading.Event | None = None  # chunks after the first wait for it
        self.fork = False  # sign checkpoints over a different log
        self.reports: list[pb.ReportAppliedRequest] = []
        self.subscribes: list[int] = []
        self.snapshots: list[pb.SnapshotRequest] = []
        self._snap: dict[int, list] = {}
        self.withhold = True  # as a 1.1 gateway: persons' origins stay here (DIST-076/077)
        self.index_key = b""

    def publish(self, change) -> None:
        with self.published:
            self.published.notify_all()

    def Subscribe(self, request: pb.SubscribeRequest, context: grpc.ServicerContext) -> Iterator[pb.ListChangeBatch]:
        self.subscribes.append(request.from_list_seq)
        self.index_key = request.subject_index_key
        if request.from_list_seq < self.snapshot_required_below:
            # as a 1.1 gateway: the reason as data (SYNC-016); the text does not name it, so only
            # a node reading creditx-reason bootstraps (DIST_SNAPSHOT_GONE below is 1.0-style text)
            context.set_trailing_metadata(trailing("DIST_SNAPSHOT_REQUIRED", "DIST-030"))
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "log truncated")
        seq, sent, live_sent = request.from_list_seq, 0, False
        while context.is_active():
            todo = self.log.changes[seq - 1 : seq - 1 + self.batch]
            if not todo:
                if not live_sent:  # DIST-030, as the gateway: say that the backlog is drained
                    live_sent = True
                    n = len(self.log.changes)
                    yield pb.ListChangeBatch(through_list_seq=seq - 1, head_list_seq=n, live=True)
                with self.published:
                    self.published.wait(0.2)
                continue
            nxt = todo[-1].list_seq + 1
            if self.gap_at is not None and any(c.list_seq == self.gap_at for c in todo):
                todo = [c for c in todo if c.list_seq != self.gap_at]
                self.gap_at = None
                if not todo:
                    seq = nxt
                    continue
            if self.drop_after is not None and sent + len(todo) > self.drop_after:
                todo = todo[: self.drop_after - sent]
                if todo:
                    yield self._batch(todo)
                self.drop_after = None
                context.abort(grpc.StatusCode.UNAVAILABLE, "scripted drop mid-stream")
            yield self._batch(todo)
            sent += len(todo)
            seq = nxt

    def _batch(self, todo) -> pb.ListChangeBatch:
        head = len(self.log.changes)
        return pb.ListChangeBatch(
            changes=[self._change(c) for c in todo],
            through_list_seq=todo[-1].list_seq,
            head_list_seq=head,
            live=todo[-1].list_seq == head,
        )

    def _change(self, c) -> pb.ListChange:
        m = change_to_pb(c)
        if self.withhold and withholds_origin(c.entry):
            m.ClearField("origin")
            m.subject_index.extend(origin_index_keys(decode_record(c.origin.payload).fields, self.index_key))
        return m

    def Snapshot(self, request: pb.SnapshotRequest, context: grpc.ServicerContext) -> Iterator[pb.SnapshotChunk]:
        self.snapshots.append(request)
        at = request.at_list_seq or len(self.log.changes)
        if request.at_list_seq and (self.snapshot_gone or at not in self._snap):
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "DIST_SNAPSHOT_GONE [DIST-072]")
        if at not in self._snap:
            state: dict = {}
            for c in self.log.changes[:at]:
                state[c.entry.entry_id] = c.entry
            self._snap[at] = chunk_snapshot(list(state.values()), at, max_bytes=1 << 20, max_entries=self.chunk_entries)
        chunks = self._snap[at]
        frontier = self.log.frontier(at).to_bytes()
        for ch in chunks[request.from_chunk :]:
            if ch.index > request.from_chunk and self.chunk_gate is not None:
                self.chunk_gate.wait(30)
            yield pb.SnapshotChunk(
                at_list_seq=at,
                index=ch.index,
                total=ch.total,
                entries=[entry_to_pb(e) for e in ch.entries],
                frontier=frontier if ch.index == 0 else b"",
                entries_total=sum(len(c.entries) for c in chunks),
            )

    def GetListCheckpoint(
        self, request: pb.ListCheckpointRequest, context: grpc.ServicerContext
    ) -> pb.ListCheckpointResponse:
        leaves = list(self.log.leaves)
        if self.fork:
            leaves = [bytes(32)] + leaves[1:]
        cp = Checkpoint(self.origin, len(leaves), root(leaves))
        note = sign_checkpoint(cp, self.origin, self.signing_key)
        proof = consistency_proof(request.from_size, leaves) if 0 < request.from_size <= len(leaves) else []
        return pb.ListCheckpointResponse(checkpoint=note, consistency_proof=proof)

    def ReportApplied(
        self, request: pb.ReportAppliedRequest, context: grpc.ServicerContext
    ) -> pb.ReportAppliedResponse:
        self.reports.append(request)
        return pb.ReportAppliedResponse(head_list_seq=len(self.log.changes))


def serve_distribution(fake: FakeDistribution, pki: Pki, extra=None) -> tuple[grpc.Server, str]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=PERMIT_NODE_PINGS)
    pb_grpc.add_DistributionServicer_to_server(fake, server)
    if extra is not None:
        extra(server)
    creds = grpc.ssl_server_credentials(
        [(pki.gateway.tls_key.read_bytes(), pki.gateway.tls_cert.read_bytes())],
        root_certificates=pki.ca_cert.read_bytes(),
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", creds)
    server.start()
    return server, f"127.0.0.1:{port}"
