"""The hall check and the action report, wire-free: what both the gRPC and the HTTP hall APIs call.

* HALL-010 a check answers from the local replica (the list entries), the measures list the node
  took up (the measures for the matter and the requesting department; the incentives of red
  lists) and the node's own penalties and licences with their 异议 status; with the replica's
  freshness and ``stale`` (NODE-043 alarm included), so a client can fail closed.
* HALL-011 a caller checks for its own department only: the department named in the request
  must be the one its certificate or token names.
* HALL-013 a natural person's ID number is hashed on arrival (the replica's keyed hash) and
  only ever answered masked.
* HALL-014 ``check_id`` binds the department, the matter category and the list types that hit,
  under a key derived from the node's subject key: an action report quotes it, and the node
  reads the list types from it without having stored the check.
* HALL-030/031 an action report is an envelope signed by a department certificate of this city,
  for the caller's department, about a check this node answered; it is kept once per report_id.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.serialization import Encoding

from creditx.node.halls.store import HallStore, OwnRecordRow
from creditx.node.replica.departments import answer
from creditx.node.replica.store import ReplicaStore
from creditx.node.replica.subjects import Question, question
from creditx.pki.identity import Identity, IdentityError, TrustStore, verify
from creditx.pki.profiles import DEPARTMENT
from creditx.standard.actions import (
    ACTION_PAYLOAD_TYPE,
    MAX_ACTION_PAYLOAD,
    check_id_parts,
    department_code,
    parse_action,
)
from creditx.standard.envelope import Envelope, SignatureError, verify_envelope
from creditx.standard.errors import InputError
from creditx.standard.lists.lifecycle import ListEntry
from creditx.standard.lists.replica import CheckAnswer
from creditx.standard.measures import PUNISH, Measure, MeasuresCatalogue


def department_of(identity: Identity) -> str:
    """A department certificate's department code (creditx.standard.actions.department_code)."""
    return department_code(identity.name)


@dataclass(frozen=True)
class Caller:
    """Who is calling the hall API: the department code and how it authenticated."""

    department: str
    label: str  # "cert:<serial>" or "token:<id>" — the rate-limit and log key
    region: str


@dataclass(frozen=True)
class Applied:
    measure: Measure
    list_types: tuple[str, ...]


@dataclass(frozen=True)
class HallAnswer:
    base: CheckAnswer
    measures: tuple[Applied, ...]
    incentives: tuple[Applied, ...]
    records: tuple[OwnRecordRow, ...]
    measures_version: str
    check_id: str
    subject_shown: str


@dataclass(frozen=True)
class Ask:
    """One check of a (batched) call: the subject's question, the matter, the department named
    in the request ("" = the caller's) and the list types asked about (empty = all)."""

    q: Question
    matter: str = ""
    department: str = ""
    list_types: frozenset[str] = frozenset()


class Plans:
    """The measures that apply, remembered per (measures list, matter category, department,
    hit list types): a list has a few dozen measures and halls ask the same few matters, so
    the catalogue is filtered once per combination, not per check. A new list (another
    catalogue object) starts a new table; the table is bounded."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max = max_entries
        self._cat: MeasuresCatalogue | None = None
        self._d: dict[tuple[str, str, tuple[str, ...]], tuple[tuple[Applied, ...], tuple[Applied, ...]]] = {}

    def applied(
        self, cat: MeasuresCatalogue, category: str, department: str, hit: tuple[str, ...]
    ) -> tuple[tuple[Applied, ...], tuple[Applied, ...]]:
        if cat is not self._cat:
            self._cat, self._d = cat, {}
        key = (category, department, hit)
        got = self._d.get(key)
        if got is None:
            measures: list[Applied] = []
            incentives: list[Applied] = []
            for m in cat.applicable(hit, category=category, department=department):
                (measures if m.kind == PUNISH else incentives).append(
                    Applied(m, tuple(sorted(m.list_types & set(hit))))
                )
            got = (tuple(measures), tuple(incentives))
            if len(self._d) >= self.max:
                self._d.clear()
            self._d[key] = got
        return got


class CheckIds:
    """HALL-014: ``<ms hex>.<nonce>.<category>.<types joined by +>.<mac>``. The nonces (6 random
    bytes each) are cut from one ``os.urandom`` read of 4 KiB: a read per check cost more than
    the MAC."""

    NONCE = 6

    def __init__(self, subject_key: bytes) -> None:
        self.key = hmac.new(subject_key, b"creditx hall check-id v1", hashlib.sha256).digest()
        self._lock = threading.Lock()
        self._pool, self._at = b"", 0

    def _nonce(self) -> str:
        with self._lock:
            if self._at + self.NONCE > len(self._pool):
                self._pool, self._at = os.urandom(self.NONCE * 683), 0
            at = self._at
            self._at = at + self.NONCE
        return self._pool[at : at + self.NONCE].hex()

    def _mac(self, body: str, department: str) -> str:
        return hmac.digest(self.key, f"{department}|{body}".encode(), "sha256").hex()[:24]

    def make(self, at: datetime, department: str, category: str, types: tuple[str, ...]) -> str:
        body = f"{int(at.timestamp() * 1000):x}.{self._nonce()}.{category or '-'}.{'+'.join(types) or '-'}"
        return f"{body}.{self._mac(body, department)}"

    def open(self, check_id: str, department: str) -> tuple[str, tuple[str, ...]]:
        """(category, hit list types) of a check this node issued to ``department``; InputError if not."""
        body, category, types, mac = check_id_parts(check_id)
        if not hmac.compare_digest(mac.encode(), self._mac(body, department).encode()):
            raise InputError(
                f"check_id {check_id[:80]!r} was not issued by this node to department {department} [HALL-014]",
                hint="quote the check_id of the Check answer you act on",
            )
        return category, types


class Counters:
    """Checks and hits per (department, list type) in memory, flushed to the store by a job
    (a write per check would cap the check rate at the disk's)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._d: dict[tuple[str, str], list[int]] = {}

    def count(self, department: str, hit_types: tuple[str, ...]) -> None:
        self.count_many([(department, hit_types)])

    def count_many(self, checks: Iterable[tuple[str, tuple[str, ...]]]) -> None:
        with self._lock:
            for department, hit_types in checks:
                c = self._d.setdefault((department, ""), [0, 0])
                c[0] += 1
                c[1] += 1 if hit_types else 0
                for lt in hit_types:
                    self._d.setdefault((department, lt), [0, 0])[1] += 1

    def add(self, deltas: Mapping[tuple[str, str], tuple[int, int]]) -> None:
        """Add counts taken elsewhere (another serving process's :meth:`take`)."""
        with self._lock:
            for k, (checks, hits) in deltas.items():
                c = self._d.setdefault(k, [0, 0])
                c[0] += checks
                c[1] += hits

    def take(self) -> dict[tuple[str, str], tuple[int, int]]:
        with self._lock:
            out, self._d = {k: (v[0], v[1]) for k, v in self._d.items()}, {}
        return out


def subject_question(kind: str, value: str, id_type: str, subject_key: bytes) -> Question:
    if kind == "person":
        return question("person", value, subject_key, id_type=id_type or "身份证")
    if kind in ("uscc", "registration_number"):
        return question(kind, value, subject_key)
    raise InputError(
        "subject: give uscc, registration_number or person [HALL-010]",
        hint='e.g. {"uscc": "91370100…"} or {"person": {"id_type": "身份证", "id_number": "…"}}',
    )


class Halls:
    def __init__(
        self,
        replica: ReplicaStore,
        store: HallStore,
        subject_key: bytes,
        *,
        measures: Callable[[], MeasuresCatalogue],
        region: str,
        max_age: timedelta,
        trust: Callable[[], TrustStore],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.replica, self.store, self.key, self.measures = replica, store, subject_key, measures
        self.region, self.max_age, self.trust, self.clock = region, max_age, trust, clock
        self.ids = CheckIds(subject_key)
        self.counters = Counters()
        self.plans = Plans()

    def _department(self, caller: Caller, asked: str) -> str:
        if asked and asked != caller.department:
            raise PermissionError(f"department {asked!r} is not the caller's ({caller.department}) [HALL-011]")
        return caller.department

    def check(
        self,
        caller: Caller,
        q: Question,
        *,
        matter: str = "",
        department: str = "",
        list_types: frozenset[str] = frozenset(),
    ) -> HallAnswer:
        return self.check_many(caller, [Ask(q, matter, department, list_types)])[0]

    def check_many(self, caller: Caller, asks: Sequence[Ask]) -> list[HallAnswer]:
        """HALL-010/020: the answers to ``asks`` in order, from ONE read of the replica (its
        state and every subject's entries in one read transaction) and one read of the own
        records; each ask's department is checked (HALL-011) before anything is read."""
        depts = [self._department(caller, a.department) for a in asks]
        cat = self.measures()
        categories = [cat.category_of(a.matter) if a.matter else "" for a in asks]
        keys = [a.q.key for a in asks]
        st, found = self.replica.read_many(keys)
        own = self.store.own_records_many(keys)
        now = self.clock()
        out: list[HallAnswer] = []
        hits: list[tuple[str, tuple[str, ...]]] = []
        for a, dept, category in zip(asks, depts, categories, strict=True):
            base = answer(st, found.get(a.q.key, ()), list_types=a.list_types, now=now, max_age=self.max_age)
            hit = tuple(sorted({e.list_type for e in base.memberships}))
            measures, incentives = self.plans.applied(cat, category, dept, hit) if hit else ((), ())
            hits.append((dept, hit))
            out.append(
                HallAnswer(
                    base,
                    measures,
                    incentives,
                    tuple(own.get(a.q.key, ())),
                    cat.version,
                    self.ids.make(now, dept, category, hit),
                    a.q.shown,
                )
            )
        self.counters.count_many(hits)
        return out

    def report(self, caller: Caller, env: Envelope, cert_der: bytes) -> tuple[str, bool]:
        """HALL-030: verify and keep a signed action report; (report_id, duplicate)."""
        try:
            who = verify(cert_der, self.trust(), at=self.clock(), roles=(DEPARTMENT,))
        except IdentityError as exc:
            raise PermissionError(f"action report certificate: {exc.message} [HALL-030]") from None
        if who.region != self.region:
            raise PermissionError(
                f"action report certificate is for region {who.region}, this node is {self.region} [HALL-030]"
            )
        try:
            verify_envelope(
                env,
                lambda kid: who.certificate.public_key() if kid == who.key_id else None,
                expected_type=ACTION_PAYLOAD_TYPE,
                max_payload=MAX_ACTION_PAYLOAD,
            )
        except SignatureError as exc:
            raise InputError(
                f"action report: {exc.message} [HALL-030]",
                hint="sign the canonical payload with the department certificate's key",
            ) from None
        facts = parse_action(env.payload)
        if department_of(who) != facts["department"] or caller.department != facts["department"]:
            raise PermissionError(
                f"action report for department {facts['department']!r} signed by "
                f"{who.name!r} and sent by {caller.department!r} [HALL-030]"
            )
        _category, hit = self.ids.open(facts["check_id"], facts["department"])
        measure = self.measures().measure(facts["measure_id"])
        if measure is None or not (measure.list_types & set(hit)):
            raise InputError(
                f"measure_id {facts['measure_id']!r} is not triggered by the check's list types {list(hit)} [HALL-030]",
                hint="report on a measure the Check answer listed",
            )
        fresh = self.store.keep_action(
            facts["report_id"],
            facts["department"],
            facts["check_id"],
            facts["action"],
            measure.id,
            sorted(measure.list_types & set(hit)),
            env.to_json(),
            who.certificate.public_bytes(Encoding.DER),
        )
        return facts["report_id"], not fresh


def entry_view(e: ListEntry) -> dict[str, object]:
    """A list entry as the HTTP API answers it (never an unmasked ID number: entries hold none)."""
    return {
        "entry_id": e.entry_id,
        "list_type": e.list_type,
        "colour": e.colour,
        "subject_name": e.subject_name,
        "subject_uscc": e.subject_uscc,
        "subject_id_masked": e.subject_id_masked,
        "state": e.state.value,
        "listed_on": e.listed_on.isoformat() if e.listed_on else "",
        "period_end": e.period_end.isoformat() if e.period_end else "",
        "authority": e.authority,
        "basis": e.basis,
        "basis_number": e.basis_number,
        "measures_text": e.measures,
    }


def load_departments(code: str) -> str:
    """InputError unless ``code`` is a department of the measures list shipped with the standard."""
    from creditx.standard.measures import load_measures

    known = load_measures().departments
    if code not in known:
        raise InputError(
            f"department {code!r} is not in the measures list [HALL-011]",
            hint="use one of " + ", ".join(f"{k} ({v})" for k, v in known.items()),
        )
    return code
