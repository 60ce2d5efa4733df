"""creditx: a federated exchange of public credit information between a province and its cities.

Packages, from the bottom layer up (an arrow only ever points down):

* ``creditx.v1``        generated protobuf/gRPC code (``proto/generate.py``; never edited by hand)
* ``creditx.standard``  the exchange standard as pure code: no sockets, files or clocks
* ``creditx.pki``       the provincial CA, identities, revocation and mutual TLS
* ``creditx.gateway``   the provincial gateway          } never import each other
* ``creditx.node``      the city node                   }
* ``creditx.demo``      a whole province on loopback, for the demo and the end-to-end tests
* ``creditx.cli``       the ``creditx`` dispatcher and its output helpers
"""
