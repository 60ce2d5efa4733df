"""AUD leaf bytes: the commit path's template gives exactly RFC 8785 canonical JSON (AUD-005)."""

import pytest

from creditx.gateway.audit.leaves import leaf_data, leaves_for
from creditx.gateway.ingest.reasons import Outcome
from creditx.gateway.ingest.values import Checked, Decision
from creditx.standard.canonical import canonicalize
from creditx.standard.merkle import leaf_hash


def _canonical(d: Decision, node: str, at: str) -> bytes:
    return canonicalize(
        {
            "kind": "record",
            "fp": d.fingerprint.hex(),
            "node": node,
            "seq": d.source_seq,
            "decision": d.outcome.name,
            "reason": d.reason,
            "at": at,
        }
    )


@pytest.mark.parametrize("seq", [1, 2**53 - 1, 2**53, 2**63 - 1])
@pytest.mark.parametrize("reason", ["", "SYNC_VERSION_CONFLICT", 'quote"back\\slash', "控制\u0001字符", "tab\there"])
@pytest.mark.parametrize("outcome", list(Outcome))
def test_leaf_data_is_canonical_json(seq, reason, outcome):
    d = Decision(seq, outcome, Checked(seq, b"", fingerprint=bytes(range(32))), reason=reason)
    for node, at in (("370100", "2026-01-02T03:04:05.678Z"), ("37\u00a00", "2026-01-02T03:04:05+08:00")):
        if seq >= 2**53:  # RFC 8785 §3.2.2.3: beyond exact IEEE 754 integers, both refuse
            with pytest.raises(ValueError):
                _canonical(d, node, at)
            with pytest.raises(ValueError):
                leaf_data(d, node, at)
        else:
            assert leaf_data(d, node, at) == _canonical(d, node, at)


def test_leaves_for_skips_unstored_and_hashes_per_rfc9162():
    import datetime as dt

    at = dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC)
    ds = [
        Decision(1, Outcome.ACCEPTED, Checked(1, b"", fingerprint=b"\x01" * 32)),
        Decision(2, Outcome.REJECTED, Checked(2, b""), reason="SYNC_SEQ_GAP", stored=False),
        Decision(3, Outcome.DUPLICATE, Checked(3, b"", fingerprint=b"\x02" * 32)),
    ]
    leaves = leaves_for(ds, "370100", at)
    assert [data for data, _ in leaves] == [_canonical(d, "370100", "2026-01-02T03:04:05.678Z") for d in (ds[0], ds[2])]
    assert all(h == leaf_hash(data) for data, h in leaves)
