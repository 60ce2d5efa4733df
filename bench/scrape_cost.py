"""Cost of the operator view / metrics scrape query (SqliteStore.nodes) as the store grows.

Prints, per store size, the time of one nodes() call with the partial index of rejected
records (gateway migration 6) and without it, and their ratio. Run:
    .venv/bin/python bench/scrape_cost.py [max_records]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from creditx.gateway.store.sqlite import SqliteStore


def _time(store: SqliteStore, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        store.nodes()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    top = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    sizes = [n for n in (10, 10_000, 100_000, 1_000_000, 10_000_000) if n <= top]
    print(f"{'records':>10} {'indexed ms':>11} {'scan ms':>9} {'ratio':>7}")
    for n in sizes:
        d = Path(tempfile.mkdtemp())
        store = SqliteStore(d / "g.db")
        c = store.conn
        c.execute("BEGIN")
        c.executemany(
            "INSERT INTO records (node, source_seq, outcome, reason) VALUES (?,?,?,?)",
            ((("370100", i, 4, "X") if i % 1000 == 0 else ("370100", i, 1, None)) for i in range(1, n + 1)),
        )
        c.execute("INSERT INTO nodes (region, name, committed_seq) VALUES ('370100', 'n', ?)", (n,))
        c.execute("COMMIT")
        indexed = _time(store)
        c.execute("DROP INDEX idx_records_rejected")
        scan = _time(store)
        print(f"{n:>10} {indexed * 1000:>11.2f} {scan * 1000:>9.2f} {scan / indexed:>7.1f}")
        store.close()


if __name__ == "__main__":
    main()
