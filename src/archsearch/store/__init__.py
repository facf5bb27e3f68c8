"""Storage of experiments, trials and strategy state behind one interface (:class:`Store`): SQLite files, PostgreSQL
databases (``open_store("postgresql://...")``, psycopg imported then) and memory."""

from archsearch.store.base import ExperimentData, ExperimentRecord, Store, TrialRecord
from archsearch.store.factory import open_store
from archsearch.store.memory import InMemoryStore
from archsearch.store.sqlite import SQLiteStore

__all__ = ["ExperimentData", "ExperimentRecord", "InMemoryStore", "SQLiteStore", "Store", "TrialRecord", "open_store"]
