"""What the maintained statistics cost the gateway's hot path: StatsHook.append (run inside
each batch's transaction) per record, beside two raw costs measured in the same run — parsing
the record payload with json.loads, and the one-line SQLite upsert of a counter.

    python bench/stats_hook.py --records 20000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from creditx.gateway import stats  # noqa: E402
from creditx.standard.record import Record, encode_record  # noqa: E402
from creditx.standard.synth import generate_rows  # noqa: E402


def best(fn, rounds: int = 3) -> float:
    out = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=20_000)
    n = p.parse_args(argv).records
    rows = generate_rows("370100", "XZCF", n, seed=1, today=dt.date.today(), invalid_share=0.05)
    payloads = [
        encode_record(Record("XZCF", r.op, "370100", r.source_id, r.version, i + 1, r.fields))
        for i, r in enumerate(rows)
    ]
    conn = sqlite3.connect(":memory:", isolation_level=None)
    stats.create_tables(conn)
    hook = stats.StatsHook()
    decided = [(1, "", "XZCF", "370100", pl) for pl in payloads]
    at = dt.datetime.now(dt.UTC).isoformat()

    def run_hook() -> None:
        for i in range(0, n, 500):
            hook.append(conn, "370100", decided[i : i + 500], at)

    def run_json() -> None:
        for pl in payloads:
            json.loads(pl)

    def run_upsert() -> None:
        for i in range(0, n, 500):
            conn.executemany(
                "INSERT INTO stats_reasons (department, reason, n) VALUES (?, ?, 1) "
                "ON CONFLICT (department, reason) DO UPDATE SET n = stats_reasons.n + 1",
                [("d", f"r{j % 50}") for j in range(i, min(i + 500, n))],
            )

    h, j, u = best(run_hook) / n * 1e6, best(run_json) / n * 1e6, best(run_upsert) / n * 1e6
    print(f"{n} records")
    print(f"raw json.loads of a payload:      {j:.1f} µs")
    print(f"raw SQLite counter upsert:        {u:.1f} µs")
    print(f"StatsHook.append per record:      {h:.1f} µs = {h / j:.2f} × a json.loads, {h / u:.1f} × an upsert")
    return 0


if __name__ == "__main__":
    sys.exit(main())
