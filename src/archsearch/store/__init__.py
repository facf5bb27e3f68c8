"""Storage of experiments, trials and strategy state behind one interface (:class:`Store`)."""

from archsearch.store.base import ExperimentData, ExperimentRecord, Store, TrialRecord
from archsearch.store.memory import InMemoryStore
from archsearch.store.sqlite import SQLiteStore

__all__ = ["ExperimentData", "ExperimentRecord", "InMemoryStore", "SQLiteStore", "Store", "TrialRecord"]
