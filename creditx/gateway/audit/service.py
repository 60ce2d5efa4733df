"""The ``creditx.v1.Audit`` servicer: checkpoints and proofs (standard chapter 06).

Translates requests into calls on :class:`creditx.gateway.audit.checkpoints.Checkpointer` and the proof
helpers, and maps errors to status codes in one place: an unknown fingerprint is NOT_FOUND,
a size or index out of range INVALID_ARGUMENT, a signing failure UNAVAILABLE.
"""

from __future__ import annotations

import grpc

from creditx.gateway.audit import checkpoints as cps
from creditx.gateway.audit.checkpoints import Checkpointer
from creditx.standard.merkle import ProofError
from creditx.v1 import audit_pb2 as pb
from creditx.v1 import audit_pb2_grpc


class AuditServicer(audit_pb2_grpc.AuditServicer):
    def __init__(self, checkpointer: Checkpointer) -> None:
        self.cp = checkpointer

    def GetCheckpoint(self, request: pb.GetCheckpointRequest, context: grpc.ServicerContext) -> pb.CheckpointResponse:
        try:
            with self.cp.lock:
                stored = None if request.fresh else cps.latest(self.cp.conn)
            if stored is None:
                stored = self.cp.sign_now()
            key = self.cp.verifier().to_string()
        except Exception as exc:  # key unreadable, database busy: the caller may retry
            context.abort(grpc.StatusCode.UNAVAILABLE, f"AUD-040 CHECKPOINT_UNAVAILABLE: {exc}")
        return pb.CheckpointResponse(
            note=stored.note, tree_size=stored.size, root_hash=stored.root, verifier_key=key, refusal=self.cp.refusal()
        )

    def GetInclusionProof(
        self, request: pb.InclusionProofRequest, context: grpc.ServicerContext
    ) -> pb.InclusionProofResponse:
        try:
            with self.cp.lock:
                if request.WhichOneof("leaf") == "fingerprint":
                    index = cps.leaf_index_of(self.cp.conn, bytes(request.fingerprint))
                else:
                    index = request.index
                p = cps.inclusion_for(self.cp.conn, index, request.tree_size)
        except KeyError:
            context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"AUD-010 NOT_FOUND: no leaf for fingerprint "
                f"{bytes(request.fingerprint).hex()}; check it against your ack",
            )
        except ProofError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, exc.diagnostics())
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
            with self.cp.lock:
                p = cps.consistency_for(self.cp.conn, request.old_size, request.new_size)
        except ProofError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, exc.diagnostics())
        return pb.ConsistencyProofResponse(
            old_size=p["old_size"], new_size=p["new_size"], hashes=p["hashes"], checkpoint=p["checkpoint"]
        )
