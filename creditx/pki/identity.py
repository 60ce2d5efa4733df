"""Verify a certificate against the provincial CA and say who holds it — or precisely why not.

Pure: the certificate, the trust store (CA + newest CRL) and the time ``at`` come in as
arguments; nothing here reads a clock, a file or a socket. The gateway calls ``verify`` on the
TLS peer certificate and on each record's signing certificate (at the record's signing time),
nodes on the gateway's signing certificate.

Checks, in order, each with its reason code (SEC-030):

=====================  ===================================================================
``CERT_MALFORMED``     not a parseable X.509 certificate, or role/region markings broken
``CERT_WRONG_CA``      not signed by the provincial CA (also: a foreign CA with our name)
``CERT_NOT_YET_VALID`` ``at`` is before notBefore
``CERT_EXPIRED``       ``at`` is after notAfter
``CERT_REVOKED``       the serial is on the newest CRL (SEC-040/041)
``CERT_WRONG_ROLE``    the role is not one the caller accepts (SEC-010)
=====================  ===================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509

from creditx.pki.profiles import fingerprint, issuer_public_key, key_id, read_facts, role_problem, serial_hex
from creditx.standard.divisions import REGIONS
from creditx.standard.errors import RemoteError
from creditx.standard.member_ids import member_id_problem

MALFORMED = "CERT_MALFORMED"
WRONG_CA = "CERT_WRONG_CA"
NOT_YET_VALID = "CERT_NOT_YET_VALID"
EXPIRED = "CERT_EXPIRED"
REVOKED = "CERT_REVOKED"
WRONG_ROLE = "CERT_WRONG_ROLE"
CRL_OUTDATED = "CRL_OUTDATED"
CRL_GRACE = timedelta(hours=1)  # SEC-044: a CRL past nextUpdate by more than this fails closed

RULES = {
    MALFORMED: "SEC-010",
    WRONG_CA: "SEC-030",
    NOT_YET_VALID: "SEC-033",
    EXPIRED: "SEC-033",
    REVOKED: "SEC-040",
    WRONG_ROLE: "SEC-010",
    CRL_OUTDATED: "SEC-044",
}
_HINTS = {
    MALFORMED: "use a certificate issued by `creditx certs issue-node/issue-gateway/issue-operator`",
    WRONG_CA: "use a certificate issued by the provincial CA (check ca.crt)",
    NOT_YET_VALID: "check the clocks of both machines",
    EXPIRED: "ask the provincial operator for a new certificate",
    REVOKED: "ask the provincial operator for a new certificate",
    WRONG_ROLE: "auth.crt is for TLS, signing.crt for record signatures; do not swap them",
    CRL_OUTDATED: "publish a fresh CRL (`creditx certs crl`) and copy it to the gateway's tls/crl.pem",
}


class IdentityError(RemoteError):
    """The peer's certificate does not establish an acceptable identity."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        self.rule = RULES[reason]
        super().__init__(f"{reason} ({self.rule}): {message}", hint=_HINTS[reason])


@dataclass(frozen=True)
class Identity:
    """Who holds a verified certificate."""

    role: str
    region: str | None
    name: str
    serial: str  # upper-case hex, as openssl prints it
    key_id: str  # "sha256:<hex of SPKI DER>"
    not_after: datetime
    not_before: datetime
    fingerprint: str
    certificate: x509.Certificate = field(repr=False, compare=False)
    # SEC-092: the member the node speaks as: its member URI, else its region (city, 370000, 1.0)
    member: str | None = None

    def __post_init__(self) -> None:
        if self.member is None:
            object.__setattr__(self, "member", self.region)


@dataclass(frozen=True)
class TrustStore:
    """The provincial CA certificate and the newest CRL known (None: no revocations known)."""

    ca: x509.Certificate
    crl: x509.CertificateRevocationList | None = None

    def with_crl(self, crl: x509.CertificateRevocationList) -> TrustStore:
        """This store with ``crl`` if it is signed by the CA and not older than the current one
        (SEC-041: verifiers keep the newest CRL). A CRL not from the CA is refused."""
        try:
            ca_key = issuer_public_key(self.ca)
        except ValueError:
            raise IdentityError(WRONG_CA, "the CA certificate's key cannot sign a CRL") from None
        if not crl.is_signature_valid(ca_key) or crl.issuer != self.ca.subject:
            raise IdentityError(WRONG_CA, "the CRL is not signed by the provincial CA")
        if self.crl is not None and crl_number(crl) < crl_number(self.crl):
            return self
        return TrustStore(self.ca, crl)

    def revocation(self, serial_number: int) -> x509.RevokedCertificate | None:
        if self.crl is None:
            return None
        return self.crl.get_revoked_certificate_by_serial_number(serial_number)


def crl_number(crl: x509.CertificateRevocationList) -> int:
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        return -1


def parse_certificate(data: bytes | str | x509.Certificate) -> x509.Certificate:
    """A certificate from PEM/DER bytes (or an already parsed one); CERT_MALFORMED otherwise."""
    if isinstance(data, x509.Certificate):
        return data
    raw = data.encode() if isinstance(data, str) else bytes(data)
    try:
        if raw.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(raw)
        return x509.load_der_x509_certificate(raw)
    except (ValueError, TypeError, x509.InvalidVersion) as exc:  # InvalidVersion is not a ValueError
        raise IdentityError(MALFORMED, f"not an X.509 certificate: {exc}") from None


def verify(
    data: bytes | str | x509.Certificate, trust: TrustStore, *, at: datetime, roles: tuple[str, ...] | str
) -> Identity:
    """Verify a certificate for one of ``roles`` at time ``at``; raise IdentityError why not,
    and nothing else whatever the bytes hold (a peer's certificate is hostile input)."""
    try:
        return _verify(data, trust, at=at, roles=roles)
    except IdentityError:
        raise
    except Exception as exc:  # noqa: BLE001 - an unparseable field the checks below did not name
        raise IdentityError(
            MALFORMED, f"cannot read the certificate ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None


def check_times(serial: str, not_before: datetime, not_after: datetime, trust: TrustStore, at: datetime) -> None:
    """The checks of :func:`verify` that depend on ``at`` alone: the certificate's validity
    (SEC-033) and the CRL's freshness (SEC-044). IdentityError if either fails."""
    if at < not_before:
        raise IdentityError(
            NOT_YET_VALID, f"certificate {serial} is valid from {not_before.isoformat()}, checked at {at.isoformat()}"
        )
    if at > not_after:
        raise IdentityError(
            EXPIRED, f"certificate {serial} expired at {not_after.isoformat()}, checked at {at.isoformat()}"
        )
    next_update = trust.crl.next_update_utc if trust.crl is not None else None
    if next_update is not None and at > next_update + CRL_GRACE:
        # SEC-044: revocation fails closed; an outdated CRL cannot say a certificate is not revoked
        raise IdentityError(
            CRL_OUTDATED,
            f"the CRL is outdated: its nextUpdate was {next_update.isoformat()}, "
            f"checked at {at.isoformat()}; no certificate is accepted until a fresh one is loaded",
        )


def _verify(
    data: bytes | str | x509.Certificate, trust: TrustStore, *, at: datetime, roles: tuple[str, ...] | str
) -> Identity:
    accepted = (roles,) if isinstance(roles, str) else tuple(roles)
    cert = parse_certificate(data)
    try:
        facts = read_facts(cert)
    except ValueError as exc:  # e.g. duplicate or unparseable extensions
        raise IdentityError(MALFORMED, f"cannot read extensions: {exc}") from None
    try:
        cert.verify_directly_issued_by(trust.ca)
    except (ValueError, TypeError) as exc:
        raise IdentityError(
            WRONG_CA,
            f"certificate of {facts.name!r} (serial "
            f"{serial_hex(cert.serial_number)}) is not issued by the provincial "
            f"CA {trust.ca.subject.rfc4514_string()}: {exc}",
        ) from None
    except Exception as exc:  # InvalidSignature
        raise IdentityError(
            WRONG_CA,
            f"certificate of {facts.name!r} carries a signature that "
            f"does not verify with the provincial CA's key "
            f"({type(exc).__name__}); it comes from another CA",
        ) from None
    problem = role_problem(facts)
    if problem:
        raise IdentityError(MALFORMED, problem)
    role = facts.roles[0]
    region = facts.regions[0] if facts.regions else None
    if region is not None and region not in REGIONS:
        raise IdentityError(MALFORMED, f"region {region!r} is not a Shandong node region (SEC-011)")
    member = facts.members[0] if facts.members else region
    problem = member_id_problem(facts.members[0], region) if facts.members and region is not None else None
    if problem:
        raise IdentityError(MALFORMED, f"{problem} (SEC-092)")
    serial = serial_hex(cert.serial_number)
    check_times(serial, cert.not_valid_before_utc, cert.not_valid_after_utc, trust, at)
    revoked = trust.revocation(cert.serial_number)
    if revoked is not None:
        raise IdentityError(
            REVOKED, f"certificate {serial} of {facts.name!r} was revoked at {revoked.revocation_date_utc.isoformat()}"
        )
    if role not in accepted:
        raise IdentityError(WRONG_ROLE, f"certificate {serial} has role {role}; accepted here: {', '.join(accepted)}")
    return Identity(
        role=role,
        region=region,
        name=facts.name,
        serial=serial,
        key_id=key_id(cert.public_key()),
        not_after=cert.not_valid_after_utc,
        not_before=cert.not_valid_before_utc,
        fingerprint=fingerprint(cert),
        certificate=cert,
        member=member,
    )
