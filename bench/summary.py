"""The performance summary: one run of the headline benchmarks, held against the project's aims.

    python bench/summary.py [--quick] [--only ingest,store,bootstrap,check,propagation] [--write]

Runs each benchmark as a child process with ``--json``, one after another (two at once would
measure each other), with the load average before and after each, and prints a table: the aim,
the figure measured, the bound or limit of the same run and the ratio, met or not. ``--write``
replaces the table in README.md (between the ``perf-summary`` markers), so the README's summary
is always the output of a run and names the command and the date. ``--quick`` uses small sizes
(minutes, not an hour); the table says which sizes were run. The raw JSON of every benchmark goes
to ``--raw FILE`` for the detailed tables; ``--from-raw FILE`` makes the table again from such a
file without running anything.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- perf-summary:begin -->", "<!-- perf-summary:end -->"

Row = tuple[str, str, str, bool | None]  # aim, measured, bound / ratio, met


@dataclass(frozen=True)
class Bench:
    name: str
    full: list[str]
    quick: list[str]
    rows: Callable[[dict], list[Row]]


def _ingest(r: dict) -> list[Row]:
    runs, out = r["runs"], []
    batch = runs.get("batch, audit on")
    if batch:
        cpu = batch["gateway_cpu_us"]
        out.append(
            (
                "gateway CPU per record, batch suite, audit on: ≤ 80 µs",
                f"{cpu:.0f} µs (main {batch['main_cpu_us']:.0f}, workers {batch['workers_cpu_us']:.0f})",
                f"{cpu / 80:.2f} × the budget",
                cpu <= 80,
            )
        )
        out.append(
            (
                "end to end, batch suite, audit on: ≥ 25,000 records/s (quiet machine)",
                f"{batch['rate']:,.0f} records/s",
                f"{batch['vs_bound_2core']:.2f} × its 2-core crypto bound",
                batch["rate"] >= 25_000,
            )
        )
    rec = runs.get("record, audit on")
    if rec:
        out.append(
            (
                "ECDSA per record, audit on: ≥ 0.7 × the 2-core verify bound",
                f"{rec['rate']:,.0f} records/s",
                f"{rec['vs_bound_2core']:.2f} × (verify {r['suite_bound_per_s_1core']['record']:,.0f}/s a core)",
                rec["vs_bound_2core"] >= 0.7,
            )
        )
    return out


def _store(r: dict) -> list[Row]:
    out: list[Row] = []
    for engine, runs in (("SQLite", [r.get("sqlite")]), ("PostgreSQL", r.get("postgresql") or [])):
        for run in runs:
            if not run or len(run.get("curve", [])) < 2:
                continue
            curve = run["curve"]
            first, last = curve[0], curve[-1]
            cpu = lambda p: p["cpu_us"] + p.get("server_cpu_us", 0.0)  # noqa: E731
            ratio = cpu(last) / cpu(first)
            mid = [p for p in curve if p["stored"] == 1_000_000 and p is not last]
            since = f"; {cpu(last) / cpu(mid[0]):.2f} × the 1 M window" if mid else ""
            # the aim is up to 10 M stored records: a shorter run shows the curve, it cannot meet it
            whole = last["stored"] >= 10_000_000
            short = "" if whole else f"; this run to {last['stored']:,}"
            out.append(
                (
                    f"store cost flat within 20 % to 10 M records ({engine}, {r.get('keys', 'random')} keys{short})",
                    f"CPU {cpu(first):.0f} µs at {first['stored']:,} → {cpu(last):.0f} µs at {last['stored']:,}",
                    f"{ratio:.2f} ×{since}; bytes {last['bytes_per_record'] / first['bytes_per_record']:.2f} ×",
                    (ratio <= 1.2) if whole else None,
                )
            )
    return out


def _bootstrap(r: dict) -> list[Row]:
    s = r["snapshot"]
    return [
        (
            f"snapshot bootstrap of 2.6 M entries: < 60 s (the run: {s['entries']:,})",
            f"{s['bootstrap_s']:.1f} s ({s['entries_per_s']:,.0f} entries/s: 2.6 M in"
            f" {2_600_000 / s['entries_per_s']:.0f} s)",
            f"{s['bootstrap_vs_raw_insert']:.2f} × the raw bulk load of the same run (aim ≤ 1.5 ×)",
            s["bootstrap_s"] * 2_600_000 / s["entries"] < 60 and s["bootstrap_vs_raw_insert"] <= 1.5,
        )
    ]


def _check(r: dict) -> list[Row]:
    out: list[Row] = []
    runs = r["runs"]
    if not runs:
        return out
    best = max(runs.items(), key=lambda kv: kv[1]["subjects_per_s"])
    name, b = best
    out.append(
        (
            f"hall check on {r['entries']:,} entries, {r['callers']} callers: ≥ 5,000 subjects/s",
            f"{b['subjects_per_s']:,.0f} subjects/s ({name})",
            f"{b['subjects_vs_sqlite']:.2f} × the SQLite lookup of the same run",
            b["subjects_per_s"] >= 5_000,
        )
    )
    for name, run in runs.items():
        if run.get("p99_ms") is None or "open 5000/s" not in name:  # the aim's offered load
            continue
        out.append(
            (
                "hall check p99 < 2 ms",
                f"p99 {run['p99_ms']:.2f} ms, {run['subjects_per_s']:,.0f} subjects/s ({name})",
                f"server {run['server_cpu_us_per_call']:.0f} µs a call",
                run["p99_ms"] < 2 and run["subjects_per_s"] >= 5_000,
            )
        )
    return out


def _propagation(r: dict) -> list[Row]:
    return [
        (
            f"propagation to {r['followers']} followers at 1,000 changes/s: p99 < 250 ms",
            f"p99 {r['p99_ms']:.0f} ms, p50 {r['p50_ms']:.0f} ms; {r['deliveries']:,} of {r['expected_deliveries']:,}"
            f" delivered; pushed at {r['push_rate_per_s']:,.0f}/s",
            f"gateway {r['gateway_cpu_us_per_delivery']:.1f} µs a delivery",
            r["p99_ms"] < 250 and r["deliveries"] == r["expected_deliveries"] and r["push_rate_per_s"] >= 950,
        )
    ]


BENCHES = [
    Bench("ingest", ["bench/ingest.py", "--records", "20000"], ["bench/ingest.py", "--records", "5000"], _ingest),
    Bench(
        "store",
        ["bench/store_growth.py", "--engine", "sqlite", "--max-records", "1000000", "--keys", "realistic"],
        ["bench/store_growth.py", "--engine", "sqlite", "--max-records", "100000", "--keys", "realistic"],
        _store,
    ),
    Bench(
        "bootstrap",
        # 2.6 M entries make a 15.5 GB gateway fixture; 1 M is timed and the aim scaled to it
        ["bench/distribute.py", "--snapshot-only", "--snapshot-entries", "1000000", "--checks", "500"],
        ["bench/distribute.py", "--snapshot-only", "--snapshot-entries", "200000", "--checks", "200"],
        _bootstrap,
    ),
    Bench(
        "check",
        ["bench/check_hall.py", "--entries", "2600000", "--seconds", "8"],
        ["bench/check_hall.py", "--entries", "100000", "--seconds", "4"],
        _check,
    ),
    Bench(
        "propagation",
        ["bench/propagation.py", "--followers", "150", "--rate", "1000", "--seconds", "10"],
        ["bench/propagation.py", "--followers", "40", "--rate", "1000", "--seconds", "5"],
        _propagation,
    ),
]


def run(bench: Bench, quick: bool) -> tuple[dict, list[str], tuple[float, float]]:
    argv = (bench.quick if quick else bench.full) + ["--json"]
    load0 = os.getloadavg()[0]
    t = time.monotonic()
    print(f"{bench.name}: python {' '.join(argv)} …", file=sys.stderr, flush=True)
    done = subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{bench.name} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    print(f"  {time.monotonic() - t:.0f} s", file=sys.stderr, flush=True)
    return json.loads(done.stdout), argv[:-1], (load0, os.getloadavg()[0])


def table(results: list[tuple[Bench, dict, list[str], tuple[float, float]]], quick: bool) -> str:
    lines = [
        f"Run of {dt.date.today().isoformat()} on {os.cpu_count()} CPUs: "
        f"`python bench/summary.py{' --quick' if quick else ''} --write`.",
        "",
        "| aim | measured | bound of the same run | met | load | command |",
        "|---|---|---|---|---|---|",
    ]
    for bench, res, argv, (l0, l1) in results:
        for aim, figure, bound, met in bench.rows(res):
            mark = "—" if met is None else ("yes" if met else "**no**")
            lines.append(f"| {aim} | {figure} | {bound} | {mark} | {l0:.1f} → {l1:.1f} | `{' '.join(argv)}` |")
    return "\n".join(lines)


def write_readme(text: str, readme: Path = ROOT / "README.md") -> None:
    body = readme.read_text()
    if BEGIN not in body or END not in body:
        raise SystemExit(f"{readme.name} has no {BEGIN} … {END} block to replace")
    head, rest = body.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (minutes); the table names them")
    ap.add_argument("--only", default="", help="comma-separated: " + ",".join(b.name for b in BENCHES))
    ap.add_argument("--write", action="store_true", help="replace the summary table in README.md")
    ap.add_argument("--raw", type=Path, help="write every benchmark's JSON (with its command and load) to this file")
    ap.add_argument("--from-raw", type=Path, help="make the table from a --raw file of an earlier run, running nothing")
    args = ap.parse_args(argv)
    names = [n for n in args.only.split(",") if n]
    unknown = set(names) - {b.name for b in BENCHES}
    if unknown:
        print(
            f"--only: unknown {', '.join(sorted(unknown))}; use {', '.join(b.name for b in BENCHES)}", file=sys.stderr
        )
        return 2
    chosen = [b for b in BENCHES if not names or b.name in names]
    if args.from_raw:
        by_name = {b.name: b for b in chosen}
        try:
            saved = json.loads(args.from_raw.read_text())
            results = [(by_name[n], v["result"], v["argv"], tuple(v["load"])) for n, v in saved.items() if n in by_name]
        except (OSError, ValueError) as exc:
            print(f"--from-raw {args.from_raw}: {exc}", file=sys.stderr)
            return 2
        except (KeyError, TypeError, AttributeError):
            print(
                f"--from-raw {args.from_raw}: not a --raw file of this script (each benchmark's "
                '{"result", "argv", "load"}); run the benchmarks again with --raw',
                file=sys.stderr,
            )
            return 2
    else:
        results = [(b, *run(b, args.quick)) for b in chosen]
    text = table(results, args.quick)
    print(text)
    if args.raw:
        raw = {b.name: {"result": r, "argv": argv, "load": load} for b, r, argv, load in results}
        args.raw.write_text(json.dumps(raw, indent=2))
    if args.write:
        write_readme(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
