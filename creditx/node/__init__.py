"""The city node: intake, outbox, upward sync, local API (docs/ARCHITECTURE.md).

Node-side requirement IDs (implementation rules of this node, beside the standard's REC-/SIG-/
SYNC- rules; each is cited where it is implemented and named by the tests that check it):

* NODE-001 ``source_seq`` contiguous from 1 per node, assigned under the write lock (store.py).
* NODE-002 every record is signed once (at intake; NODE-051); re-sends carry the stored bytes (intake.py, store.py).
* NODE-003 acks and the gateway's committed_seq are recorded in one transaction (store.py, sync/client.py).
* NODE-050 an outbox row is written once: sent and ack state are narrow rows beside it (store.py).
* NODE-051 with record_suite "batch" intake signs nothing (SIG-040: a record carries its path under the
  batch's checkpoint); one pushed as a v1.0 envelope after all is signed then, once (record_signing.py).
* NODE-010 resume from ``min(first unacked, committed_seq + 1)`` (sync/state.py).
* NODE-011 bounded window of in-flight batches; batches ≤ max_batch_records and max_message_bytes.
* NODE-012 acks arrive in batch order.
* NODE-013 exponential backoff with equal jitter, reset only by an ack.
* NODE-014 ack timeout ends a stalled session.
* NODE-020 invalid rows are quarantined and never block valid rows (intake.py).
* NODE-021 op is I/U/D, version a positive integer.
* NODE-022 a row's region column, if any, is the node's region.
* NODE-023 U/D name their source_id; a source_id already in the outbox needs a higher version.
* NODE-030 the local API listens only on DIR/node.sock, mode 0600 (local_api.py).
"""
