"""Table-driven tests of the list follower's pure decision table (creditx.node.replica.steps)."""

from __future__ import annotations

import pytest

from creditx.node.replica.steps import (
    TABLE,
    Batch,
    Broken,
    Ended,
    FollowStateError,
    Limits,
    Phase,
    Refused,
    Session,
    Step,
    next_step,
)

LIMITS = Limits(snapshot_threshold=100)

CASES = [
    # a new session
    (Phase.START, Session(alarm="", snapshot_in_progress=False), Step.FOLLOW),
    (Phase.START, Session(alarm="", snapshot_in_progress=True), Step.BOOTSTRAP),  # DIST-072 resume
    (Phase.START, Session(alarm="FORK [AUD-030]: …", snapshot_in_progress=True), Step.HALT),  # NODE-043
    # Subscribe batches (DIST-070: an empty replica far behind bootstraps)
    (Phase.FOLLOWING, Batch(applied=0, head=101), Step.BOOTSTRAP),
    (Phase.FOLLOWING, Batch(applied=0, head=100), Step.FOLLOW),
    (Phase.FOLLOWING, Batch(applied=1, head=10_000), Step.FOLLOW),
    # Subscribe ended by the gateway
    (Phase.FOLLOWING, Refused("FAILED_PRECONDITION", "DIST_SNAPSHOT_REQUIRED"), Step.BOOTSTRAP),
    (Phase.FOLLOWING, Refused("FAILED_PRECONDITION", "DIST_CURSOR_AHEAD"), Step.RETRY),
    (Phase.FOLLOWING, Refused("UNAVAILABLE", "SHUTTING_DOWN"), Step.RETRY),
    (Phase.FOLLOWING, Refused("UNAVAILABLE", ""), Step.RETRY),
    # a change that cannot be applied (DIST-041)
    (Phase.FOLLOWING, Broken("DIST_ILLEGAL_CHANGE"), Step.RESTART),
    (Phase.FOLLOWING, Broken("DIST_WRONG_ENTRY"), Step.RESTART),
    (Phase.FOLLOWING, Broken("DIST_ORIGIN_MISMATCH"), Step.RETRY),
    (Phase.FOLLOWING, Broken("DIST_GAP"), Step.RETRY),
    # Snapshot (DIST-072)
    (Phase.BOOTSTRAPPING, Refused("FAILED_PRECONDITION", "DIST_SNAPSHOT_GONE"), Step.RESTART),
    (Phase.BOOTSTRAPPING, Refused("OUT_OF_RANGE", "DIST_SNAPSHOT_ORDER"), Step.RETRY),
    (Phase.BOOTSTRAPPING, Refused("DEADLINE_EXCEEDED", ""), Step.RETRY),
    (Phase.BOOTSTRAPPING, Broken("DIST_SNAPSHOT_MIXED"), Step.RESTART),
    (Phase.BOOTSTRAPPING, Broken("DIST_SNAPSHOT_ORDER"), Step.RESTART),
    (Phase.BOOTSTRAPPING, Broken("DIST_CHUNK_TOO_LARGE"), Step.RETRY),
    (Phase.BOOTSTRAPPING, Ended(complete=True), Step.FOLLOW),
    (Phase.BOOTSTRAPPING, Ended(complete=False), Step.RETRY),  # resumed from the next chunk
]


@pytest.mark.parametrize("phase, event, step", CASES)
def test_each_fact_leads_to_its_step(phase, event, step):
    assert next_step(phase, event, LIMITS) is step


def test_every_row_of_the_table_is_exercised():
    assert {(p, type(e)) for p, e, _ in CASES} == set(TABLE)


@pytest.mark.parametrize(
    "phase, event",
    [
        (Phase.START, Batch(0, 1)),
        (Phase.BOOTSTRAPPING, Batch(0, 1)),
        (Phase.FOLLOWING, Session("", False)),
        (Phase.FOLLOWING, Ended(True)),
    ],
)
def test_an_event_the_phase_cannot_take_is_a_bug_in_the_shell(phase, event):
    with pytest.raises(FollowStateError, match=type(event).__name__):
        next_step(phase, event, LIMITS)
