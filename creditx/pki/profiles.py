"""Certificate profiles of the provincial PKI: roles, OIDs and the extensions each role carries.

Pure code (no files, no clock): given a role and a holder, say which X.509 extensions the
certificate MUST carry; given a parsed certificate, read back its role and region.

Invariants (creditx/standard/spec/07-security.md):

* SEC-010  every leaf names exactly one role in a SAN URI ``urn:creditx:role:<role>`` and
  carries the Extended Key Usage of that role and no other TLS purpose, so the role cannot be
  confused: a signing certificate has neither ``clientAuth`` nor ``serverAuth``, a TLS
  certificate has no creditx signing EKU.
* SEC-011  node certificates name their region in a SAN URI ``urn:creditx:region:<code>``,
  where ``<code>`` is one of ``creditx.standard.divisions.REGIONS`` (370000 for province-level
  departments).
* SEC-092  node certificates may also name their member in a SAN URI
  ``urn:creditx:member:<id>`` (a province-level department's own node: its USCC, region
  370000); without it the member is the region (a city platform, the 370000 node, 1.0 certs).
* SEC-012  leaves are ``CA:FALSE``; only the root is ``CA:TRUE, pathlen:0``.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

# Key ids are the standard's (SIG-004); re-exported so certs callers need one import.
from creditx.standard.suites import key_id  # noqa: F401

# creditx private OID arc (placeholder Private Enterprise Number; replace with a registered one
# before production — the arc is named only here).
CREDITX_ARC = "1.3.6.1.4.1.59923.1"
EKU_RECORD_SIGNING = ObjectIdentifier(CREDITX_ARC + ".1")  # node record signatures (SEC-010)
EKU_GATEWAY_SIGNING = ObjectIdentifier(CREDITX_ARC + ".2")  # receipts, checkpoints, bundles
EKU_OPERATOR = ObjectIdentifier(CREDITX_ARC + ".3")  # operator API client
EKU_DEPARTMENT = ObjectIdentifier(CREDITX_ARC + ".4")  # department/hall client of a node; signs its action reports

ROLE_URI_PREFIX = "urn:creditx:role:"
REGION_URI_PREFIX = "urn:creditx:region:"
MEMBER_URI_PREFIX = "urn:creditx:member:"  # SEC-092: node-auth / node-signing only
MEMBER_ROLES = ("node-auth", "node-signing")

NODE_AUTH = "node-auth"
NODE_SIGNING = "node-signing"
GATEWAY_TLS = "gateway-tls"
GATEWAY_SIGNING = "gateway-signing"
OPERATOR = "operator"
DEPARTMENT = "department"
NODE_TLS = "node-tls"

ORGANISATION = "creditx Shandong"


@dataclass(frozen=True)
class Profile:
    """What a certificate of one role carries."""

    role: str
    ekus: tuple[ObjectIdentifier, ...]
    key_usage: str  # "tls" or "signing"
    has_region: bool


PROFILES: dict[str, Profile] = {
    NODE_AUTH: Profile(NODE_AUTH, (ExtendedKeyUsageOID.CLIENT_AUTH,), "tls", True),
    NODE_SIGNING: Profile(NODE_SIGNING, (EKU_RECORD_SIGNING,), "signing", True),
    GATEWAY_TLS: Profile(GATEWAY_TLS, (ExtendedKeyUsageOID.SERVER_AUTH,), "tls", False),
    GATEWAY_SIGNING: Profile(GATEWAY_SIGNING, (EKU_GATEWAY_SIGNING,), "signing", False),
    OPERATOR: Profile(OPERATOR, (ExtendedKeyUsageOID.CLIENT_AUTH, EKU_OPERATOR), "tls", False),
    # A city department's hall system: TLS client of its node's hall API; the same key signs the
    # department's action reports (the private EKU says so). Region: the city whose node it calls.
    # A node's TLS server certificate for its hall API (SANs: the node's own host names only).
    NODE_TLS: Profile(NODE_TLS, (ExtendedKeyUsageOID.SERVER_AUTH,), "tls", True),
    DEPARTMENT: Profile(DEPARTMENT, (ExtendedKeyUsageOID.CLIENT_AUTH, EKU_DEPARTMENT), "tls", True),
}
ROLES = tuple(PROFILES)


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate DER, as ``sha256:<hex>``."""
    return "sha256:" + cert.fingerprint(hashes.SHA256()).hex()


def serial_hex(serial: int) -> str:
    """The serial as openssl prints it (upper-case hex, even length)."""
    h = f"{serial:X}"
    return h if len(h) % 2 == 0 else "0" + h


def leaf_extensions(
    profile: Profile,
    *,
    region: str | None = None,
    member: str | None = None,
    dns_names: tuple[str, ...] = (),
    ip_addresses: tuple = (),
) -> list[tuple[x509.ExtensionType, bool]]:
    """The extensions (value, critical) of a leaf of this role (SEC-010/011/012/092)."""
    if profile.has_region and region is None:
        raise ValueError(f"role {profile.role} needs a region")
    if member is not None and profile.role not in MEMBER_ROLES:
        raise ValueError(f"role {profile.role} names no member (SEC-092)")
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(ROLE_URI_PREFIX + profile.role)]
    if region is not None and profile.has_region:
        names.append(x509.UniformResourceIdentifier(REGION_URI_PREFIX + region))
    if member is not None:
        names.append(x509.UniformResourceIdentifier(MEMBER_URI_PREFIX + member))
    names += [x509.DNSName(d) for d in dns_names]
    names += [x509.IPAddress(ip) for ip in ip_addresses]
    signing = profile.key_usage == "signing"
    key_usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=signing,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    return [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (key_usage, True),
        (x509.ExtendedKeyUsage(list(profile.ekus)), False),
        (x509.SubjectAlternativeName(names), False),
    ]


@dataclass(frozen=True)
class CertFacts:
    """What a certificate says about its holder, read without judging it."""

    roles: tuple[str, ...]
    regions: tuple[str, ...]
    ekus: frozenset
    is_ca: bool
    name: str
    members: tuple[str, ...] = ()  # SEC-092: member URIs (none on a 1.0 or a city's certificate)


def read_facts(cert: x509.Certificate) -> CertFacts:
    """Read role/region URIs, EKUs and CN; raises ValueError on a certificate without them."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        uris = []
    try:
        ekus = frozenset(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        ekus = frozenset()
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    cns = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return CertFacts(
        roles=tuple(u[len(ROLE_URI_PREFIX) :] for u in uris if u.startswith(ROLE_URI_PREFIX)),
        regions=tuple(u[len(REGION_URI_PREFIX) :] for u in uris if u.startswith(REGION_URI_PREFIX)),
        ekus=ekus,
        is_ca=is_ca,
        name=str(cns[0].value) if cns else "",
        members=tuple(u[len(MEMBER_URI_PREFIX) :] for u in uris if u.startswith(MEMBER_URI_PREFIX)),
    )


def role_problem(facts: CertFacts) -> str | None:
    """Why the certificate's role markings are inconsistent (SEC-010), or None if they are not."""
    if facts.is_ca:
        return "a CA certificate cannot act as a leaf (SEC-012)"
    if len(facts.roles) != 1:
        return f"expected exactly one role URI {ROLE_URI_PREFIX}<role>, found {list(facts.roles)}"
    role = facts.roles[0]
    if role not in PROFILES:
        return f"unknown role {role!r}; known roles: {', '.join(ROLES)}"
    profile = PROFILES[role]
    if set(facts.ekus) != set(profile.ekus):
        return (
            f"role {role} requires Extended Key Usage exactly "
            f"{[o.dotted_string for o in profile.ekus]}, found {[o.dotted_string for o in facts.ekus]}"
        )
    if profile.has_region and len(facts.regions) != 1:
        return f"role {role} must name exactly one region URI {REGION_URI_PREFIX}<code> (SEC-011)"
    if not profile.has_region and facts.regions:
        return f"role {role} must not name a region"
    if facts.members and (role not in MEMBER_ROLES or len(facts.members) != 1):
        return f"role {role} may name at most one member URI {MEMBER_URI_PREFIX}<id>, and only a node's (SEC-092)"
    return None


IssuerKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


def issuer_public_key(cert: x509.Certificate) -> IssuerKey:
    """The public key of a CA certificate, if it is of a type a provincial CA signs with.

    Raises ValueError for any other key type (an X25519 key, say, cannot have signed anything)."""
    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        return key
    raise ValueError(f"a {type(key).__name__} cannot sign certificates or CRLs")
