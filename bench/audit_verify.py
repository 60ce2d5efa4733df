"""How fast ``creditx gateway audit verify`` checks a real gateway's audit log.

Builds a gateway database by pushing ``--records`` signed records over mutual TLS (as
bench/ingest.py does), then times verification twice — recomputing every record's content
fingerprint on one core, and on every core (what ``audit verify`` does above 20,000 records) —
beside the raw bound measured in the same run: decode + RFC 8785 + SHA-256 of each payload,
one core, nothing else.

    python bench/audit_verify.py --records 50000
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sqlite3
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from creditx.gateway.config import GatewayConfig  # noqa: E402
from creditx.gateway.init import init_gateway_dir  # noqa: E402
from creditx.pki.testing import make_pki  # noqa: E402


def build(root: Path, n: int) -> Path:
    from bench.ingest import REGION, push, signed_records
    from creditx.gateway.server import Gateway
    from creditx.pki.files import read_key

    pki = make_pki(root / "pki", regions=(REGION,))
    d = root / "gw"
    init_gateway_dir(
        d, pki.gateway.dir, cfg=replace(GatewayConfig(), metrics_listen="", health_listen="", console_listen="")
    )
    records = signed_records(read_key(pki.nodes[REGION].signing_key), n, dt.date.today())
    g = Gateway(d, workers=2)
    g.start()
    try:
        if push(g.address, pki.nodes[REGION], records, 500) != n:
            raise SystemExit("the gateway did not commit every record")
        g.checkpointer.sign_now()
    finally:
        g.stop(grace=5)
    return d


def timed_verify(d: Path, parallel: bool) -> tuple[float, dict]:
    import argparse as ap

    from creditx.gateway.audit import evidence
    from creditx.gateway.audit.cli import _open, _verifier

    saved = evidence.PARALLEL_FROM
    evidence.PARALLEL_FROM = saved if parallel else 1 << 62
    try:
        args = ap.Namespace(dir=d)
        cfg, conn, origin = _open(args)
        t = time.perf_counter()
        with conn:
            verdict = evidence.verify_database(conn, _verifier(cfg, args, origin), origin)
        return time.perf_counter() - t, verdict
    finally:
        evidence.PARALLEL_FROM = saved


def raw_bound(d: Path) -> float:
    from creditx.standard.fingerprint import fingerprint
    from creditx.standard.record import decode_record

    conn = sqlite3.connect(d / "gateway.db")
    payloads = [bytes(p) for (p,) in conn.execute("SELECT payload FROM records")]
    conn.close()
    t = time.perf_counter()
    for p in payloads:
        fingerprint(decode_record(p))
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=50_000)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="creditx-bench-verify-") as tmp:
        t = time.perf_counter()
        d = build(Path(tmp), args.records)
        print(f"built a gateway with {args.records} records in {time.perf_counter() - t:.1f} s")
        serial, v1 = timed_verify(d, parallel=False)
        par, v2 = timed_verify(d, parallel=True)
        bound = raw_bound(d)
        assert v1["ok"] and v2["ok"], (v1["problems"][:3], v2["problems"][:3])
        n = v1["leaves"]
        print(f"leaves {n}, cores {os.cpu_count()}")
        print(f"raw decode + fingerprint, one core (the bound): {bound:.2f} s ({n / bound:,.0f} /s)")
        print(
            f"verify, fingerprints on one core:   {serial:.2f} s ({n / serial:,.0f} leaves/s) = "
            f"{serial / bound:.2f} × the bound"
        )
        print(
            f"verify, fingerprints on every core: {par:.2f} s ({n / par:,.0f} leaves/s) = "
            f"{par / bound:.2f} × the bound, {serial / par:.2f} × faster than one core"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
