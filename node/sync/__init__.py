"""Upward sync of the city node: a pure state machine (:mod:`node.sync.state`) and the thin
gRPC shell that drives it (:mod:`node.sync.client`)."""
