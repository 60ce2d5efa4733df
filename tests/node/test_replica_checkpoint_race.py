"""The replica's checkpoint check while the list log grows (DIST-052, AUD-030, NODE-043).

Found by tests/e2e/test_list_crash.py: the gateway signs its head on every GetListCheckpoint,
so the check's two requests (proof from the replica's size, proof from the last checkpoint's
size) could answer two different sizes; the second proof was verified against the first
checkpoint and a healthy replica was halted with a FORK alarm. Real gRPC server on port 0
(insecure: the subject here is the proof pairing, not TLS), real SQLite file.
"""

from __future__ import annotations

import hashlib
from concurrent import futures

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from creditx.node.replica.checkpoints import CheckpointChecker
from creditx.node.replica.store import ReplicaStore
from creditx.node.store import NodeStore
from creditx.standard.checkpoint import Checkpoint, CheckpointError, sign_checkpoint
from creditx.standard.lists.log import list_log_origin
from creditx.standard.merkle import CompactRange, consistency_proof, root
from creditx.v1 import lists_pb2 as pb
from creditx.v1 import lists_pb2_grpc as pb_grpc

ORIGIN = list_log_origin("gateway")
KEY = ec.generate_private_key(ec.SECP256R1())


def _leaf(i: int) -> bytes:
    return hashlib.sha256(b"leaf %d" % i).digest()


class GrowingLog(pb_grpc.DistributionServicer):
    """A list log that grows by one change before each of the first ``grow_calls`` requests,
    as a gateway does while changes stream; fork=True answers a log with another first leaf."""

    def __init__(self, size: int, grow_calls: int, fork: bool = False) -> None:
        self.leaves = [_leaf(i) for i in range(size)]
        self.grow_calls, self.fork, self.calls = grow_calls, fork, 0

    def GetListCheckpoint(
        self, request: pb.ListCheckpointRequest, context: grpc.ServicerContext
    ) -> pb.ListCheckpointResponse:
        self.calls += 1
        if self.calls <= self.grow_calls:
            self.leaves.append(_leaf(len(self.leaves)))
        leaves = ([_leaf(-1)] + self.leaves[1:]) if self.fork else self.leaves
        note = sign_checkpoint(Checkpoint(ORIGIN, len(leaves), root(leaves)), ORIGIN, KEY)
        proof = consistency_proof(request.from_size, leaves) if 0 < request.from_size < len(leaves) else []
        return pb.ListCheckpointResponse(checkpoint=note, consistency_proof=proof)


@pytest.fixture
def replica(tmp_path):
    store = NodeStore(tmp_path / "node.db")
    yield ReplicaStore(store, b"k" * 32)
    store.close()


def _run(replica: ReplicaStore, log: GrowingLog) -> str:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    pb_grpc.add_DistributionServicer_to_server(log, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            return CheckpointChecker(replica, lambda: ch, lambda: [KEY.public_key()]).check_once()
    finally:
        server.stop(None)


def _replica_at(replica: ReplicaStore, applied: int, last_checkpoint_size: int) -> None:
    """A replica holding changes 1..applied that last saw a checkpoint of the given size."""
    fr = CompactRange()
    for i in range(applied):
        fr.append(_leaf(i))
    old = [_leaf(i) for i in range(last_checkpoint_size)]
    note = sign_checkpoint(Checkpoint(ORIGIN, len(old), root(old)), ORIGIN, KEY)
    replica.set_meta(
        applied=applied, frontier=fr.to_bytes().hex(), checkpoint={"note": note, "size": len(old), "result": "PREFIX"}
    )


def test_a_log_growing_between_the_two_requests_is_no_fork(replica):
    _replica_at(replica, applied=7, last_checkpoint_size=5)
    log = GrowingLog(8, grow_calls=2)  # the two first answers differ in size: 9, then 10
    assert _run(replica, log) == "PREFIX"
    st = replica.state()
    assert not st.alarm and st.checkpoint["size"] == 10 and log.calls == 4


def test_a_log_that_never_stands_still_is_checked_later_not_alarmed(replica):
    _replica_at(replica, applied=7, last_checkpoint_size=5)
    with pytest.raises(CheckpointError) as exc:
        _run(replica, GrowingLog(8, grow_calls=100))
    assert exc.value.reason == "LOG_MOVING" and exc.value.rule == "DIST-052"
    assert not replica.state().alarm


def test_a_real_fork_still_halts_the_replica(replica):
    _replica_at(replica, applied=7, last_checkpoint_size=5)
    result = _run(replica, GrowingLog(8, grow_calls=0, fork=True))
    assert result.startswith("FORK") and replica.state().alarm == result
