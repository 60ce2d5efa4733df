"""Red/black list rules: the lifecycle table (:mod:`.lifecycle`), expiry (:mod:`.expiry`), the
list log's leaves and replica checks (:mod:`.log`), the replica's rules (:mod:`.replica`) and
snapshot chunks (:mod:`.snapshot`)."""
