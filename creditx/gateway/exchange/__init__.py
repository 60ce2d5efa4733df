"""Upward sync at the gateway: the Exchange servicer (:mod:`.service`), pipelined batches
(:mod:`.batches`), the verification worker pool (:mod:`.pool`), signing keys (:mod:`.keys`)
and which nodes are connected (:mod:`.presence`). The rules it applies are in
:mod:`creditx.gateway.ingest`."""
