"""The one place where batch-level failures become gRPC status codes (DESIGN.md decision 10).

UNAUTHENTICATED bad or revoked peer; PERMISSION_DENIED wrong role; INVALID_ARGUMENT malformed
batch; RESOURCE_EXHAUSTED batch or message too large; UNAVAILABLE shutting down. A bad
*record* never becomes a status: it is a REJECTED ack and the rest of the batch goes on.
"""

from __future__ import annotations

import grpc

from creditx.pki.identity import IdentityError

_CODES = {
    "UNAUTHENTICATED": grpc.StatusCode.UNAUTHENTICATED,
    "PERMISSION_DENIED": grpc.StatusCode.PERMISSION_DENIED,
    "INVALID_ARGUMENT": grpc.StatusCode.INVALID_ARGUMENT,
    "RESOURCE_EXHAUSTED": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "UNAVAILABLE": grpc.StatusCode.UNAVAILABLE,
    "ABORTED": grpc.StatusCode.ABORTED,
}


class BatchError(Exception):
    """A failure of the whole call. ``status`` is a key of the table above."""

    def __init__(self, status: str, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.status, self.reason, self.message = status, reason, message


def from_identity(exc: IdentityError) -> BatchError:
    status = "PERMISSION_DENIED" if exc.reason == "CERT_WRONG_ROLE" else "UNAUTHENTICATED"
    return BatchError(status, exc.reason, f"{exc.diagnostics()} [{exc.rule}]")


def abort(context: grpc.ServicerContext, err: BatchError) -> None:
    """Raise out of the handler with the mapped status; details start with the reason code."""
    context.abort(_CODES[err.status], f"{err.reason}: {err.message}")
