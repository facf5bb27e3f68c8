"""Search spaces (registered lazily in :mod:`archsearch.core.registry`)."""
