"""The ``creditx`` command: one dispatcher, sub-commands contributed per role.

Each role (``standard``, ``certs``, ``gateway``, ``node``, ``demo``) registers its
sub-command through the ``creditx.commands`` entry-point group (see pyproject.toml), so this
module imports none of them: the gateway and the node stay independent, and another vendor's
package can add commands of its own. A registrar is ``register(subparsers) -> None``; it adds
one top-level command whose parsers set ``func(args) -> int``.

Output conventions (DESIGN.md §9): human-readable by default, ``--json`` where a script would
read it, exit status 0 only on success, 1 when the command ran but found problems (invalid
rows, failed checks), 2 for errors the user can fix (with a hint).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from importlib.metadata import entry_points
from typing import Any

from standards.errors import CreditxError

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
            print(f"creditx: warning: the {ep.name!r} commands are unavailable: cannot load {ep.value}: "
                  f"{type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        registrar(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CreditxError as exc:
        print(f"creditx: error: {exc.diagnostics()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("creditx: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`creditx … | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    from standards.commands import add_standard_command

    add_standard_command(subparsers)


# --- small output helpers shared by every role's commands ----------------------------------


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def print_json(obj: Any, file=None) -> None:
    json.dump(obj, file or sys.stdout, ensure_ascii=False, indent=2, default=str)
    (file or sys.stdout).write("\n")


def format_table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> str:
    """A plain aligned text table; CJK characters count as two columns wide."""
    rows = [["" if v is None else str(v) for v in r] for r in rows]

    def width(s: str) -> int:
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)

    cols = [max([width(h)] + [width(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c + " " * (w - width(c)) for c, w in zip(cells, cols)).rstrip()

    out = [line(headers), line(["-" * w for w in cols])]
    out.extend(line(r) for r in rows)
    return "\n".join(out)


def progress(total: int | None, label: str, *, enabled: bool = True) -> Callable[[int], None]:
    """A progress line on stderr for long work (imports, snapshots); a no-op when disabled
    or when stderr is not a terminal. Returns ``advance(n)``."""
    if not enabled or not sys.stderr.isatty():
        return lambda n: None
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if total:
            pct = 100.0 * done / total
            sys.stderr.write(f"\r{label}: {done}/{total} ({pct:5.1f}%)")
        else:
            sys.stderr.write(f"\r{label}: {done}")
        if total and done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return advance


if __name__ == "__main__":
    sys.exit(main())
