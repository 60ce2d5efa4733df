"""Benchmark of the per-record crypto and codec costs on the gateway's hot path.

``python bench/crypto.py [--seconds 0.5] [--json]`` prints, for one core: sign/verify rates per
signature suite (envelope = PAE + suite), canonical JSON rates for a 25-field record (ours vs
the ``rfc8785`` package vs ``json.dumps(sort_keys=True)``, the latter two being the bounds,
re-measured in the same run because the machines are noisy), fingerprint and
record-decode rates. Each figure is the median of 5 timed rounds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from creditx.standard.canonical import canonicalize
from creditx.standard.envelope import Envelope, Signer, pae, sign_envelope, verify_envelope
from creditx.standard.fingerprint import fingerprint
from creditx.standard.merkle import CompactRange
from creditx.standard.record import RECORD_PAYLOAD_TYPE, Record, decode_record, encode_record


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Median operations per second over 5 rounds of about ``seconds / 5`` each."""
    n = 1
    while True:  # calibrate a batch that takes ≥ 10 ms
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - t0 >= 0.01:
            break
        n *= 2
    per_round = max(n, int(n * (seconds / 5) / 0.01))
    rates = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(per_round):
            fn()
        rates.append(per_round / (time.perf_counter() - t0))
    return statistics.median(rates)


def sample_record() -> Record:
    fields = {f"CF_F{i:02d}": f"山东省济南市历下区某某商贸有限公司行政处罚事项{i:02d}" for i in range(24)}
    fields["CF_WSH"] = "济市监罚〔2025〕12号"
    return Record("XZCF", "I", "370100", "jn-cf-2025-000012", 1, 42, fields)


def run(seconds: float) -> dict[str, float]:
    import rfc8785

    r = sample_record()
    payload = encode_record(r)
    content: dict[str, Any] = {"type": r.type, "op": r.op, "fields": dict(r.fields)}
    out: dict[str, float] = {}
    for name, key in (
        ("ECDSA-P256-SHA256", ec.generate_private_key(ec.SECP256R1())),
        ("ED25519", ed25519.Ed25519PrivateKey.generate()),
    ):
        signer = Signer(key)
        env = sign_envelope(RECORD_PAYLOAD_TYPE, payload, signer)
        resolve = {signer.keyid: signer.public_key}.get

        def sign(signer: Signer = signer) -> object:
            return signer.sign(pae(RECORD_PAYLOAD_TYPE, payload))

        def verify(env: Envelope = env, resolve: Callable[[str], Any] = resolve) -> object:
            return verify_envelope(env, resolve, expected_type=RECORD_PAYLOAD_TYPE)

        out[f"sign {name}"] = rate(sign, seconds)
        out[f"verify {name}"] = rate(verify, seconds)
    out["canonicalize (ours)"] = rate(lambda: canonicalize(content), seconds)
    out["canonicalize (rfc8785 package)"] = rate(lambda: rfc8785.dumps(content), seconds)
    out["json.dumps sort_keys (bound, not canonical)"] = rate(
        lambda: json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode(), seconds
    )
    out["fingerprint"] = rate(lambda: fingerprint(r), seconds)
    out["decode_record"] = rate(lambda: decode_record(payload), seconds)
    out["json.loads (bound)"] = rate(lambda: json.loads(payload), seconds)
    out["encode_record"] = rate(lambda: encode_record(r), seconds)
    # The audit log appends one leaf per decision; SHA-256 of one interior node is its raw bound.
    cr, leaf = CompactRange(), hashlib.sha256(b"leaf").digest()
    out["merkle append (CompactRange)"] = rate(lambda: cr.append(leaf), seconds)
    out["sha256 of 65 bytes (bound)"] = rate(lambda: hashlib.sha256(b"\x01" + leaf + leaf).digest(), seconds)
    return out


# (label, figure, bound): the figures this benchmark exists for, as ratios to a bound of the same run.
RATIOS = (
    ("canonicalize ours / rfc8785 package", "canonicalize (ours)", "canonicalize (rfc8785 package)"),
    ("canonicalize ours / json.dumps", "canonicalize (ours)", "json.dumps sort_keys (bound, not canonical)"),
    ("decode_record / json.loads", "decode_record", "json.loads (bound)"),
    ("decode_record / verify ECDSA-P256", "decode_record", "verify ECDSA-P256-SHA256"),
    ("merkle append / sha256", "merkle append (CompactRange)", "sha256 of 65 bytes (bound)"),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time per figure (default 0.5)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    args = parser.parse_args(argv)
    results = run(args.seconds)
    if args.json:
        json.dump({k: round(v) for k, v in results.items()}, sys.stdout, indent=2)
        print()
        return 0
    payload_len = len(encode_record(sample_record()))
    print(f"one core, 25-field record ({payload_len} payload bytes), median of 5 rounds")
    width = max(map(len, results))
    for name, v in results.items():
        print(f"{name:<{width}}  {v:>10,.0f}/s  {1e6 / v:8.1f} µs")
    print("ratios (same run):")
    for label, a, b in RATIOS:
        print(f"  {label:<{width - 2}}  {results[a] / results[b]:>10.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
