"""``creditx conformance node``: the node-side checks of chapters 03, 05 and 07 (chapter 10).

One scenario drives the node under test through its vendor's commands and the scripted gateway
(``scripted_gateway.py``); the checks then judge what the gateway saw, so a check only ever rests
on the wire. The scenario, in order:

1. the first two handshakes are refused ``UNAVAILABLE`` / ``AUDIT_UNSEALED`` (the node must back
   off, at least 0.5 s each time, and come back, SYNC-017);
2. the stream is dropped when the first batch arrives, then when the second arrives, both
   undecided (the node must resume from the gateway's mark, SYNC-011);
3. the next stream is refused ``ABORTED`` / ``STREAM_BUSY`` (SYNC-015, SYNC-017);
4. the next stream's second batch is decided but its ack is lost, and the stream after that is
   refused ``STREAM_BUSY`` again (the node must back off, then resend; the gateway answers the
   stored decision, SYNC-013);
5. everything is accepted; then the gateway falls back to an older high-water mark (restored
   from a backup) and a second file arrives: the node must resend from the gateway's mark + 1,
   never from its own counter, with the same bytes as before (SYNC-011, SYNC-012).

At the same time, on the same port, the suite's Distribution service takes the node's list
replica through a snapshot and four Subscribe streams with scripted faults
(``scripted_lists.py``; the checks are in ``node_lists.py``).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TextIO

from cryptography import x509

from creditx.conformance.adapter import Child, NodeAdapter, run_command
from creditx.conformance.checks import Evidence, Registry, Result, failed, not_applicable, passed
from creditx.conformance.scripted_gateway import Event, ScriptedGateway, Step, serve, signing_cert_keys
from creditx.conformance.scripted_lists import ScriptedDistribution
from creditx.pki.identity import IdentityError, TrustStore, verify
from creditx.pki.testing import make_pki
from creditx.standard.envelope import Envelope, SignatureError, verify_envelope
from creditx.standard.record import RECORD_PAYLOAD_TYPE, RecordError, decode_record
from creditx.standard.synth import generate_rows, write_rows
from creditx.v1 import envelope_pb2, exchange_pb2

NODE = Registry("node")
FIRST_FILE_ROWS = 12  # XZCF, seqs 1-12
SECOND_FILE_ROWS = 3  # XZXK, seqs 13-15
OTHER_REGION_ROWS = 2  # XZCF rows whose 地方编码 names OTHER_REGION: never sent (SEC-032)
OTHER_REGION = "370200"
REGION_COLUMN = "地方编码"  # the template's region column (catalogue meta "region")
SOURCE_ID_COLUMN = "源记录标识"
RESTORED_MARK = 7
# records the gateway decides otherwise than ACCEPTED; all before RESTORED_MARK, so decided once
SCRIPTED_OUTCOMES = {
    2: (exchange_pb2.DUPLICATE, ""),
    4: (exchange_pb2.SUPERSEDED, ""),
    6: (exchange_pb2.REJECTED, "REC_FIELD_INVALID"),
}  # the "backup" the gateway falls back to
SETTLE_S = 8.0  # how long the scripted failures may take once the first file is in
MIN_BACKOFF_S = 0.5  # SYNC-017: no retry sooner than this after a failure


@dataclass
class NodeRun:
    """What the scenario observed; ``errors`` are the phases that did not complete."""

    region: str
    gateway: ScriptedGateway
    lists: ScriptedDistribution
    ca_cert: bytes  # PEM, read during the scenario (its directory may be gone when checks run)
    phases: dict[str, bool] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # worth showing, not failures by themselves
    other_region_ids: set[str] = field(default_factory=set)  # source ids of the other-region rows
    status: dict | None = None  # the adapter's status output once the node stopped (None: no command)
    status_error: str = ""
    log: Path = Path("node-under-test.log")


class NodeContext:
    def __init__(
        self,
        adapter: NodeAdapter,
        *,
        region: str,
        workdir: Path | None,
        phase_timeout: float,
        progress: TextIO | None | Literal["stderr"] = "stderr",  # resolved per call: stderr may be replaced
    ) -> None:
        self.adapter, self.region, self.phase_timeout = adapter, region, phase_timeout
        self.progress = progress
        self.workdir = workdir
        self._run: NodeRun | None = None
        self._error: Exception | None = None

    def run(self) -> NodeRun:
        if self._error is not None:  # the scenario runs once; every check reports its failure
            raise self._error
        try:
            return self._once()
        except Exception as exc:
            self._error = exc
            raise

    def _once(self) -> NodeRun:
        if self._run is None:
            if self.workdir is None:
                with tempfile.TemporaryDirectory(prefix="creditx-conformance-") as tmp:
                    self._run = self._scenario(Path(tmp))
            else:
                self.workdir.mkdir(parents=True, exist_ok=True)
                self._run = self._scenario(self.workdir)
        return self._run

    # -- the scenario --------------------------------------------------------------------------
    def _scenario(self, root: Path) -> NodeRun:
        pki = make_pki(root, regions=(self.region,))
        gw = ScriptedGateway(region=self.region)
        gw.script = [
            Step(refuse_handshake="AUDIT_UNSEALED"),
            Step(refuse_handshake="AUDIT_UNSEALED"),
            Step(drop_on_batch=1),  # a disconnect at every point of a batch: before anything is decided,
            Step(drop_on_batch=2),  # after batch 1's ack with batch 2 undecided,
            Step(refuse_push="STREAM_BUSY"),
            Step(lose_ack_of_batch=2),  # and with batch 2 decided but its ack lost
            Step(refuse_push="STREAM_BUSY"),
        ]
        gw.outcomes = dict(SCRIPTED_OUTCOMES)
        dist = ScriptedDistribution(self.region)
        server, address = serve(gw, cert=pki.gateway.tls_cert, key=pki.gateway.tls_key, ca=pki.ca_cert, lists=dist)
        out = NodeRun(self.region, gw, dist, pki.ca_cert.read_bytes(), log=root / "node-under-test.log")
        node_dir = root / "node"
        values: dict[str, str | Path] = dict(
            dir=node_dir, certs=pki.nodes[self.region].dir, region=self.region, gateway=address, ca=pki.ca_cert
        )
        child: Child | None = None
        try:
            self._say(f"scripted gateway on {address}; setting up the node under test")
            init = run_command(self.adapter.argv("init", **values), log=out.log)
            if init.returncode != 0:
                out.errors.append(f"init command exited {init.returncode} (see {out.log})")
                return out
            child = Child(self.adapter.argv("run", **values), out.log)
            first = self._write(root / "first.csv", "XZCF", FIRST_FILE_ROWS)
            self._submit(out, first, values)
            self._say(f"submitted {FIRST_FILE_ROWS} records; scripted refusals and drops under way")
            out.phases["first file delivered"] = self._wait(out, gw, FIRST_FILE_ROWS, child)
            # Let the scripted failures play out (the lost ack is re-sent after a STREAM_BUSY); a
            # node that never reconnects leaves steps unused, which the checks then report.
            with contextlib.suppress(TimeoutError):
                gw.wait_for(lambda: _settled(gw) or not child.alive(), SETTLE_S, "the end of the scripted failures")
            self._say(f"gateway mark {gw.committed()}; falling back to a backup at {RESTORED_MARK}")
            gw.forget_after(RESTORED_MARK)
            # SEC-032: rows marked with another region (地方编码) are refused at import, never sent;
            # submitted before the second file, so a node that takes them sends them before its rows
            other = self._write(root / "other-region.csv", "XZCF", OTHER_REGION_ROWS, mark_region=OTHER_REGION, seed=12)
            out.other_region_ids = _source_ids(other)
            self._submit(out, other, values)
            second = self._write(root / "second.csv", "XZXK", SECOND_FILE_ROWS)
            self._submit(out, second, values)
            out.phases["resent after restore"] = self._wait(out, gw, FIRST_FILE_ROWS + SECOND_FILE_ROWS, child)
            out.phases["list replica at the head"] = self._wait_lists(out, dist, child)
            self._say(f"gateway mark {gw.committed()}; stopping the node")
        except (OSError, subprocess.SubprocessError) as exc:  # a vendor command hung or could not start
            out.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            dist.stop()
            if child is not None:
                child.stop()
            server.stop(None)
        if child is not None and self.adapter.status:
            self._status(out, values)
        return out

    def _status(self, out: NodeRun, values: dict[str, str | Path]) -> None:
        """The node's own record of its ack outcomes, from the adapter's status command (stopped node)."""
        argv = self.adapter.argv("status", **values)
        try:
            done = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
        except (OSError, subprocess.SubprocessError) as exc:
            out.status_error = f"status command: {type(exc).__name__}: {exc}"
            return
        try:
            data = json.loads(done.stdout)
        except ValueError:
            data = None
        if done.returncode != 0 or not isinstance(data, dict):
            out.status_error = f"status command exited {done.returncode}: {(done.stdout + done.stderr)[-300:]}"
            return
        out.status = data

    def _wait_lists(self, out: NodeRun, dist: ScriptedDistribution, child: Child) -> bool:
        """Until the node reports the list log's head on the last scripted stream (or the deadline)."""
        try:
            with dist.lock:
                deadline = time.monotonic() + self.phase_timeout
                while not (dist.done() or not child.alive()):
                    if time.monotonic() > deadline:
                        raise TimeoutError(
                            f"no ReportApplied of list_seq {dist.head()} within {self.phase_timeout:.0f} s "
                            f"(streams {dist.streams}, snapshot attempts {dist.snapshot_attempts})"
                        )
                    dist.lock.wait(0.5)
        except TimeoutError as exc:
            out.notes.append(str(exc))  # the list checks say which step was not reached
            return False
        self._say(f"list replica reported list_seq {dist.head()}")
        return child.alive()

    def _submit(self, out: NodeRun, file: Path, values: dict[str, str | Path]) -> None:
        done = run_command(self.adapter.argv("submit", file=file, **values), log=out.log)
        if done.returncode != 0:  # recorded as evidence; the checks judge what reaches the wire
            out.notes.append(f"submit of {file.name} exited {done.returncode} (see {out.log})")

    def _say(self, text: str) -> None:
        stream = sys.stderr if self.progress == "stderr" else self.progress
        if stream is not None:
            print(f"scenario: {text}", file=stream, flush=True)

    def _write(self, path: Path, record_type: str, n: int, *, mark_region: str = "", seed: int = 11) -> Path:
        rows = generate_rows(self.region, record_type, n, seed=seed, today=dt.date.today())
        with open(path, "wb") as f:
            write_rows(f, rows, record_type=record_type, fmt="csv")
        if mark_region:  # the template's optional region column (地方编码) names another region
            table = list(csv.reader(io.StringIO(path.read_text("utf-8-sig"))))
            table = [[*table[0], REGION_COLUMN], *([*r, mark_region] for r in table[1:])]
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\r\n").writerows(table)
            path.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode())
        return path

    def _wait(self, out: NodeRun, gw: ScriptedGateway, target: int, child: Child) -> bool:
        """Until the gateway's mark reaches ``target``; a node that sent ``target`` but leaves a
        gap gets a shorter grace than the whole phase deadline."""
        try:
            gw.wait_for(
                lambda: gw.committed() >= target or _max_sent(gw.events) >= target or not child.alive(),
                self.phase_timeout,
                f"record {target} from the node",
            )
            gw.wait_for(
                lambda: gw.committed() >= target or not child.alive(),
                min(5.0, self.phase_timeout),
                f"gateway mark {target}",
            )
        except TimeoutError as exc:
            out.errors.append(str(exc))
            return False
        if not child.alive():
            out.errors.append(f"the node process exited {child.proc.returncode}:\n{child.tail()}")
            return False
        return True


def _source_ids(path: Path) -> set[str]:
    rows = list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"))))
    return {r[SOURCE_ID_COLUMN] for r in rows}


def _settled(gw: ScriptedGateway) -> bool:
    """Every scripted step used, and a stream acknowledged after the last refusal."""
    last_refusal = max((i for i, e in enumerate(gw.events) if e.kind.endswith("_refused")), default=-1)
    return gw.script_done() and any(e.kind == "ack" for e in gw.events[last_refusal + 1 :])


def _max_sent(events: list[Event]) -> int:
    return max((s for e in events if e.kind == "batch" for s in e.data["seqs"]), default=0)


def _batches(run: NodeRun) -> list[Event]:
    return [e for e in run.gateway.events if e.kind == "batch"]


def _short(b: bytes) -> str:
    return b[:60].hex() + ("…" if len(b) > 60 else "")


def _phases_evidence(run: NodeRun) -> list[Evidence]:
    return (
        [Evidence(f"phase {k}", "completed" if v else "did not complete") for k, v in run.phases.items()]
        + [Evidence("scenario", e) for e in run.errors]
        + [Evidence("note", n) for n in run.notes]
    )


# -- the checks ---------------------------------------------------------------------------------


@NODE.check("NODE-DELIVERY", ("SYNC-010", "SYNC-011"), "05", "every record reaches the gateway's mark, in order")
def check_delivery(ctx: NodeContext) -> Result:
    run = ctx.run()
    target = FIRST_FILE_ROWS + SECOND_FILE_ROWS
    ev = _phases_evidence(run) + [
        Evidence(f"{target} valid rows in two files", f"gateway mark {run.gateway.committed()}")
    ]
    if run.errors or run.gateway.committed() < target:  # more is NODE-REGION's to judge
        return failed("the node did not bring the gateway's mark to the last record it was given", *ev)
    return passed(f"gateway mark {target} after the scripted failures", *ev)


@NODE.check(
    "NODE-HANDSHAKE",
    ("SYNC-001", "SEC-010", "SEC-011"),
    "05",
    "Handshake before every Push; signing certificates presented and valid for the node's region",
)
def check_handshake(ctx: NodeContext) -> Result:
    run = ctx.run()
    trust = TrustStore(x509.load_pem_x509_certificate(run.ca_cert))
    since_handshake = False
    for e in run.gateway.events:
        if e.kind == "handshake":
            since_handshake = True
            if not e.data["certs"]:
                return failed(
                    "a Handshake presented no signing certificate", Evidence("HandshakeResponse", str(e.data))
                )
        elif e.kind in ("push_open", "push_refused"):
            if not since_handshake:
                return failed(
                    "a Push stream was opened without a Handshake before it",
                    Evidence("event log", f"{e.kind} at {e.at:.3f} with no handshake since the last stream"),
                )
            since_handshake = False
    if not any(e.kind == "handshake" for e in run.gateway.events):
        return failed("the node never called Handshake", *_phases_evidence(run))
    for der in run.gateway.signing_certs:
        try:
            ident = verify(der, trust, at=datetime.now(UTC), roles="node-signing")
        except IdentityError as exc:
            return failed(f"a presented signing certificate fails: {exc}", Evidence("signing certificate", str(exc)))
        if ident.region != run.region:
            return failed(
                f"signing certificate names region {ident.region}, not {run.region}",
                Evidence("signing certificate", f"region {ident.region}"),
            )
    n = sum(e.kind == "handshake" for e in run.gateway.events)
    return passed(f"{n} handshakes, each before its stream; {len(run.gateway.signing_certs)} signing certificate(s)")


def _envelopes(run: NodeRun):
    for e in _batches(run):
        for seq, raw in e.data["records"]:
            pb = envelope_pb2.Envelope.FromString(raw)
            yield e, seq, pb, Envelope(pb.payload_type, pb.payload, tuple(_sig(s) for s in pb.signatures))


def _sig(s):
    from creditx.standard.envelope import Signature

    return Signature(s.keyid, s.suite, s.sig)


@NODE.check(
    "NODE-ENVELOPE",
    ("SIG-002", "SIG-011", "SIG-012", "SYNC-014"),
    "03",
    "every envelope verifies under a presented key; payload source_seq is the one sent",
)
def check_envelopes(ctx: NodeContext) -> Result:
    run = ctx.run()
    keys = signing_cert_keys(run.gateway.signing_certs)
    n = 0
    for _e, seq, _pb, env in _envelopes(run):
        n += 1
        try:
            verify_envelope(env, keys.get, expected_type=RECORD_PAYLOAD_TYPE)
            rec = decode_record(env.payload)
        except (SignatureError, RecordError) as exc:
            return failed(
                f"record {seq}: {exc}",
                Evidence(f"SignedRecord source_seq={seq} payload={_short(env.payload)}", str(exc)),
            )
        if rec.source_seq != seq:
            return failed(
                f"record sent as {seq} carries source_seq {rec.source_seq} in its payload",
                Evidence(f"SignedRecord source_seq={seq}", f"payload source_seq={rec.source_seq}"),
            )
    if not n:
        return failed("no record arrived", *_phases_evidence(run))
    return passed(f"{n} envelopes verified")


@NODE.check(
    "NODE-REGION",
    ("SEC-032",),
    "07",
    "rows of another region are refused at import, before sending; no record of another region is sent",
)
def check_region(ctx: NodeContext) -> Result:
    run = ctx.run()
    n = 0
    submitted = Evidence(
        f"submitted {OTHER_REGION_ROWS} rows with {REGION_COLUMN} {OTHER_REGION} (source ids "
        f"{', '.join(sorted(run.other_region_ids))})",
        "none sent",
    )
    if not run.other_region_ids:
        return failed("the scenario did not reach the other region's rows", *_phases_evidence(run))
    for _e, seq, _pb, env in _envelopes(run):
        try:
            rec = decode_record(env.payload)
        except RecordError:
            continue  # NODE-ENVELOPE reports undecodable payloads
        n += 1
        if rec.region != run.region or rec.source_id in run.other_region_ids:
            return failed(
                f"record {seq} ({rec.source_id}) is of region {OTHER_REGION if rec.region == run.region else rec.region}; "
                f"the node's certificate names {run.region}: it must be refused at import (SEC_REGION_MISMATCH)",
                Evidence(
                    submitted.sent, f"SignedRecord source_seq={seq} source_id={rec.source_id} region={rec.region}"
                ),
            )
    if not n:
        return failed("no record arrived", *_phases_evidence(run))
    return passed(f"{n} records, all of region {run.region}", submitted)


@NODE.check("NODE-BATCH-LIMIT", ("SYNC-040",), "05", "batches respect max_batch_records from the handshake")
def check_batch_limit(ctx: NodeContext) -> Result:
    run = ctx.run()
    limit = run.gateway.max_batch_records
    for e in _batches(run):
        if len(e.data["seqs"]) > limit:
            return failed(
                f"a batch of {len(e.data['seqs'])} records; the handshake allowed {limit}",
                Evidence(f"HandshakeResponse max_batch_records={limit}", f"PushRequest of {len(e.data['seqs'])}"),
            )
    return passed(f"{len(_batches(run))} batches of at most {limit} records")


def _streams(run: NodeRun) -> list[tuple[int, list[Event]]]:
    """(committed answered at the handshake, events of the Push that followed) per accepted stream."""
    out: list[tuple[int, list[Event]]] = []
    committed: int | None = None
    for e in run.gateway.events:
        if e.kind == "handshake":
            committed = e.data["committed"]
        elif e.kind == "push_open" and committed is not None:
            out.append((committed, []))
        elif e.kind in ("batch", "drop", "ack") and out:
            out[-1][1].append(e)
    return out


@NODE.check(
    "NODE-RESUME",
    ("SYNC-011", "SYNC-013"),
    "05",
    "after every reconnect the first record sent is at most the gateway's mark + 1",
)
def check_resume(ctx: NodeContext) -> Result:
    run = ctx.run()
    evidence = []
    for committed, events in _streams(run):
        batches = [e for e in events if e.kind == "batch"]
        if not batches:
            continue
        first = batches[0].data["seqs"][0]
        evidence.append(Evidence(f"HandshakeResponse committed_seq={committed}", f"first PushRequest from {first}"))
        if first > committed + 1:
            return failed(
                f"resumed at {first} although the gateway's mark was {committed}: records "
                f"{committed + 1}…{first - 1} are skipped (SYNC_SEQ_GAP)",
                *evidence,
            )
    restored = [e for e in run.gateway.events if e.kind == "restore"]
    if len(evidence) < 2 or not restored:
        return failed("the scenario did not reach the reconnects this check judges", *evidence, *_phases_evidence(run))
    return passed(f"{len(evidence)} streams, each resumed at or before the gateway's mark + 1", *evidence)


@NODE.check(
    "NODE-NO-RESIGN",
    ("SYNC-012", "SIG-001"),
    "05",
    "a record re-sent under the same source_seq carries the same payload and signature bytes",
)
def check_no_resign(ctx: NodeContext) -> Result:
    run = ctx.run()
    first: dict[int, bytes] = {}
    resent = 0
    for _e, seq, pb, _env in _envelopes(run):
        raw = pb.SerializeToString(deterministic=True)
        if seq not in first:
            first[seq] = raw
            continue
        resent += 1
        if raw != first[seq]:
            a, b = envelope_pb2.Envelope.FromString(first[seq]), pb
            what = "payload" if a.payload != b.payload else "signatures"
            return failed(
                f"record {seq} was re-sent with different {what}",
                Evidence(
                    f"first send of {seq}: {what} {_short(a.payload if what == 'payload' else a.signatures[0].sig)}",
                    f"re-send: {what} {_short(b.payload if what == 'payload' else b.signatures[0].sig)}",
                ),
            )
    if not resent:
        return failed("no record was re-sent, so the scenario did not reach this check", *_phases_evidence(run))
    return passed(f"{resent} re-sends, all byte-identical to the first send")


def _retry_gaps(run: NodeRun, refused: str) -> list[tuple[float | None, Event]]:
    """For every refusal of kind ``refused``: seconds until the node's next Handshake (None: never)."""
    events = run.gateway.events
    out: list[tuple[float | None, Event]] = []
    for i, e in enumerate(events):
        if e.kind == refused:
            nxt = next((x for x in events[i + 1 :] if x.kind in ("handshake", "handshake_refused")), None)
            out.append((nxt.at - e.at if nxt else None, e))
    return out


@NODE.check(
    "NODE-BACKOFF-UNAVAILABLE",
    ("SYNC-017",),
    "05",
    "after UNAVAILABLE / AUDIT_UNSEALED the node backs off, then retries",
)
def check_backoff_unavailable(ctx: NodeContext) -> Result:
    return _backoff(ctx.run(), "handshake_refused", "UNAVAILABLE (creditx-reason AUDIT_UNSEALED) on Handshake")


@NODE.check(
    "NODE-STREAM-BUSY",
    ("SYNC-015", "SYNC-017"),
    "05",
    "after ABORTED / STREAM_BUSY the node backs off, then opens a new stream",
)
def check_stream_busy(ctx: NodeContext) -> Result:
    return _backoff(ctx.run(), "push_refused", "ABORTED (creditx-reason STREAM_BUSY) on Push")


def _backoff(run: NodeRun, kind: str, what: str) -> Result:
    gaps = _retry_gaps(run, kind)
    if not gaps:
        return failed(f"the node never reached the scripted {what}", *_phases_evidence(run))
    ev = [
        Evidence(what, "no further Handshake" if g is None else f"next Handshake after {g * 1000:.0f} ms")
        for g, _ in gaps
    ]
    if any(g is None for g, _ in gaps):
        return failed(f"the node never came back after {what}", *ev)
    quick = [g for g, _ in gaps if g is not None and g < MIN_BACKOFF_S]
    if quick:
        return failed(
            f"retried after {min(quick) * 1000:.0f} ms, sooner than {MIN_BACKOFF_S * 1000:.0f} ms: no back-off", *ev
        )
    return passed(f"{len(gaps)} refusal(s), each followed by a wait of at least {MIN_BACKOFF_S * 1000:.0f} ms", *ev)


OUTCOME_NAMES = ("accepted", "duplicate", "superseded", "rejected")


def recorded_outcomes(status: dict) -> dict[str, int]:
    """The counts per outcome in a status command's JSON (top level or under ``outbox``)."""
    found = {str(k).lower(): v for k, v in status.items()}
    if not any(k in found for k in OUTCOME_NAMES) and isinstance(found.get("outbox"), dict):
        found = {str(k).lower(): v for k, v in found["outbox"].items()}
    return {k: int(found.get(k) or 0) for k in OUTCOME_NAMES}


@NODE.check(
    "NODE-ACK-RECORDED",
    ("SYNC-031", "SYNC-032"),
    "05",
    "every ack outcome (ACCEPTED, DUPLICATE, SUPERSEDED, REJECTED) is recorded by the node as its last ack said",
)
def check_ack_recorded(ctx: NodeContext) -> Result:
    if not ctx.adapter.status:
        return not_applicable("the adapter names no status command (--status-cmd); the node's record is not visible")
    run = ctx.run()
    if run.status is None:
        return failed(run.status_error or "the scenario did not reach the status command", *_phases_evidence(run))
    want = {k: 0 for k in OUTCOME_NAMES}
    for ack in run.gateway.acked.values():  # the last ack each record got (a lost one never arrived)
        want[exchange_pb2.Outcome.Name(ack.outcome).lower()] += 1
    got = recorded_outcomes(run.status)
    ev = Evidence(
        "last ack per record: "
        + ", ".join(f"{k} {v}" for k, v in want.items())
        + " ("
        + ", ".join(
            f"{exchange_pb2.Outcome.Name(o)} {r} at {seq}".replace("  ", " ")
            for seq, (o, r) in SCRIPTED_OUTCOMES.items()
        )
        + ")",
        "status: " + ", ".join(f"{k} {v}" for k, v in got.items()),
    )
    if got != want:
        return failed("the node's record of the ack outcomes differs from the last ack of each record", ev)
    return passed("", ev)


for _id, _reqs, _ch, _title in (
    ("NODE-DEADLINES", ("SYNC-002",), "05", "deadlines on every call and keepalive on the stream"),
    ("NODE-GATEWAY-KEY-ROTATION", ("SEC-031", "AUD-027"), "06", "a rotated gateway signing key is verified and used"),
    ("NODE-CHECKPOINT-FORK", ("AUD-020", "AUD-027"), "06", "a forked or rolled-back checkpoint raises the alarm"),
    ("NODE-LIST-FORGED-CHECKPOINT", ("DIST-052",), "08", "a forged list checkpoint halts the replica"),
    (
        "NODE-LIST-COMPRESSED-REFUSED",
        ("DIST-089", "DIST-090"),
        "08",
        "a compressed batch inflating past its declared size or 16 MiB, or malformed, is refused and none of it applied",
    ),
    ("NODE-TRUST-BUNDLE", ("SEC-071",), "07", "an expired trust bundle is refused"),
    (
        "NODE-AUTHORITY-REFUSED-LOCALLY",
        ("SEC-036", "SEC-039"),
        "07",
        "a row of a deciding body the registry does not grant is refused at import (needs a signed registry)",
    ),
):
    NODE.not_covered(_id, _reqs, _ch, _title)


# The list replica's checks (chapter 08) run on the same scenario; registered after these.
from creditx.conformance import node_lists  # noqa: E402, F401
