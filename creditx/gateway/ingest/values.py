"""Domain values of ingest: what comes in, what a worker found, what was decided.

Wire types stop at the servicer (ADR 0003); these frozen dataclasses are what the rules and
the store see. Invariant: a :class:`Decision` with ``stored=False`` (a sequence gap, a replay)
leaves no row and no audit leaf; every other decision is one row and one leaf (SYNC-031).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from creditx.gateway.ingest.reasons import Outcome
from creditx.standard.record import Record


@dataclass(frozen=True)
class SignatureValue:
    keyid: str
    suite: str
    sig: bytes

    @classmethod
    def of(cls, keyid: str, suite: str, sig: bytes) -> SignatureValue:
        """The same value as the constructor, cheaper (see :meth:`IncomingRecord.of`)."""
        s = object.__new__(cls)
        s.__dict__.update(keyid=keyid, suite=suite, sig=sig)
        return s


@dataclass(frozen=True)
class IncomingRecord:
    """One ``SignedRecord`` of a pushed batch, payload bytes verbatim (SIG decision 1)."""

    source_seq: int
    payload_type: str
    payload: bytes
    signatures: tuple[SignatureValue, ...]

    @classmethod
    def of(
        cls, source_seq: int, payload_type: str, payload: bytes, signatures: tuple[SignatureValue, ...]
    ) -> IncomingRecord:
        """The same value as the constructor, without its four ``object.__setattr__`` calls (the
        servicer builds one per pushed record)."""
        r = object.__new__(cls)
        r.__dict__.update(source_seq=source_seq, payload_type=payload_type, payload=payload, signatures=signatures)
        return r

    @cached_property
    def payload_sha(self) -> bytes:
        """SHA-256 of the payload; computed once (triage, servicer and worker all need it, and it
        travels to the worker with the record)."""
        return hashlib.sha256(self.payload).digest()


@dataclass(frozen=True)
class Notice:
    """A finding that did not change a record's outcome (a ``RecordAck`` warning, since 1.1):
    a catalogue warning (REC-041) or a list-lifecycle refusal of an accepted LIST record (DIST-018)."""

    reason: str
    requirement: str
    field: str = ""
    message: str = ""


class Checked(NamedTuple):
    """What verify → authorise → decode → validate found for one record (worker output).

    ``reason`` empty means the record passed; then fingerprint, natural_key and version are set.
    A tuple, so that it crosses from a worker process as a plain tuple (:meth:`from_row`), not
    as a pickled object.
    """

    source_seq: int
    payload_sha: bytes
    reason: str = ""
    requirement: str = ""
    field: str = ""
    message: str = ""
    fingerprint: bytes = b""
    natural_key: str = ""
    version: int = 0
    record_type: str = ""
    region: str = ""
    op: str = ""
    keyid: str = ""
    # the decoded LIST record, for the list changes of the batch (DIST-010): decoded once, here
    list_record: Record | None = None
    warnings: tuple[Notice, ...] = ()  # catalogue warnings of a record that passed (REC-041)
    # facts the statistics count (creditx.gateway.stats), read by the worker that decoded the
    # record; None: not decoded (the statistics then read the stored payload)
    department: str | None = None
    decided_on: str | None = None

    @property
    def ok(self) -> bool:
        return not self.reason

    @classmethod
    def from_row(cls, row: tuple) -> Checked:
        """The Checked a worker sent as ``tuple(checked)``."""
        return cls._make(row)


@dataclass(frozen=True)
class Decision:
    """The gateway's answer for one record; becomes a ``RecordAck`` on the wire.

    It carries the :class:`Checked` it was decided on (for a seq settled without a check — a
    gap, a conflict, a replay — one holding only the payload SHA-256) and reads the record's
    facts from it; the verdict (reason, requirement, field, message) is the decision's own,
    which for a record that failed a check is that check's.
    """

    source_seq: int
    outcome: Outcome
    checked: Checked
    reason: str = ""
    requirement: str = ""
    field: str = ""
    message: str = ""
    current: bool = False  # becomes the current version of its natural key
    stored: bool = True  # False: gap or replay — no new row, no new audit leaf
    replay: bool = False
    log_index: int = -1  # set by the store at commit
    decided_at: str = ""  # the leaf's "at" (RFC 3339), set at commit; "" when not logged
    warnings: tuple[Notice, ...] = ()  # REC-041 and DIST-018 findings sent with the ack

    @property
    def payload_sha(self) -> bytes:
        return self.checked.payload_sha

    @property
    def fingerprint(self) -> bytes:
        return self.checked.fingerprint

    @property
    def natural_key(self) -> str:
        return self.checked.natural_key

    @property
    def version(self) -> int:
        return self.checked.version

    @property
    def record_type(self) -> str:
        return self.checked.record_type

    @property
    def region(self) -> str:
        return self.checked.region

    @property
    def op(self) -> str:
        return self.checked.op

    @property
    def keyid(self) -> str:
        return self.checked.keyid

    def with_log_index(self, idx: int) -> Decision:
        return self.but(log_index=idx)

    def but(self, **changes) -> Decision:
        """This decision with ``changes`` (names of its fields): a plain dict copy, ~20x cheaper
        than dataclasses.replace, which runs ``__init__`` again (two copies of each of a batch's
        decisions on the commit path)."""
        d = object.__new__(Decision)
        d.__dict__.update(self.__dict__)
        d.__dict__.update(changes)
        return d

    @property
    def logged(self) -> bool:
        """AUD-035: this decision has an audit leaf (``log_index`` names it)."""
        return self.log_index >= 0


def unchecked(source_seq: int, payload_sha: bytes = b"") -> Checked:
    """The :class:`Checked` of a seq decided without a check: only its payload's SHA-256."""
    return Checked(source_seq, payload_sha)


def rejected(
    seq: int,
    reason: str,
    requirement: str,
    message: str,
    *,
    field_code: str = "",
    payload_sha: bytes = b"",
    stored: bool = True,
) -> Decision:
    """A REJECTED decision of a seq that was not checked (kept with its reason, SYNC-031)."""
    return Decision(
        seq,
        Outcome.REJECTED,
        unchecked(seq, payload_sha),
        reason=reason,
        requirement=requirement,
        field=field_code,
        message=message,
        stored=stored,
    )


__all__ = ["Notice", "SignatureValue", "IncomingRecord", "Checked", "Decision", "rejected", "unchecked"]
