"""Chapter 08 (DIST-0xx): list entry lifecycle, expiry from catalogue data, replica ordering,
list-log leaves and checkpoints, snapshot chunking and resumption. Pure code, no I/O."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from creditx.standard.canonical import canonicalize
from creditx.standard.catalogue import CATALOGUE_DIR, load_catalogue, parse_catalogue
from creditx.standard.checkpoint import Checkpoint
from creditx.standard.fingerprint import fingerprint
from creditx.standard.lists.expiry import add_months, due_for_expiry, expire, period_end
from creditx.standard.lists.lifecycle import (
    REASON_CODES,
    TRANSITIONS,
    ChangeKind,
    Event,
    ListChange,
    ListEntry,
    ListError,
    State,
    apply_change,
    derive_change,
)
from creditx.standard.lists.log import (
    change_leaf_hash,
    check_replica,
    fold,
    gateway_host_of,
    leaf_data,
    list_log_origin,
)
from creditx.standard.lists.replica import Action, check_answer, feed_batch, next_action, plan_batch
from creditx.standard.lists.snapshot import (
    SnapshotProgress,
    accept_chunk,
    chunk_snapshot,
    entry_bytes,
    entry_from_obj,
    entry_to_obj,
    plan_chunks,
)
from creditx.standard.merkle import CompactRange, consistency_proof, leaf_hash, root
from creditx.standard.natural_key import natural_key
from creditx.standard.record import Record

AT = datetime(2025, 3, 1, 8, 0, 0, 123456, tzinfo=UTC)
KEY = b"k" * 32
BASE = {
    "MD_LX": "SXBZXR",
    "MD_ZT_MC": "济南某某商贸有限公司",
    "MD_ZT_LB": "法人及非法人组织",
    "MD_ZT_SHXYM": "914403001922038216",
    "MD_LRRQ": "2024-01-10",
    "MD_LRYY": "有履行能力而拒不履行",
    "MD_RDYJ": "《最高人民法院关于公布失信被执行人名单信息的若干规定》",
    "MD_RDWS": "执行决定书",
    "MD_RDWSH": "(2024)鲁0102执123号",
    "MD_RDJG": "济南市历下区人民法院",
    "MD_RDJGDM": "11370000004265891L",
    "MD_GLQX_Q": "2024-01-10",
}
REMOVAL = {"MD_YCRQ": "2025-02-01", "MD_YCJG": "济南市历下区人民法院"}


def rec(op: str = "I", version: int = 1, **fields: str) -> Record:
    f = {**BASE, **fields}
    return Record("LIST", op, "370100", "src-1", version, version, {k: v for k, v in f.items() if v})


def step(current, record):
    eid = natural_key(record, KEY)
    return derive_change(current, record, entry_id=eid, fingerprint=fingerprint(record), at=AT)


def listed(**fields):
    d = step(None, rec(**fields))
    assert d.change is not None, d
    return d.change.entry


def removed(reason="信用修复"):
    d = step(listed(), rec("U", 2, MD_YCYY=reason, **REMOVAL))
    return d.change.entry


# --- the lifecycle table --------------------------------------------------------------------


def test_table_is_total():
    assert set(TRANSITIONS) == {(s, e) for s in State for e in Event}


def test_reason_codes_cover_catalogue_removal_reasons():
    # DIST-014: every MD_YCYY value of the catalogue data has exactly one reason code.
    assert sorted(REASON_CODES) == sorted(load_catalogue().removal_reasons)


# (state before, record, expected change kind or noop/error code, state after, reason)
CASES = [
    ("absent+I", None, rec("I"), "ADD", State.LISTED, ""),
    ("absent+U", None, rec("U", 2), "DIST_CORRECT_ABSENT", None, ""),
    ("absent+remove", None, rec("U", 2, MD_YCYY="期满", **REMOVAL), "DIST_REMOVE_ABSENT", None, ""),
    ("absent+D", None, rec("D", 2), "DIST_REMOVE_ABSENT", None, ""),
    ("listed+U", "listed", rec("U", 2, MD_LRYY="更正后的原因"), "CORRECT", State.LISTED, ""),
    ("listed+I new content", "listed", rec("I", 2, MD_CJCS="限制高消费"), "CORRECT", State.LISTED, ""),
    ("listed+repair", "listed", rec("U", 2, MD_YCYY="信用修复", **REMOVAL), "REMOVE", State.REMOVED, "REPAIRED"),
    ("listed+expiry rec", "listed", rec("U", 2, MD_YCYY="期满", **REMOVAL), "REMOVE", State.REMOVED, "EXPIRED"),
    ("listed+dereg alias", "listed", rec("U", 2, MD_YCYY="注销", **REMOVAL), "REMOVE", State.REMOVED, "DEREGISTERED"),
    ("listed+revoke field", "listed", rec("U", 2, MD_YCYY="撤销", **REMOVAL), "REMOVE", State.REMOVED, "REVOKED"),
    ("listed+D", "listed", rec("D", 2), "REMOVE", State.REMOVED, "REVOKED"),
    ("listed+bad reason", "listed", rec("U", 2, MD_YCYY="其他", **REMOVAL), "DIST_REMOVAL_REASON", None, ""),
    ("listed+same record", "listed", rec("I"), "SAME_RECORD", None, ""),
    ("listed+same version other", "listed", rec("U", 1, MD_LRYY="x"), "DIST_VERSION_CONFLICT", None, ""),
    (
        "removed+same reason",
        "removed",
        rec("U", 3, MD_YCYY="信用修复", MD_YCRQ="2025-02-02", MD_YCJG="x"),
        "ALREADY_REMOVED",
        None,
        "",
    ),
    (
        "removed+other reason",
        "removed",
        rec("U", 3, MD_YCYY="期满", **REMOVAL),
        "DIST_REMOVE_REASON_CONFLICT",
        None,
        "",
    ),
    ("removed+older version", "removed", rec("U", 1, MD_LRYY="y"), "OLDER_VERSION", None, ""),
    # work-safety rule: a false repair application restores the listing (a new listing)
    ("removed+restore", "removed", rec("U", 3), "ADD", State.LISTED, ""),
    ("removed+I relist", "removed", rec("I", 3, MD_LRRQ="2025-03-01"), "ADD", State.LISTED, ""),
]


@pytest.mark.parametrize("name,before,record,expect,state_after,reason", CASES, ids=[c[0] for c in CASES])
def test_transition(name, before, record, expect, state_after, reason):
    current = {None: None, "listed": listed, "removed": removed}[before]
    current = current() if callable(current) else current
    d = step(current, record)
    if d.error is not None:
        assert d.error.reason == expect and d.error.rule.startswith(("DIST-", "REC-"))
        assert d.change is None and not d.noop
        return
    if d.noop:
        assert d.noop == expect and d.change is None
        return
    assert d.change is not None and d.change.kind.value == expect
    assert d.change.entry.state is state_after and d.change.reason == reason
    assert d.change.list_seq == 0
    # the replica rule accepts exactly what the gateway rule produced
    assert apply_change(current, d.change.sequenced(5)) == d.change.entry


def test_entry_content_and_masking():
    e = listed(MD_ZT_SHXYM="", MD_ZT_LB="自然人", MD_ZT_ZJLX="身份证", MD_ZT_ZJHM="11010519491231002X")
    assert e.subject_id_masked == "110105********002X"
    assert "11010519491231002X" not in json.dumps(entry_to_obj(e), ensure_ascii=False)
    assert (e.colour, e.listed_on, e.version, e.listing) == ("black", date(2024, 1, 10), 1, 1)
    sxbzxr = load_catalogue().list_type("SXBZXR")
    assert sxbzxr is not None and e.measures == sxbzxr.measures  # default from data


def test_relisting_counts_and_clears_removal():
    r = removed()
    assert (r.removal_reason, r.removed_on, r.listing) == ("REPAIRED", date(2025, 2, 1), 1)
    d = step(r, rec("U", 3))
    assert d.change.entry.listing == 2 and d.change.entry.removed_on is None and d.change.entry.removal_reason == ""


def test_revocation_keeps_content():
    e = listed()
    d = step(e, rec("D", 2))
    assert d.change.entry.listing_reason == e.listing_reason and d.change.entry.version == 2


def test_apply_change_refuses_illegal_moves():
    e = listed()
    ch = step(e, rec("U", 2, MD_LRYY="z")).change.sequenced(2)
    with pytest.raises(ListError) as exc:
        apply_change(None, ch)  # CORRECT on an absent entry
    assert exc.value.reason == "DIST_ILLEGAL_CHANGE"
    with pytest.raises(ListError) as exc:
        apply_change(replace(e, entry_id="other"), ch)
    assert exc.value.reason == "DIST_WRONG_ENTRY"


def test_bad_dates_name_field():
    d = step(None, rec(MD_LRRQ="2024/13/01"))
    assert (d.error.reason, d.error.field) == ("DIST_BAD_DATE", "MD_LRRQ")
    d = step(None, rec(MD_LX="NOPE"))
    assert (d.error.reason, d.error.rule, d.error.field) == ("LIST_TYPE_UNKNOWN", "REC-050", "MD_LX")


# --- expiry from catalogue data -------------------------------------------------------------


def test_add_months_clamps():
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 11, 15), 3) == date(2025, 2, 15)


def test_expiry_uses_explicit_end_then_catalogue_term():
    explicit = listed(MD_GLQX_Z="2024-06-30")
    # SXBZXR: 24 months for the grounds of 法释〔2017〕7号 第一条第二至六项 only
    default = listed(MD_RDWSH="(2024)鲁0102执124号", MD_LRYY="违反财产报告制度")
    open_ended = listed(MD_LX="JYYC", MD_RDWSH="(2024)鲁0102执125号")  # no term in the data
    able_but_unwilling = listed(MD_RDWSH="(2024)鲁0102执126号")  # 有履行能力而拒不履行: no term
    assert period_end(explicit) == date(2024, 6, 30)
    assert period_end(default) == date(2026, 1, 9)
    assert period_end(open_ended) is None and period_end(able_but_unwilling) is None
    entries = [default, explicit, open_ended, removed()]
    assert [d.entry_id for d in due_for_expiry(entries, date(2024, 6, 30))] == []
    due = due_for_expiry(entries, date(2026, 1, 10))
    assert [d.entry_id for d in due] == [explicit.entry_id, default.entry_id]
    assert due[0].removed_on == date(2024, 7, 1)


def test_expiry_term_is_data_not_code():
    raw = json.loads((CATALOGUE_DIR / "v1.json").read_text(encoding="utf-8"))
    raw["list_types"] = [
        {**lt, "term_months": 6 if lt["code"] == "SXBZXR" else lt["term_months"]} for lt in raw["list_types"]
    ]
    cat = parse_catalogue(raw)
    e = listed(MD_LRYY="违反限制消费令")  # a ground the term applies to
    assert period_end(e, cat) == date(2024, 7, 9)
    assert [d.entry_id for d in due_for_expiry([e], date(2024, 7, 10), cat)] == [e.entry_id]


def test_expire_through_table():
    e = listed(MD_GLQX_Z="2024-06-30")
    d = expire(e, today=date(2024, 7, 2), at=AT)
    assert d.change is not None
    assert (d.change.kind, d.change.reason, d.change.entry.removed_on) == (
        ChangeKind.REMOVE,
        "EXPIRED",
        date(2024, 7, 1),
    )
    assert expire(d.change.entry, today=date(2024, 7, 3), at=AT).noop == "ALREADY_REMOVED"
    not_due = expire(e, today=date(2024, 6, 30), at=AT).error
    assert not_due is not None and not_due.reason == "DIST_NOT_DUE"
    conflict = expire(removed(), today=date(2030, 1, 1), at=AT).error
    assert conflict is not None and conflict.reason == "DIST_REMOVE_REASON_CONFLICT"


# --- replica ordering -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "applied,incoming,action",
    [
        (0, 1, Action.APPLY),
        (5, 6, Action.APPLY),
        (5, 5, Action.SKIP_DUPLICATE),
        (5, 1, Action.SKIP_DUPLICATE),
        (5, 7, Action.GAP),
        (0, 2, Action.GAP),
    ],
)
def test_next_action(applied, incoming, action):
    assert next_action(applied, incoming) is action


def _changes(n, start=1):
    e = listed()
    return [ListChange(i, ChangeKind.CORRECT, "", replace(e, version=i), AT) for i in range(start, start + n)]


def test_plan_batch_skips_duplicates_and_refuses_gaps():
    cs = _changes(6)
    plan = plan_batch(3, cs)
    assert [c.list_seq for c in plan.apply] == [4, 5, 6] and plan.skipped == 3 and plan.applied_seq == 6
    with pytest.raises(ListError) as exc:
        plan_batch(3, cs[:4] + cs[5:])
    assert exc.value.reason == "DIST_GAP" and "from_list_seq=4" in exc.value.hint


def test_check_answer_and_feed():
    black, red = listed(), listed(MD_LX="AJNSR", MD_RDWSH="A-2024-1")
    gone = removed()
    ans = check_answer(
        [red, gone, black],
        applied_list_seq=9,
        last_update=AT,
        now=AT + timedelta(minutes=5),
        max_age=timedelta(minutes=10),
    )
    assert [e.list_type for e in ans.memberships] == ["SXBZXR", "AJNSR"] and ans.history == (gone,)
    assert not ans.stale and ans.applied_list_seq == 9
    assert check_answer([], applied_list_seq=0, last_update=None, now=AT, max_age=timedelta(1)).stale
    cs = _changes(5)
    cs[2] = replace(cs[2], entry=replace(cs[2].entry, list_type="AJNSR"))
    out, cur = feed_batch(1, cs, frozenset({"AJNSR"}), max_changes=10)
    assert [c.list_seq for c in out] == [3] and cur == 5
    out, cur = feed_batch(0, cs, frozenset(), max_changes=2)
    assert [c.list_seq for c in out] == [1, 2] and cur == 2


# --- list log leaves and checkpoints --------------------------------------------------------


def test_leaf_matches_aud005():
    d = step(listed(), rec("U", 2, MD_YCYY="信用修复", **REMOVAL))
    ch = d.change.sequenced(7)
    data = leaf_data(ch)
    assert json.loads(data) == {
        "kind": "list",
        "list_seq": 7,
        "fp": ch.entry.origin_fp.hex(),
        "node": "370100",
        "list_type": "SXBZXR",
        "change": "REMOVE",
        "reason": "REPAIRED",
        "at": "2025-03-01T08:00:00.123Z",
    }
    assert data == canonicalize(json.loads(data))
    with pytest.raises(ValueError):
        leaf_data(d.change)  # not sequenced
    add = step(None, rec()).change.sequenced(1)
    fp = add.entry.origin_fp.hex()
    assert (
        leaf_data(add)
        == (
            '{"at":"2025-03-01T08:00:00.123Z","change":"ADD","fp":"' + fp + '","kind":"list","list_seq":1,'
            '"list_type":"SXBZXR","node":"370100","reason":""}'
        ).encode()
    )


def test_origin_naming():
    assert list_log_origin("Gateway.sd.gov.cn") == "gateway.sd.gov.cn/lists/v1"
    assert gateway_host_of("gateway.sd.gov.cn/lists/v1") == "gateway.sd.gov.cn"
    for bad in ("", "a b", "x+y", "h/audit"):
        with pytest.raises(ValueError):
            list_log_origin(bad)
    with pytest.raises(ValueError):
        gateway_host_of("gateway.sd.gov.cn/audit/v1")


def test_replica_checked_against_checkpoints():
    cs = _changes(7)
    hashes = [change_leaf_hash(c) for c in cs]
    origin = list_log_origin("gw.example")
    mine = fold(CompactRange(), cs[:5])
    assert check_replica(mine, Checkpoint(origin, 5, root(hashes[:5]))) == "EXACT"
    assert check_replica(mine, Checkpoint(origin, 7, root(hashes)), consistency_proof(5, hashes)) == "PREFIX"
    assert check_replica(mine, Checkpoint(origin, 3, root(hashes[:3]))) == "AHEAD"
    forked = hashes[:4] + [leaf_hash(b"other")] + hashes[5:]
    with pytest.raises(ListError) as exc:
        check_replica(mine, Checkpoint(origin, 5, root(forked[:5])))
    assert exc.value.reason == "DIST_REPLICA_DIVERGED"
    with pytest.raises(ListError):
        check_replica(mine, Checkpoint(origin, 7, root(forked)), consistency_proof(5, forked))
    with pytest.raises(ListError) as exc:
        fold(mine, cs[6:])
    assert exc.value.reason == "DIST_GAP"


# --- snapshots ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sizes,max_bytes,max_entries,expect",
    [
        ([], 10, 3, [(0, 0)]),
        ([4, 4, 4], 8, 10, [(0, 2), (2, 3)]),
        ([4, 4, 4, 4, 4], 100, 2, [(0, 2), (2, 4), (4, 5)]),
        ([10, 1, 9, 1], 10, 10, [(0, 1), (1, 3), (3, 4)]),
    ],
)
def test_plan_chunks(sizes, max_bytes, max_entries, expect):
    assert [(r.start, r.stop) for r in plan_chunks(sizes, max_bytes=max_bytes, max_entries=max_entries)] == expect


def test_plan_chunks_refuses_oversized_entry():
    with pytest.raises(ListError) as exc:
        plan_chunks([3, 11], max_bytes=10, max_entries=5)
    assert exc.value.reason == "DIST_ENTRY_TOO_LARGE"


def _entries(n):
    base = listed()
    return [replace(base, entry_id=f"LIST|SXBZXR|A|DOC{i:04d}|S", subject_name="名" * (i % 7 + 1)) for i in range(n)]


def test_entry_codec_round_trip():
    for e in (listed(), removed()):
        assert entry_from_obj(json.loads(entry_bytes(e))) == e
    with pytest.raises(ListError) as exc:
        entry_from_obj({**entry_to_obj(listed()), "extra": 1})
    assert exc.value.field == "extra"


def test_snapshot_round_trip_and_resume_after_kill():
    entries = _entries(53)
    limit = max(len(entry_bytes(e)) for e in entries) * 5
    chunks = chunk_snapshot(list(reversed(entries)), 40, max_bytes=limit, max_entries=8)
    assert len(chunks) > 1 and {c.total for c in chunks} == {len(chunks)} and {c.at_list_seq for c in chunks} == {40}
    assert all(sum(len(entry_bytes(e)) for e in c.entries) <= limit and len(c.entries) <= 8 for c in chunks)
    # node applies 3 chunks, is killed, resumes from its committed progress
    progress = None
    got: list[object] = []
    for c in chunks[:3]:
        progress = accept_chunk(progress, c)
        got += c.entries
    committed = SnapshotProgress(**vars(progress))
    again = chunk_snapshot(entries, 40, max_bytes=limit, max_entries=8)  # same state, same chunks
    for c in again[committed.next_chunk :]:
        committed = accept_chunk(committed, c)
        got += c.entries
    assert committed.complete and got == sorted(entries, key=lambda e: e.entry_id)


@pytest.mark.parametrize(
    "mutate,reason",
    [
        (lambda c: replace(c, at_list_seq=41), "DIST_SNAPSHOT_MIXED"),
        (lambda c: replace(c, index=2), "DIST_SNAPSHOT_ORDER"),
        (lambda c: replace(c, entries=tuple(reversed(c.entries))), "DIST_SNAPSHOT_ORDER"),
    ],
)
def test_accept_chunk_refuses(mutate, reason):
    chunks = chunk_snapshot(_entries(10), 40, max_bytes=10**6, max_entries=4)
    p = accept_chunk(None, chunks[0])
    with pytest.raises(ListError) as exc:
        accept_chunk(p, mutate(chunks[1]))
    assert exc.value.reason == reason


def test_empty_snapshot_still_names_its_list_seq():
    [c] = chunk_snapshot([], 12, max_bytes=100, max_entries=10)
    assert accept_chunk(None, c).complete and c.at_list_seq == 12


# --- the wire form names the same things ----------------------------------------------------


def test_proto_matches_pure_types():
    from dataclasses import fields as dc_fields

    from creditx.v1 import lists_pb2

    wire = set(lists_pb2.ListEntry.DESCRIPTOR.fields_by_name) - {"origin_fingerprint"}
    assert wire == {f.name for f in dc_fields(ListEntry)} - {"origin_fp"}
    assert {v.name for v in lists_pb2.ChangeKind.DESCRIPTOR.values[1:]} == {
        "CHANGE_KIND_" + k.value for k in ChangeKind
    }
    assert {v.name for v in lists_pb2.RemovalReason.DESCRIPTOR.values[1:]} == {
        "REMOVAL_REASON_" + r for r in REASON_CODES.values()
    }
    assert {v.name for v in lists_pb2.ListEntryState.DESCRIPTOR.values[1:]} == {
        "LIST_ENTRY_STATE_" + s.value for s in State if s is not State.ABSENT
    }


def test_entry_subject_finds_person_by_keyed_hash():
    from creditx.standard.lists.replica import entry_subject
    from creditx.standard.natural_key import person_subject_id

    e = listed(MD_ZT_SHXYM="", MD_ZT_LB="自然人", MD_ZT_ZJLX="身份证", MD_ZT_ZJHM="11010519491231002X")
    assert entry_subject(e.entry_id) == person_subject_id("身份证", "11010519491231002X", KEY)
    assert entry_subject(listed().entry_id) == "914403001922038216"
    with pytest.raises(ValueError):
        entry_subject("XZCF|a|b|c")
