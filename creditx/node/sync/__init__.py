"""Upward sync of the city node: a pure state machine (:mod:`creditx.node.sync.state`) and the thin
gRPC shell that drives it (:mod:`creditx.node.sync.client`)."""
