"""``creditx demo``: a whole province on loopback (:mod:`.province`), its list act
(:mod:`.lists`) and the process supervisor both use (:mod:`.procs`)."""
