"""DIST-023: the expiry job runs only on a clock that its witnesses vouch for.

Expiry is the one list change the gateway makes from its own clock alone; a clock days ahead
would remove entries early, on every replica. Before it expires anything, the job compares the
gateway's clock with two kinds of witness:

* the newest signed checkpoint of its own logs (audit and list log): a clock that reads more
  than the tolerance *before* a time the gateway has already signed has gone backwards or was
  set wrong;
* the clocks of the nodes, sent in their heartbeats (``node_time_unix_ms``) and kept as offsets
  from the gateway's clock at the moment each arrived: the median offset of the nodes heard
  recently must be within the tolerance, and at least one node must have been heard.

Pure: the caller gathers the witnesses; this module decides.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ClockRefusal:
    reason: str  # CLOCK_BEHIND_CHECKPOINT, CLOCK_DISAGREES_WITH_NODES, CLOCK_UNWITNESSED
    message: str
    rule: str = "DIST-023"


def expiry_clock_refusal(
    now: datetime,
    *,
    latest_checkpoint: datetime | None,
    node_offsets_s: Mapping[str, float],
    tolerance_s: float,
) -> ClockRefusal | None:
    """None if ``now`` may be trusted for expiry, else why not. ``node_offsets_s`` maps a node to
    (node clock − gateway clock) in seconds, for the nodes heard recently."""
    stamp = now.isoformat(timespec="seconds")
    if latest_checkpoint is not None and (latest_checkpoint - now).total_seconds() > tolerance_s:
        return ClockRefusal(
            "CLOCK_BEHIND_CHECKPOINT",
            f"the gateway's clock reads {stamp}, {(latest_checkpoint - now).total_seconds():.0f} s before its own "
            f"latest signed checkpoint ({latest_checkpoint.isoformat(timespec='seconds')}): fix the clock (NTP)",
        )
    if not node_offsets_s:
        return ClockRefusal(
            "CLOCK_UNWITNESSED",
            f"no node's clock was heard recently to vouch for the gateway's clock ({stamp}): expiry waits "
            "until a node's heartbeat arrives",
        )
    median = statistics.median(node_offsets_s.values())
    if abs(median) > tolerance_s:
        side = "ahead of" if median < 0 else "behind"
        return ClockRefusal(
            "CLOCK_DISAGREES_WITH_NODES",
            f"the gateway's clock ({stamp}) is {abs(median):.0f} s {side} the median clock of "
            f"{len(node_offsets_s)} node(s), beyond list_expiry_clock_tolerance_s = {tolerance_s:.0f} s: "
            "fix the clock (NTP); expiry resumes by itself",
        )
    return None
