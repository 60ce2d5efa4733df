"""The provincial PKI: who may connect, and whose signature a record carries (spec chapter 07).

Modules: ``profiles`` (roles, OIDs, extensions), ``ca`` (root CA, signing leaves),
``issue`` (node / gateway / operator credentials), ``issuance_db`` (what was issued),
``crl`` (revocation), ``identity`` (TrustStore, Identity, IdentityError, verify),
``bundle`` (signed trust bundle), ``tls`` (gRPC mutual TLS, reload, peer check),
``files`` (on-disk layout and permissions), ``testing`` (``make_pki`` for tests), ``cli``.
"""
