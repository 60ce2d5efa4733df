"""The creditx exchange standard as pure code.

Everything here is deterministic and free of sockets and databases: identifier rules,
the record catalogue, validation, the envelope and its signature suites, the content
fingerprint, natural keys, Merkle-log maths and the test vectors. ``standards`` imports
nothing else of ours; ``certs``, ``gateway`` and ``node`` build on it.
"""

STANDARD_VERSION = "1.4"
