"""Gateway checks of the batch-signed suite standard 1.2 added (SIG-040…045, SYNC-060…064):
one signed checkpoint of the node's outbox log per batch, one inclusion path per record, and a
node that cannot rewrite its own history. Registered on the gateway suite's registry on import.

The suite plays a node that joins the batch suite part-way through its history, as a real node
switching ``record_suite`` does: the records it sent before under v1.0 envelopes are leaves of
its outbox log too, but the gateway does not see them again, so their leaves here are fillers
(SYNC-061 checks a batch's own records' paths, nothing else). The checks use the region the 1.1
checks share, and one log, each going on from the last. A gateway that already holds a batch checkpoint of that
region — a second run against the same gateway — cannot be extended by a log the suite no longer
has: the checks are then not applicable, and say so.
"""

from __future__ import annotations

import grpc

from creditx.conformance.checks import Evidence, Result, failed, not_applicable, passed
from creditx.conformance.gateway_1_1 import shared_region
from creditx.conformance.gateway_suite import GATEWAY, GatewayContext, _fresh
from creditx.conformance.scripted_node import Call, ScriptedNode, ack_text
from creditx.pki.files import read_key
from creditx.standard.batch import BATCH_SUITE, encode_path, genesis_leaf, outbox_origin
from creditx.standard.checkpoint import Checkpoint, sign_checkpoint
from creditx.standard.merkle import consistency_proof, inclusion_proof, leaf_hash, root
from creditx.standard.record import RECORD_PAYLOAD_TYPE
from creditx.standard.suites import key_id
from creditx.v1 import envelope_pb2, exchange_pb2

FILLER = b"creditx conformance: a record sent before the node switched to the batch suite"


class ScriptedOutbox:
    """The suite node's outbox log (SIG-041): leaf 0 the origin line, leaf i the payload of
    source_seq i; signs one checkpoint per batch with the node's record-signing key."""

    def __init__(self, node: ScriptedNode, committed: int, held: ScriptedOutbox | None = None) -> None:
        """The log of a node with ``committed`` records at the gateway; ``held``: the log an
        earlier check of this run built for the region, which this one goes on with."""
        self.node = node
        self.origin = outbox_origin(node.region)
        self.leaves: list[bytes] = list(held.leaves) if held else [leaf_hash(genesis_leaf(node.region))]
        self.leaves += [leaf_hash(FILLER)] * (committed + 1 - len(self.leaves))  # sent under v1.0 envelopes
        self.signed_size: int = held.signed_size if held else 0  # the last checkpoint the gateway took (SYNC-063)
        self.key = read_key(node.creds.signing_key)  # the record-signing key signs the checkpoints (SIG-042)
        self.keyid = key_id(self.key.public_key())

    def request(self, payloads: list[bytes], batch_id: int, *, size: int = 0) -> exchange_pb2.PushRequest:
        """A batch-signed PushRequest of ``payloads`` at the next source_seqs; ``size`` overrides
        the checkpoint's size (to make an invalid one)."""
        first = len(self.leaves)
        leaves = self.leaves + [leaf_hash(p) for p in payloads]
        n = size or len(leaves)
        note = sign_checkpoint(Checkpoint(self.origin, n, root(leaves[:n])), self.origin, self.key)
        records = [
            exchange_pb2.SignedRecord(
                source_seq=first + i,
                envelope=envelope_pb2.Envelope(
                    payload_type=RECORD_PAYLOAD_TYPE,
                    payload=p,
                    signatures=[
                        envelope_pb2.Signature(
                            keyid=self.keyid,
                            suite=BATCH_SUITE,
                            sig=encode_path(inclusion_proof(first + i, leaves[:n])) if first + i < n else b"",
                        )
                    ],
                ),
            )
            for i, p in enumerate(payloads)
        ]
        proof = consistency_proof(self.signed_size, leaves[:n]) if 0 < self.signed_size <= n else []
        return exchange_pb2.PushRequest(batch_id=batch_id, records=records, checkpoint=note, consistency_proof=proof)

    def accepted(self, payloads: list[bytes]) -> None:
        self.leaves += [leaf_hash(p) for p in payloads]
        self.signed_size = len(self.leaves)


def _start(ctx: GatewayContext) -> tuple[ScriptedNode, ScriptedOutbox, int] | Result:
    """A new suite node of the 1.2 region and its outbox log, carried on from the previous 1.2
    check of this run (a new certificate and signing key, the same log: SYNC-062 is about the log)."""
    node = ScriptedNode.issue(ctx.ca, shared_region(ctx), ctx.root / "nodes", ctx.address, server_name=ctx.server_name)
    c, hs = _fresh(node)
    held: ScriptedOutbox | None = getattr(ctx, "_outbox_1_2", None)
    if hs.checkpoint_size != (held.signed_size if held else 0):
        node.close()
        return not_applicable(
            f"the gateway holds a batch checkpoint of region {node.region} (size {hs.checkpoint_size}) from an "
            "earlier run, which a new run cannot extend: run the 1.2 checks against a fresh gateway"
        )
    log = ScriptedOutbox(node, c, held)
    ctx._outbox_1_2 = log  # type: ignore[attr-defined]
    return node, log, c


def _push(node: ScriptedNode, reqs: list[exchange_pb2.PushRequest]) -> list[exchange_pb2.PushResponse]:
    return list(node.exchange.Push(iter(reqs), timeout=30))


def _unknown_suite(acks: list[exchange_pb2.RecordAck]) -> bool:
    return bool(acks) and all(a.reason_code == "SIG_UNKNOWN_SUITE" for a in acks)


def _first_batch(
    ctx: GatewayContext, first: int, more: int
) -> tuple[ScriptedNode, ScriptedOutbox, int, list[bytes], list[Evidence]] | Result:
    """A suite node pushes ``first`` batch-signed records, which must all be ACCEPTED; returns the
    node, its log, the mark before, ``more`` fresh payloads for what comes next, and the evidence."""
    started = _start(ctx)
    if isinstance(started, Result):
        return started
    node, log, c = started
    fresh = node.payloads(first + more, c + 1)  # one draw: rows of one seed repeat from their start
    try:
        (resp,) = _push(node, [log.request(fresh[:first], 1)])
    except grpc.RpcError as exc:
        node.close()
        return failed(
            "a batch of batch-signed records with a valid checkpoint must be taken", Evidence("Push", str(Call.of(exc)))
        )
    ev = [Evidence(f"{first} batch-signed records, seq {c + 1}…{c + first}", "; ".join(map(ack_text, resp.acks)))]
    if _unknown_suite(list(resp.acks)):
        node.close()
        return not_applicable(f"the gateway answers {BATCH_SUITE} with SIG_UNKNOWN_SUITE: it speaks standard < 1.2")
    if [a.outcome for a in resp.acks] != [exchange_pb2.ACCEPTED] * first or resp.committed_seq != c + first:
        node.close()
        return failed("every batch-signed record with a valid path must be ACCEPTED (SIG-044, SYNC-061)", *ev)
    log.accepted(fresh[:first])
    return node, log, c, fresh[first:], ev


@GATEWAY.check(
    "GW-BATCH-SUITE",
    ("SIG-040", "SIG-042", "SIG-043", "SIG-044", "SYNC-060", "SYNC-061", "SYNC-064"),
    "05",
    "batch-signed records verify by one checkpoint and their paths; a wrong path rejects its record "
    "alone; a checkpoint too small refuses the whole batch",
)
def check_batch_suite(ctx: GatewayContext) -> Result:
    opened = _first_batch(ctx, 4, 5)
    if isinstance(opened, Result):
        return opened
    node, log, c, rest, ev = opened
    try:
        mixed, small = rest[:3], rest[3:]
        req = log.request(mixed, 2)
        req.records[1].envelope.signatures[0].sig = req.records[2].envelope.signatures[0].sig  # another's path
        (resp,) = _push(node, [req])
        ev.append(Evidence(f"seq {c + 6} carries seq {c + 7}'s path", "; ".join(map(ack_text, resp.acks))))
        ok, bad = exchange_pb2.ACCEPTED, exchange_pb2.REJECTED
        want = [(ok, ""), (bad, "SIG_BATCH_PROOF [SIG-044]"), (ok, "")]
        seen = [(a.outcome, f"{a.reason_code} [{a.requirement}]" if a.outcome == bad else "") for a in resp.acks]
        if seen != want or resp.committed_seq != c + 7:
            return failed("the record with a wrong path must be REJECTED SIG_BATCH_PROOF [SIG-044] alone", *ev)
        log.accepted(mixed)

        try:
            got = _push(node, [log.request(small, 3, size=c + 9)])  # size must exceed seq c + 9
            ev.append(Evidence("a checkpoint of size = the highest source_seq", "; ".join(map(ack_text, got[0].acks))))
            return failed("a checkpoint not covering the batch must refuse it: INVALID_ARGUMENT (SYNC-061)", *ev)
        except grpc.RpcError as exc:
            call = Call.of(exc)
            ev.append(Evidence("a checkpoint of size = the highest source_seq", str(call)))
            if call.code != "INVALID_ARGUMENT" or call.reason not in ("SYNC_CHECKPOINT_INVALID", ""):
                return failed("expected INVALID_ARGUMENT SYNC_CHECKPOINT_INVALID (SYNC-061)", *ev)
        c2, _ = _fresh(node)
        if c2 != c + 7:
            return failed(f"the refused batch must store nothing: committed_seq {c2}, expected {c + 7}", *ev)
        return passed("one checkpoint per batch, one path per record, refusals as SYNC-061 says", *ev)
    finally:
        node.close()


@GATEWAY.check(
    "GW-BATCH-FORK",
    ("SYNC-062", "SYNC-063"),
    "05",
    "a node's next checkpoint must extend the stored one: a rewritten history is SYNC_CHECKPOINT_FORK, stores nothing",
)
def check_batch_fork(ctx: GatewayContext) -> Result:
    opened = _first_batch(ctx, 3, 2)
    if isinstance(opened, Result):
        return opened
    node, log, c, more, ev = opened
    try:
        _, hs = _fresh(node)
        ev.append(Evidence("Handshake after the batch", f"checkpoint_size={hs.checkpoint_size}"))
        if hs.checkpoint_size != log.signed_size:
            return failed(
                f"HandshakeResponse.checkpoint_size must be the stored size {log.signed_size} (SYNC-063)", *ev
            )

        forked = ScriptedOutbox(node, 0)  # a history whose first leaves differ from the stored one
        forked.leaves = [log.leaves[0]] + [leaf_hash(FILLER + b" rewritten")] * (len(log.leaves) - 1)
        forked.signed_size = log.signed_size
        try:
            got = _push(node, [forked.request(more, 2)])
            ev.append(Evidence("a checkpoint of a rewritten history", "; ".join(map(ack_text, got[0].acks))))
            return failed("a checkpoint that does not extend the stored one must be refused (SYNC-062)", *ev)
        except grpc.RpcError as exc:
            call = Call.of(exc)
            ev.append(Evidence("a checkpoint of a rewritten history", str(call)))
            if call.code != "FAILED_PRECONDITION" or call.reason not in ("SYNC_CHECKPOINT_FORK", ""):
                return failed("expected FAILED_PRECONDITION SYNC_CHECKPOINT_FORK (SYNC-062)", *ev)
        (resp,) = _push(node, [log.request(more, 3)])  # the true history goes on
        ev.append(Evidence("the same records on the stored history", "; ".join(map(ack_text, resp.acks))))
        if resp.committed_seq != c + 5:
            return failed("after the refusal nothing is stored, and the true history extends as before", *ev)
        return passed("the stored checkpoint is extended, a fork refused and nothing of it stored", *ev)
    finally:
        node.close()
