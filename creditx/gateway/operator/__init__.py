"""The operator's view of the province (:mod:`.view`) and the Operator gRPC service (:mod:`.service`)."""
