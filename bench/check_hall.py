"""Hall check benchmark: Check and CheckMany over the network with concurrent callers, gRPC and
HTTPS apart, beside the same query straight on SQLite in the same run.

    python bench/check_hall.py [--entries 100000] [--callers 32] [--seconds 10] [--rates 1000,2000,5000,8000]
                               [--open-batch 10] [--processes N] [--closed] [--python-http] [--json]
    python bench/check_hall.py --entries 2600000          # the province's full list size

A real node process (``creditx node run``, its hall API on loopback, mutual TLS from
creditx.pki.testing.make_pki and a department certificate; its hall ports served by
``--processes`` processes, default one per CPU, HALL-053) serves a replica of ``--entries``
list entries bulk-loaded straight into its SQLite (a template entry cloned with fresh entry ids
and valid USCCs, in key order, one transaction per 200k rows; not through a snapshot). The
node's gateway is unreachable: the hall answers from the replica regardless (and says it is
stale). ``--callers`` concurrent callers (Python, spread over ``--procs`` client processes)
each check random subjects (a tenth listed) for a matter, for ``--seconds`` per run:

* the headline, open loop: for each of ``--rates`` subjects/s offered, in CheckMany calls of
  ``--open-batch`` subjects, HTTPS then gRPC; each caller sends at its share of the rate and
  the latency counts from the scheduled send (no coordinated omission), so it shows where p99
  leaves the aim as the offered load rises;
* with ``--closed``, closed loop (each caller sends when answered): gRPC Check and CheckMany
  (``--batch`` subjects a call); HTTPS /v1/check and /v1/check-many from ``wrk`` (C, Debian
  package ``wrk``) with a token — wrk cannot present a client certificate — and HTTPS
  /v1/check from Python callers with the department certificate (``--python-http``).

Reported per run: per call p50/p99, calls/s and subjects/s; CPU of the node process and its
serving processes over the run (µs per call and per subject; the node's CPU while idle is
printed apart) and of the client processes; the load average; the bound measured in the same
run: the replica's own lookup (the one lookup function, creditx.node.replica.store.lookup) on
SQLite in one thread with as many subjects per query as the run's calls carry, and the ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import random
import resource
import shutil
import sqlite3
import subprocess
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
TICKS = os.sysconf("SC_CLK_TCK")


def uscc(n: int) -> str:
    org = f"{n:08d}"
    body = "91370100" + org + org_code_check_char(org)
    return body + uscc_check_char(body)


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else 0.0


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads) and of its live child
    processes (the node's hall serving processes) from /proc."""
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(f[11]) + int(f[12])) / TICKS
    kids = {int(c) for t in Path(f"/proc/{pid}/task").iterdir() for c in (t / "children").read_text().split()}
    return own + sum(proc_cpu(k) for k in kids if Path(f"/proc/{k}").exists())


def subjects(rng: random.Random, entries: int, n: int) -> list[str]:
    """``n`` random subjects, a tenth of them listed."""
    out = []
    for _ in range(n):
        k = rng.randrange(entries * 10)
        out.append(uscc(k - k % 10 if rng.random() < 0.1 else k))
    return out


def build_node(root: Path, entries: int, log=print, processes: int = 1) -> tuple[Path, DepartmentCredentials]:
    """A node directory with a replica of ``entries`` entries (every tenth USCC is listed),
    bulk-loaded: rows in key order, no WAL and no sync during the load, 200k rows a transaction."""
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
        "node", "init", "--dir", str(node), "--region", "370100", "--gateway", "127.0.0.1:9",
        "--certs", str(pki.nodes["370100"].dir),
    )  # fmt: skip
    for f in ("hall-tls.crt", "hall-tls.key"):
        shutil.copy(root / "hall-tls" / f, node / f)
    cfg = json.loads((node / "node.json").read_text())
    cfg["halls"] = {
        "grpc_listen": "127.0.0.1:0",
        "http_listen": "127.0.0.1:0",
        "rate_per_s": 1e9,
        "burst": 1e9,
        "workers": 32,
        "processes": processes,
    }
    cfg["limits"].update(backoff_base_s=30.0, backoff_cap_s=300.0)
    cfg.update(metrics_listen="127.0.0.1:0", health_listen="127.0.0.1:0")  # never a fixed port
    (node / "node.json").write_text(json.dumps(cfg))
    template = ListEntry(
        "", "SXBZXR", "black", "济南某某商贸有限公司", "法人及非法人组织", "", "", dt.date(2025, 3, 1),
        dt.date(2025, 3, 1), None, "有履行能力而拒不履行", "《最高人民法院关于公布失信被执行人名单信息的若干规定》",
        "执行决定书", "(2025)鲁0102执1号", "济南市历下区人民法院", "11370000004265891L", "", State.LISTED, None,
        "", "", 1, b"\x01" * 32, "370100",
    )  # fmt: skip
    # The store's own body encoding, with two markers replaced per row (json.dumps per row would
    # cost more than the insert).
    body = _body(ListEntry(**{**template.__dict__, "entry_id": "\x00EID\x00", "subject_uscc": "\x00USCC\x00"})).replace(
        "\\u0000", "\x00"
    )
    NodeStore(node / "node.db").close()  # the schema, by the node's own migrations
    conn = sqlite3.connect(node / "node.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")
    t0, cpu0 = time.perf_counter(), time.process_time()
    batch = 200_000
    width = len(str(entries))
    for start in range(0, entries, batch):
        rows, subj = [], []
        for i in range(start, min(entries, start + batch)):
            u = uscc(i * 10)
            eid = f"LIST|SXBZXR|11370000004265891L|B{i:0{width}d}|{u}"
            rows.append((eid, "SXBZXR", "LISTED", i + 1, body.replace("\x00EID\x00", eid).replace("\x00USCC\x00", u)))
            subj.append(("U:" + u, eid))
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO replica_entries VALUES (?,?,?,?,?)", rows)
        conn.executemany("INSERT INTO replica_subjects VALUES (?,?)", subj)
        conn.execute("COMMIT")
        log(f"replica: {min(entries, start + batch):,} / {entries:,} entries ({time.perf_counter() - t0:.0f} s)")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT OR REPLACE INTO replica_meta(key, value) VALUES (?, ?)",
        [("applied", json.dumps(entries)), ("changes_from", json.dumps(entries))],
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    size = (node / "node.db").stat().st_size
    log(f"replica built in {wall:.1f} s ({cpu:.1f} s CPU), {size / 2**30:.2f} GiB")
    return node, dept


def sqlite_bound(node: Path, entries: int, seconds: float, batches: list[int]) -> dict[int, dict]:
    """The replica's one lookup function straight on SQLite in one thread, ``n`` subjects per
    query for each ``n`` in ``batches`` (the bound for a call of ``n`` subjects)."""
    from creditx.node.replica.store import lookup

    conn = sqlite3.connect(f"file:{node / 'node.db'}?mode=ro", uri=True)
    out = {}
    for n in sorted(set(batches)):
        rng = random.Random(1)
        lat, calls, deadline = [], 0, time.perf_counter() + seconds
        cpu0 = time.process_time()
        while time.perf_counter() < deadline:
            keys = ["U:" + u for u in subjects(rng, entries, n)]
            t = time.perf_counter()
            lookup(conn, keys)
            lat.append(time.perf_counter() - t)
            calls += 1
        cpu = time.process_time() - cpu0
        out[n] = {
            "p50_ms": pct(lat, 0.5) * 1e3,
            "p99_ms": pct(lat, 0.99) * 1e3,
            "calls_per_s": calls / seconds,
            "subjects_per_s": calls * n / seconds,
            "cpu_us_per_subject": cpu / max(1, calls * n) * 1e6,
        }
    conn.close()
    return out


def _caller_proc(
    kind: str,
    target: str,
    dept: dict,
    entries: int,
    threads: int,
    seconds: float,
    seed: int,
    batch: int,
    rate: float,
    out,
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

            def call(us: list[str]) -> None:
                if batch == 1:
                    stub.Check(pb.CheckRequest(subject=pb.Subject(uscc=us[0]), matter=MATTER), timeout=10)
                else:
                    r = stub.CheckMany(
                        pb.CheckManyRequest(
                            checks=[pb.CheckRequest(subject=pb.Subject(uscc=u), matter=MATTER) for u in us]
                        ),
                        timeout=10,
                    )
                    if len(r.answers) != len(us):
                        raise RuntimeError("short answer")
        else:
            import http.client
            import ssl

            ctx = ssl.create_default_context(cafile=dept["ca"])
            ctx.load_cert_chain(dept["cert"], dept["key"])
            host, port = target.rsplit(":", 1)
            conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=10)

            def call(us: list[str]) -> None:
                checks = [{"subject": {"uscc": u}, "matter": MATTER} for u in us]
                body = json.dumps(checks[0] if batch == 1 else {"checks": checks})
                path = "/v1/check" if batch == 1 else "/v1/check-many"
                conn.request("POST", path, body, {"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                if r.status != 200:
                    raise RuntimeError(r.status)

        call([uscc(0)] * batch)  # connect and warm up
        start.wait()
        t0 = time.perf_counter()
        deadline = t0 + seconds
        sent = 0
        while time.perf_counter() < deadline:
            us = subjects(rng, entries, batch)
            t = time.perf_counter()
            if rate:  # open loop: latency counts from the scheduled send (no coordinated omission)
                at = t0 + (sent + rng.random()) / rate
                sent += 1
                if at > t:
                    time.sleep(at - t)
                t = at
            try:
                call(us)
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
    ru = resource.getrusage(resource.RUSAGE_SELF)
    out.put({"lat": lat, "errors": errors[0], "cpu": ru.ru_utime + ru.ru_stime})


def _figures(lat: list[float], calls: int, batch: int, seconds: float, errors: int, server_cpu: float, client_cpu: float, load: float) -> dict:  # fmt: skip
    return {
        "p50_ms": pct(lat, 0.5) * 1e3 if lat else None,
        "p99_ms": pct(lat, 0.99) * 1e3 if lat else None,
        "calls_per_s": calls / seconds,
        "subjects_per_s": calls * batch / seconds,
        "batch": batch,
        "errors": errors,
        "server_cpu_s": server_cpu,
        "client_cpu_s": client_cpu,
        "server_cpu_us_per_call": server_cpu / max(1, calls) * 1e6,
        "server_cpu_us_per_subject": server_cpu / max(1, calls * batch) * 1e6,
        "loadavg_1m": load,
    }


def network(kind: str, target: str, dept: dict, entries: int, callers: int, procs: int, seconds: float, batch: int, server_pid: int, rate: float = 0.0) -> dict:  # fmt: skip
    """``callers`` callers, closed loop (each sends when answered) or, with ``rate`` (calls/s in
    all), open loop: each caller sends at its share of ``rate``."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    per = [callers // procs + (1 if i < callers % procs else 0) for i in range(procs)]
    ps = [
        ctx.Process(target=_caller_proc, args=(kind, target, dept, entries, n, seconds, i, batch, rate / callers, q))
        for i, n in enumerate(per)
        if n
    ]
    for p in ps:
        p.start()
    c0 = proc_cpu(server_pid)  # includes the callers' warm-up: a few calls
    results = [q.get(timeout=seconds + 120) for _ in ps]
    c1 = proc_cpu(server_pid)
    for p in ps:
        p.join(30)
    lat = [x for r in results for x in r["lat"]]
    fig = _figures(
        lat, len(lat), batch, seconds, sum(r["errors"] for r in results), c1 - c0,
        sum(r["cpu"] for r in results), os.getloadavg()[0],
    )  # fmt: skip
    fig["offered_calls_per_s"] = rate or None
    return fig


WRK_SCRIPT = """
local bodies = {}
for line in io.lines("%(file)s") do bodies[#bodies + 1] = line end
local i = math.random(#bodies)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
request = function()
  i = i %% #bodies + 1
  return wrk.format(nil, "%(path)s", nil, bodies[i])
end
done = function(summary, latency, requests)
  io.write(string.format("CREDITX %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), summary.duration))
end
"""


def wrk_run(wrk: str, target: str, token: str, root: Path, entries: int, callers: int, seconds: float, batch: int, server_pid: int) -> dict:  # fmt: skip
    """HTTPS through wrk (C load generator, 2 threads) with ``callers`` connections and a token."""
    rng = random.Random(7)
    lines = []
    for _ in range(20_000 // batch):
        checks = [{"subject": {"uscc": u}, "matter": MATTER} for u in subjects(rng, entries, batch)]
        lines.append(json.dumps(checks[0] if batch == 1 else {"checks": checks}))
    data = root / f"wrk-{batch}.txt"
    data.write_text("\n".join(lines) + "\n")
    script = root / f"wrk-{batch}.lua"
    path = "/v1/check" if batch == 1 else "/v1/check-many"
    script.write_text(WRK_SCRIPT % {"file": data, "token": token, "path": path})
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    c0 = proc_cpu(server_pid)
    out = subprocess.run(
        [wrk, "-t2", f"-c{callers}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(script), f"https://{target}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    c1 = proc_cpu(server_pid)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("CREDITX "))
    n, status_err, sock_err, p50_us, p99_us, dur_us = map(int, line.split()[1:])
    fig = _figures(
        [], n, batch, dur_us / 1e6, status_err + sock_err, c1 - c0,
        (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), os.getloadavg()[0],
    )  # fmt: skip
    fig.update(p50_ms=p50_us / 1e3, p99_ms=p99_us / 1e3)
    return fig


def issue_token(node: Path) -> str:
    from creditx.node.halls.store import HallStore
    from creditx.node.store import NodeStore

    store = NodeStore(node / "node.db")
    try:
        return HallStore(store, b"").issue_token("CZ", "bench")[1]
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--callers", type=int, default=32)
    ap.add_argument("--procs", type=int, default=4, help="client processes the Python callers are spread over")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--batch", type=int, default=100, help="subjects per CheckMany call")
    ap.add_argument(
        "--rates", default="1000,2000,5000,8000", help="open-loop runs: subjects/s offered, comma-separated ('' none)"
    )
    ap.add_argument("--open-batch", type=int, default=10, help="subjects per call in the open-loop runs")
    ap.add_argument("--processes", type=int, default=os.cpu_count() or 1, help="the node's halls.processes")
    ap.add_argument("--closed", action="store_true", help="also the closed-loop runs (each caller sends when answered)")
    ap.add_argument("--python-http", action="store_true", help="also HTTPS Check from Python callers (certificate)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    try:
        rates = [float(x) for x in args.rates.split(",") if x.strip()]
    except ValueError:
        ap.error(f"--rates: comma-separated numbers, not {args.rates!r}")
    if args.processes < 1 or args.open_batch < 1 or args.batch < 1 or any(r <= 0 for r in rates):
        ap.error("--processes, --open-batch, --batch and --rates must be positive")
    log = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.json else print
    from creditx.demo.procs import read_json_file, start_node

    wrk = shutil.which("wrk")
    runs: dict[str, dict] = {}
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="creditx-bench-hall-") as tmp:
        node, dept = build_node(Path(tmp), args.entries, log, args.processes)
        token = issue_token(node)
        bound = sqlite_bound(node, args.entries, min(args.seconds, 5.0), [1, args.open_batch, args.batch])
        child = start_node(node)
        try:
            child.wait_until(lambda: read_json_file(node / "halls.json") is not None, timeout=120, what="halls.json")
            ports = read_json_file(node / "halls.json")
            assert ports is not None
            pid = child.pid
            d = {"ca": str(dept.ca), "cert": str(dept.cert), "key": str(dept.key)}
            g, h = f"127.0.0.1:{ports['grpc']}", f"127.0.0.1:{ports['http']}"
            c0, t0 = proc_cpu(pid), time.perf_counter()
            threading.Event().wait(2.0)  # the node's own CPU while no hall calls: what every run includes
            idle = (proc_cpu(pid) - c0) / (time.perf_counter() - t0)

            def net(kind: str, target: str, batch: int, rate: float = 0.0):
                return lambda: network(kind, target, d, args.entries, args.callers, args.procs, args.seconds, batch, pid, rate)  # noqa: E501  # fmt: skip

            ob = args.open_batch
            plan = []  # the headline: open loop, latency from the scheduled send, rising offered load
            for rate in rates:
                plan.append((f"HTTPS open {rate:.0f}/s ×{ob}", net("http", h, ob, rate / ob)))
            for rate in rates:
                plan.append((f"gRPC open {rate:.0f}/s ×{ob}", net("grpc", g, ob, rate / ob)))
            if args.closed:
                plan += [
                    ("gRPC Check", net("grpc", g, 1)),
                    (f"gRPC CheckMany ×{args.batch}", net("grpc", g, args.batch)),
                ]
                if wrk:
                    plan += [
                        ("HTTPS check (wrk)", lambda: wrk_run(wrk, h, token, Path(tmp), args.entries, args.callers, args.seconds, 1, pid)),  # noqa: E501
                        (f"HTTPS many ×{args.batch} (wrk)", lambda: wrk_run(wrk, h, token, Path(tmp), args.entries, args.callers, args.seconds, args.batch, pid)),  # noqa: E501
                    ]  # fmt: skip
                if args.python_http or not wrk:
                    plan.append(("HTTPS check (py)", net("http", h, 1)))
            for name, run in plan:
                log(f"{name} …")
                runs[name] = run()
                log(f"  {json.dumps(runs[name])}")
        finally:
            child.stop()
    for r in runs.values():
        b = bound.get(r["batch"], bound[args.batch])
        r["subjects_vs_sqlite"] = r["subjects_per_s"] / b["subjects_per_s"] if b["subjects_per_s"] else 0.0
    out = {
        "entries": args.entries,
        "cpus": os.cpu_count(),
        "callers": args.callers,
        "processes": args.processes,
        "load_before": load0,
        "load_after": os.getloadavg(),
        "server_idle_cpu_per_s": idle,
        "sqlite": bound,
        "runs": runs,
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(
        f"replica {args.entries:,} entries; {args.callers} callers; {os.cpu_count()} CPUs; "
        f"{args.processes} hall serving processes; load {load0[0]:.2f} → {os.getloadavg()[0]:.2f}; "
        f"the node idle: {idle * 1e3:.0f} ms CPU a second"
    )
    hdr = (
        f"{'':26}{'p50 ms':>8}{'p99 ms':>8}{'offer/s':>8}{'calls/s':>8}{'subj/s':>8}{'÷sqlite':>8}"
        f"{'µs/call':>9}{'µs/subj':>8}{'cli CPU':>8}{'load':>6}{'err':>5}"
    )
    print("latency per call; server CPU (the node and its serving processes) per call and per subject")
    print(hdr)
    for n, b in sorted(bound.items()):
        print(
            f"{'sqlite ' + str(n) + '/query (bound)':26}{b['p50_ms']:8.3f}{b['p99_ms']:8.3f}{'':8}"
            f"{b['calls_per_s']:8.0f}{b['subjects_per_s']:8.0f}{1:8.3f}{b['cpu_us_per_subject'] * n:9.1f}"
            f"{b['cpu_us_per_subject']:8.1f}"
        )
    for name, r in runs.items():
        offered = r.get("offered_calls_per_s")
        print(
            f"{name:26}{r['p50_ms'] or 0:8.2f}{r['p99_ms'] or 0:8.2f}"
            f"{(offered * r['batch'] if offered else 0):8.0f}{r['calls_per_s']:8.0f}{r['subjects_per_s']:8.0f}"
            f"{r['subjects_vs_sqlite']:8.3f}{r['server_cpu_us_per_call']:9.0f}{r['server_cpu_us_per_subject']:8.1f}"
            f"{r['client_cpu_s']:8.1f}{r['loadavg_1m']:6.2f}{r['errors']:5d}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
