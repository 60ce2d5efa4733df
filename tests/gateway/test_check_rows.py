"""The worker's unit of work crosses processes as plain tuples both ways and gives the same
answers as checking the records in process; the answers carry the statistics' facts."""

from __future__ import annotations

import datetime as dt
import pickle

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from creditx.gateway.ingest.check import CheckJob, KeyGrant, check_job, check_rows, to_row
from creditx.gateway.ingest.values import Checked, IncomingRecord, SignatureValue
from creditx.standard.envelope import Signer, sign_envelope
from creditx.standard.record import RECORD_PAYLOAD_TYPE
from creditx.standard.suites import key_id
from creditx.standard.synth.members import seed_registry
from tests.gateway.push_client import TODAY, payloads


def test_rows_in_tuples_out_equal_the_in_process_check():
    key = ec.generate_private_key(ec.SECP256R1())
    recs = []
    for i, p in enumerate(payloads("370100", 12, invalid_share=0.3, seed=3) + [b"{not json"]):
        env = sign_envelope(RECORD_PAYLOAD_TYPE, p, Signer(key))
        sigs = tuple(SignatureValue(s.keyid, s.suite, s.sig) for s in env.signatures)
        recs.append(IncomingRecord(i + 1, RECORD_PAYLOAD_TYPE, p, sigs))
    spki = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    member = seed_registry("2000-01-01T00:00:00.000Z", "2999-01-01T00:00:00.000Z").member("370100")
    job = CheckJob("370100", {key_id(key.public_key()): KeyGrant(spki)}, tuple(recs), TODAY, b"k" * 32, member)
    header = CheckJob(job.node_region, job.grants, (), job.today, job.subject_key, job.member)
    rows = pickle.loads(pickle.dumps(tuple(to_row(r) for r in recs)))
    out = pickle.loads(pickle.dumps(check_rows(header, rows)))
    assert all(type(t) is tuple for t in out)  # no pickled objects cross back
    got = [Checked.from_row(t) for t in out]
    want = check_job(job)
    assert got == want
    ok = [c for c in got if c.ok]
    assert ok and any(not c.ok for c in got) and got[-1].reason == "REC_NOT_JSON"
    assert all(c.department and c.decided_on and dt.date.fromisoformat(c.decided_on) for c in ok)
    assert got[-1].department is None  # never decoded: the statistics read the payload
