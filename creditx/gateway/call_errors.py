"""The one writer of call-level failures: a failure of a whole call becomes a gRPC status code,
its reason code in trailing metadata and the status details (SYNC-016,
:mod:`creditx.standard.call_status`). Every gateway servicer ends a failed call through
:func:`abort`.

UNAUTHENTICATED bad or revoked peer; PERMISSION_DENIED wrong role; INVALID_ARGUMENT malformed
batch or request; RESOURCE_EXHAUSTED batch or message too large; FAILED_PRECONDITION the
caller's state does not fit the log's (cursor ahead, snapshot gone); OUT_OF_RANGE, NOT_FOUND;
ABORTED another stream is open; UNAVAILABLE shutting down or not sealing. A bad *record* never
becomes a status: it is a REJECTED ack and the rest of the batch goes on.
"""

from __future__ import annotations

from typing import NoReturn

import grpc

from creditx.pki.identity import IdentityError
from creditx.standard.call_status import details, trailing

_CODES = {
    "UNAUTHENTICATED": grpc.StatusCode.UNAUTHENTICATED,
    "PERMISSION_DENIED": grpc.StatusCode.PERMISSION_DENIED,
    "INVALID_ARGUMENT": grpc.StatusCode.INVALID_ARGUMENT,
    "RESOURCE_EXHAUSTED": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "FAILED_PRECONDITION": grpc.StatusCode.FAILED_PRECONDITION,
    "OUT_OF_RANGE": grpc.StatusCode.OUT_OF_RANGE,
    "NOT_FOUND": grpc.StatusCode.NOT_FOUND,
    "UNAVAILABLE": grpc.StatusCode.UNAVAILABLE,
    "ABORTED": grpc.StatusCode.ABORTED,
}


class BatchError(Exception):
    """A failure of the whole call. ``status`` is a key of the table above; ``rule`` the
    requirement ID, ``hint`` what the caller can do (both optional)."""

    def __init__(
        self,
        status: str,
        reason: str,
        message: str,
        *,
        rule: str = "",
        hint: str = "",
        metadata: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(f"{reason}: {message}")
        if status not in _CODES:
            raise ValueError(f"no status {status!r} for call-level errors")
        self.status, self.reason, self.message, self.rule, self.hint = status, reason, message, rule, hint
        self.metadata = metadata  # more trailing metadata as data (a standby's creditx-writer)


def from_identity(exc: IdentityError) -> BatchError:
    status = "PERMISSION_DENIED" if exc.reason in ("CERT_WRONG_ROLE", "METHOD_NOT_ALLOWED") else "UNAUTHENTICATED"
    message = exc.message.removeprefix(f"{exc.reason} ({exc.rule}): ")
    return BatchError(status, exc.reason, message, rule=exc.rule, hint=exc.hint)


def abort(context: grpc.ServicerContext, err: BatchError) -> NoReturn:
    """Raise out of the handler with the mapped status, the reason code (and rule) in trailing
    metadata and ``REASON [RULE]: message; hint`` as the details."""
    context.set_trailing_metadata(trailing(err.reason, err.rule) + err.metadata)
    context.abort(_CODES[err.status], details(err.reason, err.message, rule=err.rule, hint=err.hint))
