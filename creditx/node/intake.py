"""Intake: rows from a file or the local API → validated, numbered, signed records in the outbox.

Pure part: :func:`check_row` decides one row (a record to submit, or the violations that send it
to quarantine) from the row, the node's region, today's date and the latest versions already in
the outbox. I/O part: :func:`ingest` runs batches of ~500 rows, each in ONE transaction that
assigns contiguous ``source_seq`` values (NODE-001), signs each record once (NODE-002) and writes
the outbox and quarantine rows together — so an interrupted import leaves whole batches, and
invalid rows never block valid ones (NODE-020).

Node-side intake rules (beside the catalogue's REC- rules checked by creditx.standard.validation):

* NODE-021 ``op`` is I, U or D; ``version`` a positive integer (reason OP_INVALID / VERSION_INVALID).
* NODE-022 a row is authorised as the gateway would (``creditx.standard.registry.authorise``, one
  rule): its region column, if present, is the node's own (SEC_REGION_MISMATCH, SEC-032) and,
  once the node holds the member registry, its deciding body is granted to this node for that
  record and list type (SEC_AUTHORITY_NOT_GRANTED, SEC-036) — so a city learns at import, not
  after a push.
* NODE-023 a correction (U) or revocation (D) names its ``source_id``; any row whose source_id is
  already in the outbox needs a higher version (ALREADY_SUBMITTED / VERSION_NOT_INCREASING).
  Rows without a source_id get a stable one derived from their content, so re-importing the
  same file is recognised.
* NODE-024 a row whose only problem is ALREADY_SUBMITTED is counted as already submitted, not
  quarantined; a quarantined record is held once (creditx.node.quarantine: importing it again
  replaces its entry) and leaves the quarantine when a fixed row naming it goes through.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Protocol

from creditx.node.quarantine import hold_rows, release_rows
from creditx.node.record_signing import UNSIGNED, signatures
from creditx.node.store import NodeStore
from creditx.standard.catalogue import load_catalogue
from creditx.standard.envelope import Signer
from creditx.standard.errors import CreditxError
from creditx.standard.lists.periods import period_refusal
from creditx.standard.record import (
    MAX_INT,
    MAX_INT_DIGITS,
    RECORD_TYPES,
    Record,
    encode_record,
    safe_text,
)
from creditx.standard.registry import REGION_MISMATCH, Member, authorise
from creditx.standard.validation import Violation, validate_fields


class RowLike(Protocol):
    """What intake reads of a row (IntakeRow, creditx.standard.tabular.SourceRow); read-only."""

    @property
    def row(self) -> int: ...
    @property
    def record_type(self) -> str: ...
    @property
    def fields(self) -> Mapping[str, str]: ...
    @property
    def meta(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class IntakeRow:
    """A row from any source (same shape as creditx.standard.tabular.SourceRow)."""

    row: int
    record_type: str
    fields: Mapping[str, str]
    meta: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Draft:
    """A valid row, ready for a source_seq."""

    type: str
    op: str
    source_id: str
    version: int
    fields: Mapping[str, str]


@dataclass(frozen=True)
class RowResult:
    row: int
    source_id: str
    source_seq: int | None
    problems: tuple[Violation, ...] = ()


@dataclass
class IntakeReport:
    """What one intake did. ``accepted`` rows are new in the outbox (``seq_ranges``, inclusive);
    ``already_submitted`` rows were in the outbox before and added nothing; ``quarantined`` rows
    are in the quarantine (``requarantined`` of them replace an entry that was already there);
    ``released`` quarantine entries left it because their fixed row went through."""

    rows: int = 0
    accepted: int = 0
    quarantined: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    results: list[RowResult] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)  # every problem of every quarantined row
    already_submitted: int = 0
    requarantined: int = 0
    released: int = 0
    import_id: int = 0
    seq_ranges: list[list[int]] = field(default_factory=list)

    def add_seq(self, seq: int) -> None:
        self.first_seq = self.first_seq or seq
        self.last_seq = seq
        if self.seq_ranges and self.seq_ranges[-1][1] == seq - 1:
            self.seq_ranges[-1][1] = seq
        else:
            self.seq_ranges.append([seq, seq])

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "accepted": self.accepted,
            "already_submitted": self.already_submitted,
            "quarantined": self.quarantined,
            "requarantined": self.requarantined,
            "released_from_quarantine": self.released,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "seq_ranges": self.seq_ranges,
            "import_id": self.import_id,
            "problems": self.problems,
        }


def derived_source_id(record_type: str, fields: Mapping[str, str]) -> str:
    text = json.dumps(dict(fields), sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{record_type}-{digest[:24]}"


def _problem(fld: str, rule: str, reason: str, message: str, fix: str) -> Violation:
    """A node rule's violation, in the catalogue's own type (creditx.standard.validation.Violation)."""
    return Violation(fld, fld, rule, reason, message, fix)


def check_row(
    r: RowLike,
    *,
    region: str,
    today: dt.date,
    latest: Mapping[str, int],
    validate: Callable[..., list],
    member: Member | None = None,
    registry_known: bool = False,
) -> Draft | list[Violation]:
    """Pure: a :class:`Draft` for a valid row, else the list of problems (NODE-021…023 and the
    catalogue rules of ``validate(record_type, fields, today=)``)."""
    meta = r.meta or {}
    fields = {k: v for k, v in r.fields.items() if v not in ("", None)}
    problems: list[Violation] = []
    op = (meta.get("op") or "I").strip().upper()
    if op not in ("I", "U", "D"):
        problems.append(
            _problem(
                "op",
                "NODE-021",
                "OP_INVALID",
                f"operation flag {op!r} is not I, U or D",
                "write I (new), U (correction) or D (revocation)",
            )
        )
    raw_version = (meta.get("version") or "1").strip()
    version = _version(raw_version)
    if not version:
        problems.append(
            _problem(
                "version",
                "NODE-021",
                "VERSION_INVALID",
                f"version {raw_version!r} is not a positive integer",
                "write 1, 2, 3 …",
            )
        )
    problems.extend(
        _unauthorised(r, fields, region, (meta.get("region") or "").strip() or region, member, registry_known)
    )
    source_id = (meta.get("source_id") or "").strip()
    if not source_id:
        if op in ("U", "D"):
            problems.append(
                _problem(
                    "source_id",
                    "NODE-023",
                    "SOURCE_ID_MISSING",
                    f"a {'correction' if op == 'U' else 'revocation'} must name the record it changes",
                    "fill the source record id column with the original record's id",
                )
            )
        source_id = derived_source_id(r.record_type, fields)
    if source_id in latest and version and version <= latest[source_id]:
        same = version == latest[source_id]
        problems.append(
            _problem(
                "version",
                "NODE-023",
                "ALREADY_SUBMITTED" if same else "VERSION_NOT_INCREASING",
                f"record {source_id} version {version} is {'already' if same else 'older than what is'} in the outbox"
                f" (latest version {latest[source_id]})",
                "nothing to do if this is a re-import; for a correction use op U with a higher version",
            )
        )
    if op != "D":  # a revocation only has to identify its record
        problems.extend(validate(r.record_type, fields, today=today))
        found: Any = meta.get("problems") or ()  # Violations found while reading the row (REC-064)
        problems.extend(found)
        problems.extend(_outside_periods(r.record_type, fields))
    if problems:
        return problems
    return Draft(r.record_type, op, source_id, version, fields)


def _unauthorised(
    r: RowLike, fields: Mapping[str, str], region: str, row_region: str, member: Member | None, registry_known: bool
) -> list[Violation]:
    """NODE-022: the gateway's authorisation rule at import; without a registry, the region only."""
    refusal = authorise(member, region, r.record_type, row_region, fields)
    if refusal is None or (not registry_known and refusal.reason != REGION_MISMATCH):
        return []
    return [_problem(refusal.field, refusal.requirement, refusal.reason, refusal.message, refusal.fix)]


def _outside_periods(record_type: str, fields: Mapping[str, str]) -> list[Violation]:
    """SEC-045…047 at import: the gateway's list-period rule (creditx.standard.lists.periods)."""
    refusal = period_refusal(fields, load_catalogue()) if record_type == "LIST" else None
    return (
        []
        if refusal is None
        else [_problem(refusal.field, refusal.requirement, refusal.reason, refusal.message, refusal.fix)]
    )


def _batches(rows: Iterable[RowLike], size: int) -> Iterator[list[RowLike]]:
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


def _default_validate(record_type: str, fields: Mapping[str, str], *, today: dt.date) -> list:
    # Warnings (e.g. an unknown USCC department/category pair) do not quarantine a row.
    return [
        v for v in validate_fields(record_type, dict(fields), today=today) if getattr(v, "severity", "error") == "error"
    ]


def ingest(
    store: NodeStore,
    signer: Signer,
    rows: Iterable[RowLike],
    *,
    region: str,
    source: str,
    today: dt.date,
    clock: Callable[[], float],
    batch_size: int = 500,
    keep_results: bool = False,
    validate: Callable[..., list] = _default_validate,
    advance: Callable[[int], None] = lambda n: None,
    in_batch: Callable[[list[RowLike], IntakeReport], None] | None = None,
    member: Member | None = None,
    registry_known: bool = False,
    record_suite: str = "envelope",
) -> IntakeReport:
    """Validate, number, sign and store ``rows``; one transaction per batch (NODE-001/002/020).
    With ``record_suite`` "batch" the records are stored unsigned (NODE-051): each is pushed
    with its path under the batch's signed checkpoint (SIG-040), not with a signature of its own.
    ``in_batch(batch, report)`` runs inside each batch's transaction after its rows are stored
    (report counts include the batch): a source's cursor commits with the rows it produced."""
    report = IntakeReport()
    with store.transaction():
        import_id = store.begin_import(source, clock())
    report.import_id = import_id
    for batch in _batches(rows, batch_size):
        now = clock()
        with store.transaction():
            latest = dict(
                store.latest_versions(
                    (r.meta or {}).get("source_id", "").strip() or derived_source_id(r.record_type, r.fields)
                    for r in batch
                )
            )
            seq = store.last_seq()
            outbox, held, through = [], [], []
            for r in batch:
                decided = _decide(r, region, today, latest, validate, member, registry_known)
                if isinstance(decided, Draft):
                    seq += 1
                    rec = Record(
                        decided.type, decided.op, region, decided.source_id, decided.version, seq, decided.fields
                    )
                    payload = encode_record(rec)
                    outbox.append(
                        (
                            seq,
                            rec.source_id,
                            rec.type,
                            rec.op,
                            rec.version,
                            signer.keyid,
                            payload,
                            UNSIGNED if record_suite == "batch" else signatures(payload, signer),
                            import_id,
                            now,
                        )
                    )
                    latest[rec.source_id] = rec.version  # a second row with the same id in one file
                    report.add_seq(seq)
                    through.append((r, rec.source_id))
                    if keep_results:
                        report.results.append(RowResult(r.row, rec.source_id, seq))
                elif all(getattr(p, "reason", "") == "ALREADY_SUBMITTED" for p in decided):
                    report.already_submitted += 1  # a re-import: nothing to add, nothing to fix
                    through.append((r, ""))
                    if keep_results:
                        report.results.append(
                            RowResult(
                                r.row,
                                (r.meta or {}).get("source_id", ""),
                                None,
                                tuple(Violation(**_violation_fields(p)) for p in decided),
                            )
                        )
                else:
                    held.append((r, decided))
                    for p in decided:
                        report.problems.append(
                            dict(
                                _violation_fields(p),
                                row=r.row,
                                **({"sheet": r.meta["sheet"]} if (r.meta or {}).get("sheet") else {}),
                            )
                        )
                    report.quarantined += 1
                    if keep_results:
                        report.results.append(
                            RowResult(
                                r.row,
                                (r.meta or {}).get("source_id", ""),
                                None,
                                tuple(Violation(**_violation_fields(p)) for p in decided),
                            )
                        )
            store.insert_outbox(outbox)
            moved = hold_rows(store, held, import_id=import_id, file=source, now=now)
            report.requarantined += moved.replaced
            report.released += release_rows(store, through)
            store.finish_import(import_id, len(batch), len(outbox), len(held), now)
            report.rows += len(batch)
            report.accepted += len(outbox)
            if in_batch is not None:
                in_batch(batch, report)
        advance(len(batch))
    return report


VIOLATION_KEYS = ("field", "field_name", "rule", "reason", "message", "fix")


def _violation_fields(v: Any) -> dict[str, str]:
    return {k: safe_text(str(getattr(v, k, "")), 512) for k in VIOLATION_KEYS}


def _decide(
    r: RowLike,
    region: str,
    today: dt.date,
    latest: Mapping[str, int],
    validate: Callable[..., list],
    member: Member | None = None,
    registry_known: bool = False,
) -> Draft | list:
    """One row's verdict, whatever the row holds (NODE-020, SYNC-033): an exception from a rule
    is this row's problem, never the import's."""
    if r.record_type not in RECORD_TYPES:
        return [
            _problem(
                "type",
                "SIG-023",
                "REC_UNKNOWN_TYPE",
                f"record type {safe_text(repr(r.record_type), 80)} is not XZXK, XZCF or LIST",
                "name the record type of the template the row comes from",
            )
        ]
    try:
        decided = check_row(
            r,
            region=region,
            today=today,
            latest=latest,
            validate=validate,
            member=member,
            registry_known=registry_known,
        )
        if isinstance(decided, Draft):  # the record codec's own rules (SIG-02x): field prefixes, lengths
            rec = Record(decided.type, decided.op, region, decided.source_id, decided.version, 1, decided.fields)
            encode_record(rec).decode("utf-8")  # text with no UTF-8 form (a lone surrogate) fails here, not later
        return decided
    except CreditxError as exc:
        rule = getattr(exc, "rule", "SIG-022")
        return [
            _problem(
                safe_text(getattr(exc, "field", "") or "record", 64),
                rule,
                getattr(exc, "reason", "RECORD_INVALID"),
                safe_text(exc.message, 512),
                exc.hint or "fix the value and import the row again",
            )
        ]
    except Exception as exc:  # noqa: BLE001 - SYNC-033: a value no rule names still stays in its row
        return [
            _problem(
                "record",
                "SYNC-033",
                "REC_MALFORMED",
                f"the row could not be checked ({type(exc).__name__})",
                "re-type the row's values as plain text (no control characters) and import it again",
            )
        ]


def _version(raw: str) -> int:
    """NODE-021: a positive integer of at most 2^63-1, ASCII digits only (``²`` is a digit to Python)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > MAX_INT_DIGITS:
        return 0
    v = int(raw)
    return v if 0 < v <= MAX_INT else 0
