"""Output helpers shared by every role's commands (human tables by default, ``--json`` for
scripts, progress on a terminal)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def print_json(obj: Any, file: TextIO | None = None) -> None:
    json.dump(obj, file or sys.stdout, ensure_ascii=False, indent=2, default=str)
    (file or sys.stdout).write("\n")


def format_table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> str:
    """A plain aligned text table; CJK characters count as two columns wide."""
    rows = [["" if v is None else str(v) for v in r] for r in rows]

    def width(s: str) -> int:
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)

    cols = [max([width(h)] + [width(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c + " " * (w - width(c)) for c, w in zip(cells, cols, strict=False)).rstrip()

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
