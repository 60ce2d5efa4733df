"""The gateway's list log and its redistribution (creditx/standard/spec/08-distribution.md, DIST-0xx).

``store`` (tables, append in the ingest transaction, reads), ``hub`` (live fan-out),
``service`` (the Distribution servicer), ``expiry`` (the end-of-term job), ``import_lists``
(national platform files), ``checkpoint`` (signed checkpoints of the list log), ``wire``
(domain ↔ protobuf). Pure rules live in ``creditx.standard.lists.lifecycle*``; this package is the I/O shell.
"""
