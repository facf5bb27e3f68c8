"""Performance estimators (registered lazily in :mod:`archsearch.core.registry`)."""
