"""The ``creditx.v1.Sanctions`` servicer: GetMeasures and ReportActions, for node-auth callers.

* HALL-002 GetMeasures answers the measures list (DIR/measures.json if the province edited one,
  else the standard's), parsed and checked, as RFC 8785 bytes signed by the gateway signing key.
* HALL-041 ReportActions checks every forwarded report again — the department certificate
  (provincial CA, role ``department``, the calling node's region, at the report's time), the
  signature, the payload rules, the measure against the check's list types — and stores the good
  ones exactly once with one audit leaf each; a bad report is named in ``rejected`` and never
  fails the others.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import grpc

from creditx.gateway.access import caller
from creditx.gateway.call_errors import BatchError, abort
from creditx.gateway.exchange.keys import KeyRegistry
from creditx.gateway.lists.store import open_conn
from creditx.gateway.sanctions.store import ActionRow, store_actions
from creditx.pki.identity import Identity, IdentityError, verify
from creditx.pki.profiles import DEPARTMENT
from creditx.standard.actions import (
    ACTION_PAYLOAD_TYPE,
    MAX_ACTION_PAYLOAD,
    check_id_parts,
    department_code,
    parse_action,
)
from creditx.standard.envelope import Envelope, Signature, SignatureError, Signer, sign_envelope, verify_envelope
from creditx.standard.errors import CreditxError
from creditx.standard.measures import MEASURES_PAYLOAD_TYPE, MeasuresCatalogue, load_measures, parse_measures
from creditx.standard.timestamps import rfc3339
from creditx.v1 import envelope_pb2, sanctions_pb2, sanctions_pb2_grpc

MAX_REPORTS, MAX_COUNTERS = 500, 2000
SKEW = timedelta(minutes=5)


def province_measures(directory: Path) -> MeasuresCatalogue:
    """DIR/measures.json (the province's edited list) if present, else the standard's."""
    path = Path(directory) / "measures.json"
    return parse_measures(path.read_bytes()) if path.exists() else load_measures()


def _env_pb(env: Envelope) -> envelope_pb2.Envelope:
    return envelope_pb2.Envelope(
        payload_type=env.payload_type,
        payload=env.payload,
        signatures=[envelope_pb2.Signature(keyid=s.keyid, suite=s.suite, sig=s.sig) for s in env.signatures],
    )


def _env(m: envelope_pb2.Envelope) -> Envelope:
    return Envelope(
        m.payload_type, bytes(m.payload), tuple(Signature(s.keyid, s.suite, bytes(s.sig)) for s in m.signatures)
    )


class SanctionsServicer(sanctions_pb2_grpc.SanctionsServicer):
    def __init__(
        self,
        db_path: str | Path,
        keys: KeyRegistry,
        measures: MeasuresCatalogue,
        signing_key,
        clock: Callable[[], datetime],
        *,
        audit: bool = True,
        identity: Callable[[grpc.ServicerContext], Identity] = caller,
    ) -> None:
        self.keys, self.measures, self.clock, self.audit, self.identity = keys, measures, clock, audit, identity
        self.document = sign_envelope(MEASURES_PAYLOAD_TYPE, measures.canonical(), Signer(signing_key))
        self._conn = open_conn(db_path)
        self._lock = threading.Lock()

    def _node(self, context) -> str:
        try:
            return self.identity(context).region or ""  # verified node-auth by the gate (creditx.gateway.access)
        except BatchError as err:
            abort(context, err)
            raise  # not reached

    def GetMeasures(self, request, context):
        self._node(context)
        return sanctions_pb2.MeasuresDocument(document=_env_pb(self.document), version=self.measures.version)

    def _row(self, node: str, env: Envelope, cert: bytes) -> ActionRow:
        facts = parse_action(env.payload) if len(env.payload) <= MAX_ACTION_PAYLOAD else {}
        if not facts:
            raise CreditxError(f"payload longer than {MAX_ACTION_PAYLOAD} bytes [HALL-030]")
        try:
            at = datetime.fromisoformat(facts["at"].replace("Z", "+00:00"))
        except ValueError:
            raise CreditxError(f"at {facts['at']!r} is not YYYY-MM-DDTHH:MM:SSZ [HALL-030]") from None
        if at.tzinfo is None or at > self.clock() + SKEW:
            raise CreditxError(f"at {facts['at']!r} is not a UTC time in the past [HALL-030]")
        try:
            who = verify(cert, self.keys.trust, at=at, roles=(DEPARTMENT,))
        except IdentityError as exc:
            raise CreditxError(f"department certificate: {exc.message}") from None
        if who.region != node:
            raise CreditxError(f"department certificate of region {who.region}, forwarded by node {node} [HALL-041]")
        if department_code(who.name) != facts["department"]:
            raise CreditxError(f"report for department {facts['department']!r} signed by {who.name!r} [HALL-030]")
        verify_envelope(
            env,
            lambda kid: who.certificate.public_key() if kid == who.key_id else None,
            expected_type=ACTION_PAYLOAD_TYPE,
            max_payload=MAX_ACTION_PAYLOAD,
        )
        _body, _category, hit, _mac = check_id_parts(facts["check_id"])
        m = self.measures.measure(facts["measure_id"])
        if m is None or not m.list_types & set(hit):
            raise CreditxError(
                f"measure {facts['measure_id']!r} is not triggered by the check's list types {list(hit)} [HALL-030]"
            )
        return ActionRow(
            node,
            facts["report_id"],
            facts["department"],
            facts["check_id"],
            facts["matter"],
            m.id,
            tuple(sorted(m.list_types & set(hit))),
            facts["action"],
            facts["reason"],
            facts["at"],
            env.payload,
            json.dumps(env.to_json_obj()["signatures"]),
            cert,
            who.serial,
        )

    def ReportActions(self, request, context):
        node = self._node(context)
        if len(request.reports) > MAX_REPORTS or len(request.counters) > MAX_COUNTERS:
            abort(
                context,
                BatchError(
                    "RESOURCE_EXHAUSTED",
                    "BATCH_TOO_LARGE",
                    f"at most {MAX_REPORTS} reports and {MAX_COUNTERS} counters per call",
                    rule="HALL-041",
                    hint="split the call",
                ),
            )
        rows, rejected = [], []
        for r in request.reports:
            env = _env(r.report)
            try:
                rows.append(self._row(node, env, bytes(r.certificate)))
            except (CreditxError, SignatureError) as exc:
                rid = _report_id(env.payload)
                rejected.append(f"{rid}: {exc.message}")
        counters = [(c.department[:64], c.list_type[:32], c.checks, c.hits) for c in request.counters]
        with self._lock:
            stored, dups = store_actions(self._conn, rows, counters, node, rfc3339(self.clock()), audit=self.audit)
        return sanctions_pb2.ReportActionsResponse(stored=stored, duplicates=dups, rejected=rejected)

    def close(self) -> None:
        self._conn.close()


def _report_id(payload: bytes) -> str:
    try:
        rid = json.loads(payload.decode("utf-8")).get("report_id", "")
        return rid if isinstance(rid, str) else ""
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return ""
