"""The node's list-replica checks (chapter 08), judged from what the node asked the suite's
Distribution service for during the node scenario (``scripted_lists.py``): the ``from_list_seq``
of every Subscribe, every Snapshot request, every ReportApplied. Nothing is read from the node.
"""

from __future__ import annotations

from creditx.conformance.checks import Evidence, Result, failed, passed
from creditx.conformance.node_suite import NODE, NodeContext, NodeRun, _phases_evidence
from creditx.conformance.scripted_lists import SNAPSHOT_AT, ListEvent


def _events(run: NodeRun) -> list[ListEvent]:
    with run.lists.lock:
        return list(run.lists.events)


def _asks(run: NodeRun) -> list[tuple[int, ListEvent]]:
    """(position, event) of every call by which the node asks for data."""
    return [(i, e) for i, e in enumerate(_events(run)) if e.kind in ("subscribe", "subscribe_refused", "snapshot")]


def _text(e: ListEvent) -> str:
    if e.kind == "snapshot":
        return f"Snapshot(at_list_seq={e.data['at_list_seq']}, from_chunk={e.data['from_chunk']}) [attempt {e.data['attempt']}]"
    what = "Subscribe" if e.kind == "subscribe" else "Subscribe (refused DIST_SNAPSHOT_REQUIRED)"
    return f"{what}(from_list_seq={e.data['from_list_seq']})" + (
        f" [stream {e.data['stream']}]" if "stream" in e.data else ""
    )


def _stream(run: NodeRun, n: int) -> ListEvent | None:
    return next((e for e in _events(run) if e.kind == "subscribe" and e.data["stream"] == n), None)


def _sent_in(run: NodeRun, n: int) -> str:
    seqs = [e.data["seqs"] for e in _events(run) if e.kind == "stream_sent" and e.data["stream"] == n]
    return f"stream {n} sent batches {seqs}, then dropped"


def _unreached(run: NodeRun, what: str) -> Result:
    asks = [Evidence("node asked", _text(e)) for _, e in _asks(run)]
    return failed(f"the scenario did not reach {what}", *asks[-8:], *_phases_evidence(run))


@NODE.check(
    "NODE-SNAPSHOT-RESUME",
    ("DIST-072",),
    "08",
    "a Snapshot dropped after chunk 0 is resumed at chunk 1 of the same at_list_seq",
)
def check_snapshot_resume(ctx: NodeContext) -> Result:
    run = ctx.run()
    snaps = [e for e in _events(run) if e.kind == "snapshot"]
    if len(snaps) < 2:
        return _unreached(run, "a second Snapshot request after the scripted drop")
    ev = [
        Evidence(_text(snaps[0]), f"chunk 0 of 3 (at_list_seq {SNAPSHOT_AT}), then UNAVAILABLE"),
        Evidence("next Snapshot request", _text(snaps[1])),
    ]
    if (snaps[1].data["at_list_seq"], snaps[1].data["from_chunk"]) != (SNAPSHOT_AT, 1):
        return failed(
            f"expected Snapshot(at_list_seq={SNAPSHOT_AT}, from_chunk=1): the committed chunk is re-fetched", *ev
        )
    return passed("", *ev)


@NODE.check(
    "NODE-SNAPSHOT-ORDER",
    ("DIST-072", "DIST-073"),
    "08",
    "a chunk out of order is refused; the snapshot is not taken as complete",
)
def check_snapshot_order(ctx: NodeContext) -> Result:
    run = ctx.run()
    events = _events(run)
    second = next((i for i, e in enumerate(events) if e.kind == "snapshot" and e.data["attempt"] == 2), None)
    if second is None:
        return _unreached(run, "the second Snapshot request")
    sent = [e.data["index"] for e in events[second:] if e.kind == "chunk" and e.data["attempt"] == 2]
    after = next((e for e in events[second + 1 :] if e.kind in ("subscribe", "subscribe_refused", "snapshot")), None)
    if after is None:
        return _unreached(run, "the node's next request after the out-of-order chunk")
    asked = events[second]
    ev = [
        Evidence(_text(asked), f"sent chunk {sent} instead (skipping chunk {asked.data['from_chunk']})"),
        Evidence("next request", _text(after)),
    ]
    if after.kind != "snapshot" and after.data["from_list_seq"] > 1:
        return failed(
            f"the node asked for list_seq {after.data['from_list_seq']} as if it held the snapshot at "
            f"{SNAPSHOT_AT}; a chunk was missing (DIST_SNAPSHOT_ORDER)",
            *ev,
        )
    return passed("", *ev)


@NODE.check(
    "NODE-LIST-RESUBSCRIBE",
    ("DIST-030", "DIST-040"),
    "08",
    "after a snapshot and after a dropped stream the node subscribes from its applied list_seq + 1",
)
def check_resubscribe(ctx: NodeContext) -> Result:
    run = ctx.run()
    s1, s2 = _stream(run, 1), _stream(run, 2)
    if s1 is None or s2 is None:
        return _unreached(run, "the second Subscribe stream")
    ev = [
        Evidence(f"snapshot at {SNAPSHOT_AT} complete", _text(s1)),
        Evidence(_sent_in(run, 1), _text(s2)),
    ]
    want = [SNAPSHOT_AT + 1, s2.data["delivered"] + 1]
    got = [s1.data["from_list_seq"], s2.data["from_list_seq"]]
    if got != want:
        return failed(f"expected from_list_seq {want}, got {got}: a change asked twice or skipped", *ev)
    return passed("", *ev)


@NODE.check(
    "NODE-LIST-DUPLICATE",
    ("DIST-031", "DIST-040"),
    "08",
    "a change delivered twice is harmless: applied once, the stream goes on, nothing re-bootstraps",
)
def check_duplicate(ctx: NodeContext) -> Result:
    run = ctx.run()
    events = _events(run)
    s2, s3 = _stream(run, 2), _stream(run, 3)
    if s2 is None or s3 is None:
        return _unreached(run, "the third Subscribe stream")
    i2, i3 = events.index(s2), events.index(s3)
    between = [e for e in events[i2 + 1 : i3] if e.kind in ("subscribe_refused", "snapshot")]
    ev = [Evidence(_sent_in(run, 2) + " (one change twice)", "; ".join(_text(e) for e in [*between, s3]))]
    if between or s3.data["from_list_seq"] < s3.data["delivered"]:
        return failed(
            "after the repeated change the node re-bootstrapped or asked again for changes it had applied",
            *ev,
        )
    return passed("", *ev)


@NODE.check(
    "NODE-LIST-GAP",
    ("DIST-040",),
    "08",
    "a batch that skips a list_seq is not applied; the node resubscribes from the missing one",
)
def check_gap(ctx: NodeContext) -> Result:
    run = ctx.run()
    s3, s4 = _stream(run, 3), _stream(run, 4)
    if s3 is None or s4 is None:
        return _unreached(run, "the fourth Subscribe stream")
    missing = s3.data["delivered"] + 1
    ev = [
        Evidence(_sent_in(run, 3) + f" (list_seq {missing} left out)", _text(s4)),
    ]
    if s4.data["from_list_seq"] > missing:
        return failed(f"the node applied past the gap: it asked from {s4.data['from_list_seq']}, not {missing}", *ev)
    return passed("", *ev)


@NODE.check(
    "NODE-LIST-CURSOR",
    ("DIST-042", "DIST-043"),
    "08",
    "the applied list_seq reported never runs ahead of the data sent; it reaches the log's head",
)
def check_cursor(ctx: NodeContext) -> Result:
    run = ctx.run()
    reports = [e for e in _events(run) if e.kind == "report"]
    if not reports:
        return _unreached(run, "a ReportApplied")
    ahead = [e for e in reports if e.data["applied"] > e.data["max_sent"]]
    ev = [
        Evidence(
            f"{len(reports)} ReportApplied",
            "applied " + ", ".join(str(e.data["applied"]) for e in reports[-12:]),
        )
    ]
    if ahead:
        e = ahead[0]
        return failed(
            f"reported applied_list_seq {e.data['applied']} when the node had been sent list_seq "
            f"{e.data['max_sent']} at most: the cursor is ahead of its data",
            *ev,
        )
    if not run.lists.done():
        return failed(
            f"the node never reported the log's head, list_seq {run.lists.head()}", *ev, *_phases_evidence(run)
        )
    return passed(f"{len(reports)} reports, the last at the head {run.lists.head()}", *ev)
