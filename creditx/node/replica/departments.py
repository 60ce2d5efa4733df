"""The node-local ``Departments`` service (lists.proto, DIST-060/061) and the check answer the
CLI prints — both from the replica, also while the gateway is unreachable.

Servicers translate, they don't think (ADR 0003): :func:`check` builds the answer with
:func:`creditx.standard.lists.replica.check_answer`; :func:`feed_next` pages the applied changes
and the state-difference records of re-bootstraps through :func:`creditx.node.replica.feed.page`.

Invariants kept here:

* DIST-060 a subject is validated before lookup (creditx.standard.identifiers); an invalid one is
  INVALID_ARGUMENT naming the field and the identifier's reason code.
* NODE-043 with an alarm set, a snapshot in progress or a re-bootstrap pending the answer is
  always ``stale`` (from the state the replica still holds), never a fresh "not listed".
* DIST-061, NODE-044 acknowledgement: a Feed call with ``from_cursor`` acknowledges every change up
  to it (the department stored it), so the department's stored cursor moves to it — never
  backwards, never beyond the replica. Without ``from_cursor`` the feed starts after the stored
  cursor. So after an acknowledgement a change is never delivered again and none is skipped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta

import grpc

from creditx.node.config import Department
from creditx.node.replica.feed import FeedItem, page
from creditx.node.replica.store import ReplicaState, ReplicaStore
from creditx.node.replica.subjects import Question, question
from creditx.node.replica.wire import change_to_pb, entry_to_pb
from creditx.standard.errors import InputError
from creditx.standard.lists.lifecycle import ListEntry
from creditx.standard.lists.replica import CheckAnswer, check_answer
from creditx.v1 import lists_pb2 as pb
from creditx.v1 import lists_pb2_grpc as pb_grpc

DEPARTMENT_CURSORS = "department_cursors"


def check(
    replica: ReplicaStore, q: Question, *, list_types: frozenset[str] = frozenset(), now: datetime, max_age: timedelta
) -> CheckAnswer:
    """DIST-060 from the replica; ``stale`` also when the replica carries an alarm (NODE-043)."""
    return answer(replica.state(), replica.entries_for(q.key), list_types=list_types, now=now, max_age=max_age)


def answer(
    st: ReplicaState,
    found: Iterable[ListEntry],
    *,
    list_types: frozenset[str] = frozenset(),
    now: datetime,
    max_age: timedelta,
) -> CheckAnswer:
    """The check answer from the replica's state and the entries found for the subject."""
    entries = [e for e in found if not list_types or e.list_type in list_types]
    last = datetime.fromtimestamp(st.last_update_ms / 1000, tz=UTC) if st.last_update_ms else None
    ans = check_answer(entries, applied_list_seq=st.applied, last_update=last, now=now, max_age=max_age)
    # NODE-043: a replica that holds nothing of a log it knows is non-empty (just reset, or
    # before its bootstrap started) is stale: "not listed" from it would be a false answer.
    bootstrapping = (st.applied == 0 and st.head > 0) or st.rebootstrap_from > 0
    if st.alarm or st.snapshot is not None or bootstrapping:
        ans = CheckAnswer(ans.memberships, ans.history, ans.applied_list_seq, ans.last_update, True)
    return ans


def feed_next(
    replica: ReplicaStore, cursor: int, list_types: frozenset[str], *, max_changes: int
) -> tuple[list[FeedItem], int]:
    """The next page of a feed after ``cursor``: (items, cursor to store once acknowledged)."""
    start, items = replica.feed_items(cursor, max_changes * 4 if list_types else max_changes)
    return page(start, items, list_types, max_changes=max_changes)


def batch_to_pb(items: list[FeedItem], cursor: int) -> pb.FeedBatch:
    """DIST-062 on the wire: state-difference records are flagged, markers go in ``skipped``."""
    out = pb.FeedBatch(cursor=cursor)
    for it in items:
        if it.change is None:
            s = it.skipped
            assert s is not None
            out.skipped.append(
                pb.SkippedRange(
                    from_list_seq=s.first,
                    to_list_seq=s.last,
                    snapshot_list_seq=s.snapshot_list_seq,
                    differences=s.differences,
                )
            )
        else:
            m = change_to_pb(it.change)
            m.state_difference = it.skipped is not None
            out.changes.append(m)
    return out


class DepartmentsServicer(pb_grpc.DepartmentsServicer):
    def __init__(
        self,
        replica: ReplicaStore,
        departments: Mapping[str, Department],
        subject_key: bytes,
        *,
        max_age: timedelta,
        applied: threading.Condition,
        max_changes: int = 500,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.replica, self.departments, self.key, self.max_age = replica, departments, subject_key, max_age
        self.applied, self.max_changes, self.clock = applied, max_changes, clock

    def Check(self, request: pb.CheckRequest, context: grpc.ServicerContext) -> pb.CheckResponse:
        kind = request.subject.WhichOneof("id")
        try:
            if kind is None:
                raise InputError("subject: give uscc, registration_number or person [DIST-060]")
            if kind == "person":
                q = question(
                    "person", request.subject.person.id_number, self.key, id_type=request.subject.person.id_type
                )
            else:
                q = question(kind, getattr(request.subject, kind), self.key)
        except InputError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, exc.diagnostics())
        a = check(self.replica, q, list_types=frozenset(request.list_types), now=self.clock(), max_age=self.max_age)
        return pb.CheckResponse(
            memberships=[entry_to_pb(e) for e in a.memberships],
            history=[entry_to_pb(e) for e in a.history],
            applied_list_seq=a.applied_list_seq,
            last_update_unix_ms=int(a.last_update.timestamp() * 1000) if a.last_update else 0,
            stale=a.stale,
        )

    def Feed(self, request: pb.FeedRequest, context: grpc.ServicerContext) -> Iterator[pb.FeedBatch]:
        dept = self.departments.get(request.department)
        if dept is None:
            context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"department {request.department!r} is not configured [DIST-061]: add it to "
                f"node.json departments (known: {sorted(self.departments)})",
            )
        types = frozenset(request.list_types) or dept.list_types
        if request.HasField("from_cursor"):
            if request.from_cursor > self.replica.feed_head():
                context.abort(
                    grpc.StatusCode.OUT_OF_RANGE,
                    f"from_cursor {request.from_cursor} is ahead of the "
                    f"replica's applied list_seq {self.replica.feed_head()} [NODE-044]",
                )
            self.replica.advance_cursor(DEPARTMENT_CURSORS, dept.name, request.from_cursor)  # acknowledged
            cursor = request.from_cursor
        else:
            cursor = self.replica.cursor(DEPARTMENT_CURSORS, dept.name)
        while context.is_active():
            items, new_cursor = feed_next(self.replica, cursor, types, max_changes=self.max_changes)
            if new_cursor == cursor:
                with self.applied:
                    self.applied.wait(0.5)
                continue
            yield batch_to_pb(items, new_cursor)
            cursor = new_cursor
