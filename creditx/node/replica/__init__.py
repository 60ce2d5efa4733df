"""The node's replica of the red/black lists (chapter 08, DIST-0xx) and what it serves.

* ``wire.py``        protobuf ↔ :mod:`creditx.standard.lists.lifecycle` dataclasses (wire types stop there).
* ``subjects.py``    pure: the subject index keys of an entry and of a Check question.
* ``store.py``       SQLite tables (migration 2 of node/store.py): entries, subject index,
                     applied changes (history and feed source), cursor, frontier, snapshot progress,
                     department and sink cursors. A batch and its cursor commit together (DIST-042).
* ``follower.py``    the Subscribe / Snapshot client loop with backoff, and the checkpoint check.
* ``departments.py`` the node-local ``Departments`` servicer (Check, Feed).
* ``sinks.py``       append-only JSON Lines feeds per department (exactly-once across restarts).
* ``feed.py``        pure: the feed's items across a re-bootstrap (marker, state difference, pages).

Node requirement IDs defined here (beside the standard's DIST- rules):

* NODE-040 the replica is applied only in list_seq order, batch and cursor in one transaction.
* NODE-041 a person is indexed by the node's own keyed hash (DIR/subject.key, random at init) of
  证件类型:证件号码 taken from the ORIGIN record; the number itself is never stored.
* NODE-042 a DIST_GAP / DIST_ILLEGAL_CHANGE / origin mismatch stops the batch; nothing of it is applied.
* NODE-043 a checkpoint fork or replica divergence sets an alarm: applying stops, checks answer stale.
* NODE-044 a department's stored cursor only moves forward, and only when acknowledged.
* NODE-045 a file sink line is written at most once and never lost (cursor recovered from the file).
* NODE-048 a reset replica keeps its entries and history until a snapshot replaces them; the
  departments are then handed the state difference and a marker for the range jumped (DIST-062).
"""
