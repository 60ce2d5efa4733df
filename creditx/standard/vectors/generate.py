"""Vector runner: ``python -m creditx.standard.vectors.generate [--check] [--out DIR]``.

Collects ``build(today) -> {filename: object}`` from the sibling generator modules that exist
(``gen_records``, ``gen_crypto``, ``gen_merkle``), with the fixed date :data:`TODAY`, and writes
each object as a file: ``.json`` as UTF-8 JSON (2-space indent, non-ASCII kept, trailing newline),
``.txt`` as the string itself. ``--check`` writes nothing and exits 1 listing every file that
differs, is missing, or is no longer produced. Invariants: output is a pure function of the
code (no clock, no randomness); two modules may not produce the same file name.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from creditx.standard.vectors import VECTOR_DIR

TODAY = dt.date(2026, 1, 1)
GENERATORS = ("gen_records", "gen_crypto", "gen_merkle", "gen_batch", "gen_lists", "gen_members")
SUFFIXES = (".json", ".txt")


class GeneratorError(Exception):
    """A generator module failed; names the module so its owner can be found."""


def available_generators() -> list[str]:
    """The generator modules of :data:`GENERATORS` that exist (others may not be written yet)."""
    pkg = __package__ or "creditx.standard.vectors"
    return [m for m in GENERATORS if importlib.util.find_spec(f"{pkg}.{m}") is not None]


def build_module(mod_name: str, today: dt.date = TODAY) -> dict[str, str]:
    """One generator module's files, name → exact text."""
    pkg = __package__ or "creditx.standard.vectors"
    try:
        objs = importlib.import_module(f"{pkg}.{mod_name}").build(today)
    except Exception as exc:
        raise GeneratorError(f"{mod_name}.build failed: {type(exc).__name__}: {exc}") from exc
    files = {}
    for name, obj in objs.items():
        if not name.endswith(SUFFIXES) or "/" in name:
            raise GeneratorError(f"{mod_name}: vector file name {name!r} must be a plain *.json or *.txt name")
        files[name] = render(name, obj)
    return files


def build_all(today: dt.date = TODAY) -> dict[str, str]:
    """Every vector file's name → exact text, from every generator module present."""
    files: dict[str, str] = {}
    owner: dict[str, str] = {}
    for mod_name in available_generators():
        for name, text in build_module(mod_name, today).items():
            if name in files:
                raise GeneratorError(f"vector file {name!r} is produced by both {owner[name]} and {mod_name}")
            files[name] = text
            owner[name] = mod_name
    return files


def render(name: str, obj: Any) -> str:
    if name.endswith(".txt"):
        if not isinstance(obj, str):
            raise TypeError(f"{name}: a .txt vector must be a str")
        return obj
    return json.dumps(obj, ensure_ascii=False, indent=2) + "\n"


def write(out_dir: Path, files: dict[str, str]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in sorted(files.items()):
        (out_dir / name).write_bytes(text.encode("utf-8"))


def drift(out_dir: Path, files: dict[str, str]) -> list[str]:
    """Problems between ``files`` and what is in ``out_dir``; empty when they agree."""
    problems = []
    for name, text in sorted(files.items()):
        path = out_dir / name
        if not path.exists():
            problems.append(f"{name}: missing (run python -m creditx.standard.vectors.generate)")
        elif path.read_bytes() != text.encode("utf-8"):
            problems.append(f"{name}: differs from what the code generates")
    for path in sorted(out_dir.iterdir()) if out_dir.exists() else ():
        if path.suffix in SUFFIXES and path.name not in files:
            problems.append(f"{path.name}: no generator produces it any more (delete it or restore its generator)")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m creditx.standard.vectors.generate", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on drift")
    parser.add_argument("--out", type=Path, default=VECTOR_DIR, help="vector directory (default: the package's)")
    args = parser.parse_args(argv)
    try:
        files = build_all(TODAY)
    except GeneratorError as exc:
        print(f"vector generation failed: {exc}", file=sys.stderr)
        return 2
    if args.check:
        problems = drift(args.out, files)
        for p in problems:
            print(f"vector drift: {p}", file=sys.stderr)
        if not problems:
            print(f"{len(files)} vector files match the code")
        return 1 if problems else 0
    write(args.out, files)
    print(f"wrote {len(files)} vector files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
