"""Pure ingest rules of the gateway: what happens to each record of a pushed batch.

No gRPC, SQLite or clock in here (ADR 0003): functions take decoded values, lookups and the
time as arguments and return decisions. The pipeline, in the order SYNC-010… fixes it:

1. :mod:`creditx.gateway.ingest.sequence` — triage by ``source_seq`` against what is already decided
   (replay, conflict, gap) *before* any signature is verified;
2. :mod:`creditx.gateway.ingest.check` — verify, authorise, decode, validate one record (runs in
   worker processes);
3. :mod:`creditx.gateway.ingest.dedup` — duplicate / supersede / accept against the store's lookups.
"""
