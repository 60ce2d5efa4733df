"""Contract tests every :class:`creditx.gateway.store.base.GatewayStore` implementation must pass.

Subclass :class:`StoreContract` and provide a ``store`` fixture (see test_store_sqlite.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

import pytest

from creditx.gateway.audit.leaves import leaves_for
from creditx.gateway.ingest.reasons import Outcome
from creditx.gateway.ingest.values import Checked, Decision, IncomingRecord, SignatureValue
from creditx.gateway.lists.changes import ListBatch, ListStateMoved, decide_batch
from creditx.gateway.store.base import SigningCert
from creditx.standard.catalogue import load_catalogue
from creditx.standard.fingerprint import fingerprint
from creditx.standard.natural_key import natural_key
from creditx.standard.record import RECORD_PAYLOAD_TYPE, decode_record
from tests.gateway_lists.client import list_payload, list_rows

AT = "2025-01-02T03:04:05.000Z"
NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def item(seq, outcome=Outcome.ACCEPTED, fp=None, nk="K", version=1, current=True, reason="", stored=True):
    rec = IncomingRecord(
        seq,
        "application/vnd.creditx.record+json;v=1",
        b"payload%d" % seq,
        (SignatureValue("sha256:ab", "ECDSA-P256-SHA256", b"sig"),),
    )
    checked = Checked(
        seq,
        rec.payload_sha,
        fingerprint=fp or b"f%d" % seq,
        natural_key=nk,
        version=version,
        region="370100",
        record_type="XZCF",
    )
    d = Decision(seq, outcome, checked, current=current, reason=reason, stored=stored)
    return d, rec


def commit(store, node, items, committed, *, lists=None):
    return store.commit_batch(node, items, leaves_for([d for d, _ in items], node, NOW), committed, AT, lists=lists)


class StoreContract:
    # The driver's unique-constraint error (a DB-API IntegrityError), set by each implementation's test.
    integrity_error: ClassVar[type[Exception]]

    def test_empty_store(self, store):
        assert store.committed_seq("370100") == 0 and store.decision_for("370100", 1) is None
        assert store.audit_size() == 0 and not store.fingerprint_stored(b"x")

    def test_commit_assigns_leaf_indices_and_advances_cursor(self, store):
        out = commit(store, "370100", [item(1), item(2, Outcome.REJECTED, current=False, reason="R")], 2)
        assert [d.log_index for d in out] == [0, 1]
        out = commit(store, "370100", [item(3, nk="K2")], 3)
        assert out[0].log_index == 2 and store.audit_size() == 3
        assert store.committed_seq("370100") == 3
        d = store.decision_for("370100", 2)
        assert d.outcome is Outcome.REJECTED and d.reason == "R" and d.log_index == 1

    def test_rejected_is_kept_but_its_fingerprint_is_not_content(self, store):
        commit(store, "370100", [item(1, Outcome.REJECTED, fp=b"F", current=False)], 1)
        assert not store.fingerprint_stored(b"F")
        commit(store, "370100", [item(2, fp=b"G")], 2)
        assert store.fingerprint_stored(b"G")

    def test_current_version_follows_current_decisions_only(self, store):
        commit(store, "370100", [item(1, version=2)], 1)
        commit(store, "370100", [item(2, Outcome.SUPERSEDED, version=1, current=False)], 2)
        assert store.current_version("K") == 2
        commit(store, "370100", [item(3, Outcome.SUPERSEDED, version=3)], 3)
        assert store.current_version("K") == 3

    def test_a_key_made_current_twice_in_one_batch_ends_at_the_later(self, store):
        commit(store, "370100", [item(1, version=1), item(2, Outcome.SUPERSEDED, version=2)], 2)
        assert store.current_version("K") == 2 and store.current_versions(["K"]) == {"K": 2}

    def test_unstored_decisions_leave_no_row_and_no_leaf(self, store):
        out = commit(store, "370100", [item(1), item(5, Outcome.REJECTED, stored=False)], 1)
        assert store.audit_size() == 1 and store.decision_for("370100", 5) is None and out[1].log_index == -1

    def test_a_failed_commit_leaves_nothing(self, store):
        commit(store, "370100", [item(1)], 1)
        with pytest.raises(self.integrity_error):
            commit(store, "370100", [item(2), item(1)], 2)  # (node, seq) unique
        assert store.committed_seq("370100") == 1 and store.audit_size() == 1
        assert store.decision_for("370100", 2) is None

    def test_nodes_counts_reasons_and_heartbeat(self, store):
        store.upsert_node("370100", "济南", "0A", "2026-01-01T00:00:00Z", AT)
        commit(
            store,
            "370100",
            [
                item(1),
                item(2, Outcome.REJECTED, reason="R1", current=False),
                item(3, Outcome.REJECTED, reason="R1", current=False),
            ],
            3,
        )
        store.heartbeat("370100", 7, 10, AT)
        (n,) = store.nodes()
        assert (n.region, n.name, n.committed_seq, n.backlog, n.last_source_seq) == ("370100", "济南", 3, 7, 10)
        assert n.counts == {"ACCEPTED": 1, "REJECTED": 2} and n.recent_reasons == [("R1", 2)]

    def test_signing_certs_by_region(self, store):
        c = SigningCert("sha256:01", "370100", "0B", "2026-01-01T00:00:00Z", b"der")
        store.add_signing_cert(c, AT)
        store.add_signing_cert(c, AT)
        assert store.signing_certs("370100") == [c] and store.signing_certs("370200") == []

    def test_find_records_pages(self, store):
        commit(store, "370100", [item(i, nk=f"K{i}") for i in range(1, 6)], 5)
        page = store.find_records(region="370100", record_type="XZCF", limit=2)
        assert [r["source_seq"] for r in page] == [1, 2]
        page2 = store.find_records(region="370100", after_id=page[-1]["id"], limit=10)
        assert [r["source_seq"] for r in page2] == [3, 4, 5]
        assert [r["source_seq"] for r in store.find_records(natural_key="K3")] == [3]
        assert [r["source_seq"] for r in store.find_records(fingerprint=b"f4")] == [4]


class BulkLookupContract:
    def test_bulk_lookups_match_single_ones(self, store):
        commit(
            store,
            "370100",
            [item(1, fp=b"A", nk="K1", version=2), item(2, Outcome.REJECTED, fp=b"B", nk="K2", current=False)],
            2,
        )
        assert store.stored_fingerprints([b"A", b"B", b"C", b"A"]) == {b"A"}
        assert store.current_versions(["K1", "K2", "K1"]) == {"K1": 2}


def list_item(seq: int, row: dict, *, op: str = "I", version: int = 1):
    """A stored LIST decision (carrying the record its check decoded) and its incoming record."""
    payload = list_payload("370100", row, seq, op=op, version=version)
    record = decode_record(payload)
    rec = IncomingRecord(seq, RECORD_PAYLOAD_TYPE, payload, (SignatureValue("sha256:ab", "ECDSA-P256-SHA256", b"s"),))
    checked = Checked(
        seq,
        rec.payload_sha,
        fingerprint=fingerprint(record),
        natural_key=natural_key(record, b"k" * 32),
        version=version,
        region="370100",
        record_type="LIST",
        op=op,
        list_record=record,
    )
    return Decision(seq, Outcome.ACCEPTED, checked, current=True), rec


class ListContract:
    def test_list_changes_commit_with_their_batch(self, store):
        (row,) = list_rows("370100", 1, seed=7)
        d, rec = list_item(1, row)
        assert store.list_entries([d.natural_key]) == {} and store.list_head() == 0
        batch = decide_batch("370100", [(d, rec)], {}, NOW, load_catalogue())
        out = commit(store, "370100", [(d, rec)], 1, lists=batch)
        assert out[0].log_index == 0 and store.audit_size() == 2  # the record's leaf, then the change's
        assert store.list_head() == 1
        ((entry, last_seq),) = store.list_entries([d.natural_key, "absent"]).values()
        assert entry.entry_id == d.natural_key and last_seq == 1

    def test_a_batch_decided_on_a_moved_entry_writes_nothing(self, store):
        (row,) = list_rows("370100", 1, seed=8)
        d, rec = list_item(1, row)
        stale = decide_batch("370100", [(d, rec)], {}, NOW, load_catalogue())
        commit(store, "370100", [(d, rec)], 1, lists=stale)
        d2, rec2 = list_item(2, row, op="U", version=2)
        again = ListBatch(stale.changes, stale.refusals, {d2.natural_key: 0})  # read before change 1 existed
        with pytest.raises(ListStateMoved):
            commit(store, "370100", [(d2, rec2)], 2, lists=again)
        assert store.committed_seq("370100") == 1 and store.audit_size() == 2 and store.list_head() == 1
        fresh = decide_batch("370100", [(d2, rec2)], store.list_entries([d2.natural_key]), NOW, load_catalogue())
        commit(store, "370100", [(d2, rec2)], 2, lists=fresh)
        assert store.list_head() == 2 and store.list_entries([d2.natural_key])[d2.natural_key][1] == 2
