"""What the demo does with its working directory when it ends: it says how big it is, and
keeps it or removes it — as asked (``--keep`` / ``--clean``), by asking on a terminal, and
otherwise keeping a directory the user named and removing a temporary one."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path


def tree_bytes(path: Path) -> int:
    """Bytes on disk under ``path`` (files only, symlinks not followed)."""
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except FileNotFoundError:
                pass
    return total


def human(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} B"


def decide_keep(
    *, keep: bool, clean: bool, named: bool, interactive: bool, ask: Callable[[str], str], prompt: str
) -> bool:
    """True to keep the directory. Flags win; a terminal is asked (empty answer: the default);
    the default keeps a directory the user named (--dir) and removes a temporary one."""
    if keep or clean:
        return keep
    if interactive:
        answer = ask(prompt).strip().lower()
        if answer in ("k", "keep", "y", "yes"):
            return True
        if answer in ("c", "clean", "n", "no", "d", "delete"):
            return False
    return named


def finish(
    base: Path,
    *,
    keep: bool,
    clean: bool,
    named: bool,
    interactive: bool,
    say: Callable[[str], None] = lambda s: print(s, file=sys.stderr),
) -> dict:
    """Apply the decision; return ``{"dir", "bytes", "kept"}`` for the report."""
    size = tree_bytes(base)
    default = "keep" if named else "clean"
    kept = decide_keep(
        keep=keep,
        clean=clean,
        named=named,
        interactive=interactive,
        ask=input,
        prompt=f"The demo's directory {base} holds {human(size)}. Keep it or clean it up? "
        f"[keep/clean, default {default}] ",
    )
    if kept:
        say(f"kept {base} ({human(size)}); remove it with: rm -r {base}")
    else:
        shutil.rmtree(base, ignore_errors=True)
        say(f"removed {base} ({human(size)}); pass --keep (or --dir DIR) to keep the province's files")
    return {"dir": str(base), "bytes": size, "kept": kept}
