"""Gateway storage: the :class:`~creditx.gateway.store.base.GatewayStore` interface and its SQLite
implementation. Rules never import a concrete store (DESIGN.md decision 7)."""
