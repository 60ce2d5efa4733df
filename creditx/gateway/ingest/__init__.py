"""The gateway's ingest rules: what happens to each record of a pushed batch.

No gRPC, SQLite or clock in here: functions take decoded values, lookups and the date as
arguments and return decisions; the I/O shell is :mod:`creditx.gateway.exchange` (servicer,
pipeline, worker pool). The check step runs in the pool's worker processes, so its inputs and
outputs are picklable and its only state is a per-process cache of loaded public keys. The
pipeline, in the order SYNC-010… fixes it:

1. :mod:`creditx.gateway.ingest.sequence` — triage by ``source_seq`` against what is already decided
   (replay, conflict, gap) *before* any signature is verified;
2. :mod:`creditx.gateway.ingest.check` — verify, authorise, decode, validate one record (runs in
   worker processes);
3. :mod:`creditx.gateway.ingest.dedup` — duplicate / supersede / accept against the store's lookups.
"""
