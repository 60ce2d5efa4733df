"""Reason codes and requirement IDs of the gateway's ingest decisions (creditx/standard/spec/05-sync.md).

One table, so that the spec, the acks and the tests name the same strings. A reason code says
which way a record broke a rule; the requirement ID says which rule (EXCHANGE-STANDARD.md §0).
"""

from __future__ import annotations

from enum import IntEnum


class Outcome(IntEnum):
    """Values equal the wire enum ``creditx.v1.Outcome`` (exchange.proto)."""

    ACCEPTED = 1
    DUPLICATE = 2
    SUPERSEDED = 3
    REJECTED = 4


# reason code -> (requirement ID, what the node should do)
REASONS: dict[str, tuple[str, str]] = {
    # sequence rules
    "SYNC_SEQ_GAP": ("SYNC-011", "resend from committed_seq + 1, in order"),
    "SYNC_SEQ_CONFLICT": ("SYNC-012", "a source_seq is never reused for other content; assign a new one"),
    "SYNC_SEQ_MISMATCH": ("SYNC-014", "sign the record with the same source_seq it is sent under"),
    # dedup / versions
    "OLDER_THAN_STORED": ("SYNC-022", "nothing to do: a newer version of this record is already current"),
    "SYNC_VERSION_CONFLICT": ("SYNC-023", "send a correction with a higher version number"),
    # signing certificate / envelope
    "SIG_UNKNOWN_KEY": ("SYNC-030", "present the signing certificate in the handshake"),
    # batch-signed suite (creditx.standard.batch)
    "SIG_BATCH_PROOF": ("SIG-044", "send the record's inclusion path in the batch's checkpoint, signed by its key"),
    "SYNC_CHECKPOINT_INVALID": ("SYNC-061", "sign the batch's checkpoint with the record-signing key"),
    "SYNC_CHECKPOINT_FORK": ("SYNC-062", "the node's outbox log was rewritten: an alarm, keep the evidence"),
    # authorisation: one rule, creditx.standard.registry.authorise (messages and fixes come from it)
    "SEC_REGION_MISMATCH": ("SEC-032", "a node sends records of its own region only (370000: province)"),
    "SEC_AUTHORITY_NOT_GRANTED": ("SEC-036", "send the record through the member granted its deciding body"),
    "SEC_MEMBER_MISMATCH": ("SEC-095", "sign with the signing certificate issued for this node's own member"),
    # list periods: creditx.standard.lists.periods
    "LIST_EARLY_REPAIR": ("SEC-045", "keep the entry listed until its earliest repair date"),
    "LIST_TERM_EXCEEDED": ("SEC-046", "correct 管理期限至 to the term the list allows"),
    "LIST_NOT_EXPIRED": ("SEC-047", "remove the entry as 期满 only after its period has ended"),
    # isolation: a record no rule names but no decoder can read (creditx.gateway.ingest.check.check_isolated)
    "REC_MALFORMED": ("SYNC-033", "re-create the record from its source data; the rest of the batch is decided"),
}


def requirement_of(reason: str, default: str = "") -> str:
    return REASONS.get(reason, (default, ""))[0]


def fix_of(reason: str) -> str:
    return REASONS.get(reason, ("", ""))[1]
