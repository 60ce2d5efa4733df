"""The upward-sync session as a pure state machine (ADR 0003, ADR 0007).

No gRPC, no SQLite, no clock reads: :meth:`SyncMachine.handle` takes an *event* and the current
time (seconds, any monotonic origin) and returns the *actions* the shell must carry out. Every
legal (state, event) pair is in :data:`TRANSITIONS`; anything else raises :class:`SyncStateError`
(our bug, never the gateway's).

Invariants kept here (requirement IDs of the node, see ``node/__init__.py``):

* NODE-010 resume: after every (re)connect the next record sent is
  ``min(first_unacked, committed_seq + 1)`` — the gateway's committed high-water mark is the
  truth when it is *behind* us (it lost data); when it is ahead, records whose acks we lost are
  re-sent and the gateway answers them idempotently with their stored decision.
* NODE-011 window: at most ``max_in_flight_batches`` unacknowledged batches; each batch holds at
  most ``max_batch_records`` records (the shell also keeps it ≤ ``max_message_bytes``).
* NODE-012 acks arrive in batch order; an ack for any other batch ends the session.
* NODE-013 backoff: after a failure the next attempt waits ``d/2 + U(0, d/2)`` seconds with
  ``d = min(cap, base · 2^attempt)`` (equal jitter, rng injected); the attempt counter resets only
  when a batch is acknowledged, so a gateway that accepts handshakes and then drops the stream
  still backs off.
* NODE-014 an unacknowledged batch older than ``ack_timeout`` ends the session (a stalled gateway).
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class SyncStateError(Exception):
    """An event arrived that the current state cannot take: a bug in the shell."""


class State(enum.Enum):
    IDLE = "idle"  # nothing to do, or waiting for the next trigger
    CONNECTING = "connecting"  # handshake in progress
    STREAMING = "streaming"  # Push stream open, sending batches / awaiting acks
    BACKOFF = "backoff"  # failed; waiting until ``retry_at``


# --- events (inputs) -------------------------------------------------------------------------


@dataclass(frozen=True)
class Wake:
    """Sync now (scheduler tick, new data, nudge). ``first_unacked`` is the lowest source_seq
    without a recorded ack (``last_seq + 1`` when none), ``last_seq`` the highest assigned."""

    first_unacked: int
    last_seq: int


@dataclass(frozen=True)
class NewData:
    last_seq: int


@dataclass(frozen=True)
class HandshakeOk:
    committed_seq: int
    max_batch_records: int
    max_message_bytes: int
    max_in_flight_batches: int


@dataclass(frozen=True)
class Failed:
    """Handshake or stream failed. ``fatal`` (auth, permission, protocol): wait the full cap.
    ``reason`` is the gateway's call-level reason code when it gave one (SYNC-016)."""

    error: str
    fatal: bool = False
    reason: str = ""


@dataclass(frozen=True)
class BatchSent:
    batch_id: int
    from_seq: int
    count: int


@dataclass(frozen=True)
class Acked:
    batch_id: int
    committed_seq: int


@dataclass(frozen=True)
class Tick:
    """Time passes (the shell's wait timed out or the scheduler fired)."""


Event = Wake | NewData | HandshakeOk | Failed | BatchSent | Acked | Tick


# --- actions (outputs) -----------------------------------------------------------------------


@dataclass(frozen=True)
class Connect:
    """Open the channel if needed and call Handshake (with a deadline)."""


@dataclass(frozen=True)
class OpenStream:
    pass


@dataclass(frozen=True)
class SendBatch:
    """Send records ``from_seq …`` (at most ``max_records`` and ``max_bytes``), then report
    :class:`BatchSent` with the count actually sent."""

    batch_id: int
    from_seq: int
    max_records: int
    max_bytes: int


@dataclass(frozen=True)
class AwaitAcks:
    deadline: float


@dataclass(frozen=True)
class CloseStream:
    pass


@dataclass(frozen=True)
class Backoff:
    until: float
    error: str
    reason: str = ""  # the gateway's reason code of the failure (SYNC-016), "" when none


@dataclass(frozen=True)
class Done:
    """Caught up: everything assigned so far has been sent and acknowledged."""


Action = Connect | OpenStream | SendBatch | AwaitAcks | CloseStream | Backoff | Done


# --- policy ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncPolicy:
    backoff_base: float = 1.0
    backoff_cap: float = 300.0
    ack_timeout: float = 60.0
    # The node's own upper bounds; the gateway's handshake limits can only lower them.
    max_batch_records: int = 500
    max_message_bytes: int = 4 * 1024 * 1024
    max_in_flight_batches: int = 4


def backoff_delay(attempt: int, policy: SyncPolicy, rng: random.Random) -> float:
    """NODE-013: equal jitter, in ``[d/2, d]`` with ``d = min(cap, base · 2^attempt)``."""
    d = min(policy.backoff_cap, policy.backoff_base * (2 ** min(attempt, 62)))
    return d / 2 + rng.uniform(0, d / 2)


@dataclass(frozen=True)
class InFlight:
    batch_id: int
    from_seq: int
    count: int
    sent_at: float


@dataclass
class SyncMachine:
    policy: SyncPolicy = field(default_factory=SyncPolicy)
    rng: random.Random = field(default_factory=random.Random)
    state: State = State.IDLE
    attempt: int = 0
    retry_at: float = 0.0
    next_seq: int = 1
    last_seq: int = 0
    first_unacked: int = 1
    committed_seq: int = 0
    limits: HandshakeOk | None = None
    in_flight: list[InFlight] = field(default_factory=list)
    next_batch_id: int = 1
    last_error: str = ""
    last_reason: str = ""

    def handle(self, event: Event, now: float) -> list[Action]:
        handler = TRANSITIONS.get((self.state, type(event)))
        if handler is None:
            raise SyncStateError(f"event {type(event).__name__} not allowed in state {self.state.value}")
        return handler(self, event, now)

    # --- handlers (each returns the actions; the table below says which runs when) ---------

    def _wake(self, ev: Wake, now: float) -> list[Action]:
        self.first_unacked, self.last_seq = ev.first_unacked, ev.last_seq
        if self.state is State.BACKOFF and now < self.retry_at:
            return [Backoff(self.retry_at, self.last_error, self.last_reason)]
        self.state = State.CONNECTING
        return [Connect()]

    def _new_data(self, ev: NewData, now: float) -> list[Action]:
        self.last_seq = max(self.last_seq, ev.last_seq)
        if self.state is State.STREAMING:
            return self._fill(now)
        return []

    def _handshake_ok(self, ev: HandshakeOk, now: float) -> list[Action]:
        p = self.policy
        self.limits = HandshakeOk(
            ev.committed_seq,
            max(1, min(p.max_batch_records, ev.max_batch_records or p.max_batch_records)),
            max(1024, min(p.max_message_bytes, ev.max_message_bytes or p.max_message_bytes)),
            max(1, min(p.max_in_flight_batches, ev.max_in_flight_batches or p.max_in_flight_batches)),
        )
        self.committed_seq = ev.committed_seq
        if ev.committed_seq > self.last_seq:
            # The gateway has decided records this node never assigned: the outbox was lost or
            # replaced. Sending would reuse sequence numbers; stop and let a human look.
            return self._fail(
                Failed(
                    f"gateway committed_seq {ev.committed_seq} > local last source_seq {self.last_seq}: "
                    "the outbox database is not this node's latest; restore it",
                    fatal=True,
                ),
                now,
            )
        # NODE-010: resume from the earlier of our first unacked record and the gateway's mark.
        self.next_seq = min(self.first_unacked, ev.committed_seq + 1)
        self.in_flight = []
        if self.next_seq > self.last_seq:
            self.state = State.IDLE
            return [Done()]
        self.state = State.STREAMING
        return [OpenStream(), *self._fill(now)]

    def _batch_sent(self, ev: BatchSent, now: float) -> list[Action]:
        if ev.count < 1 or ev.from_seq != self.next_seq:
            raise SyncStateError(
                f"batch {ev.batch_id} sent from {ev.from_seq} x{ev.count}, expected from {self.next_seq}"
            )
        self.in_flight.append(InFlight(ev.batch_id, ev.from_seq, ev.count, now))
        self.next_seq = ev.from_seq + ev.count
        return self._fill(now)

    def _acked(self, ev: Acked, now: float) -> list[Action]:
        if not self.in_flight or self.in_flight[0].batch_id != ev.batch_id:
            expected = self.in_flight[0].batch_id if self.in_flight else None
            return self._fail(Failed(f"ack for batch {ev.batch_id}, expected {expected} (NODE-012)", fatal=True), now)
        done = self.in_flight.pop(0)
        self.first_unacked = max(self.first_unacked, done.from_seq + done.count)
        self.committed_seq = max(self.committed_seq, ev.committed_seq)
        self.attempt = 0
        self.last_error = self.last_reason = ""
        return self._fill(now)

    def _tick(self, ev: Tick, now: float) -> list[Action]:
        if self.state is State.BACKOFF:
            if now >= self.retry_at:
                self.state = State.CONNECTING
                return [Connect()]
            return [Backoff(self.retry_at, self.last_error, self.last_reason)]
        if self.state is State.STREAMING and self.in_flight:
            if now - self.in_flight[0].sent_at >= self.policy.ack_timeout:
                return self._fail(
                    Failed(
                        f"no ack for batch {self.in_flight[0].batch_id} within {self.policy.ack_timeout:g}s (NODE-014)"
                    ),
                    now,
                )
            return [AwaitAcks(self.in_flight[0].sent_at + self.policy.ack_timeout)]
        return []

    def _fail(self, ev: Failed, now: float) -> list[Action]:
        was_streaming = self.state is State.STREAMING
        delay = self.policy.backoff_cap if ev.fatal else backoff_delay(self.attempt, self.policy, self.rng)
        self.attempt += 1
        self.retry_at = now + delay
        self.last_error, self.last_reason = ev.error, ev.reason
        self.in_flight = []
        self.state = State.BACKOFF
        actions: list[Action] = [CloseStream()] if was_streaming else []
        return [*actions, Backoff(self.retry_at, ev.error, ev.reason)]

    def _ignore(self, ev: Event, now: float) -> list[Action]:
        return []

    def _fill(self, now: float) -> list[Action]:
        """NODE-011: one more batch if the window and the backlog allow; else wait or finish."""
        assert self.limits is not None
        if self.next_seq <= self.last_seq and len(self.in_flight) < self.limits.max_in_flight_batches:
            batch_id = self.next_batch_id
            self.next_batch_id += 1
            n = min(self.limits.max_batch_records, self.last_seq - self.next_seq + 1)
            return [SendBatch(batch_id, self.next_seq, n, self.limits.max_message_bytes)]
        if self.in_flight:
            return [AwaitAcks(self.in_flight[0].sent_at + self.policy.ack_timeout)]
        self.state = State.IDLE
        return [CloseStream(), Done()]

    @property
    def backlog(self) -> int:
        """Records assigned but not yet acknowledged in this session's view."""
        return max(0, self.last_seq - self.first_unacked + 1)


# A handler takes the event type of its key (the table pairs them), hence Any for the event.
_H = Callable[[SyncMachine, Any, float], list[Action]]
S = State

# The whole session protocol in one table (ADR 0003). Late events from a session that has
# already failed (an ack racing a broken stream, a second failure report) are ignored.
TRANSITIONS: dict[tuple[State, type], _H] = {
    (S.IDLE, Wake): SyncMachine._wake,
    (S.IDLE, NewData): SyncMachine._new_data,
    (S.IDLE, Tick): SyncMachine._ignore,
    (S.IDLE, Failed): SyncMachine._ignore,
    (S.IDLE, Acked): SyncMachine._ignore,
    (S.CONNECTING, HandshakeOk): SyncMachine._handshake_ok,
    (S.CONNECTING, Failed): SyncMachine._fail,
    (S.CONNECTING, NewData): SyncMachine._new_data,
    (S.CONNECTING, Wake): SyncMachine._ignore,
    (S.CONNECTING, Tick): SyncMachine._ignore,
    (S.STREAMING, BatchSent): SyncMachine._batch_sent,
    (S.STREAMING, Acked): SyncMachine._acked,
    (S.STREAMING, Failed): SyncMachine._fail,
    (S.STREAMING, NewData): SyncMachine._new_data,
    (S.STREAMING, Tick): SyncMachine._tick,
    (S.STREAMING, Wake): SyncMachine._ignore,
    (S.BACKOFF, Wake): SyncMachine._wake,
    (S.BACKOFF, Tick): SyncMachine._tick,
    (S.BACKOFF, NewData): SyncMachine._new_data,
    (S.BACKOFF, Failed): SyncMachine._ignore,
    (S.BACKOFF, Acked): SyncMachine._ignore,
}
