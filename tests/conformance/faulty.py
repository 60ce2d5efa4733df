"""Seeded-defect variants of our node and gateway, for the conformance suite's own tests only.

    python -m tests.conformance.faulty DEFECT node run --dir DIR
    python -m tests.conformance.faulty DEFECT gateway run --dir DIR

Each DEFECT patches exactly one behaviour of the product in this process (and in the worker
processes the product spawns from it), then runs the ``creditx`` command; the product itself
has no switch for any of them. Each defect names the conformance check (and so the requirement
IDs) that must catch it: ``DEFECTS[name].caught_by``.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Defect:
    role: str  # "node" or "gateway"
    caught_by: frozenset[str]  # the checks that must fail, and no other
    apply: Callable[[], None]


def _resume_from_own_counter() -> None:
    """Node: resume from its own first unacknowledged record, ignoring the gateway's mark."""
    from creditx.node.sync import client, state

    original = client.SyncRunner._handshake

    def handshake(self):
        ev = original(self)
        if isinstance(ev, state.HandshakeOk):
            ev = dataclasses.replace(ev, committed_seq=max(ev.committed_seq, self.store.first_unacked() - 1))
        return ev

    client.SyncRunner._handshake = handshake  # type: ignore[method-assign]


def _resign_on_send() -> None:
    """Node: sign each record again (random-nonce ECDSA) every time it is sent."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    from creditx.node import store
    from creditx.standard.envelope import pae
    from creditx.standard.record import RECORD_PAYLOAD_TYPE

    original = store.NodeStore.load_batch

    def load_batch(self, from_seq, max_records, max_bytes):
        from creditx.pki.files import read_key

        key = read_key(self.path.parent / "signing.key") if hasattr(self, "path") else None
        items = original(self, from_seq, max_records, max_bytes)
        if key is None:
            raise RuntimeError("faulty node: cannot find the signing key")
        out = []
        for i in items:
            sig = key.sign(pae(RECORD_PAYLOAD_TYPE, i.payload), ec.ECDSA(hashes.SHA256()))  # random nonce
            out.append(dataclasses.replace(i, signatures=[dict(i.signatures[0], sig=sig)]))
        return out

    store.NodeStore.load_batch = load_batch  # type: ignore[method-assign]


def _no_backoff() -> None:
    """Node: retry after 10 ms whatever the failure (no exponential back-off)."""
    from creditx.node.sync import state

    state.backoff_delay = lambda attempt, policy, rng: 0.01


def _ignore_batch_limit() -> None:
    """Node: keep its own batch size whatever the handshake allows."""
    from creditx.node.sync import client, state

    original = client.SyncRunner._handshake

    def handshake(self):
        ev = original(self)
        if isinstance(ev, state.HandshakeOk):
            ev = dataclasses.replace(ev, max_batch_records=500)
        return ev

    client.SyncRunner._handshake = handshake  # type: ignore[method-assign]


def _wrong_payload_type() -> None:
    """Node: send its envelopes under another payload type than the one it signed."""
    from creditx.node.sync import client

    client.RECORD_PAYLOAD_TYPE = "application/json"


def _sign_reserialised() -> None:
    """Node: sign a re-serialisation of the payload (sorted, spaced JSON), send the original bytes."""
    import json

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    from creditx.node import store
    from creditx.pki.files import read_key
    from creditx.standard.envelope import pae
    from creditx.standard.record import RECORD_PAYLOAD_TYPE

    original = store.NodeStore.load_batch

    def load_batch(self, from_seq, max_records, max_bytes):
        key = read_key(self.path.parent / "signing.key")
        out = []
        for i in original(self, from_seq, max_records, max_bytes):
            again = json.dumps(json.loads(i.payload), ensure_ascii=False, indent=1).encode()
            algo = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)  # the same bytes every send
            sig = key.sign(pae(RECORD_PAYLOAD_TYPE, again), algo)
            out.append(dataclasses.replace(i, signatures=[dict(i.signatures[0], sig=sig)]))
        return out

    store.NodeStore.load_batch = load_batch  # type: ignore[method-assign]


def _salted_fingerprint() -> None:
    """Gateway: a content fingerprint that also hashes the source_seq, so duplicates go unseen."""
    import hashlib

    from creditx.standard import fingerprint

    original = fingerprint.fingerprint
    fingerprint.fingerprint = lambda record: hashlib.sha256(original(record) + str(record.source_seq).encode()).digest()


def _bad_consistency_path() -> None:
    """Gateway: consistency proofs with their hashes in the wrong order."""
    from creditx.standard import merkle

    original = merkle.consistency_proof_from
    merkle.consistency_proof_from = lambda old_size, new_size, subtree: list(
        reversed(original(old_size, new_size, subtree))
    )


def _ignore_revocation() -> None:
    """Gateway: never consult the CRL."""
    from creditx.pki.identity import TrustStore

    TrustStore.revocation = lambda self, serial_number: None  # type: ignore[method-assign]


def _node_on_operator() -> None:
    """Gateway: a node certificate passes where the operator role is required."""
    from creditx.pki import identity

    original = identity.verify

    def verify(data, trust, *, at, roles):
        roles = (roles,) if isinstance(roles, str) else tuple(roles)
        if "operator" in roles:
            roles = (*roles, "node-auth")
        return original(data, trust, at=at, roles=roles)

    identity.verify = verify  # before the gateway's modules import it by name


def _operator_on_exchange() -> None:
    """Gateway: an operator certificate passes where a node's is required (Exchange, Distribution)."""
    from creditx.pki import identity

    original = identity.verify

    def verify(data, trust, *, at, roles):
        roles = (roles,) if isinstance(roles, str) else tuple(roles)
        if "node-auth" in roles:
            roles = (*roles, "operator")
        return original(data, trust, at=at, roles=roles)

    identity.verify = verify


def _no_signing_certificates() -> None:
    """Node: present no signing certificate in the handshake."""
    from creditx.node.sync import client

    class WithoutCertificates:
        def __init__(self, real: object) -> None:
            self._real = real

        def __getattr__(self, name: str) -> object:
            return getattr(self._real, name)

        def HandshakeRequest(self, **kw: object) -> object:
            kw["signing_certificates"] = []
            return self._real.HandshakeRequest(**kw)  # type: ignore[attr-defined]

    client.exchange_pb2 = WithoutCertificates(client.exchange_pb2)  # type: ignore[assignment]


def _bad_inclusion_path() -> None:
    """Gateway: inclusion proofs with their sibling hashes in the wrong order."""
    from creditx.standard import merkle

    original = merkle.inclusion_proof_from
    merkle.inclusion_proof_from = lambda index, size, subtree: list(reversed(original(index, size, subtree)))


def _reason_only_in_details() -> None:
    """Gateway: call-level reason codes only in the status details (1.0), no creditx-reason."""
    from creditx.standard import call_status

    call_status.trailing = lambda reason, rule="": ()


class _Override:
    """A module stand-in whose named message constructors are replaced (everything else passes)."""

    def __init__(self, real: object, **constructors: Callable[..., object]) -> None:
        self._real, self._constructors = real, constructors

    def __getattr__(self, name: str) -> object:
        return self._constructors.get(name) or getattr(self._real, name)


def _list_resubscribe_from_applied() -> None:
    """Node: after a reconnect, subscribe from its applied list_seq instead of applied + 1."""
    from creditx.node.replica import follower

    real = follower.pb

    def subscribe_request(**kw: Any) -> object:
        kw["from_list_seq"] = max(int(kw["from_list_seq"]) - 1, 1)
        return real.SubscribeRequest(**kw)

    follower.pb = _Override(real, SubscribeRequest=subscribe_request)  # type: ignore[assignment]


def _plan_with(replace_action: Callable[[Any], Any]) -> None:
    from creditx.standard.lists import replica

    original = replica.next_action
    replica.next_action = lambda applied_seq, incoming_seq: replace_action(original(applied_seq, incoming_seq))


def _list_apply_duplicate() -> None:
    """Node: apply a change delivered again (at-least-once delivery) a second time."""
    from creditx.standard.lists.replica import Action

    _plan_with(lambda a: Action.APPLY if a is Action.SKIP_DUPLICATE else a)


def _list_apply_across_gap() -> None:
    """Node: apply a change that arrives after a missing list_seq."""
    from creditx.standard.lists.replica import Action

    _plan_with(lambda a: Action.APPLY if a is Action.GAP else a)


def _snapshot_restart_from_zero() -> None:
    """Node: after a dropped Snapshot stream, ask for a new snapshot from chunk 0 instead of resuming."""
    from creditx.node.replica import follower

    real = follower.pb
    follower.pb = _Override(  # type: ignore[assignment]
        real, SnapshotRequest=lambda **kw: real.SnapshotRequest(**dict(kw, at_list_seq=0, from_chunk=0))
    )


def _snapshot_chunk_out_of_order() -> None:
    """Node: take whatever chunk comes next as the next one (no order check)."""
    from creditx.node.replica import store
    from creditx.standard.lists import snapshot

    def accept_chunk(progress, chunk):
        if progress is not None and chunk.index != progress.next_chunk:
            progress = dataclasses.replace(progress, next_chunk=chunk.index)
        return snapshot.accept_chunk(progress, chunk)

    store.accept_chunk = accept_chunk


def _list_cursor_ahead() -> None:
    """Node: report the list log's head as its applied list_seq (the cursor ahead of its data)."""
    from creditx.node.replica import checkpoints

    real = checkpoints.pb

    original = checkpoints.CheckpointChecker.report

    def report(self, verified):
        st = self.replica.state()
        checkpoints.pb = _Override(  # type: ignore[assignment]
            real,
            ReportAppliedRequest=lambda **kw: real.ReportAppliedRequest(
                **dict(kw, applied_list_seq=max(st.applied, st.head))
            ),
        )
        try:
            return original(self, verified)
        finally:
            checkpoints.pb = real

    checkpoints.CheckpointChecker.report = report  # type: ignore[method-assign]


def _import_ignores_region() -> None:
    """Node: import rows whatever region their 地方编码 column names (no SEC-032 check at intake)."""
    from creditx.node import intake

    intake._unauthorised = lambda *args, **kwargs: []


def _every_ack_accepted() -> None:
    """Node: record every ack as ACCEPTED, whatever outcome the gateway decided."""
    from creditx.node import store

    original = store.NodeStore.record_acks

    def record_acks(self, acks, committed_seq, now):
        return original(self, [dataclasses.replace(a, outcome="ACCEPTED") for a in acks], committed_seq, now)

    store.NodeStore.record_acks = record_acks  # type: ignore[method-assign]


def _department_on_audit() -> None:
    """Gateway: a department certificate is served the audit log (its leaves name every record)."""
    from creditx.pki import identity

    original = identity.verify

    def verify(data, trust, *, at, roles):
        roles = (roles,) if isinstance(roles, str) else tuple(roles)
        if "operator" in roles and "node-auth" in roles:  # the Audit service's entry
            roles = (*roles, "department")
        return original(data, trust, at=at, roles=roles)

    identity.verify = verify


def _no_length_limits() -> None:
    """Gateway: accept fields longer than the catalogue allows (no REC-021 check)."""
    from creditx.standard import validation

    original = validation.validate_fields

    def validate_fields(record_type, fields, **kw):
        return [v for v in original(record_type, fields, **kw) if v.reason != "TOO_LONG"]

    validation.validate_fields = validate_fields  # before the gateway's modules import it by name


def _unchecked_node_history() -> None:
    """Gateway: take a node's batch checkpoint without checking it extends the stored one (no SYNC-062)."""
    from creditx.standard import batch

    batch.check_extends = lambda old, new, proof: None  # before the gateway's modules import it by name


def _no_side_list() -> None:
    """Gateway: compressed batches without the persons' index keys beside the block (no DIST-088)."""
    from creditx.gateway.lists import wire

    original = wire.compressed_batch_bytes
    wire.compressed_batch_bytes = lambda block, size, persons, *rest: original(block, size, [], *rest)
    # before the gateway's modules import it by name


def _distribution_ignores(method: str, **fields: object) -> None:
    """Gateway: ``Distribution.<method>`` serves every request as if ``fields`` were asked."""
    from creditx.gateway.lists.service import DistributionServicer

    original = getattr(DistributionServicer, method)

    def served(self, request, context):
        asked = type(request)()
        asked.CopyFrom(request)
        for name, value in fields.items():
            setattr(asked, name, value)
        return original(self, asked, context)

    setattr(DistributionServicer, method, served)


def _origins_always() -> None:
    """Gateway: snapshot chunks with origins whatever the node asked (no DIST-082), as before 1.4."""
    _distribution_ignores("Snapshot", without_origins=False)


def _ignore_client_batch_bound() -> None:
    """Gateway: Subscribe batches up to its own bound whatever the node asked for (no DIST-034)."""
    _distribution_ignores("Subscribe", max_batch_changes=0)


def _chunk_entries_reversed() -> None:
    """Gateway: each snapshot chunk's entries in descending entry_id order (no DIST-071)."""
    from creditx.gateway.lists import wire

    original = wire.snapshot_chunk
    wire.snapshot_chunk = lambda rows, *args, **kw: original(list(reversed(list(rows))), *args, **kw)
    # before the gateway's modules import it by name


DEFECTS: dict[str, Defect] = {
    "resume-from-own-counter": Defect("node", frozenset({"NODE-RESUME", "NODE-DELIVERY"}), _resume_from_own_counter),
    "resign-on-send": Defect("node", frozenset({"NODE-NO-RESIGN"}), _resign_on_send),
    "no-backoff": Defect("node", frozenset({"NODE-BACKOFF-UNAVAILABLE", "NODE-STREAM-BUSY"}), _no_backoff),
    "ignore-batch-limit": Defect("node", frozenset({"NODE-BATCH-LIMIT"}), _ignore_batch_limit),
    "wrong-payload-type": Defect("node", frozenset({"NODE-ENVELOPE"}), _wrong_payload_type),
    "sign-reserialised-payload": Defect("node", frozenset({"NODE-ENVELOPE"}), _sign_reserialised),
    "salted-fingerprint": Defect("gateway", frozenset({"GW-DUPLICATE"}), _salted_fingerprint),
    "bad-consistency-path": Defect("gateway", frozenset({"GW-CONSISTENCY"}), _bad_consistency_path),
    "no-signing-certificates": Defect("node", frozenset({"NODE-HANDSHAKE", "NODE-ENVELOPE"}), _no_signing_certificates),
    "ignore-revocation": Defect("gateway", frozenset({"GW-REVOKED"}), _ignore_revocation),
    "node-on-operator": Defect("gateway", frozenset({"GW-ROLE-OPERATOR"}), _node_on_operator),
    "reason-only-in-details": Defect(
        "gateway", frozenset({"GW-BATCH-MALFORMED", "GW-BATCH-LIMIT", "GW-STREAM-BUSY"}), _reason_only_in_details
    ),
    "operator-on-exchange": Defect(
        "gateway", frozenset({"GW-ROLE-EXCHANGE", "GW-ROLE-DISTRIBUTION", "GW-ROLE-SANCTIONS"}), _operator_on_exchange
    ),
    "bad-inclusion-path": Defect("gateway", frozenset({"GW-RECEIPT", "GW-RECEIPT-FROM-ACK"}), _bad_inclusion_path),
    "list-resubscribe-from-applied": Defect(
        "node", frozenset({"NODE-LIST-RESUBSCRIBE"}), _list_resubscribe_from_applied
    ),
    "list-apply-duplicate": Defect("node", frozenset({"NODE-LIST-DUPLICATE"}), _list_apply_duplicate),
    "list-apply-across-gap": Defect("node", frozenset({"NODE-LIST-GAP"}), _list_apply_across_gap),
    "snapshot-restart-from-zero": Defect("node", frozenset({"NODE-SNAPSHOT-RESUME"}), _snapshot_restart_from_zero),
    "snapshot-chunk-out-of-order": Defect("node", frozenset({"NODE-SNAPSHOT-ORDER"}), _snapshot_chunk_out_of_order),
    "list-cursor-ahead": Defect("node", frozenset({"NODE-LIST-CURSOR"}), _list_cursor_ahead),
    "import-ignores-region": Defect("node", frozenset({"NODE-REGION"}), _import_ignores_region),
    "every-ack-accepted": Defect("node", frozenset({"NODE-ACK-RECORDED"}), _every_ack_accepted),
    "department-on-audit": Defect("gateway", frozenset({"GW-ROLE-AUDIT"}), _department_on_audit),
    "no-length-limits": Defect("gateway", frozenset({"GW-VECTORS"}), _no_length_limits),
    "unchecked-node-history": Defect("gateway", frozenset({"GW-BATCH-FORK"}), _unchecked_node_history),
    "no-side-list": Defect("gateway", frozenset({"GW-DIST-COMPRESSED"}), _no_side_list),
    "origins-always": Defect("gateway", frozenset({"GW-DIST-SNAPSHOT-NO-ORIGINS"}), _origins_always),
    "ignore-client-batch-bound": Defect("gateway", frozenset({"GW-DIST-SUBSCRIBE"}), _ignore_client_batch_bound),
    "chunk-entries-reversed": Defect("gateway", frozenset({"GW-DIST-SNAPSHOT"}), _chunk_entries_reversed),
}


ENV = "CREDITX_SEEDED_DEFECT"


def main(argv: list[str]) -> int:
    name, rest = argv[0], argv[1:]
    os.environ[ENV] = name  # for the processes the product spawns (see the end of this module)
    DEFECTS[name].apply()
    from creditx.cli.main import main as creditx_main

    return creditx_main(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
elif __name__ == "__mp_main__" and os.environ.get(ENV) in DEFECTS:
    # a process the product spawned (the gateway's ingest workers) imports this module as its
    # main: it carries the same defect as its parent
    DEFECTS[os.environ[ENV]].apply()
