"""The city node: intake, outbox, sync, list replica, local check API, department feed."""
