"""The gateway judged on the standard's own record vectors (``vectors/validation.json``).

Every vector record is sent by one node, in order, as an op ``I`` record of that node's region:
a vector without error violations must be ACCEPTED; one with errors must be REJECTED with the
reason code and requirement ID of its first error (the order the vector lists them in) — except
that a vector whose first error is in the deciding body's field (a corrupted USCC) must be
refused ``SEC_AUTHORITY_NOT_GRANTED`` (SEC-036): a corrupted code is not the granted body, and
authorisation (step 4) comes before validation (step 5) by SYNC-034. Two kinds of vector are
left out, and the evidence says which: those whose verdict depends on the vector's own ``today``
(``DATE_IN_FUTURE``), and accepted ones that share a natural key with an earlier accepted one
(the second would be a version question, not a validation one).
"""

from __future__ import annotations

import dataclasses

from creditx.conformance.checks import Evidence, Result, failed, not_applicable, passed
from creditx.conformance.gateway_suite import (
    GATEWAY,
    VECTOR_AUTHORITY,
    VECTOR_AUTHORITY_NAME,
    VECTOR_REGION,
    GatewayContext,
    _acks,
    _fresh,
)
from creditx.conformance.scripted_node import ack_text
from creditx.standard import vectors
from creditx.standard.natural_key import natural_key
from creditx.standard.record import Record, encode_record
from creditx.standard.registry import AUTHORITY_FIELDS, NOT_GRANTED
from creditx.v1 import exchange_pb2

DATE_DEPENDENT = frozenset({"DATE_IN_FUTURE"})
MIN_JUDGED = 15  # of the 20 vectors sent
KEY = b"conformance-vectors-subject-key0"  # natural keys only compared among these vectors


def _cases(region: str) -> tuple[list[tuple[dict, Record]], list[str]]:
    """(vector, record without its source_seq) to send, and the names left out with why."""
    chosen: list[tuple[dict, Record]] = []
    skipped: list[str] = []
    keys: set[str] = set()
    for case in vectors.load("validation.json"):
        errors = [v for v in case["violations"] if v["severity"] == "error"]
        if any(v["reason"] in DATE_DEPENDENT for v in case["violations"]):
            skipped.append(f"{case['name']} (depends on the vector's today, {case['today']})")
            continue
        rec = Record(case["type"], "I", region, f"vector-{case['name']}", 1, 1, dict(case["fields"]))
        if not errors:
            key = natural_key(rec, KEY)
            if key in keys:
                skipped.append(f"{case['name']} (the natural key of an earlier accepted vector)")
                continue
            keys.add(key)
        chosen.append((case, rec))
    return chosen, skipped


@GATEWAY.check(
    "GW-VECTORS",
    ("REC-020", "REC-021", "REC-022", "SYNC-030", "SYNC-033"),
    "01",
    "each record vector is ACCEPTED, or REJECTED with the vector's first error reason and rule",
)
def check_vectors(ctx: GatewayContext) -> Result:
    node = ctx.node(VECTOR_REGION)
    try:
        c, hs = _fresh(node)
        cases, skipped = _cases(node.region)
        records = [
            node.signed(c + 1 + i, encode_record(dataclasses.replace(rec, source_seq=c + 1 + i)))
            for i, (_case, rec) in enumerate(cases)
        ]
        size = max(1, hs.max_batch_records)
        acks = _acks(node.push([records[i : i + size] for i in range(0, len(records), size)]))
    finally:
        node.close()
    if any(a.reason_code == "SEC_AUTHORITY_NOT_GRANTED" for a in acks[:1]):
        return not_applicable(
            f"the vectors' deciding body {VECTOR_AUTHORITY} ({VECTOR_AUTHORITY_NAME}) is not granted to member "
            f"{VECTOR_REGION}: grant it (creditx gateway members grant --region {VECTOR_REGION} --uscc "
            f"{VECTOR_AUTHORITY} …) and run again"
        )
    resent = c > 0  # a re-run: the valid vectors are already held, so DUPLICATE is their right answer
    ev: list[Evidence] = []
    wrong: list[str] = []
    for (case, _rec), ack in zip(cases, acks, strict=False):
        errors = [v for v in case["violations"] if v["severity"] == "error"]
        want = _expected(case["type"], errors)
        got = (ack.outcome, ack.reason_code, ack.requirement) if errors else (ack.outcome,)
        if resent and got == (exchange_pb2.DUPLICATE,):
            got = want
        expected = f"REJECTED {want[1]} [{want[2]}]" if errors else "ACCEPTED"
        ev.append(Evidence(f"vector {case['name']}: expected {expected}", ack_text(ack)))
        if got != want:
            wrong.append(case["name"])
    if len(acks) != len(cases):
        return failed(f"{len(cases)} vector records sent, {len(acks)} acks came back", *ev)
    if skipped:
        ev.append(Evidence("left out", "; ".join(skipped)))
    if len(cases) < MIN_JUDGED:
        return failed(f"only {len(cases)} vectors could be judged (at least {MIN_JUDGED})", *ev)
    if wrong:
        return failed(f"the ack of {len(wrong)} vector(s) differs from the vector: {', '.join(wrong)}", *ev)
    return passed(f"{len(cases)} vector records acked as the vectors say", *ev)


def _expected(rtype: str, errors: list[dict]) -> tuple:
    """The gateway's answer to a vector: ACCEPTED without errors; else its first error, unless that
    error is in the deciding body's field — a corrupted USCC is not the granted body, and the
    authorisation step comes first (SYNC-034, step 4 before step 5)."""
    if not errors:
        return (exchange_pb2.ACCEPTED,)
    if errors[0]["field"] == AUTHORITY_FIELDS.get(rtype):
        return (exchange_pb2.REJECTED, NOT_GRANTED, "SEC-036")
    return (exchange_pb2.REJECTED, errors[0]["reason"], errors[0]["rule"])
