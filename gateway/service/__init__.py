"""gRPC servicers of the gateway: they translate proto ↔ domain and map errors to status codes
(STYLE.md 4); the thinking happens in gateway.batches and gateway.ingest."""
