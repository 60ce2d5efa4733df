"""``creditx conformance``: certify a node or a gateway of any vendor over the wire.

The suite reaches the implementation under test only through the exchange's wire contract
(``creditx/v1`` protos, the chapters of ``creditx/standard/spec``) and through commands the vendor
names (``adapter.py``); it never imports ``creditx.gateway`` or ``creditx.node``. Layout:

* ``checks.py``   the requirement-check registry: what each check proves, which requirement IDs
  it covers, MUST or SHOULD, and the result with its evidence;
* ``runner.py``   runs a suite's checks with progress on stderr and builds the report;
* ``report.py``   the report as text, JSON and JUnit XML, and the exit status;
* ``signing.py``  the suite's Ed25519 key and the signed report (``verify-report``);
* ``scripted_gateway.py`` / ``node_suite.py``  the gateway the suite plays to test a node;
* ``scripted_node.py`` / ``gateway_suite.py``  the nodes the suite plays to test a gateway;
* ``adapter.py``  a vendor's commands (init, run, submit) and the child processes they start;
* ``cli.py``      ``creditx conformance node | gateway | verify-report | keygen``.

Chapter 09 of the standard (``creditx/standard/spec/10-conformance.md``) describes the suite.
"""
