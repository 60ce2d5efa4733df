"""Per-record checks that need no store: verify → authorise → decode → validate (SYNC-030…).

Runs in worker processes (``creditx.gateway.exchange.pool``): everything here is picklable in and out,
has no I/O and takes the date as an argument. The main process decides which signing keys a
node may use *now* (chain, validity, revocation, role, region — :class:`KeyGrant`) and ships
them with the job; a worker only loads each public key once (``_KEYS``, per process cache).

Order of the checks, first failure wins and names reason, requirement and field:

1. a signature by a key granted to this node (SYNC-030; revoked → SEC, expired → SEC);
2. the signature over PAE(payload_type, payload) (SIG-…, ``creditx.standard.envelope``);
3. the payload decodes as a record (SIG-020…, ``creditx.standard.record``);
4. its ``source_seq`` equals the one it was sent under (SYNC-014);
5. it is authorised (``creditx.standard.registry.authorise``: its region is the node's own,
   SEC-032; its deciding body is granted to the node in the member registry, SEC-036/037);
6. its fields validate against the catalogue (REC-…, ``creditx.standard.validation``);
7. a list entry's repair and removal respect the list's periods (SEC-045…047,
   ``creditx.standard.lists.periods``);

then the content fingerprint and natural key are computed for dedup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cryptography.hazmat.primitives.serialization import load_der_public_key

from creditx.gateway.ingest.reasons import fix_of, requirement_of
from creditx.gateway.ingest.values import Checked, IncomingRecord, Notice, SignatureValue
from creditx.gateway.stats import DECISION_DATE_FIELD, DEPARTMENT_FIELD
from creditx.standard.batch import BATCH_SUITE, verify_inclusion_path
from creditx.standard.catalogue import load_catalogue
from creditx.standard.envelope import MAX_SIGNATURES, Envelope, Signature, SignatureError, verify_envelope
from creditx.standard.fingerprint import fingerprint
from creditx.standard.lists.periods import period_refusal
from creditx.standard.merkle import Proved
from creditx.standard.natural_key import natural_key
from creditx.standard.record import RECORD_PAYLOAD_TYPE, Record, RecordError, decode_record, safe_text
from creditx.standard.registry import Member, authorise
from creditx.standard.validation import validate_fields


@dataclass(frozen=True)
class KeyGrant:
    """A signing key the node presented: ``spki_der`` when usable now, else why not (the
    reason code and requirement of the certificate check, e.g. CERT_REVOKED / SEC-040)."""

    spki_der: bytes = b""
    reason: str = ""
    requirement: str = ""
    message: str = ""


@dataclass(frozen=True)
class CheckJob:
    node_region: str
    grants: dict[str, KeyGrant]
    records: tuple[IncomingRecord, ...]
    today: date
    subject_key: bytes
    member: Member | None = None  # the node's entry in the member registry in force; None: nothing granted
    # batch-signed suite (SIG-044): (size, root hash, key id) of the batch's checkpoint, whose
    # signature the main process verified once for the whole batch; None: the batch has none
    batch_head: tuple[int, bytes, str] | None = None


_KEYS: dict[tuple[str, bytes], object] = {}


def _public_key(keyid: str, der: bytes):
    k = _KEYS.get((keyid, der))
    if k is None:
        if len(_KEYS) > 4096:
            _KEYS.clear()
        k = _KEYS[(keyid, der)] = load_der_public_key(der)
    return k


def _reject(rec: IncomingRecord, reason: str, requirement: str, message: str, field: str = "", **kw) -> Checked:
    return Checked(
        source_seq=rec.source_seq,
        payload_sha=rec.payload_sha,
        reason=reason,
        requirement=requirement or requirement_of(reason),
        field=field,
        message=message,
        **kw,
    )


def check_record(rec: IncomingRecord, job: CheckJob) -> Checked:
    grants = job.grants
    if not rec.signatures:  # SIG-007 comes before any key is looked up (SIG-012 … SIG-009 order)
        return _reject(rec, "SIG_NO_SIGNATURE", "SIG-007", "the envelope carries no signature; sign the record")
    usable = [s for s in rec.signatures if s.keyid in grants]
    if not usable:
        ids = ", ".join(s.keyid for s in rec.signatures) or "none"
        return _reject(
            rec,
            "SIG_UNKNOWN_KEY",
            "",
            f"no signature by a signing certificate this node presented (key ids: {ids}); {fix_of('SIG_UNKNOWN_KEY')}",
        )
    grant = grants[usable[0].keyid]
    if grant.reason:
        return _reject(rec, grant.reason, grant.requirement, grant.message, keyid=usable[0].keyid)

    def resolve(keyid: str):
        g = grants.get(keyid)
        return _public_key(keyid, g.spki_der) if g and g.spki_der else None

    try:
        if usable[0].suite == BATCH_SUITE:  # one hash path, against the batch's verified checkpoint
            keyid = _verify_batched(rec, usable[0], job.batch_head)
        else:
            sigs = tuple(Signature(s.keyid, s.suite, s.sig) for s in usable)
            keyid = verify_envelope(
                Envelope(rec.payload_type, rec.payload, sigs), resolve, expected_type=RECORD_PAYLOAD_TYPE
            ).keyid
    except SignatureError as exc:
        return _reject(rec, exc.reason, exc.rule, exc.detail, keyid=usable[0].keyid)
    try:
        record = decode_record(rec.payload)  # decoded once; everything below reads this object
    except RecordError as exc:
        return _reject(rec, exc.reason, exc.rule, exc.detail, exc.field, keyid=keyid)
    if record.source_seq != rec.source_seq:
        return _reject(
            rec,
            "SYNC_SEQ_MISMATCH",
            "",
            f"payload says source_seq {record.source_seq} but it "
            f"was sent as {rec.source_seq}; {fix_of('SYNC_SEQ_MISMATCH')}",
            "source_seq",
            **_meta(record, keyid),
        )
    refused = _unauthorised(rec, record, job, keyid)
    if refused is not None:
        return refused
    violations = validate_fields(record.type, record.fields, today=job.today)  # [] when clean: no copies
    errors = [v for v in violations if v.severity == "error"]
    if errors:
        v = errors[0]
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        return _reject(rec, v.reason, v.rule, f"{v.message}; {v.fix}{more}", v.field, **_meta(record, keyid))
    refused = _outside_periods(rec, record, keyid)
    if refused is not None:
        return refused
    warnings = tuple(Notice(v.reason, v.rule, v.field, f"{v.message}; {v.fix}") for v in violations)  # REC-041
    rtype = record.type
    return Checked(
        rec.source_seq,
        rec.payload_sha,
        "",
        "",
        "",
        "",
        fingerprint(record),
        natural_key(record, job.subject_key),
        record.version,
        rtype,
        record.region,
        record.op,
        keyid,
        record if rtype == "LIST" else None,
        warnings,
        *_stats_facts(record),
    )


def _verify_batched(rec: IncomingRecord, sig: SignatureValue, head: tuple[int, bytes, str] | None) -> str:
    """SIG-044: a batch-signed record's path leads to the root of its batch's checkpoint, which
    the same key signed. Returns the key id; SignatureError otherwise."""
    if head is None or head[2] != sig.keyid:
        raise SignatureError(
            "SIG_BATCH_PROOF",
            "SIG-044",
            "a batch-signed record came without a batch checkpoint signed by its key "
            f"{sig.keyid}; send the checkpoint in PushRequest.checkpoint (SIG-042)",
        )
    if rec.payload_type != RECORD_PAYLOAD_TYPE:
        raise SignatureError(
            "SIG_PAYLOAD_TYPE", "SIG-012", f"payload type {rec.payload_type!r} is not {RECORD_PAYLOAD_TYPE!r}"
        )
    if len(_PROVED) > 1 << 16:  # a few batches' worth; states name their tree, so never stale
        _PROVED.clear()
    verify_inclusion_path(rec.source_seq, rec.payload, sig.sig, head[0], head[1], _PROVED)
    return sig.keyid


_PROVED: Proved = {}  # per process: the inner states the batches' paths proved (SIG-044)


def _unauthorised(rec: IncomingRecord, record: Record, job: CheckJob, keyid: str) -> Checked | None:
    """SEC-032/036/037: the one authorisation rule, against the node's certificate region and
    its registry entry (the entry is fetched by the main process and shipped with the job)."""
    r = authorise(job.member, job.node_region, record.type, record.region, record.fields)
    if r is None:
        return None
    return _reject(rec, r.reason, r.requirement, f"{r.message}; {r.fix}", r.field, **_meta(record, keyid))


def _outside_periods(rec: IncomingRecord, record: Record, keyid: str) -> Checked | None:
    """SEC-045/046/047: a LIST record's repair and removal dates against the catalogue's periods."""
    if record.type != "LIST":
        return None
    r = period_refusal(record.fields, load_catalogue())
    if r is None:
        return None
    return _reject(rec, r.reason, r.requirement, f"{r.message}; {r.fix}", r.field, **_meta(record, keyid))


def _meta(record, keyid: str) -> dict:
    """What a rejection of a record that decoded still tells: its fingerprint among them (AUD-004)."""
    department, decided_on = _stats_facts(record)
    return dict(
        keyid=keyid,
        record_type=record.type,
        region=record.region,
        op=record.op,
        version=record.version,
        fingerprint=fingerprint(record),
        department=department,
        decided_on=decided_on,
    )


def _stats_facts(record: Record) -> tuple[str, str]:
    """The department and decision date the statistics count, from the decoded fields (so the
    main process never decodes a payload again for them)."""
    fields, rtype = record.fields, record.type
    return fields.get(DEPARTMENT_FIELD.get(rtype, ""), ""), fields.get(DECISION_DATE_FIELD.get(rtype, ""), "")


def check_job(job: CheckJob) -> list[Checked]:
    """Check every record of a job in order."""
    return [check_isolated(r, job) for r in job.records]


# --- the unit of work shipped to a worker process: plain tuples both ways ----------------------

Row = tuple[int, str, bytes, tuple[tuple[str, str, bytes], ...], bytes]  # seq, type, payload, sigs, sha


def to_row(r: IncomingRecord) -> Row:
    return (
        r.source_seq,
        r.payload_type,
        r.payload,
        tuple((s.keyid, s.suite, s.sig) for s in r.signatures),
        r.payload_sha,
    )


def from_row(row: Row) -> IncomingRecord:
    seq, payload_type, payload, sigs, sha = row
    rec = IncomingRecord.of(seq, payload_type, payload, tuple([SignatureValue.of(*s) for s in sigs]))
    rec.__dict__["payload_sha"] = sha  # the cached_property, already computed by the main process
    return rec


def check_rows(job: CheckJob, rows: tuple[Row, ...]) -> list[tuple]:
    """Worker entry point: ``job`` without its records, the records as :func:`to_row` tuples;
    the answers as plain tuples (:meth:`Checked.from_row`). Pickling frozen dataclasses both
    ways cost the main process about as much as the rest of its per-record work."""
    return [tuple(check_isolated(from_row(r), job)) for r in rows]


# --- isolation (SYNC-033): a record's content never fails its batch ---------------------------

MAX_CHECKED_TEXT = 512  # characters of a reason's field/message kept: they quote peer data


def check_isolated(rec: IncomingRecord, job: CheckJob) -> Checked:
    """:func:`check_record`, but whatever the payload does to a decoder or validator, the answer
    is this record's own decision: an exception that escapes becomes REJECTED ``REC_MALFORMED``
    (SYNC-033), and every text a decision carries is made storable (no lone surrogates, bounded)."""
    if len(rec.signatures) > MAX_SIGNATURES:  # SIG-013: counted as sent, before unknown keys are dropped
        return _reject(
            rec,
            "SIG_LIMIT",
            "SIG-013",
            f"{len(rec.signatures)} signatures, the limit is {MAX_SIGNATURES}; sign with at most {MAX_SIGNATURES} keys",
        )
    try:
        c = check_record(rec, job)
    except Exception as exc:  # noqa: BLE001 - SYNC-033: any input fault is this record's decision
        return _reject(
            rec,
            "REC_MALFORMED",
            "SYNC-033",
            f"the record could not be checked ({type(exc).__name__}); it breaks the record "
            "format in a way no rule names; re-create it from its source data",
        )
    return _storable(c)


def _storable(c: Checked) -> Checked:
    field, message = safe_text(c.field, 64), safe_text(c.message, MAX_CHECKED_TEXT)
    keyid = safe_text(c.keyid, 128)
    if (field, message, keyid) == (c.field, c.message, c.keyid):
        return c
    return c._replace(field=field, message=message, keyid=keyid)
