"""The red/black list entry lifecycle as data: what each accepted LIST record does to an entry.

Chapter 08 of the standard (``creditx/standard/spec/08-distribution.md``, DIST-0xx). Pure: no clock
reads, no I/O; the time comes in as ``at`` and ``today``.

An entry is identified by the LIST natural key (REC-FP-010), ``entry_id``. Its states are
``ABSENT`` (never listed), ``LISTED`` and ``REMOVED``. Events come from LIST records
(DIST-010): op ``I`` → ADD; op ``U`` without removal fields → CORRECT; op ``U`` with
MD_YCRQ/MD_YCYY → REMOVE(reason from MD_YCYY); op ``D`` → REMOVE(REVOKED); and from the
expiry job (:mod:`creditx.standard.lists.expiry`) → REMOVE(EXPIRED). :data:`TRANSITIONS` holds every
(state, event) pair and what it yields: a change to publish (:class:`Go`), or a refusal
(:class:`Refuse`, reason code + requirement ID). A removal repeated with the *same* reason is
a no-op (:data:`SAME_REASON_NOOP`).

Invariants kept here:

* DIST-011 a record version already applied (same content fingerprint as the entry's origin)
  or older than the entry's version yields no change, so re-delivery is idempotent;
  the same version with other content is refused (as SYNC-023).
* DIST-012 a listing after a removal — a new ADD, or a correction without removal fields,
  such as the work-safety rule "a false repair application restores the listing"
  (鲁应急发〔2024〕10号) — is a *new listing*: ``listing`` counts up and removal data is cleared.
* :func:`apply_change` only moves an entry along a transition of the table; a change that
  the table does not allow from the entry's state is refused, never applied.
* A natural person's ID number never enters an entry: only its masked form (REC-PII-02).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime

from creditx.standard.catalogue import Catalogue, load_catalogue
from creditx.standard.envelope import Envelope
from creditx.standard.errors import RemoteError
from creditx.standard.identifiers import mask_id_number
from creditx.standard.record import Record

# DIST-014: MD_YCYY (catalogue enumeration "removal_reason") → the reason code of AUD-005.
REASON_CODES: dict[str, str] = {
    "期满": "EXPIRED",
    "信用修复": "REPAIRED",
    "撤销": "REVOKED",
    "主体注销": "DEREGISTERED",
}
REASON_NAMES: dict[str, str] = {v: k for k, v in REASON_CODES.items()}
REMOVAL_FIELDS = ("MD_YCRQ", "MD_YCYY")


class ListError(RemoteError):
    """A list change the lifecycle does not allow. ``reason`` is the reason code, ``rule`` the
    requirement ID, ``field`` the field at fault ("" when none)."""

    def __init__(self, reason: str, rule: str, message: str, *, field: str = "", hint: str = "") -> None:
        where = f" ({field})" if field else ""
        super().__init__(f"{reason} [{rule}]{where}: {message}", hint=hint or message)
        self.reason, self.rule, self.field, self.detail = reason, rule, field, message


class State(enum.Enum):
    ABSENT = "ABSENT"
    LISTED = "LISTED"
    REMOVED = "REMOVED"


class Event(enum.Enum):
    ADD = "ADD"  # op I
    CORRECT = "CORRECT"  # op U without removal fields
    REMOVE = "REMOVE"  # op U with removal fields, op D (REVOKED), expiry tick (EXPIRED)


class ChangeKind(enum.Enum):
    """AUD-005 ``change``."""

    ADD = "ADD"
    CORRECT = "CORRECT"
    REMOVE = "REMOVE"


@dataclass(frozen=True)
class Go:
    """Publish a change of ``kind``; the entry moves to ``to``. ``new_listing``: DIST-012."""

    kind: ChangeKind
    to: State
    new_listing: bool = False


@dataclass(frozen=True)
class Refuse:
    reason: str
    rule: str
    message: str
    hint: str


SAME_REASON_NOOP = "same-reason-noop"  # DIST-015: same reason → no-op, other reason → refused

# DIST-013 … DIST-016: the whole lifecycle. Every (State, Event) pair is present.
TRANSITIONS: dict[tuple[State, Event], Go | Refuse | str] = {
    (State.ABSENT, Event.ADD): Go(ChangeKind.ADD, State.LISTED, new_listing=True),
    (State.ABSENT, Event.CORRECT): Refuse(
        "DIST_CORRECT_ABSENT",
        "DIST-013",
        "a correction (op U) names an entry that was never listed",
        "send the listing first with op I, or check MD_LX, MD_RDJGDM, MD_RDWSH and the subject",
    ),
    (State.ABSENT, Event.REMOVE): Refuse(
        "DIST_REMOVE_ABSENT",
        "DIST-013",
        "a removal names an entry that was never listed",
        "check MD_LX, MD_RDJGDM, MD_RDWSH and the subject against the original listing",
    ),
    # DIST-016: op I for a listed entry with new content is a new version of it.
    (State.LISTED, Event.ADD): Go(ChangeKind.CORRECT, State.LISTED),
    (State.LISTED, Event.CORRECT): Go(ChangeKind.CORRECT, State.LISTED),
    (State.LISTED, Event.REMOVE): Go(ChangeKind.REMOVE, State.REMOVED),
    (State.REMOVED, Event.ADD): Go(ChangeKind.ADD, State.LISTED, new_listing=True),
    (State.REMOVED, Event.CORRECT): Go(ChangeKind.ADD, State.LISTED, new_listing=True),
    (State.REMOVED, Event.REMOVE): SAME_REASON_NOOP,
}


@dataclass(frozen=True)
class ListEntry:
    """One list entry as the gateway's list state and every node's replica hold it."""

    entry_id: str  # LIST natural key (REC-FP-010)
    list_type: str  # MD_LX code, e.g. SXBZXR
    colour: str  # "red" | "black", from the catalogue's list type
    subject_name: str  # MD_ZT_MC
    subject_category: str  # MD_ZT_LB
    subject_uscc: str  # MD_ZT_SHXYM ("" for a natural person)
    subject_id_masked: str  # masked MD_ZT_ZJHM (REC-PII-02), "" for an organisation
    listed_on: date  # MD_LRRQ
    period_start: date | None  # MD_GLQX_Q
    period_end: date | None  # MD_GLQX_Z; None: the catalogue's term applies (DIST-020)
    listing_reason: str  # MD_LRYY
    basis: str  # MD_RDYJ
    basis_document: str  # MD_RDWS
    basis_number: str  # MD_RDWSH
    authority: str  # MD_RDJG
    authority_uscc: str  # MD_RDJGDM
    measures: str  # MD_CJCS, else the catalogue's measures for the list type
    state: State
    removed_on: date | None  # MD_YCRQ
    removal_reason: str  # AUD-005 reason code, "" unless REMOVED
    removal_authority: str  # MD_YCJG
    version: int  # record version the entry rests on
    origin_fp: bytes  # content fingerprint of that record version (REC-FP-003)
    origin_region: str  # region of the node that sent it
    listing: int = 1  # DIST-012: 1 for the first listing, +1 for each re-listing


@dataclass(frozen=True)
class ListChange:
    """One change in the gateway's list log (DIST-001). ``list_seq`` is 0 until the log assigns
    it (:meth:`sequenced`); ``entry`` is the entry *after* the change; ``origin`` the signed
    envelope of the record version the entry rests on (DIST-030), when the caller has it."""

    list_seq: int
    kind: ChangeKind
    reason: str  # AUD-005: EXPIRED/REPAIRED/REVOKED/DEREGISTERED for REMOVE, else ""
    entry: ListEntry
    at: datetime
    origin: Envelope | None = None

    def sequenced(self, list_seq: int, origin: Envelope | None = None) -> ListChange:
        if not isinstance(list_seq, int) or list_seq < 1:
            raise ValueError(f"DIST-001: list_seq starts at 1, got {list_seq!r}")
        return replace(self, list_seq=list_seq, origin=origin if origin is not None else self.origin)


@dataclass(frozen=True)
class ChangeDecision:
    """What one record (or expiry tick) does: ``change`` to publish, or a no-op (``noop`` names
    why), or a refusal (``error``)."""

    change: ListChange | None = None
    noop: str = ""
    error: ListError | None = None


def event_of(record: Record, catalogue: Catalogue | None = None) -> tuple[Event, str]:
    """DIST-010: the lifecycle event a LIST record stands for, and its removal reason code."""
    if record.type != "LIST":
        raise ListError("DIST_NOT_LIST", "DIST-010", f"record type {record.type} is not LIST", field="type")
    if record.op == "I":
        return Event.ADD, ""
    if record.op == "D":
        return Event.REMOVE, "REVOKED"
    if not any(f in record.fields for f in REMOVAL_FIELDS):
        return Event.CORRECT, ""
    name = record.fields.get("MD_YCYY", "")
    canon = (catalogue or load_catalogue()).enumeration("removal_reason").canonical(name) if name else None
    if canon not in REASON_CODES:
        raise ListError(
            "DIST_REMOVAL_REASON",
            "DIST-014",
            f"MD_YCYY {name!r} is not a removal reason",
            field="MD_YCYY",
            hint="use one of 期满, 信用修复, 撤销, 主体注销 together with MD_YCRQ and MD_YCJG",
        )
    return Event.REMOVE, REASON_CODES[canon]


def _date(fields: Mapping[str, str], code: str, *, required: bool = False) -> date | None:
    value = fields.get(code, "")
    if not value:
        if required:
            raise ListError("DIST_FIELD_MISSING", "DIST-017", f"{code} is required for a list entry", field=code)
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ListError(
            "DIST_BAD_DATE",
            "DIST-017",
            f"{code} {value!r} is not an ISO 8601 date",
            field=code,
            hint=f"write {code} as YYYY-MM-DD",
        ) from None


def entry_from_record(
    record: Record, *, entry_id: str, fingerprint: bytes, catalogue: Catalogue | None = None
) -> ListEntry:
    """DIST-017: the LISTED entry a LIST record describes (removal fields are applied later)."""
    cat = catalogue or load_catalogue()
    f = record.fields
    lt = cat.list_type(f.get("MD_LX", ""))
    if lt is None:
        raise ListError(
            "LIST_TYPE_UNKNOWN",
            "REC-050",
            f"MD_LX {f.get('MD_LX', '')!r} is not a list type",
            field="MD_LX",
            hint="use a list-type code of the catalogue, e.g. SXBZXR",
        )
    number = f.get("MD_ZT_ZJHM", "")
    return ListEntry(
        entry_id=entry_id,
        list_type=lt.code,
        colour=lt.colour,
        subject_name=f.get("MD_ZT_MC", ""),
        subject_category=f.get("MD_ZT_LB", ""),
        subject_uscc=f.get("MD_ZT_SHXYM", ""),
        subject_id_masked=mask_id_number(number) if number else "",
        listed_on=_date(f, "MD_LRRQ", required=True),  # type: ignore[arg-type]
        period_start=_date(f, "MD_GLQX_Q"),
        period_end=_date(f, "MD_GLQX_Z"),
        listing_reason=f.get("MD_LRYY", ""),
        basis=f.get("MD_RDYJ", ""),
        basis_document=f.get("MD_RDWS", ""),
        basis_number=f.get("MD_RDWSH", ""),
        authority=f.get("MD_RDJG", ""),
        authority_uscc=f.get("MD_RDJGDM", ""),
        measures=f.get("MD_CJCS", "") or lt.measures,
        state=State.LISTED,
        removed_on=None,
        removal_reason="",
        removal_authority="",
        version=record.version,
        origin_fp=fingerprint,
        origin_region=record.region,
    )


def decide(current: ListEntry | None, event: Event, reason: str, after: ListEntry, *, at: datetime) -> ChangeDecision:
    """Look (state, event) up in :data:`TRANSITIONS` and build the decision. ``after`` is the
    entry as the event describes it (listed fields, removal fields filled for REMOVE)."""
    state = current.state if current is not None else State.ABSENT
    rule = TRANSITIONS[(state, event)]
    if rule == SAME_REASON_NOOP:
        assert current is not None
        if current.removal_reason == reason:
            return ChangeDecision(noop="ALREADY_REMOVED")  # DIST-015
        return ChangeDecision(
            error=ListError(
                "DIST_REMOVE_REASON_CONFLICT",
                "DIST-015",
                f"entry is already removed with reason {current.removal_reason}; a second removal says {reason}",
                hint="a removed entry stays removed with its first reason; to list it again send op I",
            )
        )
    if isinstance(rule, Refuse):
        return ChangeDecision(error=ListError(rule.reason, rule.rule, rule.message, hint=rule.hint))
    assert isinstance(rule, Go)
    listing = (current.listing if current is not None else 0) + (1 if rule.new_listing else 0)
    entry = replace(after, state=rule.to, listing=listing)
    if rule.to is not State.REMOVED:
        entry = replace(entry, removed_on=None, removal_reason="", removal_authority="")
    return ChangeDecision(change=ListChange(0, rule.kind, reason if rule.kind is ChangeKind.REMOVE else "", entry, at))


def derive_change(
    current: ListEntry | None,
    record: Record,
    *,
    entry_id: str,
    fingerprint: bytes,
    at: datetime,
    catalogue: Catalogue | None = None,
) -> ChangeDecision:
    """What an accepted LIST record does to the entry ``current`` (None: never listed).

    ``entry_id`` is the record's natural key, ``fingerprint`` its content fingerprint, ``at`` the
    gateway's decision time. Never raises for a bad record: the refusal is in ``error``."""
    try:
        if current is not None and current.entry_id != entry_id:
            raise ValueError(f"current entry {current.entry_id!r} is not {entry_id!r}")  # caller's bug
        if current is not None:
            if fingerprint == current.origin_fp:
                return ChangeDecision(noop="SAME_RECORD")  # DIST-011
            if record.version < current.version:
                return ChangeDecision(noop="OLDER_VERSION")  # DIST-011
            if record.version == current.version:
                return ChangeDecision(
                    error=ListError(
                        "DIST_VERSION_CONFLICT",
                        "DIST-011",
                        f"version {record.version} already published with other content",
                        hint="a correction or removal needs a higher version than the entry's",
                    )
                )
        event, reason = event_of(record, catalogue)
        after = entry_from_record(record, entry_id=entry_id, fingerprint=fingerprint, catalogue=catalogue)
        if record.op == "D":
            # op D withdraws the record; the entry keeps its last content (DIST-010)
            base = current or after
            after = replace(
                base,
                version=record.version,
                origin_fp=fingerprint,
                removed_on=at.date(),
                removal_authority=base.authority,
            )
        elif event is Event.REMOVE:
            after = replace(
                after,
                removed_on=_date(record.fields, "MD_YCRQ", required=True),
                removal_authority=record.fields.get("MD_YCJG", ""),
            )
        if event is Event.REMOVE:
            after = replace(after, removal_reason=reason)
        return decide(current, event, reason, after, at=at)
    except ListError as exc:
        return ChangeDecision(error=exc)


def apply_change(entry: ListEntry | None, change: ListChange) -> ListEntry:
    """DIST-041: the entry after ``change``; refuses a change the lifecycle does not allow from
    ``entry``'s state (a replica applying it would diverge from the log)."""
    state = entry.state if entry is not None else State.ABSENT
    if entry is not None and entry.entry_id != change.entry.entry_id:
        raise ListError(
            "DIST_WRONG_ENTRY",
            "DIST-041",
            f"change {change.list_seq} is for {change.entry.entry_id!r}, not {entry.entry_id!r}",
        )
    allowed = {(s, r.kind, r.to) for (s, _), r in TRANSITIONS.items() if isinstance(r, Go)}
    if (state, change.kind, change.entry.state) not in allowed:
        raise ListError(
            "DIST_ILLEGAL_CHANGE",
            "DIST-041",
            f"change {change.list_seq} ({change.kind.value} → {change.entry.state.value}) "
            f"cannot apply to an entry in state {state.value}",
            hint="the replica diverged from the list log: re-bootstrap from a snapshot",
        )
    return change.entry
