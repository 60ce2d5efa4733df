"""The gateway's ``Distribution`` service as the suite plays it to test a node's list replica.

It serves a small list log built with the standard's own rules (``derive_change``: real LIST
records, real origin envelopes) and follows a fixed script, judged afterwards from what the node
asked for (every ``Subscribe``'s ``from_list_seq``, every ``Snapshot`` request, every
``ReportApplied``) — never from the node's own state:

* a ``Subscribe`` below the snapshot's list_seq is refused ``FAILED_PRECONDITION`` /
  ``DIST_SNAPSHOT_REQUIRED`` (the node must bootstrap from a snapshot, DIST-030/070);
* Snapshot attempt 1 sends chunk 0 of 3, then drops the stream (the node must resume at chunk 1
  of the same ``at_list_seq``, DIST-072); attempt 2 sends the chunk *after* the one asked for
  (the node must refuse it and not take the snapshot as complete, DIST-072/073); later attempts
  are served in full;
* Subscribe stream 1 sends three changes, then drops (the node must resubscribe from the last
  change + 1, DIST-030/040); stream 2 delivers one change twice (DIST-031: harmless, the stream
  goes on) and drops; stream 3 leaves a list_seq out (the node must not apply past the gap,
  DIST-040); stream 4 (and any later one) sends the rest from where the node asks and stays open.

``delivered`` is what the suite has sent in order so far (the highest list_seq a correct node can
hold): the scripted streams are built from it, so a node that asks for the wrong position still
meets the next scripted fault.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import grpc
from cryptography.hazmat.primitives.asymmetric import ec

from creditx.standard.call_status import trailing
from creditx.standard.envelope import Envelope, Signer, sign_envelope
from creditx.standard.fingerprint import fingerprint
from creditx.standard.lists.lifecycle import ChangeKind, ListChange, ListEntry, State, derive_change
from creditx.standard.lists.snapshot import chunk_snapshot
from creditx.standard.natural_key import natural_key
from creditx.standard.record import RECORD_PAYLOAD_TYPE, Record, encode_record
from creditx.v1 import envelope_pb2
from creditx.v1 import lists_pb2 as pb
from creditx.v1 import lists_pb2_grpc as pb_grpc

SNAPSHOT_AT = 6  # changes in the snapshot; each lists another company, so 3 chunks of 2
CHUNK_ENTRIES = 2
LOG_SIZE = 30  # room for a node that asks from the wrong place
STREAM_FIRST = 3  # stream 1: this many changes, then the drop
SUBJECT_KEY = b"conformance-subject-key-00000000"  # the suite's gateway key (REC-FP-016); never sent
T0 = datetime(2026, 5, 1, 8, 0, 0, tzinfo=UTC)
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


def _uscc(i: int) -> str:
    """A syntactically valid USCC (GB 32100 check character) for company ``i``."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    body = f"91370102MA{i:07d}"
    total = sum(alphabet.index(ch) * w for ch, w in zip(body, weights, strict=True))
    return body + alphabet[(31 - total % 31) % 31]


def build_log(region: str, n: int = LOG_SIZE) -> list[ListChange]:
    """``n`` changes, each the first listing of another company, as a gateway derives them."""
    signer = Signer(ec.generate_private_key(ec.SECP256R1()))  # an origin node the replica does not know
    out: list[ListChange] = []
    for i in range(1, n + 1):
        fields = dict(BASE, MD_ZT_SHXYM=_uscc(i), MD_RDWSH=f"(2026)鲁0102执{i}号")
        record = Record("LIST", "I", region, f"conf-list-{i}", 1, i, fields)
        env = sign_envelope(RECORD_PAYLOAD_TYPE, encode_record(record), signer)
        d = derive_change(
            None,
            record,
            entry_id=natural_key(record, SUBJECT_KEY),
            fingerprint=fingerprint(record),
            at=T0 + timedelta(seconds=i),
        )
        if d.change is None:
            raise ValueError(f"the suite's list record {i} derives no change: {d}")
        out.append(d.change.sequenced(i, env))
    return out


# -- lists.proto, built here (the suite links no implementation's wire code, CONF-001) ------------
_STATE = {State.LISTED: pb.LIST_ENTRY_STATE_LISTED, State.REMOVED: pb.LIST_ENTRY_STATE_REMOVED}
_KIND = {ChangeKind.ADD: pb.CHANGE_KIND_ADD, ChangeKind.CORRECT: pb.CHANGE_KIND_CORRECT}
_TEXT = (
    "entry_id",
    "list_type",
    "colour",
    "subject_name",
    "subject_category",
    "subject_uscc",
    "subject_id_masked",
    "listing_reason",
    "basis",
    "basis_document",
    "basis_number",
    "authority",
    "authority_uscc",
    "measures",
    "removal_authority",
    "origin_region",
)


def entry_pb(e: ListEntry) -> pb.ListEntry:
    def d(x: object) -> str:
        return x.isoformat() if x is not None else ""  # type: ignore[attr-defined]

    return pb.ListEntry(
        **{k: getattr(e, k) for k in _TEXT},
        listed_on=d(e.listed_on),
        period_start=d(e.period_start),
        period_end=d(e.period_end),
        state=_STATE[e.state],
        version=e.version,
        origin_fingerprint=e.origin_fp,
        listing=e.listing,
    )


def change_pb(c: ListChange) -> pb.ListChange:
    env: Envelope = c.origin  # type: ignore[assignment]
    return pb.ListChange(
        list_seq=c.list_seq,
        kind=_KIND[c.kind],
        list_type=c.entry.list_type,
        entry=entry_pb(c.entry),
        origin=envelope_pb2.Envelope(
            payload_type=env.payload_type,
            payload=env.payload,
            signatures=[envelope_pb2.Signature(keyid=s.keyid, suite=s.suite, sig=s.sig) for s in env.signatures],
        ),
        at_unix_ms=int(c.at.timestamp() * 1000),
    )


@dataclass
class ListEvent:
    kind: str  # subscribe, subscribe_refused, stream_sent, stream_drop, snapshot, chunk, snapshot_drop, report
    at: float
    data: dict = field(default_factory=dict)


class ScriptedDistribution(pb_grpc.DistributionServicer):
    def __init__(self, region: str) -> None:
        self.changes = build_log(region)
        self.state = {c.entry.entry_id: c.entry for c in self.changes[:SNAPSHOT_AT]}
        self.chunks = chunk_snapshot(
            list(self.state.values()), SNAPSHOT_AT, max_bytes=1 << 20, max_entries=CHUNK_ENTRIES
        )
        self.lock = threading.Condition()
        self.events: list[ListEvent] = []
        self.delivered = 0  # the highest list_seq a correct replica can hold from what was sent
        self.snapshot_attempts = 0
        self.streams = 0
        self._stopping = threading.Event()

    def _log(self, kind: str, **data: object) -> None:
        with self.lock:
            self.events.append(ListEvent(kind, time.monotonic(), data))
            self.lock.notify_all()

    def stop(self) -> None:
        self._stopping.set()

    def head(self) -> int:
        return len(self.changes)

    def done(self) -> bool:
        """The last scripted stream is open and the node has reported the log's head."""
        return self.streams >= 4 and any(
            e.kind == "report" and e.data["applied"] == self.head() and e.data["stream"] >= 4 for e in self.events
        )

    # -- Subscribe --------------------------------------------------------------------------------
    def Subscribe(self, request: pb.SubscribeRequest, context: grpc.ServicerContext) -> Iterator[pb.ListChangeBatch]:
        start = request.from_list_seq
        if start <= SNAPSHOT_AT - 1 or self.delivered < SNAPSHOT_AT:
            self._log("subscribe_refused", from_list_seq=start, delivered=self.delivered)
            context.set_trailing_metadata(trailing("DIST_SNAPSHOT_REQUIRED", "DIST-030"))
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "DIST_SNAPSHOT_REQUIRED [DIST-030]: take a snapshot")
        with self.lock:
            self.streams += 1
            n, d = self.streams, self.delivered
        self._log("subscribe", from_list_seq=start, delivered=d, stream=n)
        # what each stream sends, as runs of list_seqs per batch, from the suite's delivered mark d
        if n == 1:
            plan = [[d + 1, d + 2], [d + 3]]
        elif n == 2:
            plan = [[d + 1, d + 2], [d + 2, d + 3], [d + 4]]  # d + 2 twice (DIST-031)
        elif n == 3:
            plan = [[d + 2]]  # d + 1 left out: a gap (DIST-040)
        else:
            plan = [list(range(start, self.head() + 1))] if start <= self.head() else []  # the rest, live
        for seqs in plan:
            batch = self._batch(seqs)
            with self.lock:  # counted as sent before it goes: the node may report it at once
                if seqs[0] <= self.delivered + 1:
                    self.delivered = max(self.delivered, seqs[-1])
            self._log("stream_sent", stream=n, seqs=seqs)
            yield batch
        if n <= 3:
            self._log("stream_drop", stream=n)
            context.abort(grpc.StatusCode.UNAVAILABLE, "scripted drop of the Subscribe stream")
        while context.is_active() and not self._stopping.wait(0.2):
            pass  # live: nothing more to send

    def _batch(self, seqs: list[int]) -> pb.ListChangeBatch:
        head = self.head()
        return pb.ListChangeBatch(
            changes=[change_pb(self.changes[s - 1]) for s in seqs],
            through_list_seq=seqs[-1],
            head_list_seq=head,
            live=seqs[-1] == head,
        )

    # -- Snapshot ---------------------------------------------------------------------------------
    def Snapshot(self, request: pb.SnapshotRequest, context: grpc.ServicerContext) -> Iterator[pb.SnapshotChunk]:
        with self.lock:
            self.snapshot_attempts += 1
            n = self.snapshot_attempts
        self._log("snapshot", attempt=n, at_list_seq=request.at_list_seq, from_chunk=request.from_chunk)
        if request.at_list_seq not in (0, SNAPSHOT_AT):
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "DIST_SNAPSHOT_GONE [DIST-072]")
        first = request.from_chunk if request.at_list_seq else 0
        if n == 1:
            indices = [first]
        elif n == 2:
            indices = [first + 1] if first + 1 < len(self.chunks) else []  # the chunk after the one asked for
        else:
            indices = list(range(first, len(self.chunks)))
        for i in indices:
            chunk = self._chunk(i)
            if i == len(self.chunks) - 1 and n >= 3:  # every chunk sent, in order
                with self.lock:
                    self.delivered = max(self.delivered, SNAPSHOT_AT)
            self._log("chunk", attempt=n, index=i)  # before it goes: the node may report it at once
            yield chunk
        if n == 1:
            self._log("snapshot_drop", attempt=n)
            context.abort(grpc.StatusCode.UNAVAILABLE, "scripted drop of the Snapshot stream")

    def _chunk(self, i: int) -> pb.SnapshotChunk:
        ch = self.chunks[i]
        return pb.SnapshotChunk(
            at_list_seq=SNAPSHOT_AT,
            index=ch.index,
            total=ch.total,
            entries=[entry_pb(e) for e in ch.entries],
            entries_total=len(self.state),
        )

    # -- the rest ---------------------------------------------------------------------------------
    def ReportApplied(
        self, request: pb.ReportAppliedRequest, context: grpc.ServicerContext
    ) -> pb.ReportAppliedResponse:
        self._log(
            "report",
            applied=request.applied_list_seq,
            verified=request.checkpoint_verified,
            delivered=self.delivered,
            max_sent=self.max_sent(),
            stream=self.streams,
        )
        return pb.ReportAppliedResponse(head_list_seq=self.head())

    def max_sent(self) -> int:
        """The highest list_seq the node has been sent in any form (a change, or a snapshot's last chunk)."""
        seqs = [s for e in self.events if e.kind == "stream_sent" for s in e.data["seqs"]]
        if any(e.kind == "chunk" and e.data["index"] == len(self.chunks) - 1 for e in self.events):
            seqs.append(SNAPSHOT_AT)
        return max(seqs, default=0)
