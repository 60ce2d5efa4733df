"""Output helpers shared by every role's commands (human tables by default, ``--json`` for
scripts, progress on a terminal)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO

from creditx.standard.record import safe_text


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def print_json(obj: Any, file: TextIO | None = None) -> None:
    json.dump(obj, file or sys.stdout, ensure_ascii=False, indent=2, default=str)
    (file or sys.stdout).write("\n")


def format_table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> str:
    """A plain aligned text table; CJK characters count as two columns wide."""
    # Cells may quote peer data (a node's name): control characters and terminal escapes are
    # shown escaped, never written raw to the operator's terminal (SYNC-041).
    rows = [["" if v is None else safe_text(str(v), 1 << 16) for v in r] for r in rows]

    def width(s: str) -> int:
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)

    cols = [max([width(h)] + [width(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c + " " * (w - width(c)) for c, w in zip(cells, cols, strict=False)).rstrip()

    out = [line(headers), line(["-" * w for w in cols])]
    out.extend(line(r) for r in rows)
    return "\n".join(out)


class _Progress:
    """``advance(n)`` redraws one line on stderr: done/total, percentage and rate; ``finish()``
    ends the line, so what is printed next starts on its own line."""

    def __init__(self, total: int | None, label: str, stream: Any) -> None:
        import time

        self.total, self.label, self.stream, self.done, self._clock = total, label, stream, 0, time.monotonic
        self.started = self._clock()
        self._open = False

    def __call__(self, n: int) -> None:
        self.done += n
        rate = self.done / max(self._clock() - self.started, 1e-6)
        if self.total:
            shown = max(self.total, self.done)
            text = (
                f"{self.label}: {self.done:,}/{shown:,} rows ({100.0 * self.done / shown:5.1f} %), {rate:,.0f} rows/s"
            )
        else:
            text = f"{self.label}: {self.done:,} rows, {rate:,.0f} rows/s"
        self.stream.write("\r" + text + "\033[K")
        self.stream.flush()
        self._open = True

    def finish(self) -> None:
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False


def progress_line(total: int | None, label: str, *, enabled: bool = True) -> _Progress | _Silent:
    """Like :func:`progress`, with a rate, and a ``finish()`` to call before printing a summary."""
    if not enabled or not sys.stderr.isatty():
        return _Silent()
    return _Progress(total, label, sys.stderr)


class _Silent:
    def __call__(self, n: int) -> None:
        pass

    def finish(self) -> None:
        pass


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


_INT64 = {"TYPE_INT64", "TYPE_UINT64", "TYPE_SINT64", "TYPE_FIXED64", "TYPE_SFIXED64"}


def message_to_json(message: Any) -> dict[str, Any]:
    """A protobuf message as JSON-ready data: field names as in the .proto, fields at their
    defaults included, and 64-bit integers as JSON numbers (protobuf's JSON mapping writes
    them as strings, which scripts then have to convert; our counts stay far below 2**53)."""
    from google.protobuf.descriptor import FieldDescriptor
    from google.protobuf.json_format import MessageToDict

    kinds = {getattr(FieldDescriptor, k) for k in _INT64}

    def fix(msg: Any, data: dict[str, Any]) -> dict[str, Any]:
        for f in msg.DESCRIPTOR.fields:
            if f.name not in data:
                continue
            value = getattr(msg, f.name)
            repeated = f.is_repeated
            if f.type in kinds:
                data[f.name] = [int(v) for v in data[f.name]] if repeated else int(data[f.name])
            elif f.type == FieldDescriptor.TYPE_MESSAGE and not (f.message_type.GetOptions().map_entry):
                if repeated:
                    data[f.name] = [fix(m, d) for m, d in zip(value, data[f.name], strict=True)]
                else:
                    data[f.name] = fix(value, data[f.name])
        return data

    return fix(
        message, MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
    )
