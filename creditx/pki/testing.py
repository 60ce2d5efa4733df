"""Test helper for integration tests across the project: a complete provincial PKI on disk.

``make_pki(tmp_path, regions=("370100",))`` builds, in well under a second per region, a CA, the
gateway's credentials (TLS for ``localhost``/``127.0.0.1`` + signing), an operator's, each
node's (auth + signing), and a trust bundle, using the layout of creditx/pki/files.py::

    pki = make_pki(tmp_path, regions=("370100", "370200"))
    server_credentials(pki.gateway.tls_cert, pki.gateway.tls_key, pki.gateway.ca)
    channel_credentials(pki.ca_cert, pki.nodes["370100"].auth_cert, pki.nodes["370100"].auth_key)

Real certificates and files; only the time may be chosen (``at``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from creditx.pki import files
from creditx.pki.bundle import bundle_from_ca
from creditx.pki.ca import CertificateAuthority, init_ca
from creditx.pki.crl import load_crl
from creditx.pki.identity import TrustStore
from creditx.pki.issue import (
    GatewayCredentials,
    NodeCredentials,
    OperatorCredentials,
    issue_gateway,
    issue_node,
    issue_operator,
)


@dataclass
class Pki:
    """Paths of everything ``make_pki`` built; ``ca`` is the loaded CA for issuing more."""

    ca_dir: Path
    ca_cert: Path
    crl: Path
    bundle: Path
    gateway: GatewayCredentials
    operator: OperatorCredentials
    nodes: dict[str, NodeCredentials] = field(default_factory=dict)
    ca: CertificateAuthority | None = field(default=None, repr=False)

    def trust_store(self) -> TrustStore:
        return TrustStore(files.read_cert(self.ca_cert)).with_crl(load_crl(self.crl))


def make_pki(
    tmp_path: Path, regions=("370100",), *, at: datetime | None = None, days: int = 30, members: tuple[str, ...] = ()
) -> Pki:
    """Build a CA, gateway, operator and node credentials for ``regions`` under ``tmp_path``, and
    for each of ``members`` (province-level departments' member ids, SEC-092) a 370000 node's
    credentials naming it; ``nodes`` is keyed by member id (a region node's is its region)."""
    at = at or datetime.now(UTC)
    root = Path(tmp_path) / "pki"
    ca = init_ca(root / "ca", at=at)
    gateway = issue_gateway(ca, at=at, days=days, out=root / "gateway")
    operator = issue_operator(ca, name="operator", at=at, days=days, out=root / "operator")
    nodes = {r: issue_node(ca, region=r, name=f"node-{r}", at=at, days=days, out=root / "nodes" / r) for r in regions}
    for m in members:
        nodes[m] = issue_node(ca, region="370000", member=m, name=f"dept-{m}", at=at, days=days, out=root / "nodes" / m)
    bundle = files.write_atomic(root / "bundle.json", bundle_from_ca(ca, at=at), files.PUBLIC_FILE_MODE)
    return Pki(
        ca_dir=ca.dir,
        ca_cert=ca.path(files.CA_CERT),
        crl=ca.path(files.CRL),
        bundle=bundle,
        gateway=gateway,
        operator=operator,
        nodes=nodes,
        ca=ca,
    )
