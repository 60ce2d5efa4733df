"""Hall check benchmark: Check over the network with concurrent callers, gRPC and HTTPS apart,
beside the same query straight on SQLite in the same run.

    python bench/check_hall.py [--entries 100000] [--callers 32] [--seconds 10] [--procs 4] [--json]
    python bench/check_hall.py --entries 2600000          # the province's full list size

A real node process (``creditx node run``, its hall API on loopback, mutual TLS from
creditx.pki.testing.make_pki and a department certificate) serves a replica of ``--entries``
list entries written straight into its SQLite (a template entry cloned with fresh entry ids and
valid USCCs; the store's own body encoding). The node's gateway is unreachable: the hall answers
from the replica regardless (and says it is stale). ``--callers`` concurrent callers, spread over
``--procs`` client processes, each check a random subject (a tenth listed) for a matter, for
``--seconds`` per interface. Reported: p50, p99, checks/s for gRPC and for HTTPS; and the bound
measured in the same run: the replica's own lookup (the same two-table query) on SQLite, one
thread, p50/p99 and queries/s, and the ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from creditx.standard.identifiers import org_code_check_char, uscc_check_char  # noqa: E402

if TYPE_CHECKING:
    from creditx.pki.issue import DepartmentCredentials

MATTER = "ZFCG-GYS-001"


def uscc(n: int) -> str:
    org = f"{n:08d}"
    body = "91370100" + org + org_code_check_char(org)
    return body + uscc_check_char(body)


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else 0.0


def build_node(root: Path, entries: int, log=print) -> tuple[Path, DepartmentCredentials]:
    """A node directory with a replica of ``entries`` entries (every tenth USCC is listed)."""
    from creditx.demo.procs import run_creditx
    from creditx.node.replica.store import _body
    from creditx.node.store import NodeStore
    from creditx.pki.issue import issue_department, issue_node_tls
    from creditx.pki.testing import make_pki
    from creditx.standard.lists.lifecycle import ListEntry, State

    now = dt.datetime.now(dt.UTC)
    pki = make_pki(root / "pki", days=2)
    assert pki.ca is not None
    dept = issue_department(pki.ca, name="CZ", region="370100", at=now, out=root / "dept")
    issue_node_tls(pki.ca, region="370100", name="bench", at=now, out=root / "hall-tls")
    node = root / "node"
    run_creditx(
        "node",
        "init",
        "--dir",
        str(node),
        "--region",
        "370100",
        "--gateway",
        "127.0.0.1:9",
        "--certs",
        str(pki.nodes["370100"].dir),
    )
    for f in ("hall-tls.crt", "hall-tls.key"):
        shutil.copy(root / "hall-tls" / f, node / f)
    cfg = json.loads((node / "node.json").read_text())
    cfg["halls"] = {
        "grpc_listen": "127.0.0.1:0",
        "http_listen": "127.0.0.1:0",
        "rate_per_s": 1e9,
        "burst": 1e9,
        "workers": 32,
    }
    cfg["limits"].update(backoff_base_s=30.0, backoff_cap_s=300.0)
    (node / "node.json").write_text(json.dumps(cfg))
    template = ListEntry(
        "",
        "SXBZXR",
        "black",
        "济南某某商贸有限公司",
        "法人及非法人组织",
        "",
        "",
        dt.date(2025, 3, 1),
        dt.date(2025, 3, 1),
        None,
        "有履行能力而拒不履行",
        "《最高人民法院关于公布失信被执行人名单信息的若干规定》",
        "执行决定书",
        "(2025)鲁0102执1号",
        "济南市历下区人民法院",
        "11370000004265891L",
        "",
        State.LISTED,
        None,
        "",
        "",
        1,
        b"\x01" * 32,
        "370100",
    )
    base = json.loads(_body(template))
    store = NodeStore(node / "node.db")
    t0 = time.perf_counter()
    batch = 50_000
    for start in range(0, entries, batch):
        rows, subjects = [], []
        for i in range(start, min(entries, start + batch)):
            u = uscc(i * 10)
            eid = f"LIST|SXBZXR|11370000004265891L|B{i}|{u}"
            rows.append(
                (
                    eid,
                    "SXBZXR",
                    "LISTED",
                    i + 1,
                    json.dumps({**base, "entry_id": eid, "subject_uscc": u}, ensure_ascii=False),
                )
            )
            subjects.append(("U:" + u, eid))
        with store.transaction():
            store.conn.executemany("INSERT INTO replica_entries VALUES (?,?,?,?,?)", rows)
            store.conn.executemany("INSERT INTO replica_subjects VALUES (?,?)", subjects)
        log(f"replica: {min(entries, start + batch):,} / {entries:,} entries")
    with store.transaction():
        store.conn.executemany(
            "INSERT OR REPLACE INTO replica_meta(key, value) VALUES (?, ?)",
            [("applied", json.dumps(entries)), ("changes_from", json.dumps(entries))],
        )
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    log(f"replica built in {time.perf_counter() - t0:.1f} s")
    return node, dept


def sqlite_bound(node: Path, entries: int, seconds: float) -> dict:
    """The replica's lookup straight on SQLite, one thread: the bound for one check."""
    conn = sqlite3.connect(f"file:{node / 'node.db'}?mode=ro", uri=True)
    rng = random.Random(1)
    lat, deadline = [], time.perf_counter() + seconds
    q = "SELECT e.body FROM replica_subjects s JOIN replica_entries e ON e.entry_id = s.entry_id WHERE s.subject = ?"
    while time.perf_counter() < deadline:
        key = "U:" + uscc(rng.randrange(entries * 10))
        t = time.perf_counter()
        conn.execute(q, (key,)).fetchall()
        lat.append(time.perf_counter() - t)
    conn.close()
    return {
        "p50_ms": pct(lat, 0.5) * 1e3,
        "p99_ms": pct(lat, 0.99) * 1e3,
        "per_s": len(lat) / seconds,
        "queries": len(lat),
    }


def _caller_proc(
    kind: str, target: str, dept: dict, entries: int, threads: int, seconds: float, seed: int, out
) -> None:
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def run(k: int) -> None:
        rng = random.Random(seed * 1000 + k)
        mine: list[float] = []
        if kind == "grpc":
            import grpc

            from creditx.pki.tls import channel_credentials
            from creditx.v1 import lists_pb2 as pb
            from creditx.v1 import lists_pb2_grpc as pb_grpc

            stub = pb_grpc.DepartmentsStub(
                grpc.secure_channel(
                    target,
                    channel_credentials(Path(dept["ca"]), Path(dept["cert"]), Path(dept["key"])),
                    options=[("grpc.use_local_subchannel_pool", 1)],
                )
            )

            def call(u: str) -> None:
                stub.Check(pb.CheckRequest(subject=pb.Subject(uscc=u), matter=MATTER), timeout=10)
        else:
            import http.client
            import ssl

            ctx = ssl.create_default_context(cafile=dept["ca"])
            ctx.load_cert_chain(dept["cert"], dept["key"])
            host, port = target.rsplit(":", 1)
            conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=10)

            def call(u: str) -> None:
                body = json.dumps({"subject": {"uscc": u}, "matter": MATTER})
                conn.request("POST", "/v1/check", body, {"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                if r.status != 200:
                    raise RuntimeError(r.status)

        call(uscc(0))  # connect and warm up
        start.wait()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            n = rng.randrange(entries * 10)
            u = uscc(n - n % 10 if rng.random() < 0.1 else n)  # a tenth listed
            t = time.perf_counter()
            try:
                call(u)
            except Exception:
                with lock:
                    errors[0] += 1
                continue
            mine.append(time.perf_counter() - t)
        with lock:
            lat.extend(mine)

    ts = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.put({"lat": lat, "errors": errors[0]})


def network(kind: str, target: str, dept: dict, entries: int, callers: int, procs: int, seconds: float) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    per = [callers // procs + (1 if i < callers % procs else 0) for i in range(procs)]
    ps = [
        ctx.Process(target=_caller_proc, args=(kind, target, dept, entries, n, seconds, i, q))
        for i, n in enumerate(per)
        if n
    ]
    for p in ps:
        p.start()
    results = [q.get(timeout=seconds + 120) for _ in ps]
    for p in ps:
        p.join(30)
    lat = [x for r in results for x in r["lat"]]
    return {
        "p50_ms": pct(lat, 0.5) * 1e3,
        "p99_ms": pct(lat, 0.99) * 1e3,
        "per_s": len(lat) / seconds,
        "checks": len(lat),
        "errors": sum(r["errors"] for r in results),
        "callers": callers,
        "mean_ms": statistics.fmean(lat) * 1e3 if lat else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--callers", type=int, default=32)
    ap.add_argument("--procs", type=int, default=4, help="client processes the callers are spread over")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    log = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.json else print
    from creditx.demo.procs import read_json_file, start_node

    with tempfile.TemporaryDirectory(prefix="creditx-bench-hall-") as tmp:
        node, dept = build_node(Path(tmp), args.entries, log)
        bound = sqlite_bound(node, args.entries, min(args.seconds, 5.0))
        child = start_node(node)
        try:
            child.wait_until(lambda: read_json_file(node / "halls.json") is not None, timeout=60, what="halls.json")
            ports = read_json_file(node / "halls.json")
            assert ports is not None
            d = {"ca": str(dept.ca), "cert": str(dept.cert), "key": str(dept.key)}
            grpc_r = network(
                "grpc", f"127.0.0.1:{ports['grpc']}", d, args.entries, args.callers, args.procs, args.seconds
            )
            http_r = network(
                "http", f"127.0.0.1:{ports['http']}", d, args.entries, args.callers, args.procs, args.seconds
            )
        finally:
            child.stop()
    for r in (grpc_r, http_r):
        r["p50_vs_sqlite"] = r["p50_ms"] / bound["p50_ms"] if bound["p50_ms"] else 0.0
        r["rate_vs_sqlite"] = r["per_s"] / bound["per_s"] if bound["per_s"] else 0.0
    out = {"entries": args.entries, "cpus": mp.cpu_count(), "sqlite": bound, "grpc": grpc_r, "http": http_r}
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"replica {args.entries:,} entries; {args.callers} callers in {args.procs} processes; {mp.cpu_count()} CPUs")
    print(f"{'':8}{'p50 ms':>9}{'p99 ms':>9}{'checks/s':>11}{'errors':>8}{'rate÷sqlite':>13}{'p50÷sqlite':>12}")
    print(f"{'sqlite':8}{bound['p50_ms']:9.3f}{bound['p99_ms']:9.3f}{bound['per_s']:11.0f}{0:8d}{1:13.3f}{1:12.1f}")
    for name, r in (("gRPC", grpc_r), ("HTTPS", http_r)):
        print(
            f"{name:8}{r['p50_ms']:9.3f}{r['p99_ms']:9.3f}{r['per_s']:11.0f}{r['errors']:8d}"
            f"{r['rate_vs_sqlite']:13.3f}{r['p50_vs_sqlite']:12.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
