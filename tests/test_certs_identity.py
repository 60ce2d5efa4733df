"""Identity verification: every rejection reason (SEC-030…041), rotation, a foreign CA with
the same subject, region authorisation (SEC-032)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from creditx.pki import files
from creditx.pki.ca import init_ca
from creditx.pki.crl import load_crl, publish_crl, revoke
from creditx.pki.identity import IdentityError, TrustStore, verify
from creditx.pki.issue import issue_gateway, issue_node, issue_operator
from creditx.pki.profiles import EKU_OPERATOR, GATEWAY_TLS, NODE_AUTH, NODE_SIGNING, OPERATOR, key_id, serial_hex

AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def ca(tmp_path):
    return init_ca(tmp_path / "ca", at=AT)


@pytest.fixture
def node(ca, tmp_path):
    return issue_node(ca, region="370100", name="jinan", at=AT, days=30, out=tmp_path / "n")


def store(ca) -> TrustStore:
    return TrustStore(ca.cert).with_crl(load_crl(ca.path(files.CRL)))


def reason_of(data, trust, *, at=AT, roles=(NODE_AUTH,)) -> str:
    with pytest.raises(IdentityError) as exc:
        verify(data, trust, at=at, roles=roles)
    return exc.value.reason


def test_a_good_node_certificate_gives_its_identity(ca, node):
    ident = verify(node.auth_cert.read_bytes(), store(ca), at=AT, roles=(NODE_AUTH,))
    cert = files.read_cert(node.auth_cert)
    assert (ident.role, ident.region, ident.name) == (NODE_AUTH, "370100", "jinan")
    assert ident.serial == serial_hex(cert.serial_number)
    assert ident.key_id == key_id(cert.public_key()) and ident.key_id.startswith("sha256:")
    assert ident.not_after == cert.not_valid_after_utc


def test_malformed_bytes(ca):
    assert reason_of(b"not a certificate", store(ca)) == "CERT_MALFORMED"
    assert reason_of(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", store(ca)) == "CERT_MALFORMED"


def _hand_made(ca, *, ekus, uris, ca_flag=False):
    """A certificate signed by our CA but not from one of our profiles."""
    key = ec.generate_private_key(ec.SECP256R1())
    b = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rogue")]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(AT - timedelta(days=1))
        .not_valid_after(AT + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca_flag, path_length=None), critical=True)
    )
    if ekus:
        b = b.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
    if uris:
        b = b.add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(u) for u in uris]), critical=False
        )
    return b.sign(ca.key, hashes.SHA256())


@pytest.mark.parametrize(
    "ekus,uris,ca_flag",
    [
        ([ExtendedKeyUsageOID.CLIENT_AUTH], [], False),  # no role URI
        ([ExtendedKeyUsageOID.CLIENT_AUTH], ["urn:creditx:role:node-auth"], False),  # no region
        (
            [ExtendedKeyUsageOID.CLIENT_AUTH],
            ["urn:creditx:role:node-auth", "urn:creditx:region:371200"],
            False,
        ),  # not a node region
        # a "signing" certificate that would also work for TLS: role confusion
        ([ExtendedKeyUsageOID.CLIENT_AUTH], ["urn:creditx:role:node-signing", "urn:creditx:region:370100"], False),
        ([ExtendedKeyUsageOID.CLIENT_AUTH], ["urn:creditx:role:root"], False),
        ([ExtendedKeyUsageOID.CLIENT_AUTH], ["urn:creditx:role:operator"], True),  # a CA as leaf
    ],
)
def test_broken_role_markings_are_malformed(ca, ekus, uris, ca_flag):
    cert = _hand_made(ca, ekus=ekus, uris=uris, ca_flag=ca_flag)
    assert reason_of(cert, store(ca), roles=(NODE_AUTH, NODE_SIGNING, OPERATOR)) == "CERT_MALFORMED"


def test_foreign_ca_with_the_same_subject_is_wrong_ca(ca, node, tmp_path):
    other = init_ca(tmp_path / "other", at=AT)
    assert other.cert.subject == ca.cert.subject
    foreign = issue_node(other, region="370100", name="jinan", at=AT, out=tmp_path / "f")
    assert reason_of(foreign.auth_cert.read_bytes(), store(ca)) == "CERT_WRONG_CA"
    assert reason_of(other.cert, store(ca)) == "CERT_WRONG_CA"  # their root is not ours


def test_not_yet_valid_and_expired(ca, node):
    data = node.auth_cert.read_bytes()
    # SEC-020: valid from an hour before issue
    assert reason_of(data, store(ca), at=AT - timedelta(hours=2)) == "CERT_NOT_YET_VALID"
    assert reason_of(data, store(ca), at=AT + timedelta(days=31)) == "CERT_EXPIRED"
    verify(data, fresh_store(ca, AT + timedelta(days=28)), at=AT + timedelta(days=29), roles=NODE_AUTH)


def fresh_store(ca, at) -> TrustStore:
    """A trust store whose CRL was published at ``at`` (valid for CRL_DAYS from then)."""
    return TrustStore(ca.cert).with_crl(publish_crl(ca, at=at))


def test_an_outdated_crl_fails_closed(ca, node):
    """SEC-044: past nextUpdate (+1 h grace) no certificate is accepted, revoked or not."""
    data = node.auth_cert.read_bytes()
    verify(data, store(ca), at=AT + timedelta(days=7), roles=NODE_AUTH)  # nextUpdate is AT + 7 days
    assert reason_of(data, store(ca), at=AT + timedelta(days=7, hours=2)) == "CRL_OUTDATED"
    verify(data, fresh_store(ca, AT + timedelta(days=7)), at=AT + timedelta(days=7, hours=2), roles=NODE_AUTH)


def test_revoked_per_the_newest_crl(ca, node):
    old_store = store(ca)
    serial = serial_hex(files.read_cert(node.auth_cert).serial_number)
    revoke(ca, serial, at=AT + timedelta(hours=1), reason="key-compromise")
    newest = load_crl(ca.path(files.CRL))
    assert reason_of(node.auth_cert.read_bytes(), old_store.with_crl(newest)) == "CERT_REVOKED"
    # An older CRL presented later does not undo the revocation (SEC-041).
    stale = old_store.crl
    assert stale is not None
    assert old_store.with_crl(newest).with_crl(stale).crl == newest
    # the signing certificate was not revoked
    verify(node.signing_cert.read_bytes(), old_store.with_crl(newest), at=AT, roles=NODE_SIGNING)


def test_crl_from_another_ca_is_refused(ca, tmp_path):
    other = init_ca(tmp_path / "other", at=AT)
    with pytest.raises(IdentityError) as exc:
        TrustStore(ca.cert).with_crl(load_crl(other.path(files.CRL)))
    assert exc.value.reason == "CERT_WRONG_CA"


def test_wrong_role_both_ways(ca, node, tmp_path):
    trust = store(ca)
    assert reason_of(node.signing_cert.read_bytes(), trust, roles=(NODE_AUTH,)) == "CERT_WRONG_ROLE"
    assert reason_of(node.auth_cert.read_bytes(), trust, roles=(NODE_SIGNING,)) == "CERT_WRONG_ROLE"
    op = issue_operator(ca, name="alice", at=AT, out=tmp_path / "o")
    assert reason_of(op.cert.read_bytes(), trust, roles=(NODE_AUTH,)) == "CERT_WRONG_ROLE"
    gw = issue_gateway(ca, at=AT, out=tmp_path / "g")
    assert reason_of(gw.tls_cert.read_bytes(), trust, roles=(NODE_AUTH,)) == "CERT_WRONG_ROLE"
    assert verify(gw.tls_cert.read_bytes(), trust, at=AT, roles=GATEWAY_TLS).region is None


def test_errors_name_rule_and_what_to_do(ca, node):
    with pytest.raises(IdentityError) as exc:
        verify(node.signing_cert.read_bytes(), store(ca), at=AT, roles=(NODE_AUTH,))
    assert exc.value.rule == "SEC-010"
    assert "CERT_WRONG_ROLE (SEC-010)" in exc.value.diagnostics()
    assert "hint:" in exc.value.diagnostics()


def test_rotation_keeps_old_signatures_verifiable(ca, node, tmp_path):
    """SEC-031: after rotation both keys verify for their own validity periods."""
    old = node.signing_cert.read_bytes()
    later = AT + timedelta(days=20)
    issue_node(ca, region="370100", name="jinan", at=later, days=30, out=node.dir, only="signing")
    new = node.signing_cert.read_bytes()
    trust = store(ca)
    old_id = verify(old, trust, at=AT + timedelta(days=1), roles=NODE_SIGNING)
    trust = fresh_store(ca, later)  # SEC-044: checks 3 weeks on need the CRL published since
    new_id = verify(new, trust, at=later + timedelta(days=1), roles=NODE_SIGNING)
    assert old_id.key_id != new_id.key_id and old_id.region == new_id.region == "370100"
    # the old key is only good for what it signed while valid
    assert reason_of(old, trust, at=AT + timedelta(days=31), roles=NODE_SIGNING) == "CERT_EXPIRED"


def test_publish_crl_numbers_grow(ca):
    from cryptography.x509 import CRLNumber

    first = publish_crl(ca, at=AT).extensions.get_extension_for_class(CRLNumber).value.crl_number
    second = publish_crl(ca, at=AT).extensions.get_extension_for_class(CRLNumber).value.crl_number
    assert second == first + 1


DEPT = "11370000001992013Q"  # 山东省公安厅's (illustrative) USCC in the seed registry


def test_a_department_node_certificate_names_its_member_and_a_city_one_its_region(ca, node, tmp_path):
    dept = issue_node(ca, region="370000", member=DEPT, name="gat", at=AT, days=30, out=tmp_path / "d")
    for path, role in ((dept.auth_cert, NODE_AUTH), (dept.signing_cert, NODE_SIGNING)):
        ident = verify(path.read_bytes(), store(ca), at=AT, roles=(role,))
        assert (ident.region, ident.member) == ("370000", DEPT)
    city = verify(node.auth_cert.read_bytes(), store(ca), at=AT, roles=(NODE_AUTH,))  # no member URI (1.0)
    assert (city.region, city.member) == ("370100", "370100")


MEMBER = "urn:creditx:member:"


def test_a_member_uri_on_a_role_that_is_no_node_is_malformed(ca):
    uris = ["urn:creditx:role:operator", MEMBER + DEPT]
    cert = _hand_made(ca, ekus=[ExtendedKeyUsageOID.CLIENT_AUTH, EKU_OPERATOR], uris=uris)
    with pytest.raises(IdentityError) as exc:
        verify(cert, store(ca), at=AT, roles=(OPERATOR,))
    assert exc.value.reason == "CERT_MALFORMED" and "SEC-092" in str(exc.value)
    assert verify(
        _hand_made(ca, ekus=[ExtendedKeyUsageOID.CLIENT_AUTH, EKU_OPERATOR], uris=uris[:1]),
        store(ca),
        at=AT,
        roles=(OPERATOR,),
    )


@pytest.mark.parametrize(
    ("region", "members", "why"),
    [
        ("370100", [DEPT], "province-level"),  # a department member is province-level
        ("370000", ["370100"], "is a region code"),  # a member URI naming another region
        ("370000", [DEPT.lower()], "neither a region code nor a valid"),
        ("370000", [DEPT[:-1] + "0"], "neither a region code nor a valid"),  # check character wrong
        ("370000", [DEPT, "113700000032660742"], "at most one member"),
    ],
)
def test_a_node_certificate_with_a_bad_member_uri_is_malformed(ca, region, members, why):
    uris = ["urn:creditx:role:node-auth", f"urn:creditx:region:{region}", *(MEMBER + m for m in members)]
    cert = _hand_made(ca, ekus=[ExtendedKeyUsageOID.CLIENT_AUTH], uris=uris)
    with pytest.raises(IdentityError) as exc:
        verify(cert, store(ca), at=AT, roles=(NODE_AUTH,))
    assert exc.value.reason == "CERT_MALFORMED" and why in str(exc.value)


def test_issuing_a_node_for_a_bad_member_is_refused_with_the_rule(ca, tmp_path):
    from creditx.standard.errors import InputError

    for region, member in (("370100", DEPT), ("370000", "37000X")):
        with pytest.raises(InputError, match="SEC-092"):
            issue_node(ca, region=region, member=member, name="x", at=AT, days=30, out=tmp_path / "x")


def test_a_stream_is_checked_again_by_time_under_the_same_store_and_in_full_under_a_new_one(ca, node):
    """SEC-042 for a long stream (StreamTrust): under the store it was verified with, only time
    can change the answer — expiry and an outdated CRL still end it; a new store (a new CRL)
    is verified in full, so a revocation ends it too."""
    from creditx.pki.tls import StreamTrust

    def reason(peer: StreamTrust, trust: TrustStore, at: datetime) -> str:
        with pytest.raises(IdentityError) as exc:
            peer.check(trust, at)
        return exc.value.reason

    ident = verify(node.auth_cert.read_bytes(), store(ca), at=AT, roles=(NODE_AUTH,))
    same = store(ca)
    peer = StreamTrust(ident)
    peer.check(same, AT)  # the first check is a full verify
    peer.check(same, AT + timedelta(hours=1))
    assert reason(peer, same, AT + timedelta(days=7, hours=2)) == "CRL_OUTDATED"
    assert reason(peer, same, AT + timedelta(days=31)) == "CERT_EXPIRED"
    assert reason(peer, same, AT - timedelta(hours=2)) == "CERT_NOT_YET_VALID"

    revoke(ca, ident.serial, at=AT + timedelta(hours=1), reason="key-compromise")
    peer.check(same, AT + timedelta(hours=2))  # the old store does not know of the revocation
    assert reason(peer, store(ca), AT + timedelta(hours=2)) == "CERT_REVOKED"
    # a later check under the same new store is still refused: a failure is never remembered as good
    newest = store(ca)
    assert reason(peer, newest, AT + timedelta(hours=2)) == "CERT_REVOKED"
    assert reason(peer, newest, AT + timedelta(hours=3)) == "CERT_REVOKED"
