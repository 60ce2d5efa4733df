"""Fixtures: a real PKI and gateway directories (shared with tests/gateway)."""

from tests.gateway.conftest import gateway, gw_dir, pki, store_url  # noqa: F401
