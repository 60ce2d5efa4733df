"""``creditx conformance gateway``: the gateway-side checks of chapters 05, 06 and 07 (chapter 10).

Each check plays its own node (a fresh certificate of a region no other check uses), so checks
do not depend on each other and a gateway that already holds data (a re-run against the same
gateway) is judged from the mark its handshake answers. Proofs and checkpoints are checked
with creditx.standard's own Merkle and note code, from the wire alone.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import grpc

from creditx.conformance.adapter import Child
from creditx.conformance.checks import Evidence, Registry, Result, Status, failed, not_applicable, passed
from creditx.conformance.scripted_node import Call, ScriptedNode, ack_text, with_seq
from creditx.pki import files
from creditx.pki.ca import CertificateAuthority, load_ca
from creditx.pki.crl import revoke
from creditx.pki.identity import IdentityError, TrustStore, serial_hex, verify
from creditx.pki.issue import issue_operator
from creditx.pki.testing import make_pki
from creditx.standard.checkpoint import CheckpointError, parse_checkpoint, verifier_for, verify_checkpoint
from creditx.standard.divisions import CITIES, PROVINCE
from creditx.standard.errors import CreditxError, InputError
from creditx.standard.merkle import ProofError, leaf_hash, verify_consistency, verify_inclusion
from creditx.v1 import audit_pb2, exchange_pb2

GATEWAY = Registry("gateway")
# the suite's own gateway binds only free ports: several suites (and a real gateway) may share a host
FREE_PORTS = ("--metrics-listen", "127.0.0.1:0", "--health-listen", "127.0.0.1:0", "--console-listen", "127.0.0.1:0")
START_TIMEOUT_S = 60.0
# the deciding body of the record vectors (vectors/validation.json), granted to its city's member
VECTOR_REGION, VECTOR_AUTHORITY, VECTOR_AUTHORITY_NAME = "370500", "11370500004273161F", "东营市市场监督管理局"
OWN_GRANTS = (("--region", VECTOR_REGION, "--uscc", VECTOR_AUTHORITY, "--name", VECTOR_AUTHORITY_NAME),)
BUSY_HOLD_S = 30.0  # at most this long the first stream is held open (the gateway may wait briefly first)


class GatewayContext:
    """The gateway under test and the CA the suite issues its nodes from."""

    def __init__(
        self,
        *,
        address: str | None,
        ca_dir: Path | None,
        server_name: str = "",
        workdir: Path | None = None,
        own_argv: list[str] | None = None,
        crl_wait: float = 0.0,
    ) -> None:
        """``own_argv``: the command that runs ``creditx`` for the own gateway (default: this interpreter's)."""
        self.own_argv = own_argv or [sys.executable, "-m", "creditx.cli.main"]
        # How long GW-REVOKED may wait for a gateway under test to load the CA's new CRL; our own
        # gateway gets the CRL before it starts (0: check at once).
        self.crl_wait = crl_wait
        self.own = not address
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="creditx-conformance-gw-")
        self.root = Path(workdir) if workdir else Path(self._tmp.name)  # type: ignore[union-attr]
        self.root.mkdir(parents=True, exist_ok=True)
        self.child: Child | None = None
        self._regions = iter([r for r in (PROVINCE, *CITIES) if r != VECTOR_REGION])  # GW-VECTORS has its own
        if address:
            if ca_dir is None:
                raise InputError("--address needs --ca-dir", hint="the suite issues its nodes' certificates there")
            self.ca: CertificateAuthority = load_ca(ca_dir)
            self.address, self.server_name = address, server_name
            self.operator = issue_operator(
                self.ca, name="conformance-operator", at=datetime.now(UTC), days=2, out=self.root / "operator"
            )
            self.revoked = self._revoked_node()
        else:
            self._start_own()

    def _revoked_node(self) -> ScriptedNode:
        node = ScriptedNode.issue(
            self.ca, self.region(), self.root / "nodes", self.address, server_name=self.server_name
        )
        serial = serial_hex(files.read_cert(node.creds.auth_cert).serial_number)
        revoke(self.ca, serial, at=datetime.now(UTC), reason="key-compromise")
        return node

    def _start_own(self) -> None:
        pki = make_pki(self.root, regions=())
        assert pki.ca is not None
        self.ca, self.operator, self.server_name = pki.ca, pki.operator, "localhost"
        self.address = "pending"
        self.revoked = self._revoked_node()
        shutil.copyfile(self.ca.path(files.CRL), pki.gateway.crl)  # the CRL is deployed with the gateway
        gw = self.root / "gateway"
        py = [*self.own_argv, "gateway"]
        init = subprocess.run(
            [
                *py,
                "init",
                "--dir",
                str(gw),
                "--ca-dir",
                str(pki.gateway.dir),
                "--name",
                "conformance-gw",
                *FREE_PORTS,
            ],
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
        )
        if init.returncode != 0:
            raise CreditxError(f"`creditx gateway init` failed (exit {init.returncode}): {init.stderr.strip()}")
        for grant in OWN_GRANTS:  # as the province does for a gateway under test (see GW-VECTORS)
            done = subprocess.run(
                [*py, "members", "grant", "--dir", str(gw), *grant],
                capture_output=True,
                text=True,
                timeout=START_TIMEOUT_S,
            )
            if done.returncode != 0:
                raise CreditxError(f"`creditx gateway members grant` failed: {done.stderr.strip()}")
        self.child = Child([*py, "run", "--dir", str(gw)], self.root / "gateway.log")
        deadline = time.monotonic() + START_TIMEOUT_S
        run = gw / "run.json"
        while not run.exists():
            if not self.child.alive() or time.monotonic() > deadline:
                raise CreditxError(f"the gateway did not start:\n{self.child.tail()}")
            time.sleep(0.05)  # polls a file the child writes after binding
        self.address = json.loads(run.read_text())["address"]
        self.revoked.address = self.address
        self.revoked = ScriptedNode(self.address, self.revoked.creds, self.revoked.region, server_name="localhost")

    def region(self) -> str:
        return next(self._regions)

    def node(self, region: str = "") -> ScriptedNode:
        """A new node of the next free region (or of ``region``, kept out of that rotation)."""
        return ScriptedNode.issue(
            self.ca, region or self.region(), self.root / "nodes", self.address, server_name=self.server_name
        )

    def trust(self) -> TrustStore:
        return TrustStore(files.read_cert(self.ca.path(files.CA_CERT)))

    def close(self) -> None:
        if self.child is not None:
            self.child.stop()
        if self._tmp is not None:
            self._tmp.cleanup()


def _fresh(node: ScriptedNode) -> tuple[int, exchange_pb2.HandshakeResponse]:
    hs = node.handshake()
    return hs.committed_seq, hs


def _acks(responses: list[exchange_pb2.PushResponse]) -> list[exchange_pb2.RecordAck]:
    return [a for r in responses for a in r.acks]


def _one(node: ScriptedNode, seq: int, payload: bytes) -> exchange_pb2.RecordAck:
    resp = node.push([[node.signed(seq, payload)]])
    return resp[0].acks[0]


def _outcome_check(
    ctx: GatewayContext, prepare: Callable[[ScriptedNode, int], tuple[int, bytes, str]], want: int, reason: str
) -> Result:
    """Push ``prepare``'s record after a first accepted batch and compare its ack with (outcome, reason)."""
    node = ctx.node()
    try:
        c, _ = _fresh(node)
        base = node.payloads(3, c + 1)
        first = _acks(node.push([[node.signed(c + 1 + i, p) for i, p in enumerate(base)]]))
        seq, payload, what = prepare(node, c)
        ack = _one(node, seq, payload)
        ev = [
            Evidence(f"batch seq {c + 1}…{c + 3}", "; ".join(ack_text(a) for a in first)),
            Evidence(what, ack_text(ack)),
        ]
        if [a.outcome for a in first] != [exchange_pb2.ACCEPTED] * 3:
            return failed("the first, valid records were not ACCEPTED", *ev)
        if ack.outcome != want or (reason and ack.reason_code != reason):
            return failed(f"expected {exchange_pb2.Outcome.Name(want)} {reason}".strip(), *ev)
        return passed("", *ev)
    finally:
        node.close()


@GATEWAY.check("GW-HANDSHAKE", ("SYNC-001", "SEC-011"), "05", "Handshake answers the mark, the limits and the region")
def check_handshake(ctx: GatewayContext) -> Result:
    node = ctx.node()
    try:
        hs = node.handshake()
    finally:
        node.close()
    ev = Evidence(
        f"Handshake of a new {node.region} node",
        f"committed_seq={hs.committed_seq} region={hs.region} "
        f"max_batch_records={hs.max_batch_records} gateway_id={hs.gateway_id!r}",
    )
    if hs.committed_seq != 0 or hs.region != node.region or not hs.max_batch_records or not hs.gateway_id:
        return failed("a new node's handshake must answer committed_seq 0, its region, limits and gateway_id", ev)
    return passed("", ev)


@GATEWAY.check(
    "GW-ACCEPT",
    ("SYNC-010", "SYNC-021", "SYNC-032"),
    "05",
    "valid records are ACCEPTED, acked per batch in order, and the mark advances",
)
def check_accept(ctx: GatewayContext) -> Result:
    node = ctx.node()
    try:
        c, _ = _fresh(node)
        p = node.payloads(6, c + 1)
        recs = [node.signed(c + 1 + i, x) for i, x in enumerate(p)]
        resp = node.push([recs[:3], recs[3:]])
    finally:
        node.close()
    ev = [
        Evidence(
            f"PushRequest batch_id={i + 1}",
            f"batch_id={r.batch_id} committed_seq={r.committed_seq}: " + "; ".join(ack_text(a) for a in r.acks),
        )
        for i, r in enumerate(resp)
    ]
    if [r.batch_id for r in resp] != [1, 2]:
        return failed("responses must echo batch_id, one per batch, in batch order", *ev)
    acks = _acks(resp)
    if [a.source_seq for a in acks] != list(range(c + 1, c + 7)) or any(
        a.outcome != exchange_pb2.ACCEPTED for a in acks
    ):
        return failed("every valid new record must be ACCEPTED, acked under its source_seq", *ev)
    if [r.committed_seq for r in resp] != [c + 3, c + 6]:
        return failed("committed_seq must be the mark after each batch", *ev)
    if len({a.log_index for a in acks}) != 6:
        return failed("each decision needs its own audit-log leaf (log_index)", *ev)
    return passed("", *ev)


@GATEWAY.check("GW-REPLAY", ("SYNC-013",), "05", "a re-sent record gets its stored ack, from storage")
def check_replay(ctx: GatewayContext) -> Result:
    node = ctx.node()
    try:
        c, _ = _fresh(node)
        recs = [node.signed(c + 1 + i, x) for i, x in enumerate(node.payloads(3, c + 1))]
        first = node.push([recs])[0]
        again = node.push([recs])[0]
    finally:
        node.close()
    ev = [
        Evidence("first push", "; ".join(ack_text(a) for a in first.acks)),
        Evidence("same bytes again", "; ".join(ack_text(a) for a in again.acks) + f" committed={again.committed_seq}"),
    ]
    same = [(a.outcome, a.reason_code, a.log_index, a.fingerprint) for a in first.acks] == [
        (a.outcome, a.reason_code, a.log_index, a.fingerprint) for a in again.acks
    ]
    if not same or again.committed_seq != first.committed_seq:
        return failed("a replay must answer the stored ack (same outcome, reason, log_index) and leave the mark", *ev)
    return passed("", *ev)


@GATEWAY.check("GW-DUPLICATE", ("SYNC-020",), "05", "the same content under a new source_seq is DUPLICATE")
def check_duplicate(ctx: GatewayContext) -> Result:
    def prepare(node: ScriptedNode, c: int) -> tuple[int, bytes, str]:
        p = with_seq(node.payloads(1, c + 1)[0], c + 4)
        return c + 4, p, f"seq {c + 4}: the content of seq {c + 1}"

    return _outcome_check(ctx, prepare, exchange_pb2.DUPLICATE, "")


@GATEWAY.check("GW-SUPERSEDED", ("SYNC-021",), "05", "a higher version of a natural key is SUPERSEDED")
def check_superseded(ctx: GatewayContext) -> Result:
    def prepare(node: ScriptedNode, c: int) -> tuple[int, bytes, str]:
        obj = json.loads(node.payloads(2, c + 1)[1])
        p = with_seq(
            json.dumps(obj).encode(), c + 4, op="U", version=2, fields=dict(obj["fields"], BZ="更正：补充备注")
        )
        return c + 4, p, f"seq {c + 4}: op U version 2 of seq {c + 2}"

    return _outcome_check(ctx, prepare, exchange_pb2.SUPERSEDED, "")


@GATEWAY.check("GW-SEQ-GAP", ("SYNC-011",), "05", "a gap is REJECTED SYNC_SEQ_GAP, not decided")
def check_gap(ctx: GatewayContext) -> Result:
    def prepare(node: ScriptedNode, c: int) -> tuple[int, bytes, str]:
        return c + 5, node.payloads(5, c + 1)[4], f"seq {c + 5} while the mark is {c + 3}"

    return _outcome_check(ctx, prepare, exchange_pb2.REJECTED, "SYNC_SEQ_GAP")


@GATEWAY.check("GW-SEQ-CONFLICT", ("SYNC-012",), "05", "a decided source_seq with other bytes is SYNC_SEQ_CONFLICT")
def check_conflict(ctx: GatewayContext) -> Result:
    def prepare(node: ScriptedNode, c: int) -> tuple[int, bytes, str]:
        return c + 1, with_seq(node.payloads(5, c + 1)[4], c + 1), f"seq {c + 1} again with other content"

    return _outcome_check(ctx, prepare, exchange_pb2.REJECTED, "SYNC_SEQ_CONFLICT")


@GATEWAY.check("GW-REGION", ("SEC-032",), "07", "a record of another region is REJECTED, naming SEC-032")
def check_region(ctx: GatewayContext) -> Result:
    node = ctx.node()
    other = next(r for r in CITIES if r != node.region)
    try:
        c, _ = _fresh(node)
        ack = _one(node, c + 1, node.payloads(1, c + 1, region=other)[0])
    finally:
        node.close()
    ev = Evidence(f"a {node.region} node sends a record of region {other}", ack_text(ack))
    if ack.outcome != exchange_pb2.REJECTED or ack.requirement != "SEC-032":
        return failed("another region's record must be REJECTED under SEC-032", ev)
    return passed("", ev)


@GATEWAY.check(
    "GW-BATCH-MALFORMED",
    ("SYNC-040", "SYNC-016"),
    "05",
    "source_seq 0 fails the batch INVALID_ARGUMENT with creditx-reason BATCH_MALFORMED",
)
def check_malformed(ctx: GatewayContext) -> Result:
    node = ctx.node()
    try:
        _fresh(node)
        try:
            resp = node.push([[node.signed(0, node.payloads(1, 1)[0])]])
            got = f"answered: {'; '.join(ack_text(a) for a in _acks(resp))}"
            call = None
        except grpc.RpcError as exc:
            call = Call.of(exc)
            got = str(call)
    finally:
        node.close()
    ev = Evidence("PushRequest with a record of source_seq 0", got)
    if call is None or call.code != "INVALID_ARGUMENT" or call.reason != "BATCH_MALFORMED":
        return failed("expected INVALID_ARGUMENT with creditx-reason BATCH_MALFORMED", ev)
    return passed("", ev)


def _gateway_verifier(ctx: GatewayContext, hs: exchange_pb2.HandshakeResponse, note: str):
    """The note verifier from the handshake's gateway-signing certificate, checked against the CA."""
    ident = verify(hs.gateway_signing_certificate, ctx.trust(), at=datetime.now(UTC), roles="gateway-signing")
    cp, _ = parse_checkpoint(note)
    return verifier_for(cp.origin, ident.certificate.public_key())


@GATEWAY.check(
    "GW-RECEIPT",
    ("AUD-035", "AUD-010", "AUD-031", "SYNC-031"),
    "06",
    "the PushResponse checkpoint is signed, and every ack's leaf is proven in it",
)
def check_receipt(ctx: GatewayContext) -> Result:
    node = ctx.node()
    ev: list[Evidence] = []
    try:
        c, hs = _fresh(node)
        resp = node.push([[node.signed(c + 1 + i, x) for i, x in enumerate(node.payloads(3, c + 1))]])[0]
        ev.append(Evidence("push of 3 records", f"checkpoint {resp.checkpoint[:80]!r}…"))
        if not resp.checkpoint:
            return failed("the PushResponse carries no checkpoint", *ev)
        try:
            cp = verify_checkpoint(resp.checkpoint, [_gateway_verifier(ctx, hs, resp.checkpoint)])
        except (CheckpointError, IdentityError) as exc:
            return failed(f"the receipt checkpoint does not verify: {exc}", *ev)
        for a in resp.acks:
            proof = node.audit.GetInclusionProof(
                audit_pb2.InclusionProofRequest(index=a.log_index, tree_size=cp.size), timeout=30
            )
            leaf = json.loads(proof.leaf_data)
            ev.append(Evidence(f"GetInclusionProof index={a.log_index} size={cp.size}", proof.leaf_data.decode()[:200]))
            want = {
                "fp": a.fingerprint.hex(),
                "seq": a.source_seq,
                "node": node.region,
                "decision": exchange_pb2.Outcome.Name(a.outcome),
            }
            if {k: leaf.get(k) for k in want} != want:
                return failed(f"leaf {a.log_index} does not describe the ack's decision {want}", *ev)
            try:
                verify_inclusion(a.log_index, cp.size, leaf_hash(proof.leaf_data), list(proof.hashes), cp.root_hash)
            except ProofError as exc:
                return failed(f"inclusion proof of leaf {a.log_index} fails: {exc}", *ev)
    finally:
        node.close()
    return passed(f"checkpoint of size {cp.size} verified; {len(resp.acks)} inclusion proofs", *ev)


@GATEWAY.check("GW-CONSISTENCY", ("AUD-012", "AUD-030"), "06", "a later checkpoint is proven to extend an earlier one")
def check_consistency(ctx: GatewayContext) -> Result:
    node = ctx.node()
    try:
        c, hs = _fresh(node)
        r1 = node.push([[node.signed(c + 1, node.payloads(1, c + 1)[0])]])[0]
        r2 = node.push([[node.signed(c + 2, node.payloads(2, c + 1)[1])]])[0]
        if not r1.checkpoint or not r2.checkpoint:
            return failed("a PushResponse carries no checkpoint", Evidence("two pushes", "checkpoint missing"))
        v = _gateway_verifier(ctx, hs, r1.checkpoint)
        old, new = verify_checkpoint(r1.checkpoint, [v]), verify_checkpoint(r2.checkpoint, [v])
        proof = node.audit.GetConsistencyProof(
            audit_pb2.ConsistencyProofRequest(old_size=old.size, new_size=new.size), timeout=30
        )
    finally:
        node.close()
    ev = Evidence(f"GetConsistencyProof {old.size} → {new.size}", f"{len(proof.hashes)} hashes")
    if new.size <= old.size or old.origin != new.origin:
        return failed("the second checkpoint must be of the same log and larger", ev)
    try:
        verify_consistency(old.size, new.size, old.root_hash, new.root_hash, list(proof.hashes))
    except ProofError as exc:
        return failed(f"consistency proof fails: {exc}", ev)
    return passed("", ev)


def _refused(call: Callable[[], object], what: str, codes: tuple[str, ...]) -> Result:
    try:
        got = call()
    except grpc.RpcError as exc:
        c = Call.of(exc)
        ev = Evidence(what, str(c))
        if c.code in codes:
            return passed("", ev)
        return failed(f"refused with {c.code}, expected {' or '.join(codes)}", ev)
    return failed("the call was served", Evidence(what, f"answered {type(got).__name__}: {str(got)[:200]}"))


@GATEWAY.check("GW-REVOKED", ("SEC-040", "SEC-034"), "07", "a revoked node certificate is refused on Exchange")
def check_revoked(ctx: GatewayContext) -> Result:
    node = ctx.revoked
    what = f"Handshake with revoked certificate of {node.creds.dir.name}"
    if not ctx.own and ctx.crl_wait <= 0:
        return not_applicable(
            f"the suite revoked {node.creds.dir.name} in the CA's CRL ({ctx.ca.path(files.CRL)}); deploy that CRL "
            "to the gateway and run again with --crl-wait SECONDS to check SEC-040"
        )
    deadline = time.monotonic() + ctx.crl_wait
    try:
        while True:
            result = _refused(node.handshake, what, ("UNAUTHENTICATED",))
            if result.status is Status.PASS or time.monotonic() >= deadline:
                return result
            time.sleep(1.0)  # paces re-asking while the gateway under test reloads its CRL
    finally:
        node.close()


@GATEWAY.check(
    "GW-STREAM-BUSY",
    ("SYNC-015", "SYNC-016"),
    "05",
    "a second Push stream of one node ends ABORTED with creditx-reason STREAM_BUSY",
)
def check_stream_busy(ctx: GatewayContext) -> Result:
    node = ctx.node()
    hold = threading.Event()
    try:
        c, _ = _fresh(node)
        first_batch = exchange_pb2.PushRequest(batch_id=1, records=[node.signed(c + 1, node.payloads(1, c + 1)[0])])

        def held():
            yield first_batch
            hold.wait(BUSY_HOLD_S)  # keeps the first stream open while the second one is tried

        first = node.exchange.Push(held(), timeout=BUSY_HOLD_S + 30)
        ack = next(first)  # the first stream is open and served
        try:
            resp = list(node.exchange.Push(iter([]), timeout=BUSY_HOLD_S))
            got, call = f"served: {len(resp)} responses", None
        except grpc.RpcError as exc:
            call = Call.of(exc)
            got = str(call)
        hold.set()
        first.cancel()
    finally:
        hold.set()
        node.close()
    ev = [
        Evidence("first Push stream, kept open", "; ".join(ack_text(a) for a in ack.acks)),
        Evidence("second Push stream of the same node", got),
    ]
    if call is None or call.code != "ABORTED" or call.reason != "STREAM_BUSY":
        return failed("expected ABORTED with creditx-reason STREAM_BUSY while the first stream is open", *ev)
    return passed("", *ev)


@GATEWAY.check(
    "GW-BATCH-LIMIT",
    ("SYNC-040", "SYNC-016"),
    "05",
    "a batch above max_batch_records fails RESOURCE_EXHAUSTED with creditx-reason BATCH_TOO_LARGE",
)
def check_batch_limit(ctx: GatewayContext) -> Result:
    node = ctx.node()
    try:
        c, hs = _fresh(node)
        n = hs.max_batch_records + 1
        recs = [node.signed(c + 1 + i, p) for i, p in enumerate(node.payloads(n, c + 1))]
        try:
            resp = node.push([recs])
            got, call = f"answered: {len(_acks(resp))} acks", None
        except grpc.RpcError as exc:
            call = Call.of(exc)
            got = str(call)
    finally:
        node.close()
    ev = Evidence(f"PushRequest of {n} records (handshake: max_batch_records={n - 1})", got)
    if call is None or call.code != "RESOURCE_EXHAUSTED" or call.reason != "BATCH_TOO_LARGE":
        return failed("expected RESOURCE_EXHAUSTED with creditx-reason BATCH_TOO_LARGE", ev)
    return passed("", ev)


for _id, _reqs, _ch, _title in (
    ("GW-ACK-AFTER-COMMIT", ("SYNC-032",), "05", "acks only after the commit (needs a crash of the gateway)"),
    ("GW-FAIL-CLOSED", ("AUD-040",), "06", "an unsealed audit log refuses records"),
):
    GATEWAY.not_covered(_id, _reqs, _ch, _title)


# The record vectors, then the identity table of every service (SEC-034); registered after these.
from creditx.conformance import gateway_roles, gateway_vectors  # noqa: E402, F401

# isort: split
# The checks of what standard 1.1 added, kept in their own module (registered on GATEWAY on import).
from creditx.conformance import gateway_1_1  # noqa: E402, F401

# isort: split
# The batch-signed suite's checks (standard 1.2).
from creditx.conformance import gateway_1_2  # noqa: E402, F401

# isort: split
# List distribution as a node sees it (Subscribe, Snapshot), then what standard 1.4 added to it:
# compressed batches, snapshots without origins.
from creditx.conformance import gateway_lists  # noqa: E402, F401

# isort: split
from creditx.conformance import gateway_1_4  # noqa: E402, F401
