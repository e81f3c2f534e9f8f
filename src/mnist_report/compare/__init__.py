"""Comparing two experiments: git revisions of the report's sources (:mod:`.revisions`) and the
marked-up report diff (:mod:`.markup`). The top layer: it may import every other one."""
