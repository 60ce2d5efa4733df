"""The status detail of a call that fails as a whole (SYNC-016): pure, no gRPC.

A call-level failure (a refused peer, a malformed batch, a busy stream, an unsealed audit log, a
list cursor ahead of the log …) ends the gRPC call with a status code *and* a reason code.
Since standard 1.1 the reason code travels as data, in the call's trailing metadata:

* ``creditx-reason`` — the reason code (upper-case, ``[A-Z][A-Z0-9_]*``), always;
* ``creditx-rule`` — the requirement ID it enforces (e.g. ``SEC-040``), when there is one.

The status details stay text for people, in the v1.0 form ``REASON [RULE]: message; hint``
(`` [RULE]`` and ``; hint`` only when present), so a v1.0 peer that reads the leading word keeps
working. A receiver reads the reason with :func:`reason_from`: the metadata first, the leading
word of the details only when the metadata has none (a v1.0 gateway).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REASON_KEY = "creditx-reason"
RULE_KEY = "creditx-rule"
WRITER_KEY = "creditx-writer"  # SYNC-018: a standby's refusal names the writer's HOST:PORT
STANDBY_REASON = "GATEWAY_STANDBY"  # SYNC-018
_REASON = re.compile(r"[A-Z][A-Z0-9_]*")
_LEADING = re.compile(r"([A-Z][A-Z0-9_]*)(?=$|[ :\[(])")


def details(reason: str, message: str, *, rule: str = "", hint: str = "") -> str:
    """The human-readable status details: ``REASON [RULE]: message; hint``."""
    return f"{reason}{f' [{rule}]' if rule else ''}: {message}{f'; {hint}' if hint else ''}"


def trailing(reason: str, rule: str = "") -> tuple[tuple[str, str], ...]:
    """The trailing metadata that carries the reason code (and the rule) as data."""
    if not _REASON.fullmatch(reason):
        raise ValueError(f"SYNC-016: reason code {reason!r} is not upper-case A-Z, 0-9, _")
    return ((REASON_KEY, reason),) + (((RULE_KEY, rule),) if rule else ())


def reason_from(metadata: Iterable[tuple[str, str | bytes]] | None, details_text: str | None) -> str:
    """The reason code of a failed call: ``creditx-reason`` from the trailing metadata, else the
    leading code of the details (a v1.0 peer), else ""."""
    for key, value in metadata or ():
        if key == REASON_KEY:
            text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
            if _REASON.fullmatch(text):
                return text
    m = _LEADING.match(details_text or "")
    return m.group(1) if m else ""


def rule_from(metadata: Iterable[tuple[str, str | bytes]] | None) -> str:
    """The requirement ID of a failed call from ``creditx-rule`` ("" when none was sent)."""
    for key, value in metadata or ():
        if key == RULE_KEY:
            return value.decode("ascii", "replace") if isinstance(value, bytes) else value
    return ""


def writer_from(metadata: Iterable[tuple[str, str | bytes]] | None) -> str:
    """SYNC-018: the writer's address a standby named in its refusal ("" when none)."""
    for key, value in metadata or ():
        if key == WRITER_KEY:
            return value.decode("ascii", "replace") if isinstance(value, bytes) else value
    return ""
