"""The provincial gateway: ingest, dedup, store, audit, redistribute, operator status."""
