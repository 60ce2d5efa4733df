"""Gateway checks of what exchange standard 1.1 added (the gaps of a third-party implementer,
CHANGELOG 1.1): receipts from the ack and the checkpoint alone, a "no leaf" value, a checkpoint
in every response, SIG_NO_SIGNATURE, and the log origins and origin signing certificates the
handshake names. Registered on the gateway suite's registry; kept apart from it so that the
1.1 checks read as one list."""

from __future__ import annotations

import json

from creditx.conformance.checks import Evidence, Result, failed, passed
from creditx.conformance.gateway_suite import GATEWAY, GatewayContext, _fresh, _gateway_verifier
from creditx.conformance.scripted_node import ScriptedNode, ack_text
from creditx.pki.identity import IdentityError
from creditx.standard.checkpoint import CheckpointError, parse_checkpoint, verify_checkpoint
from creditx.standard.divisions import CITIES
from creditx.standard.merkle import ProofError
from creditx.standard.receipts import AckFacts, ReceiptError, leaf_of, verify_receipt
from creditx.v1 import audit_pb2, exchange_pb2


def shared_region(ctx: GatewayContext) -> str:
    """The one region the 1.1 and 1.2 checks share (a province has only 17 regions, and the
    other checks take one each), taken from the rotation at its first use."""
    region = getattr(ctx, "_region_1_1", None) or ctx.region()
    ctx._region_1_1 = region  # type: ignore[attr-defined]
    return region


def _node(ctx: GatewayContext) -> ScriptedNode:
    """A node of the shared region: a fresh certificate per check, the mark read from its handshake."""
    return ScriptedNode.issue(ctx.ca, shared_region(ctx), ctx.root / "nodes", ctx.address, server_name=ctx.server_name)


def _facts(a: exchange_pb2.RecordAck) -> AckFacts:
    return AckFacts(
        a.source_seq,
        exchange_pb2.Outcome.Name(a.outcome),
        a.reason_code,
        a.fingerprint,
        a.log_index,
        a.decided_at,
        a.logged,
    )


@GATEWAY.check(
    "GW-RECEIPT-FROM-ACK",
    ("AUD-035", "AUD-004", "SYNC-035"),
    "06",
    "a receipt is rebuilt from the ack alone; a rejected record that decoded keeps its fingerprint; gaps have no leaf",
)
def check_receipt_from_ack(ctx: GatewayContext) -> Result:
    node = _node(ctx)
    other = next(r for r in CITIES if r != node.region)
    ev: list[Evidence] = []
    try:
        c, hs = _fresh(node)
        good = node.payloads(2, c + 1)
        foreign = node.payloads(1, c + 2, region=other)[0]  # decodes, then SEC_REGION_MISMATCH
        batch = [node.signed(c + 1, good[0]), node.signed(c + 2, foreign), node.signed(c + 9, good[1])]
        resp = node.push([batch])[0]
        ev.append(
            Evidence(
                f"seq {c + 1} valid, {c + 2} of region {other}, {c + 9} a gap", "; ".join(map(ack_text, resp.acks))
            )
        )
        if len(resp.acks) != 3 or not resp.checkpoint:
            return failed("expected three acks and a checkpoint", *ev)
        ok, rej, gap = resp.acks
        if rej.outcome != exchange_pb2.REJECTED or len(rej.fingerprint) != 32:
            return failed("a rejected record that decoded must carry its 32-byte fingerprint (AUD-004)", *ev)
        if gap.logged or gap.decided_at:
            return failed("a SYNC_SEQ_GAP ack has no leaf: logged must be false, decided_at empty (SYNC-035)", *ev)
        try:
            cp = verify_checkpoint(resp.checkpoint, [_gateway_verifier(ctx, hs, resp.checkpoint)])
        except (CheckpointError, IdentityError) as exc:
            return failed(f"the receipt checkpoint does not verify: {exc}", *ev)
        for a in (ok, rej):
            try:
                want = leaf_of(_facts(a), node.region)
            except ReceiptError as exc:
                return failed(f"ack {a.source_seq}: {exc}", *ev)
            p = node.audit.GetInclusionProof(
                audit_pb2.InclusionProofRequest(index=a.log_index, tree_size=cp.size), timeout=30
            )
            ev.append(Evidence(f"leaf rebuilt from ack {a.source_seq}", want.decode()[:200]))
            try:
                verify_receipt(_facts(a), node.region, cp, list(p.hashes))
            except ProofError as exc:
                return failed(f"the leaf rebuilt from ack {a.source_seq} is not leaf {a.log_index}: {exc}", *ev)
            if json.loads(p.leaf_data) != json.loads(want):
                return failed(f"the gateway's leaf {a.log_index} differs from the one its ack describes", *ev)
        only_gap = node.push([[node.signed(c + 20, good[1])]])[0]
        ev.append(Evidence(f"a batch of one gap (seq {c + 20})", f"checkpoint {only_gap.checkpoint[:60]!r}"))
        if not only_gap.checkpoint:
            return failed("a PushResponse that appended no leaf still carries a checkpoint (AUD-035)", *ev)
    finally:
        node.close()
    return passed("two receipts rebuilt from their acks and proven; the gap has none", *ev)


@GATEWAY.check("GW-NO-SIGNATURE", ("SIG-007", "SYNC-030"), "03", "an envelope without signatures is SIG_NO_SIGNATURE")
def check_no_signature(ctx: GatewayContext) -> Result:
    node = _node(ctx)
    try:
        c, _ = _fresh(node)
        rec = node.signed(c + 1, node.payloads(1, c + 1)[0])
        del rec.envelope.signatures[:]
        ack = node.push([[rec]])[0].acks[0]
    finally:
        node.close()
    ev = Evidence(f"seq {c + 1} with an empty signature list", ack_text(ack))
    if ack.outcome != exchange_pb2.REJECTED or ack.reason_code != "SIG_NO_SIGNATURE":
        return failed("expected REJECTED SIG_NO_SIGNATURE (the envelopes.json vector)", ev)
    return passed("", ev)


@GATEWAY.check(
    "GW-ORIGINS",
    ("AUD-020", "DIST-051", "DIST-080", "SYNC-003"),
    "06",
    "the handshake names the log origins its checkpoints use, and serves the origin signing certificates",
)
def check_origins(ctx: GatewayContext) -> Result:
    node = _node(ctx)
    try:
        _, hs = _fresh(node)
        note = node.audit.GetCheckpoint(audit_pb2.GetCheckpointRequest(fresh=True), timeout=30).note
    finally:
        node.close()
    origin = parse_checkpoint(note)[0].origin
    ev = Evidence(
        "Handshake, Audit.GetCheckpoint",
        f"gateway_id={hs.gateway_id!r} audit_origin={hs.audit_origin!r} lists_origin={hs.lists_origin!r} "
        f"checkpoint origin={origin!r}; {len(hs.origin_signing_certificates)} origin signing certificates",
    )
    if hs.audit_origin != f"{hs.gateway_id}/audit/v1" or origin != hs.audit_origin:
        return failed("audit_origin must be <gateway_id>/audit/v1 and the checkpoints' origin", ev)
    if hs.lists_origin != f"{hs.gateway_id}/lists/v1":
        return failed("lists_origin must be <gateway_id>/lists/v1", ev)
    if node.signing_der() not in hs.origin_signing_certificates:
        return failed("the node's own presented signing certificate is not among origin_signing_certificates", ev)
    if hs.gateway_signing_certificate not in hs.origin_signing_certificates:
        return failed("the gateway's signing certificate (imported entries) is not among them", ev)
    return passed("", ev)
