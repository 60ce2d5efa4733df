"""``creditx standard …``: identifiers, file validation, synthetic data and the catalogue.

Thin shell over the pure modules (``identifiers``, ``catalogue``, ``validation``, ``tabular``,
``synth``): it reads arguments, calls them, and prints — human text by default, ``--json``
for scripts. Exit status (ADR 0012): 0 all good, 1 the command ran and found invalid
codes or rows, 2 a usage/input error with a hint (raised as ``InputError``).

The reading clock lives here and only here: ``--today`` (default: the local date) is passed
into the pure validation so a report can be reproduced.
"""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
import sys
from collections import Counter
from pathlib import Path

from creditx.cli.output import add_json_flag, format_table, print_json, progress
from creditx.standard.catalogue import load_catalogue
from creditx.standard.errors import InputError
from creditx.standard.identifiers import check_any
from creditx.standard.record import RECORD_TYPES
from creditx.standard.tabular import read_table
from creditx.standard.validation import Violation, validate_fields


def register(subparsers: argparse._SubParsersAction) -> None:
    std = subparsers.add_parser(
        "standard",
        help="the exchange standard: identifiers, records, test data",
        description="Check identifiers, validate template files, generate test data, print the record catalogue.",
    )
    sub = std.add_subparsers(dest="standard_command", required=True, metavar="SUBCOMMAND")

    p = sub.add_parser("check-id", help="check USCCs, organisation codes and citizen ID numbers")
    p.add_argument("codes", nargs="+", metavar="CODE")
    add_json_flag(p)
    p.set_defaults(func=cmd_check_id)

    p = sub.add_parser("validate", help="validate a CSV/XLSX/JSONL template file row by row")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument(
        "--type",
        default="auto",
        choices=["auto", *RECORD_TYPES],
        help="record type (default: detected from the header)",
    )
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        metavar="N",
        help="list at most N problems (the counts still cover every row)",
    )
    p.add_argument(
        "--today",
        type=_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="the date decisions may not be after (default: today)",
    )
    add_json_flag(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("generate", help="write realistic synthetic records for a city")
    p.add_argument("--city", required=True, help="region code, e.g. 370100")
    p.add_argument("--type", required=True, choices=list(RECORD_TYPES))
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--format", default="csv", choices=["csv", "xlsx", "jsonl"])
    p.add_argument("--invalid-share", type=float, default=0.0, help="share of broken rows, 0…1")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--run",
        default=None,
        metavar="TAG",
        help="tag in every source id (default: random per invocation, so files never collide; "
        "give one to regenerate the same ids)",
    )
    p.add_argument("--encoding", default="utf-8", choices=["utf-8", "gb18030"])
    p.add_argument("--today", type=_date, default=None, metavar="YYYY-MM-DD")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")
    add_json_flag(p)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("catalogue", help="print the record catalogue (fields, list types)")
    p.add_argument("--type", choices=list(RECORD_TYPES), default=None)
    add_json_flag(p)
    p.set_defaults(func=cmd_catalogue)

    p = sub.add_parser("verify-bundle", help="check an audit evidence bundle offline (AUD-050)")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--ca", type=Path, default=None, help="pin the provincial CA certificate (PEM)")
    add_json_flag(p)
    p.set_defaults(func=cmd_verify_bundle)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


# --- check-id -------------------------------------------------------------------------------


def cmd_check_id(args) -> int:
    today = dt.date.today()
    results = [check_any(code, today=today) for code in args.codes]
    if args.json:
        print_json(
            [
                {
                    k: v
                    for k, v in r.as_dict().items()
                    if k in ("code", "kind", "valid", "reason", "rule", "message", "warnings")
                }
                for r in results
            ]
        )
    else:
        print(
            format_table(
                [
                    (
                        r.code,
                        r.kind,
                        "valid" if r.valid else "INVALID",
                        r.rule,
                        r.reason,
                        r.message or "; ".join(r.warnings),
                    )
                    for r in results
                ],
                ["code", "kind", "verdict", "rule", "reason", "message"],
            )
        )
    return 0 if all(r.valid for r in results) else 1


# --- validate -------------------------------------------------------------------------------


def _row_problems(row, today: dt.date) -> list[Violation]:
    if "parse_error" in row.meta:
        return [
            Violation("", "", "REC-060", "ROW_UNREADABLE", row.meta["parse_error"], "write one JSON object per line")
        ]
    problems = validate_fields(row.record_type, row.fields, today=today)
    op = row.meta.get("op")
    if op is not None and op not in load_catalogue().operations.values:
        problems.append(
            Violation(
                "op",
                "操作标识",
                "REC-063",
                "OP_INVALID",
                f"operation flag {op!r} is not I, U or D",
                "write I (new), U (correction) or D (revocation)",
            )
        )
    problems.extend(row.meta.get("problems", ()))  # 2015-template values that cannot be mapped (REC-064)
    return problems


def cmd_validate(args) -> int:
    today = args.today or dt.date.today()
    total = valid = warnings = 0
    invalid_rows = 0
    errors: list[dict] = []
    by_rule: Counter[str] = Counter()
    advance = progress(None, f"validating {args.file.name}", enabled=not args.json)
    with read_table(args.file, args.type) as rows:
        record_type, encoding, unknown = rows.record_type, rows.encoding, rows.unknown_columns
        for row in rows:
            total += 1
            problems = _row_problems(row, today)
            row_errors = [v for v in problems if v.severity == "error"]
            warnings += len(problems) - len(row_errors)
            if row_errors:
                invalid_rows += 1
            else:
                valid += 1
            for v in problems:
                by_rule[v.rule] += 1
                if args.limit is None or len(errors) < args.limit:
                    errors.append({"row": row.row, **v.as_dict()})
            if total % 1000 == 0:
                advance(1000)
    report = {
        "file": str(args.file),
        "record_type": record_type,
        "encoding": encoding,
        "refused_sheets": [{"sheet": n, "reason": r} for n, r in getattr(rows, "refused_sheets", [])],
        "total": total,
        "valid": valid,
        "invalid": invalid_rows,
        "warnings": warnings,
        "unknown_columns": unknown,
        "errors": errors,
        "by_rule": dict(sorted(by_rule.items())),
    }
    if args.json:
        print_json(report)
    else:
        _print_validation(report)
    return 1 if invalid_rows else 0


def _print_validation(report: dict) -> None:
    for s in report["refused_sheets"]:
        print(f"sheet {s['sheet']!r} refused: {s['reason']}")
    if report["unknown_columns"]:
        print(
            f"columns not in the {report['record_type']} catalogue (kept, not imported): "
            + ", ".join(report["unknown_columns"])
        )
    if report["errors"]:
        print(
            format_table(
                [
                    (
                        e["row"],
                        e["severity"],
                        e["field"],
                        e["field_name"],
                        e["rule"],
                        e["reason"],
                        e["message"],
                        e["fix"],
                    )
                    for e in report["errors"]
                ],
                ["row", "severity", "field", "name", "rule", "reason", "message", "fix"],
            )
        )
        print()
    print(
        f"{report['file']}: {report['record_type']}, {report['total']} rows, {report['valid']} valid, "
        f"{report['invalid']} invalid, {report['warnings']} warnings"
    )
    for rule, n in report["by_rule"].items():
        print(f"  {rule}: {n}")


# --- generate -------------------------------------------------------------------------------


def cmd_generate(args) -> int:
    from creditx.standard import synth

    if args.count < 0:
        raise InputError(f"--count {args.count} is negative", hint="ask for 0 or more rows")
    run = args.run if args.run is not None else secrets.token_hex(3)
    rows = synth.generate_rows(
        args.city,
        args.type,
        args.count,
        seed=args.seed,
        invalid_share=args.invalid_share,
        today=args.today or dt.date.today(),
        run=run,
    )
    with open(args.output, "wb") as out:  # the shell opens the file; standards only writes the stream
        written = synth.write_rows(out, rows, record_type=args.type, fmt=args.format, encoding=args.encoding)
    if args.json:
        print_json(
            {
                "file": str(args.output),
                "record_type": args.type,
                "rows": written,
                "format": args.format,
                "encoding": args.encoding,
                "run": run,
            }
        )
    else:
        print(
            f"wrote {written} {args.type} rows for {args.city} to {args.output} (source ids tagged seed {args.seed}, "
            f"run {run})"
        )
    return 0


# --- catalogue ------------------------------------------------------------------------------


def cmd_catalogue(args) -> int:
    cat = load_catalogue()
    if args.json:
        data = cat.as_dict()
        if args.type:
            data["record_types"] = {args.type: data["record_types"][args.type]}
        print_json(data)
        return 0
    print(f"creditx record catalogue {cat.version}")
    for code in [args.type] if args.type else list(cat.record_types):
        rt = cat.record_type(code)
        print(f"\n{rt.code} {rt.name_zh}")
        print(
            format_table(
                [
                    (
                        f.code,
                        f.name_zh,
                        f.kind,
                        f.max_length,
                        "required" if f.required else (f.condition or ""),
                        f.enumeration or "",
                    )
                    for f in rt.fields
                ],
                ["code", "name", "kind", "max", "required", "enumeration"],
            )
        )
    if not args.type or args.type == "LIST":
        print("\nlist types")
        print(
            format_table(
                [
                    (lt.code, lt.name_zh, lt.colour, lt.issuer, lt.term_months or "", lt.earliest_repair_months or "")
                    for lt in cat.list_types
                ],
                ["code", "name", "colour", "issuer", "term (months)", "repair after"],
            )
        )
    return 0


def cmd_verify_bundle(args) -> int:
    """AUD-050: exit 0 when the bundle verifies, 1 when it does not, naming the first bad index."""
    from creditx.standard.evidence import print_verdict, verify_bundle

    try:
        data = args.file.read_bytes()
        ca = args.ca.read_bytes() if args.ca else None
    except OSError as exc:
        raise InputError(f"cannot read {exc.filename}: {exc.strerror}", hint="check the path") from None
    verdict = verify_bundle(data, trusted_ca_pem=ca)
    verdict["ca_pinned"] = ca is not None
    if ca is None:  # the bundle vouches for itself: say so, every time
        print(
            "creditx: warning: no --ca given, nothing is pinned: the bundle was checked only against the CA it "
            "carries itself; pass --ca CA.pem (the provincial CA obtained out of band) to trust it",
            file=sys.stderr,
        )
    if args.json:
        print_json(verdict)
        return 0 if verdict["ok"] else 1
    return print_verdict(
        verdict,
        f"bundle OK: {verdict['origin']}, {verdict['leaves']} leaves, {verdict['checkpoints']} "
        f"checkpoints, {verdict['proofs_checked']} proofs verified" + ("" if ca else " (CA not pinned)"),
        "bundle",
    )
