"""The node's check of its replica against the gateway's signed list-log checkpoints
(DIST-051/052, AUD-030) and its ReportApplied (DIST-043). A thin shell over
:func:`creditx.standard.lists.log.check_replica` and :func:`creditx.standard.checkpoint.check_consistent`.

Invariants kept here:

* a checkpoint counts only if a gateway-signing key the node trusts signed it (AUD-026); with no
  such key configured nothing is claimed verified (status says why).
* NODE-043 a checkpoint inconsistent with the last one seen (FORK, ROLLBACK, WRONG_ORIGIN — the
  node's one witness rule, :class:`creditx.node.witness.CheckpointWitness`) or a replica that is
  not a prefix of the log (DIST_REPLICA_DIVERGED) sets the replica's alarm, which stops the
  follower from applying and makes every check answer stale; both checkpoints are kept.
* AUD-030 both proofs of one check (from the replica's size, from the last checkpoint's) lead to
  the SAME checkpoint: a log that grew between the requests is asked again, never taken for a fork.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import grpc

from creditx.node.replica.store import ReplicaStore
from creditx.node.witness import CheckpointWitness, LogAlarm
from creditx.standard.checkpoint import Checkpoint, CheckpointError, parse_checkpoint, verifier_for, verify_checkpoint
from creditx.standard.lists.lifecycle import ListError
from creditx.standard.lists.log import check_replica, gateway_host_of
from creditx.v1 import lists_pb2 as pb
from creditx.v1 import lists_pb2_grpc as pb_grpc

MATCH_ATTEMPTS = 5


class _ReplicaRecord:
    """The replica's meta as the list log's :class:`creditx.node.witness.WitnessRecord`: the last
    checkpoint seen is ``checkpoint.note``; an alarm is the replica's alarm (NODE-043)."""

    def __init__(self, checker: CheckpointChecker, last_note: str | None) -> None:
        self.checker, self.last_note = checker, last_note

    def last_seen(self) -> tuple[Checkpoint, str] | None:
        return (parse_checkpoint(self.last_note)[0], self.last_note) if self.last_note else None

    def remember(self, cp: Checkpoint, note: str) -> None:
        # the replica's result against it is added by check_once once known
        self.checker.replica.set_meta(checkpoint={"note": note, "size": cp.size, "at_ms": self.checker.now_ms()})

    def alarm(self, reason: str, message: str, old_note: str, new_note: str) -> None:
        # the old note stays the replica's last checkpoint; the alarm halts the follower
        self.checker.alarm(f"{reason} [AUD-030]: {message}")


class CheckpointChecker:
    def __init__(
        self,
        replica: ReplicaStore,
        channel: Callable[[], grpc.Channel],
        gateway_keys: Callable[[], list[Any]],
        *,
        rpc_timeout: float = 10.0,
        wall: Callable[[], float] = time.time,
        origin: Callable[[], str] = lambda: "",
    ) -> None:
        self.origin = origin  # DIST-051: the lists origin pinned at the handshake ("" not yet known)
        self.replica, self.channel, self.keys, self.timeout, self.wall = (
            replica,
            channel,
            gateway_keys,
            rpc_timeout,
            wall,
        )

    def _get(self, from_size: int):
        stub = pb_grpc.DistributionStub(self.channel())
        resp = stub.GetListCheckpoint(pb.ListCheckpointRequest(from_size=from_size), timeout=self.timeout)
        keys = self.keys()
        if not keys:
            raise CheckpointError(
                "NO_GATEWAY_KEY",
                "no gateway-signing certificate configured",
                rule="AUD-026",
                hint="copy the gateway's signing.crt to DIR/gateway-signing.crt",
            )
        origin = self.origin() or parse_checkpoint(resp.checkpoint)[0].origin
        gateway_host_of(origin)  # DIST-051: a list-log origin, or ValueError
        cp = verify_checkpoint(resp.checkpoint, [verifier_for(origin, k) for k in keys], origin=origin)
        return cp, list(resp.consistency_proof), resp.checkpoint

    def check_once(self) -> str:
        """Fetch, verify and compare; returns EXACT / PREFIX / AHEAD / UNCHECKED, or the alarm."""
        st = self.replica.state()
        if st.alarm:
            return st.alarm
        if st.frontier is None:
            self.replica.set_meta(checkpoint=dict(st.checkpoint, result="UNCHECKED"))
            return "UNCHECKED"  # a snapshot without a frontier cannot be checked (DIST-074)
        try:
            record = _ReplicaRecord(self, st.checkpoint.get("note"))
            seen = record.last_seen()
            cp, proof, note, old_proof = self._same_checkpoint(st.frontier.size, seen[0].size if seen else None)
            CheckpointWitness(record).observe(cp, note, lambda old, new: old_proof)  # AUD-030
            result = check_replica(st.frontier, cp, proof)
        except LogAlarm:
            return self.replica.state().alarm  # set by _ReplicaRecord.alarm
        except ListError as exc:
            return self.alarm(f"{exc.reason} [{exc.rule}]: {exc.detail}")
        self.replica.set_meta(
            checkpoint={
                "note": note,
                "size": cp.size,
                "result": result,
                "at_ms": self.now_ms(),
                "replica_size": st.frontier.size,
            }
        )
        return result

    def _same_checkpoint(self, size: int, old_size: int | None):
        """The latest checkpoint with a proof from ``size`` and one from ``old_size``, both to that
        same checkpoint. The gateway signs its head on each request, so while the log grows two
        requests may answer two sizes: a proof to the second never verifies against the first
        (that was a false FORK alarm halting a healthy replica). Asked again until both agree."""
        for _ in range(MATCH_ATTEMPTS):
            cp, proof, note = self._get(size)
            if old_size is None or old_size == size or old_size > cp.size:
                return cp, proof, note, proof if old_size == size else []
            other, old_proof, _ = self._get(old_size)
            if other.size == cp.size:  # one root per size (the gateway reuses a stored checkpoint)
                return cp, proof, note, old_proof
        raise CheckpointError(
            "LOG_MOVING",
            f"the list log grew between each of {MATCH_ATTEMPTS} pairs of requests",
            rule="DIST-052",
            hint="nothing is wrong; the check runs again at the next interval",
        )

    def now_ms(self) -> int:
        return int(self.wall() * 1000)

    def alarm(self, text: str) -> str:
        """NODE-043: halt the replica with ``text``."""
        self.replica.set_meta(alarm=text, alarm_ms=self.now_ms())
        return text

    def report(self, verified: bool) -> int:
        """DIST-043: tell the gateway the applied list_seq; returns the gateway's head."""
        stub = pb_grpc.DistributionStub(self.channel())
        resp = stub.ReportApplied(
            pb.ReportAppliedRequest(applied_list_seq=self.replica.applied(), checkpoint_verified=verified),
            timeout=self.timeout,
        )
        self.replica.set_meta(head=resp.head_list_seq)
        return resp.head_list_seq
