"""The provincial PKI: CA, node/gateway/operator certificates, revocation, trust bundle, mTLS."""
