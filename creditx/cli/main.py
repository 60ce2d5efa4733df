"""The ``creditx`` command: one dispatcher, sub-commands contributed per role.

Each role (``standard``, ``certs``, ``gateway``, ``node``, ``demo``) registers its
sub-command through the ``creditx.commands`` entry-point group (see pyproject.toml), so this
module imports none of them: the gateway and the node stay independent, and another vendor's
package can add commands of its own. A registrar is ``register(subparsers) -> None``; it adds
one top-level command whose parsers set ``func(args) -> int``.

Output conventions (ADR 0012): human-readable by default, ``--json`` where a script would
read it, exit status 0 only on success, 1 when the command ran but found problems (invalid
rows, failed checks), 2 for errors the user can fix (with a hint).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from typing import Any

from creditx.standard.errors import CreditxError

ENTRY_POINT_GROUP = "creditx.commands"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="creditx",
        description="Federated exchange of public credit information between a province and its cities.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            registrar = ep.load()
        except Exception as exc:  # one broken plugin must not take the other roles' commands down
            print(
                f"creditx: warning: the {ep.name!r} commands are unavailable: cannot load {ep.value}: "
                f"{type(exc).__name__}: {exc}",
                file=sys.stderr,
            )
            continue
        registrar(sub)
    return parser


class _ReaderGone:
    """sys.stdout while a command runs: when the reader goes away (`creditx … | head`), later
    output is discarded instead of raising, so the command finishes its work and its exit
    status (1 when it found problems) is the one the shell sees, as with Unix tools."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.gone = False

    def _discard(self) -> None:
        self.gone = True
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), self._inner.fileno())
        except (OSError, ValueError):  # not a real file (captured by a test): drop writes instead
            pass

    def write(self, s: str) -> int:
        if self.gone:
            return len(s)
        try:
            return self._inner.write(s)
        except BrokenPipeError:
            self._discard()
            return len(s)

    def flush(self) -> None:
        if self.gone:
            return
        try:
            self._inner.flush()
        except BrokenPipeError:
            self._discard()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    saved = sys.stdout
    sys.stdout = _ReaderGone(saved)
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()
        return status
    except CreditxError as exc:
        print(f"creditx: error: {exc.diagnostics()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("creditx: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # a write that bypassed sys.stdout: stop quietly; the work is unfinished
        os.dup2(os.open(os.devnull, os.O_WRONLY), saved.fileno())
        return 1
    finally:
        sys.stdout = saved


if __name__ == "__main__":
    sys.exit(main())
