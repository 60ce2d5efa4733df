"""The gateway judged on the standard's own record vectors (``vectors/validation.json``).

Every vector record is sent by one node, in order, as an op ``I`` record of that node's region:
a vector without error violations must be ACCEPTED; one with errors must be REJECTED with the
reason code and requirement ID of its first error (the order the vector lists them in). Two
kinds of vector are left out, and the evidence says which (a third, refused first under a
chapter 07 rule the vector does not speak to, is sent but not judged): those whose verdict depends on the
vector's own ``today`` (``DATE_IN_FUTURE``), and accepted ones that share a natural key with an
earlier accepted one (the second would be a version question, not a validation one).
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
    unjudged: list[str] = []
    for (case, _rec), ack in zip(cases, acks, strict=False):
        errors = [v for v in case["violations"] if v["severity"] == "error"]
        want = (exchange_pb2.REJECTED, errors[0]["reason"], errors[0]["rule"]) if errors else (exchange_pb2.ACCEPTED,)
        got = (ack.outcome, ack.reason_code, ack.requirement) if errors else (ack.outcome,)
        if resent and got == (exchange_pb2.DUPLICATE,):
            got = want
        expected = f"REJECTED {errors[0]['reason']} [{errors[0]['rule']}]" if errors else "ACCEPTED"
        ev.append(Evidence(f"vector {case['name']}: expected {expected}", ack_text(ack)))
        if got != want and _chapter07_first(ack, errors):
            unjudged.append(f"{case['name']} ({ack.reason_code} [{ack.requirement}])")
        elif got != want:
            wrong.append(case["name"])
    if len(acks) != len(cases):
        return failed(f"{len(cases)} vector records sent, {len(acks)} acks came back", *ev)
    if skipped:
        ev.append(Evidence("left out", "; ".join(skipped)))
    if unjudged:
        ev.append(Evidence("refused first under a chapter 07 rule, not judged here", "; ".join(unjudged)))
    judged = len(cases) - len(unjudged)
    if judged < MIN_JUDGED:
        return failed(f"only {judged} vectors could be judged (at least {MIN_JUDGED})", *ev)
    if wrong:
        return failed(f"the ack of {len(wrong)} vector(s) differs from the vector: {', '.join(wrong)}", *ev)
    return passed(f"{judged} vector records acked as the vectors say", *ev)


def _chapter07_first(ack: exchange_pb2.RecordAck, errors: list[dict]) -> bool:
    """The gateway refused the record under an authorisation or list-period rule (SEC-) that the
    validation vector does not speak to: its deciding body is not the granted one (a corrupted
    USCC), or its list period exceeds the catalogue's term. Which refusal wins when two rules
    refuse one record is chapter 05's to say; the vector judges validation only."""
    return (
        ack.outcome == exchange_pb2.REJECTED
        and ack.requirement.startswith("SEC-")
        and not any(e["rule"].startswith("SEC-") for e in errors)
    )
