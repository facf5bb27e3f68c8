"""Network building blocks: named primitives (:mod:`.ops`) and cell-based networks (:mod:`.cells`)."""
