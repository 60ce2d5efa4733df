"""What the list follower does next, as a pure decision table (DIST-030…074, NODE-042/043).

No gRPC, no SQLite, no clock: :func:`next_step` takes the *phase* the follower is in and one
*event* (a fact the shell observed) and returns the :class:`Step` the shell carries out. Every
legal (phase, event) pair is in :data:`TABLE`; anything else raises :class:`FollowStateError`
(our bug, never the gateway's). The shell is :class:`creditx.node.replica.follower.Follower`.

The steps:

* ``FOLLOW`` — subscribe (or keep reading) from the replica's applied list_seq + 1 (DIST-030/040);
* ``BOOTSTRAP`` — fetch or resume a snapshot (DIST-070…073), then follow;
* ``RESTART`` — discard the partial snapshot or the diverged replica, end the session and back
  off; the next session starts anew (DIST-041, DIST-072);
* ``RETRY`` — end the session and back off (NODE-013); nothing is discarded, so a snapshot in
  progress is resumed from its committed chunk;
* ``HALT`` — the replica carries an alarm: apply nothing until an operator resets it (NODE-043).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# DIST-041: the replica no longer matches the log; DIST-072: the partial snapshot is unusable
DIVERGED = frozenset({"DIST_ILLEGAL_CHANGE", "DIST_WRONG_ENTRY"})
SNAPSHOT_RESTART = frozenset({"DIST_SNAPSHOT_MIXED", "DIST_SNAPSHOT_ORDER"})


class FollowStateError(Exception):
    """An event arrived in a phase that cannot take it: a bug in the shell."""


class Phase(enum.Enum):
    START = "start"  # a new session; nothing asked yet
    FOLLOWING = "following"  # a Subscribe stream is open
    BOOTSTRAPPING = "bootstrapping"  # a Snapshot stream is open


class Step(enum.Enum):
    FOLLOW = "follow"
    BOOTSTRAP = "bootstrap"
    RESTART = "restart"
    RETRY = "retry"
    HALT = "halt"


# --- events ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """A session begins: the replica's alarm ("" when none) and whether a snapshot is in progress
    (or due: a reset replica re-bootstraps, NODE-048)."""

    alarm: str
    snapshot_in_progress: bool


@dataclass(frozen=True)
class Batch:
    """A Subscribe batch arrived while the replica had applied ``applied``; the log's head is ``head``."""

    applied: int
    head: int


@dataclass(frozen=True)
class Refused:
    """The gateway ended the call with status ``code`` (a ``grpc.StatusCode`` name) and call-level
    reason code ``reason`` ("" when it gave none)."""

    code: str
    reason: str


@dataclass(frozen=True)
class Broken:
    """Applying what the gateway sent failed with the list rule's reason code (a ``ListError``)."""

    reason: str


@dataclass(frozen=True)
class Ended:
    """A Snapshot stream ended without an error; ``complete`` says whether its last chunk came.
    (A Subscribe stream that ends simply ends the session; the next one resubscribes.)"""

    complete: bool


Event = Session | Batch | Refused | Broken | Ended


@dataclass(frozen=True)
class Limits:
    snapshot_threshold: int  # an empty replica this far behind the head bootstraps instead (DIST-070)


# --- the rules ---------------------------------------------------------------------------------


def _start(ev: Session, limits: Limits) -> Step:
    if ev.alarm:
        return Step.HALT
    return Step.BOOTSTRAP if ev.snapshot_in_progress else Step.FOLLOW


def _batch(ev: Batch, limits: Limits) -> Step:
    return Step.BOOTSTRAP if ev.applied == 0 and ev.head > limits.snapshot_threshold else Step.FOLLOW


def _subscribe_refused(ev: Refused, limits: Limits) -> Step:
    if ev.code == "FAILED_PRECONDITION" and ev.reason == "DIST_SNAPSHOT_REQUIRED":
        return Step.BOOTSTRAP  # the log no longer holds our next change (DIST-030)
    return Step.RETRY


def _change_broken(ev: Broken, limits: Limits) -> Step:
    return Step.RESTART if ev.reason in DIVERGED else Step.RETRY


def _snapshot_refused(ev: Refused, limits: Limits) -> Step:
    if ev.code == "FAILED_PRECONDITION" and ev.reason == "DIST_SNAPSHOT_GONE":
        return Step.RESTART  # DIST-072: start again from chunk 0 of a new snapshot
    return Step.RETRY


def _chunk_broken(ev: Broken, limits: Limits) -> Step:
    return Step.RESTART if ev.reason in SNAPSHOT_RESTART else Step.RETRY


def _snapshot_ended(ev: Ended, limits: Limits) -> Step:
    return Step.FOLLOW if ev.complete else Step.RETRY  # an early end resumes from the next chunk


TABLE: dict[tuple[Phase, type], Callable[[Any, Limits], Step]] = {
    (Phase.START, Session): _start,
    (Phase.FOLLOWING, Batch): _batch,
    (Phase.FOLLOWING, Refused): _subscribe_refused,
    (Phase.FOLLOWING, Broken): _change_broken,
    (Phase.BOOTSTRAPPING, Refused): _snapshot_refused,
    (Phase.BOOTSTRAPPING, Broken): _chunk_broken,
    (Phase.BOOTSTRAPPING, Ended): _snapshot_ended,
}


def next_step(phase: Phase, event: Event, limits: Limits) -> Step:
    rule = TABLE.get((phase, type(event)))
    if rule is None:
        raise FollowStateError(f"event {type(event).__name__} not allowed in phase {phase.value}")
    return rule(event, limits)
