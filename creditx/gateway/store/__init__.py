"""Gateway storage: the :class:`~creditx.gateway.store.base.GatewayStore` interface and its SQLite
implementation. Rules never import a concrete store (ADR 0010)."""
