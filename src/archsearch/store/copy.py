"""Copying an experiment from one store to another (issue 27: ``archsearch cp NAME --from A --to B``), between
any two locations :func:`archsearch.store.factory.open_store` opens: SQLite files and PostgreSQL databases.

The copy is lossless: the record (config, seed, status, times, version), every trial, the strategy checkpoint
with its pending trials, the one-shot epochs and engine state, read as one snapshot of the source and written in
one transaction of the target, so the copy resumes there to the history the original would have. The source
is read first (a wrong name creates nothing); it is opened read-only unless the copy goes into the same store.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from archsearch.core.errors import UserError
from archsearch.store.base import ExperimentRecord, check_name
from archsearch.store.factory import open_store, same_store


@dataclass(frozen=True)
class Copied:
    """What :func:`copy_between` did: the new experiment in the target and how many trials it holds."""

    experiment: ExperimentRecord
    trials: int


def copy_between(name: str, source: str | os.PathLike[str], target: str | os.PathLike[str] | None = None,
                 new_name: str | None = None) -> Copied:
    """Copy experiment ``name`` from the store at ``source`` into the store at ``target`` (default: ``source``,
    then ``new_name`` is needed) as ``new_name`` (default: ``name``); the target store is created if missing."""
    if new_name is not None:
        check_name(new_name)
    target = source if target is None else target
    copy_name = new_name or name
    same = same_store(source, target)
    if same and copy_name == name:
        raise UserError(f"a copy of {name!r} needs another store or another name",
                        cli=f"a copy of {name!r} needs another store (--to OTHER.db) or another name (--name NEW)")
    reader = open_store(source, create=False, write=same)
    try:
        data = reader.export_experiment(name)
        writer = reader if same else open_store(target, create=True)
        try:
            experiment = writer.import_experiment(data, copy_name)
        finally:
            if writer is not reader:
                writer.close()
    finally:
        reader.close()
    return Copied(experiment, len(data.trials))
