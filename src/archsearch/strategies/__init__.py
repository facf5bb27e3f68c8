"""Search strategies (registered lazily in :mod:`archsearch.core.registry`)."""
