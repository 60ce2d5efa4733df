"""Propagation at provincial load: list changes at ``--rate`` per second to ``--followers``
Subscribe streams over mutual TLS (the 16 cities and their counties), publish → receive.

    python bench/propagation.py [--followers 150] [--rate 1000] [--seconds 10] [--procs 3]
                                [--form compressed|plain] [--suite record|batch] [--json]

A real gateway (child process, port 0, mutual TLS, creditx.pki.testing.make_pki) and
``--followers`` real ``Distribution.Subscribe`` streams, each on its own channel with its own
node-auth certificate issued by the project's CA (names f001…f150, regions over the 16
cities), held by ``--procs`` client processes (150 node processes would not fit the machine; a
stream is what the gateway serves, whoever holds it). A node client pushes signed LIST records
at a steady ``--rate`` for ``--seconds`` (bench/distribute.py's pusher). Per change and per
follower: receive time − the change's ``at_unix_ms`` (the gateway's decision, stamped in the
committing transaction). A "delivery" is one change received by one follower; a "message" one
ListChangeBatch holding changes (a follower is sent everything since its cursor in one). With
``--form compressed`` (the default; DIST-086) the followers ask for the changes as one zlib block
shared by every follower at the same position and read it as the node does
(creditx.node.replica.wire.batch_changes: bounded inflate, parse, join the persons' keys);
``--form plain`` is the form of a node that does not ask. ``--suite batch`` pushes in the
batch-signed suite (SIG-040: one checkpoint per 100 ms tick, a path per record), which the
gateway verifies for a fraction of an ECDSA signature per record. Reported:
p50/p99/max, changes/s pushed and deliveries/s received, messages per follower and second and
changes per message, the CPU seconds of the gateway process, of the client processes and of the pusher, the load average,
and as the bounds measured in the same run the cost of parsing the changes a follower receives
(protobuf) and of inflating the same batch's block (zlib), per change, and grpcio's own cost per
message: a bare server streaming that same batch's bytes on as many mutual-TLS streams, its CPU
and its readers' per message.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import threading
import time
from array import array
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from distribute import FREE_PORTS, PUSHER, list_records, pct, push_steady, signed_pb  # noqa: E402

from creditx.standard.divisions import CITIES  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICKS


def serve_gateway(directory: str, ready, stop) -> None:
    from creditx.gateway.server import Gateway

    g = Gateway(Path(directory), audit=True, workers=1)
    ready.put({**g.start(), "pid": os.getpid()})
    stop.wait()
    g.stop(grace=2)


def _subscribers(target: str, creds: list[tuple[str, str, str]], compressed: bool, ready, stop, out) -> None:
    """One client process: a Subscribe stream per credential, each on its own channel."""
    import grpc

    from creditx.node.replica.wire import batch_changes
    from creditx.pki.tls import channel_credentials
    from creditx.v1 import lists_pb2 as lpb
    from creditx.v1 import lists_pb2_grpc

    lat = array("d")
    received = [0, 0]  # changes, messages holding changes
    sample: list[bytes] = []  # one batch as received: the parse bound's input
    lock = threading.Lock()
    calls = []

    def follow(ca: str, cert: str, key: str) -> None:
        ch = grpc.secure_channel(
            target,
            channel_credentials(Path(ca), Path(cert), Path(key)),
            options=[
                ("grpc.ssl_target_name_override", "localhost"),
                ("grpc.max_receive_message_length", 16 * 1024 * 1024),
                ("grpc.use_local_subchannel_pool", 1),
            ],
        )
        # DIST-077: each follower names its own subject index key, as a 1.1 node does
        req = lpb.SubscribeRequest(from_list_seq=1, subject_index_key=os.urandom(32), compressed_changes=compressed)
        call = lists_pb2_grpc.DistributionStub(ch).Subscribe(req)
        with lock:
            calls.append(call)
        mine = array("d")
        messages = 0
        live = False
        try:
            for batch in call:
                now = time.time()
                if batch.live and not live:
                    live = True
                    ready.put(1)
                changes = batch_changes(batch)  # either form, as the node reads it
                mine.extend(now - c.at_unix_ms / 1000 for c in changes)
                messages += bool(changes)
                if not sample and len(changes) >= 10:
                    sample.append(batch.SerializeToString())
        except grpc.RpcError:
            pass  # cancelled at the end
        with lock:
            lat.extend(mine)
            received[0] += len(mine)
            received[1] += messages

    ts = [threading.Thread(target=follow, args=c, daemon=True) for c in creds]
    for t in ts:
        t.start()
    stop.wait()
    with lock:
        for c in calls:
            c.cancel()
    for t in ts:
        t.join(30)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    out.put(
        {
            "lat": lat.tobytes(),
            "received": received[0],
            "messages": received[1],
            "cpu": ru.ru_utime + ru.ru_stime,
            "sample": sample[:1],
        }
    )


def wire_bytes(raw: bytes) -> tuple[float, float]:
    """Bytes per change of a batch as a follower received it, and of the same changes plain."""
    import zlib

    from creditx.v1 import lists_pb2 as lpb

    m = lpb.ListChangeBatch.FromString(raw)
    plain = zlib.decompress(m.changes_zlib) if m.changes_zlib else raw
    n = len(lpb.ListChangeBatch.FromString(plain).changes)
    return len(raw) / n, len(plain) / n


def bounds(raw: bytes, seconds: float = 1.0) -> tuple[float, float]:
    """µs of CPU per change, in this process, to parse a batch's changes as a follower received
    them (protobuf) and to inflate the same changes' zlib block (the gateway's level 1)."""
    import zlib

    from creditx.v1 import lists_pb2 as lpb

    m = lpb.ListChangeBatch.FromString(raw)
    plain = (
        zlib.decompress(m.changes_zlib)
        if m.changes_zlib
        else lpb.ListChangeBatch(changes=m.changes).SerializeToString()
    )
    block = m.changes_zlib or zlib.compress(plain, 1)
    changes = len(lpb.ListChangeBatch.FromString(plain).changes)

    def per_change(f) -> float:
        n, t0 = 0, time.process_time()
        while time.process_time() - t0 < seconds:
            f()
            n += 1
        return (time.process_time() - t0) / (n * changes) * 1e6

    return per_change(lambda: lpb.ListChangeBatch.FromString(plain)), per_change(lambda: zlib.decompress(block))


def _raw_server(cert: str, key: str, ca: str, message: bytes, tick: float, ready, stop) -> None:
    """grpcio alone: one server-streaming method sending ``message`` (already bytes) over and
    over on every stream, over the same mutual TLS — the transport's own cost per message. With
    ``tick`` each stream waits for a wake-up every ``tick`` s before each message, as a Subscribe
    stream waits for the hub."""
    from concurrent import futures

    import grpc

    from creditx.pki.tls import server_credentials

    wakeups: list[threading.Event] = []
    lock = threading.Lock()

    def stream(request, context):
        ev = threading.Event()
        with lock:
            wakeups.append(ev)
        while context.is_active() and not stop.is_set():
            if tick:
                ev.wait(1.0)
                ev.clear()
            yield message

    def ticker() -> None:
        while not stop.wait(tick):
            with lock:
                evs = list(wakeups)
            for ev in evs:
                ev.set()

    if tick:
        threading.Thread(target=ticker, daemon=True).start()

    handler = grpc.method_handlers_generic_handler(
        "bench.Raw", {"Stream": grpc.unary_stream_rpc_method_handler(stream)}
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=200), handlers=[handler])
    port = server.add_secure_port("127.0.0.1:0", server_credentials(Path(cert), Path(key), Path(ca), reload=False))
    server.start()
    ready.put({"address": f"127.0.0.1:{port}", "pid": os.getpid()})
    stop.wait()
    server.stop(1)


def _raw_readers(target: str, creds: list[tuple[str, str, str]], seconds: float, out) -> None:
    import grpc

    from creditx.pki.tls import channel_credentials

    got = [0]
    lock = threading.Lock()

    def read(ca: str, cert: str, key: str) -> None:
        ch = grpc.secure_channel(
            target,
            channel_credentials(Path(ca), Path(cert), Path(key)),
            options=[("grpc.ssl_target_name_override", "localhost"), ("grpc.use_local_subchannel_pool", 1)],
        )
        n = 0
        try:
            stream: Any = ch.unary_stream("/bench.Raw/Stream")  # bytes in, bytes out (no serializers)
            for _ in stream(b"", timeout=seconds):
                n += 1
        except grpc.RpcError:
            pass  # the deadline ends the stream
        with lock:
            got[0] += n

    ts = [threading.Thread(target=read, args=c, daemon=True) for c in creds]
    for t in ts:
        t.start()
    for t in ts:
        t.join(seconds + 30)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    out.put({"messages": got[0], "cpu": ru.ru_utime + ru.ru_stime})


def transport_bound(ctx, gateway_tls, creds, message: bytes, procs: int, tick: float, seconds: float = 4.0) -> dict:
    """CPU µs per message of grpcio alone sending ``message`` (a batch as a follower received it)
    on as many mutual-TLS streams as there are followers, server side and client side: free
    running, and woken every ``tick`` s (the run's messages per follower and second)."""
    out: dict[str, float] = {}
    for name, t in (("free", 0.0), ("paced", tick)):
        ready, stop, q = ctx.Queue(), ctx.Event(), ctx.Queue()
        tls_cert, tls_key, ca = (str(p) for p in gateway_tls)
        srv = ctx.Process(target=_raw_server, args=(tls_cert, tls_key, ca, message, t, ready, stop))
        srv.start()
        info = ready.get(timeout=60)
        cpu0 = proc_cpu(info["pid"])
        readers = [
            ctx.Process(target=_raw_readers, args=(info["address"], creds[i::procs], seconds, q)) for i in range(procs)
        ]
        for p in readers:
            p.start()
        got = [q.get(timeout=seconds + 120) for _ in readers]
        cpu = proc_cpu(info["pid"]) - cpu0
        stop.set()
        for p in readers:
            p.join(30)
        srv.join(30)
        n = max(1, sum(g["messages"] for g in got))
        out[f"transport_{name}_server_cpu_us_per_message"] = cpu / n * 1e6
        out[f"transport_{name}_client_cpu_us_per_message"] = sum(g["cpu"] for g in got) / n * 1e6
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--followers", type=int, default=150)
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--procs", type=int, default=3)
    ap.add_argument("--form", choices=("compressed", "plain"), default="compressed")
    ap.add_argument("--suite", choices=("record", "batch"), default="record")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    log = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.json else print

    from creditx.gateway.config import GatewayConfig
    from creditx.gateway.init import init_gateway_dir
    from creditx.pki.files import read_key
    from creditx.pki.issue import issue_node
    from creditx.pki.testing import make_pki

    today = dt.date.today()
    now = dt.datetime.now(dt.UTC)
    cities = sorted(CITIES)
    with tempfile.TemporaryDirectory(prefix="creditx-bench-prop-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        pki = make_pki(root / "pki", regions=tuple(cities))
        assert pki.ca is not None
        followers = [
            issue_node(
                pki.ca, region=cities[i % len(cities)], name=f"f{i + 1:03d}", at=now, out=root / "f" / f"{i + 1:03d}"
            )
            for i in range(args.followers)
        ]
        log(f"{args.followers} node certificates issued in {time.perf_counter() - t:.1f} s")
        records = list_records(max(1, int(args.rate * args.seconds)), seed=7, today=today)
        batch = signed_pb(records, read_key(pki.nodes[PUSHER].signing_key))
        extras = None
        if args.suite == "batch":  # the pusher's ticks as batches of the batch-signed suite
            from ingest import batch_signed  # type: ignore[import-not-found]

            tick = max(1, round(args.rate / 10))
            batch, extras = batch_signed(read_key(pki.nodes[PUSHER].signing_key), batch, tick)
        gw_dir = root / "gw"
        streams = args.followers + 16
        init_gateway_dir(
            gw_dir,
            pki.gateway.dir,
            cfg=GatewayConfig(
                listen="127.0.0.1:0",
                **FREE_PORTS,
                verify_workers=1,
                handler_threads=streams + 16,
                max_concurrent_streams=streams + 32,
            ),
        )
        ctx = mp.get_context("spawn")
        ready_gw, stop_gw = ctx.Queue(), ctx.Event()
        gw = ctx.Process(target=serve_gateway, args=(str(gw_dir), ready_gw, stop_gw))
        gw.start()
        info = ready_gw.get(timeout=300)
        address, gw_pid = info["address"], info["pid"]
        ready, stop, out = ctx.Queue(), ctx.Event(), ctx.Queue()
        creds = [(str(f.ca), str(f.auth_cert), str(f.auth_key)) for f in followers]
        procs = [
            ctx.Process(
                target=_subscribers,
                args=(address, creds[i :: args.procs], args.form == "compressed", ready, stop, out),
            )
            for i in range(args.procs)
        ]
        try:
            for p in procs:
                p.start()
            for _ in range(args.followers):  # every stream live (backlog drained) before the clock starts
                ready.get(timeout=120)
            log(
                f"{args.followers} Subscribe streams live (gateway pid {gw_pid}); pushing {len(records):,} changes at {args.rate:.0f}/s"
            )
            cpu_gw0, load0 = proc_cpu(gw_pid), os.getloadavg()[0]
            cpu_push0 = time.process_time()
            t0 = time.monotonic()
            push_steady(address, pki.nodes[PUSHER], batch, args.rate, extras)
            push_s = time.monotonic() - t0
            cpu_push = time.process_time() - cpu_push0
            threading.Event().wait(3.0)  # the last tick's deliveries (missing ones are reported)
            cpu_gw = proc_cpu(gw_pid) - cpu_gw0
            stop.set()
            results = [out.get(timeout=120) for _ in procs]
        finally:
            stop.set()
            for p in procs:
                p.join(30)
            stop_gw.set()
            gw.join(60)
        samples = [x for r in results for x in r["sample"]]
        bound, inflate = bounds(samples[0]) if samples else (0.0, 0.0)
        wire = wire_bytes(samples[0]) if samples else (0.0, 0.0)
        gw_tls = (pki.gateway.tls_cert, pki.gateway.tls_key, pki.gateway.ca)
        tick = args.followers * push_s / max(1, sum(r["messages"] for r in results))  # s between messages
        transport = transport_bound(ctx, gw_tls, creds, samples[0], args.procs, tick) if samples else {}
    lat = array("d")
    for r in results:
        lat.frombytes(r["lat"])
    expected = len(records) * args.followers
    messages = sum(r["messages"] for r in results)
    res = {
        "followers": args.followers,
        "form": args.form,
        "suite": args.suite,
        "changes": len(records),
        "push_rate_per_s": len(records) / push_s,
        "deliveries": len(lat),
        "expected_deliveries": expected,
        "deliveries_per_s": len(lat) / push_s,
        "p50_ms": pct(list(lat), 0.5) * 1e3,
        "p99_ms": pct(list(lat), 0.99) * 1e3,
        "max_ms": max(lat) * 1e3 if lat else 0.0,
        "gateway_cpu_s": cpu_gw,
        "gateway_cpu_us_per_delivery": cpu_gw / max(1, len(lat)) * 1e6,
        "messages": messages,
        "messages_per_follower_per_s": messages / args.followers / push_s,
        "changes_per_message": len(lat) / max(1, messages),
        "gateway_cpu_us_per_message": cpu_gw / max(1, messages) * 1e6,
        "clients_cpu_s": sum(r["cpu"] for r in results),
        "pusher_cpu_s": cpu_push,
        "wall_s": push_s,
        "loadavg_1m": [load0, os.getloadavg()[0]],
        "parse_bound_us_per_change": bound,
        "inflate_bound_us_per_change": inflate,
        "wire_bytes_per_change": wire[0],
        "plain_bytes_per_change": wire[1],
    }
    res["client_cpu_us_per_delivery"] = res["clients_cpu_s"] / max(1, len(lat)) * 1e6
    res["client_vs_parse_bound"] = res["client_cpu_us_per_delivery"] / bound if bound else 0.0
    res.update(transport)
    res["client_cpu_us_per_message"] = res["clients_cpu_s"] / max(1, messages) * 1e6
    for name in ("free", "paced") if transport else ():
        server, client = (transport[f"transport_{name}_{side}_cpu_us_per_message"] for side in ("server", "client"))
        res[f"gateway_vs_transport_{name}"] = res["gateway_cpu_us_per_message"] / server
        res[f"client_vs_transport_{name}"] = res["client_cpu_us_per_message"] / client
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(
        f"{args.followers} followers over mTLS ({args.form} batches, {args.suite} suite), {len(records):,} changes pushed at "
        f"{res['push_rate_per_s']:.0f}/s (offered {args.rate:.0f}/s) in {push_s:.1f} s; "
        f"load {res['loadavg_1m'][0]:.2f} → {res['loadavg_1m'][1]:.2f}; {os.cpu_count()} CPUs"
    )
    print(
        f"publish → receive per change per follower: p50 {res['p50_ms']:.1f} ms, p99 {res['p99_ms']:.1f} ms, "
        f"max {res['max_ms']:.1f} ms; {len(lat):,} of {expected:,} deliveries ({res['deliveries_per_s']:,.0f}/s)"
    )
    print(
        f"messages: {messages:,} holding changes, {res['messages_per_follower_per_s']:.1f}/s per follower, "
        f"{res['changes_per_message']:.1f} changes each; {wire[0]:,.0f} bytes a change on the wire "
        f"({wire[1]:,.0f} plain), {wire[0] * len(lat) / push_s / 1e6:.1f} MB/s sent"
    )
    print(
        f"CPU: gateway {cpu_gw:.1f} s ({res['gateway_cpu_us_per_delivery']:.1f} µs/delivery, "
        f"{res['gateway_cpu_us_per_message']:.0f} µs/message), clients "
        f"{res['clients_cpu_s']:.1f} s ({res['client_cpu_us_per_delivery']:.1f} µs/delivery = "
        f"{res['client_vs_parse_bound']:.1f}× the parse bound of {bound:.1f} µs/change; zlib inflate "
        f"{inflate:.2f} µs/change), pusher {cpu_push:.1f} s"
    )
    if transport:
        tb = transport
        print(
            f"transport bound (grpcio alone, the same message on {args.followers} mTLS streams), server / client "
            f"µs per message: free-running {tb['transport_free_server_cpu_us_per_message']:.0f} / "
            f"{tb['transport_free_client_cpu_us_per_message']:.0f}, woken every {tick * 1000:.0f} ms "
            f"{tb['transport_paced_server_cpu_us_per_message']:.0f} / {tb['transport_paced_client_cpu_us_per_message']:.0f}"
            f"; gateway {res['gateway_cpu_us_per_message']:.0f} = {res['gateway_vs_transport_paced']:.1f}× the woken "
            f"bound, clients {res['client_cpu_us_per_message']:.0f} = {res['client_vs_transport_paced']:.1f}×"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
