"""Cloud I/O: the HTTP core (:mod:`.client`) and the named Placement
(:mod:`.placement`) and Nova (:mod:`.compute`) reads and writes."""
