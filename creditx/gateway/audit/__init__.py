"""The gateway's audit log: leaves (:mod:`.leaves`), the persisted RFC 9162 tree (:mod:`.log`),
signed checkpoints (:mod:`.checkpoints`), evidence bundles (:mod:`.evidence`), the Audit gRPC
service (:mod:`.service`) and ``creditx gateway audit`` (:mod:`.cli`)."""
