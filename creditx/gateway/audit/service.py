"""The ``creditx.v1.Audit`` servicer: checkpoints and proofs (standard chapter 06).

Translates requests into calls on :class:`creditx.gateway.audit.checkpoints.Checkpointer` and
maps its errors through :mod:`creditx.gateway.call_errors`: an unknown fingerprint is NOT_FOUND,
a size or index out of range INVALID_ARGUMENT, a signing failure UNAVAILABLE.
"""

from __future__ import annotations

import grpc

from creditx.gateway.audit.checkpoints import Checkpointer
from creditx.gateway.call_errors import BatchError, abort
from creditx.standard.merkle import ProofError
from creditx.v1 import audit_pb2 as pb
from creditx.v1 import audit_pb2_grpc


def _proof_error(exc: ProofError) -> BatchError:
    return BatchError(
        "INVALID_ARGUMENT",
        exc.reason,
        exc.message.removeprefix(f"{exc.rule} {exc.reason}: "),
        rule=exc.rule,
        hint=exc.hint,
    )


class AuditServicer(audit_pb2_grpc.AuditServicer):
    def __init__(self, checkpointer: Checkpointer) -> None:
        self.cp = checkpointer

    def GetCheckpoint(self, request: pb.GetCheckpointRequest, context: grpc.ServicerContext) -> pb.CheckpointResponse:
        try:
            stored = self.cp.current(fresh=request.fresh)
            key = self.cp.verifier().to_string()
        except Exception as exc:  # key unreadable, database busy: the caller may retry
            abort(
                context,
                BatchError("UNAVAILABLE", "CHECKPOINT_UNAVAILABLE", str(exc), rule="AUD-040", hint="retry later"),
            )
        return pb.CheckpointResponse(
            note=stored.note, tree_size=stored.size, root_hash=stored.root, verifier_key=key, refusal=self.cp.refusal()
        )

    def GetInclusionProof(
        self, request: pb.InclusionProofRequest, context: grpc.ServicerContext
    ) -> pb.InclusionProofResponse:
        if request.WhichOneof("leaf") == "fingerprint":
            # AUD-052: records have no fingerprint index at provincial scale (ADR 0020), so a lookup
            # by fingerprint would scan them all: a cost any caller could impose on every other.
            abort(
                context,
                BatchError(
                    "FAILED_PRECONDITION",
                    "AUDIT_LOOKUP_BY_INDEX",
                    "the Audit service finds a leaf by its index, not by fingerprint",
                    rule="AUD-052",
                    hint="ask with the log_index of the record's ack (every ack carries it, SYNC-035); "
                    "an operator can search by fingerprint with `creditx gateway audit proof --fingerprint`",
                ),
            )
        try:
            p = self.cp.inclusion(request.index, request.tree_size)
        except ProofError as exc:
            abort(context, _proof_error(exc))
        return pb.InclusionProofResponse(
            index=p["index"],
            tree_size=p["tree_size"],
            hashes=p["hashes"],
            leaf_data=p["leaf_data"],
            checkpoint=p["checkpoint"],
        )

    def GetConsistencyProof(
        self, request: pb.ConsistencyProofRequest, context: grpc.ServicerContext
    ) -> pb.ConsistencyProofResponse:
        try:
            p = self.cp.consistency(request.old_size, request.new_size)
        except ProofError as exc:
            abort(context, _proof_error(exc))
        return pb.ConsistencyProofResponse(
            old_size=p["old_size"], new_size=p["new_size"], hashes=p["hashes"], checkpoint=p["checkpoint"]
        )
