"""Deduplication and version chains (SYNC-020 … SYNC-023), pure.

Given checked records in ``source_seq`` order and two lookups into what is stored, decide:

* failed a check → REJECTED with that reason, still stored (SYNC-031);
* its content fingerprint is already stored (accepted or superseded) → DUPLICATE (SYNC-020);
* its natural key is new → ACCEPTED, current (SYNC-021);
* newer version than the current one → SUPERSEDED, becomes current; the older stays stored in
  the chain (SYNC-021);
* older than the current one → SUPERSEDED with reason ``OLDER_THAN_STORED``, stored, not current
  (SYNC-022);
* same version, different content → REJECTED ``SYNC_VERSION_CONFLICT`` (SYNC-023).

Earlier records of the same batch count as stored (an overlay on the lookups), so the result
is the same whether two records arrive in one batch or in two.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from creditx.gateway.ingest.reasons import Outcome, fix_of, requirement_of
from creditx.gateway.ingest.values import Checked, Decision

FingerprintLookup = Callable[[bytes], bool]
CurrentLookup = Callable[[str], int | None]  # natural key -> current version


def _decision(c: Checked, outcome: Outcome, **kw) -> Decision:
    return Decision(c.source_seq, outcome, c, **kw)


def decide(checked: Iterable[Checked], fp_stored: FingerprintLookup, current_version: CurrentLookup) -> list[Decision]:
    seen_fp: set[bytes] = set()
    current: dict[str, int] = {}
    out: list[Decision] = []
    for c in checked:
        if not c.ok:
            out.append(
                _decision(
                    c, Outcome.REJECTED, reason=c.reason, requirement=c.requirement, field=c.field, message=c.message
                )
            )
            continue
        if c.fingerprint in seen_fp or fp_stored(c.fingerprint):
            out.append(
                _decision(
                    c,
                    Outcome.DUPLICATE,
                    requirement="SYNC-020",
                    message="same content already stored; nothing new stored",
                )
            )
            continue
        cur = current[c.natural_key] if c.natural_key in current else current_version(c.natural_key)
        if cur is None:
            d = _decision(c, Outcome.ACCEPTED, requirement="SYNC-021", current=True)
        elif c.version > cur:
            d = _decision(
                c,
                Outcome.SUPERSEDED,
                requirement="SYNC-021",
                current=True,
                message=f"version {c.version} supersedes version {cur}",
            )
        elif c.version < cur:
            d = _decision(
                c,
                Outcome.SUPERSEDED,
                reason="OLDER_THAN_STORED",
                requirement=requirement_of("OLDER_THAN_STORED"),
                message=f"version {c.version} is older than the current version {cur}; "
                f"stored in the chain, not current. {fix_of('OLDER_THAN_STORED')}",
            )
        else:
            out.append(
                _decision(
                    c,
                    Outcome.REJECTED,
                    reason="SYNC_VERSION_CONFLICT",
                    requirement=requirement_of("SYNC_VERSION_CONFLICT"),
                    message=f"version {c.version} of this record is already stored with "
                    f"different content; {fix_of('SYNC_VERSION_CONFLICT')}",
                )
            )
            continue
        seen_fp.add(c.fingerprint)
        if d.current:
            current[c.natural_key] = c.version
        elif c.natural_key not in current:
            current[c.natural_key] = cur  # type: ignore[assignment]
        out.append(d)
    return out
