"""Version chains as the store keeps them: one random-key index per record (SYNC-020 … SYNC-022), pure.

Both stores keep, per natural key, ``current_versions`` (natural_key → current version, its
record id, its content fingerprint ``fp`` and ``has_older``) and ``older_versions``
(natural_key, fp): every other stored content (accepted or superseded) of the key. Deduplication
and the current version are then ONE look-up by natural key, in one random-key index: a natural
key is built only from fields the content fingerprint covers (REC-FP-010 vs REC-FP-001), so two
payloads of equal content always have equal natural keys, and content stored under another key
cannot exist. ``older_versions`` is written only by supersession, and read only for a key that has
older versions and whose current content differs from the one asked about; a new key (the common
case) touches one page of one index.

This module holds the rules both engines share: what a batch writes (:func:`chain_rows`) and
how the look-up's rows answer the two questions of the pure rules (:func:`known`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from creditx.gateway.ingest.reasons import Outcome
from creditx.gateway.ingest.values import Decision

CONTENT = (Outcome.ACCEPTED, Outcome.SUPERSEDED)  # stored content: what SYNC-020 compares against


@dataclass
class ChainRows:
    # (natural_key, version, record_id, fp or None, has_older): the key's current version after the batch
    currents: list[tuple[str, int, int, bytes | None, int]] = field(default_factory=list)
    older: list[tuple[str, bytes]] = field(default_factory=list)  # stored content that is not current
    retire: list[str] = field(default_factory=list)  # keys whose stored current becomes an older version first
    flag: list[str] = field(default_factory=list)  # keys not made current here that now have older versions


def chain_rows(stored: Iterable[tuple[Decision, int]]) -> ChainRows:
    """The chain rows of one batch's stored decisions (with their record ids), in batch order.

    A key made current twice ends at the later decision; every other content decision of the
    key goes to ``older``; a key whose first decision here is not ``ACCEPTED`` existed before
    (SYNC-021: ACCEPTED means the key was not seen), so its stored current retires to
    ``older_versions`` before the new one replaces it."""
    first: dict[str, Decision] = {}
    last: dict[str, tuple[Decision, int]] = {}
    content: list[tuple[str, Decision]] = []
    for d, rid in stored:
        key = d.natural_key
        if not key:
            continue
        first.setdefault(key, d)
        if d.current:
            last[key] = (d, rid)
        if d.outcome in CONTENT:
            content.append((key, d))
    older = list(dict.fromkeys((k, d.fingerprint) for k, d in content if k not in last or last[k][0] is not d))
    retire = [k for k in last if first[k].outcome is not Outcome.ACCEPTED]
    with_older = {k for k, _ in older} | set(retire)
    currents = [
        (k, d.version, rid, d.fingerprint if d.outcome in CONTENT else None, int(k in with_older))
        for k, (d, rid) in last.items()
    ]
    return ChainRows(currents, older, retire, sorted(with_older - set(last)))


def probes(
    pairs: Sequence[tuple[str, bytes]], rows: dict[str, tuple[int, bytes | None, int]]
) -> list[tuple[str, bytes]]:
    """The (key, fp) pairs ``older_versions`` must answer: the key has older versions and its
    current content is another one. ``rows``: natural_key → (version, fp, has_older)."""
    return list(dict.fromkeys((k, fp) for k, fp in pairs if k in rows and rows[k][2] and rows[k][1] != fp))


def known(
    pairs: Sequence[tuple[str, bytes]],
    rows: dict[str, tuple[int, bytes | None, int]],
    older_hits: Iterable[bytes],
) -> tuple[set[bytes], dict[str, int]]:
    """(the fingerprints of ``pairs`` stored as content, the current version of each key that has
    one), from the keys' ``current_versions`` rows and the ``older_versions`` hits of :func:`probes`."""
    fps = {fp for k, fp in pairs if k in rows and rows[k][1] == fp} | set(older_hits)
    return fps, {k: r[0] for k, r in rows.items()}
