"""The one time form of the standard (AUD-004, DIST-050): RFC 3339 §5.6, UTC, ``Z``, exactly
three fractional digits — e.g. ``2024-03-01T08:00:00.000Z``. Used in audit and list-log
leaves, signed checkpoints and every stored time stamp, so equal instants are equal strings."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(at: datetime) -> str:
    """``at`` (timezone-aware) as UTC with milliseconds and a ``Z`` suffix."""
    if at.tzinfo is None:
        raise ValueError("AUD-004: a time stamp must be timezone-aware")
    u = at.astimezone(UTC)
    return u.strftime("%Y-%m-%dT%H:%M:%S.") + f"{u.microsecond // 1000:03d}Z"
