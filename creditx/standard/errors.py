"""Error base classes, split by who is to blame (ADR 0012).

Every error the command line shows is a :class:`CreditxError`: it carries a message saying
what went wrong and a ``hint`` saying what to do about it. The CLI catches only this class;
anything else is our bug and is shown as a traceback.
"""

from __future__ import annotations


class CreditxError(Exception):
    """Something a user can act on. ``hint`` says what to do."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def diagnostics(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class InputError(CreditxError):
    """The caller's own input (a file, an argument, a configuration) is wrong."""


class RemoteError(CreditxError):
    """The peer (node or gateway) sent something that breaks the standard."""


class UnavailableError(CreditxError):
    """The peer cannot be reached now; trying again later may succeed. Nobody is to blame."""
