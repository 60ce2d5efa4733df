"""Table-driven tests of the pure upward-sync state machine (NODE-010 … NODE-014)."""

from __future__ import annotations

import random
from typing import TypeVar

import pytest

from creditx.node.sync.state import (
    TRANSITIONS,
    Acked,
    AwaitAcks,
    Backoff,
    BatchSent,
    CloseStream,
    Connect,
    Done,
    Failed,
    HandshakeOk,
    NewData,
    OpenStream,
    SendBatch,
    State,
    SyncMachine,
    SyncPolicy,
    SyncStateError,
    Tick,
    Wake,
    backoff_delay,
)

T = TypeVar("T")


def of(kind: type[T], action: object) -> T:
    """``action``, checked to be a ``kind`` (the machine's actions are a union)."""
    assert isinstance(action, kind), f"expected {kind.__name__}, got {action!r}"
    return action


POLICY = SyncPolicy(
    backoff_base=1.0,
    backoff_cap=60.0,
    ack_timeout=10.0,
    max_batch_records=500,
    max_message_bytes=1 << 20,
    max_in_flight_batches=8,
)


def hs(committed=0, batch=100, window=2, max_bytes=1 << 20):
    return HandshakeOk(committed, batch, max_bytes, window)


def streaming(first_unacked=1, last_seq=250, committed=0, window=2) -> tuple[SyncMachine, list]:
    m = SyncMachine(policy=POLICY, rng=random.Random(1))
    assert m.handle(Wake(first_unacked, last_seq), 0.0) == [Connect()]
    return m, m.handle(hs(committed, window=window), 0.0)


@pytest.mark.parametrize(
    "first_unacked,last_seq,committed,expect_from",
    [
        (1, 10, 0, 1),  # fresh node
        (6, 10, 5, 6),  # in step with the gateway
        (4, 10, 7, 4),  # acks for 4..7 were lost: re-send from first unacked, gateway answers
        (8, 10, 3, 4),  # gateway is behind our acks (restored from backup): its mark wins
    ],
)
def test_resume_point_is_min_of_first_unacked_and_committed_plus_one(first_unacked, last_seq, committed, expect_from):
    m, actions = streaming(first_unacked, last_seq, committed)
    assert actions[0] == OpenStream()
    assert actions[1].from_seq == expect_from
    assert m.state is State.STREAMING


def test_caught_up_after_handshake_is_done_without_stream():
    m = SyncMachine(policy=POLICY)
    m.handle(Wake(11, 10), 0)
    assert m.handle(hs(committed=10), 0) == [Done()]
    assert m.state is State.IDLE


def test_gateway_ahead_of_outbox_is_fatal():
    m = SyncMachine(policy=POLICY)
    m.handle(Wake(1, 5), 0)
    actions = m.handle(hs(committed=9), 0)
    assert isinstance(actions[-1], Backoff) and actions[-1].until == POLICY.backoff_cap
    assert "restore" in m.last_error and m.state is State.BACKOFF


def test_batches_respect_gateway_limits_and_window():
    m, actions = streaming(last_seq=250, window=2)
    assert actions[1] == SendBatch(1, 1, 100, 1 << 20)
    assert m.handle(BatchSent(1, 1, 100), 1) == [SendBatch(2, 101, 100, 1 << 20)]
    # window of 2 full: wait for acks
    assert m.handle(BatchSent(2, 101, 100), 1) == [AwaitAcks(1 + POLICY.ack_timeout)]
    assert m.handle(Acked(1, 100), 2) == [SendBatch(3, 201, 50, 1 << 20)]
    # the shell may send fewer than asked (byte bound): the next batch starts after them
    assert m.handle(BatchSent(3, 201, 20), 2) == [AwaitAcks(1 + POLICY.ack_timeout)]
    assert m.handle(Acked(2, 200), 3) == [SendBatch(4, 221, 30, 1 << 20)]
    m.handle(BatchSent(4, 221, 30), 3)
    m.handle(Acked(3, 220), 4)
    assert m.handle(Acked(4, 250), 4) == [CloseStream(), Done()]
    assert m.state is State.IDLE and m.backlog == 0 and m.committed_seq == 250


def test_node_limits_cap_gateway_limits():
    m = SyncMachine(policy=SyncPolicy(max_batch_records=10, max_in_flight_batches=1))
    m.handle(Wake(1, 100), 0)
    actions = m.handle(HandshakeOk(0, 10_000, 1 << 30, 64), 0)
    send = of(SendBatch, actions[1])
    assert send.max_records == 10 and send.max_bytes == SyncPolicy().max_message_bytes
    assert m.handle(BatchSent(1, 1, 10), 0) == [AwaitAcks(60.0)]


def test_new_data_while_streaming_extends_the_session():
    m, _ = streaming(last_seq=50)
    m.handle(BatchSent(1, 1, 50), 0)
    assert m.handle(NewData(60), 0) == [SendBatch(2, 51, 10, 1 << 20)]


def test_out_of_order_ack_ends_session():
    m, _ = streaming()
    m.handle(BatchSent(1, 1, 100), 0)
    actions = m.handle(Acked(7, 0), 0)
    assert actions[0] == CloseStream() and isinstance(actions[1], Backoff)
    assert "NODE-012" in m.last_error


def test_stream_failure_backs_off_then_reconnects_and_resends_unacked():
    m, _ = streaming(last_seq=250)
    m.handle(BatchSent(1, 1, 100), 0)
    m.handle(BatchSent(2, 101, 100), 0)
    m.handle(Acked(1, 100), 1)
    m.handle(BatchSent(3, 201, 50), 1)
    actions = m.handle(Failed("stream dropped"), 2)
    assert actions[0] == CloseStream()
    until = of(Backoff, actions[1]).until
    assert 2 + 0.5 <= until <= 2 + 1.0 and m.in_flight == []
    assert m.handle(Tick(), until - 0.01) == [Backoff(until, "stream dropped")]
    assert m.handle(Wake(101, 250), until - 0.01) == [Backoff(until, "stream dropped")]
    assert m.handle(Tick(), until) == [Connect()]
    actions = m.handle(hs(committed=100), until)
    assert of(SendBatch, actions[1]).from_seq == 101


def test_ack_timeout_fails_the_session():
    m, _ = streaming()
    m.handle(BatchSent(1, 1, 100), 0)
    assert m.handle(Tick(), 5) == [AwaitAcks(10.0)]
    actions = m.handle(Tick(), 10)
    assert isinstance(actions[-1], Backoff) and "NODE-014" in m.last_error


def test_attempts_grow_until_an_ack_resets_them():
    m = SyncMachine(policy=POLICY, rng=random.Random(3))
    now = 0.0
    for attempt in range(4):
        m.handle(Wake(1, 10), now)
        until = of(Backoff, m.handle(Failed("refused"), now)[-1]).until
        d = min(POLICY.backoff_cap, 2**attempt)
        assert now + d / 2 <= until <= now + d
        now = until
    m.handle(Tick(), now)
    m.handle(hs(), now)
    m.handle(BatchSent(1, 1, 10), now)
    m.handle(Acked(1, 10), now)
    assert m.attempt == 0


def test_fatal_failure_waits_the_cap():
    m = SyncMachine(policy=POLICY)
    m.handle(Wake(1, 10), 0)
    assert of(Backoff, m.handle(Failed("PERMISSION_DENIED", fatal=True), 0)[-1]).until == POLICY.backoff_cap


@pytest.mark.parametrize("attempt", range(0, 40))
def test_backoff_bounds(attempt):
    rng = random.Random(attempt)
    d = min(POLICY.backoff_cap, POLICY.backoff_base * 2**attempt)
    for _ in range(50):
        assert d / 2 <= backoff_delay(attempt, POLICY, rng) <= d


@pytest.mark.parametrize(
    "state,event",
    [
        (State.IDLE, HandshakeOk(0, 1, 1, 1)),
        (State.IDLE, BatchSent(1, 1, 1)),
        (State.CONNECTING, Acked(1, 0)),
        (State.CONNECTING, BatchSent(1, 1, 1)),
        (State.BACKOFF, HandshakeOk(0, 1, 1, 1)),
        (State.BACKOFF, BatchSent(1, 1, 1)),
        (State.STREAMING, HandshakeOk(0, 1, 1, 1)),
    ],
)
def test_illegal_events_raise(state, event):
    m = SyncMachine(policy=POLICY, state=state)
    with pytest.raises(SyncStateError):
        m.handle(event, 0)


@pytest.mark.parametrize(
    "state,event",
    [
        (State.IDLE, Failed("late")),
        (State.IDLE, Acked(1, 0)),
        (State.IDLE, Tick()),
        (State.BACKOFF, Failed("late")),
        (State.BACKOFF, Acked(1, 0)),
        (State.CONNECTING, Wake(1, 1)),
        (State.CONNECTING, Tick()),
        (State.STREAMING, Wake(1, 1)),
    ],
)
def test_late_events_are_ignored(state, event):
    m = SyncMachine(policy=POLICY, state=state)
    assert m.handle(event, 0) == []
    assert m.state is state


def test_every_state_has_a_way_out():
    for state in State:
        assert any(s is state for s, _ in TRANSITIONS), state
