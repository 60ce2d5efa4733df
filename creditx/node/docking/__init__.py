"""Database docking (数据库对接): a node reads a department's front-end database (前置库) incrementally.

``config`` (the ``docking`` sources of node.json), ``reader`` (SQLAlchemy Core: pages after a
(tracking, key) cursor), ``poll`` (pages → intake rows → outbox, cursor and counters in the same
node transaction). The node's scheduler runs one poll job per source (creditx/node/app.py)."""
