"""``python -m tests.e2e.small_chunks_node node run --dir DIR``: the real ``creditx`` command line
with the node's snapshot requests asking for at most ``CREDITX_TEST_CHUNK_ENTRIES`` entries per
chunk, so a snapshot of a few thousand entries has many chunks and a SIGKILL lands inside it.

Needed because node.json has no setting for FollowPolicy.max_chunk_entries (node/config.py
Limits does not carry it); everything else is the unmodified node.
"""

from __future__ import annotations

import functools
import os
import sys

from node.replica import follower

follower.FollowPolicy = functools.partial(follower.FollowPolicy,
                                          max_chunk_entries=int(os.environ["CREDITX_TEST_CHUNK_ENTRIES"]))

if __name__ == "__main__":
    from standards.cli import main

    sys.exit(main(sys.argv[1:]))
