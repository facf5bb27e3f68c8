"""The exact ``archsearch search`` command that re-creates a stored experiment's configuration.

The command is built from the stored config (flags for keys that differ from the defaults in force, ``--set``
for the rest and for strategy/estimator options) and then checked: it is parsed by the real parser, and every
key that would still differ is pinned with ``--set key=<JSON>`` (JSON is YAML), so that the command yields the
stored configuration exactly, whatever the estimator-dependent defaults are. Only the name may differ: the
command must run in the store it names, so a name the store already holds becomes ``NAME-repro`` (or
``NAME-repro2``, ...), the first one free there.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Collection
from pathlib import Path
from typing import Any

from archsearch.cli.common import STUDY_FLAGS
from archsearch.config import StudyConfig

COMPONENT_OPTIONS = {"strategy_options": "strategy", "estimator_options": "estimator"}


def reproduce_argv(config: dict[str, Any], store: str, taken: Collection[str] | None = None) -> list[str]:
    """``archsearch`` arguments (without the program name) that rebuild ``config`` in ``store``, under a name
    not in ``taken`` (default: the names ``store`` holds, read from it when it exists)."""
    defaults = StudyConfig().to_dict()
    name = fresh_name(str(config.get("name", "")), store_names(store) if taken is None else taken)
    argv = ["search", "--store", store, "--name", name]
    flag_of = {key: (flag, kind) for flag, (key, kind, _) in STUDY_FLAGS.items()}
    for key, value in config.items():
        if key == "name" or key not in defaults or value == defaults[key] or value is None:
            continue
        if key in COMPONENT_OPTIONS:
            argv += _option_sets(COMPONENT_OPTIONS[key], value)
        elif key in flag_of:
            argv += _flag(*flag_of[key], value)
        else:
            argv += ["--set", f"{key}={json.dumps(value)}"]
    for key in mismatched_keys(argv, {**config, "name": name}):
        argv += ["--set", f"{key}={json.dumps(config[key])}"]
    return argv


def fresh_name(name: str, taken: Collection[str]) -> str:
    """``name`` when it is not taken, else the first of ``name-repro``, ``name-repro2``, ... that is not."""
    if name not in taken:
        return name
    candidate, number = f"{name}-repro", 1
    while candidate in taken:
        number += 1
        candidate = f"{name}-repro{number}"
    return candidate


def store_names(store: str) -> set[str]:
    """The experiment names in the store at ``store`` (none when there is no readable store there)."""
    from archsearch.core.errors import UserError
    from archsearch.store.factory import is_url, open_store

    if not is_url(store) and not Path(store).is_file():
        return set()
    try:
        opened = open_store(store, create=False, write=False)
    except UserError:
        return set()
    try:
        return {experiment.name for experiment in opened.experiments()}
    finally:
        opened.close()


def reproduce_command(config: dict[str, Any], store: str) -> str:
    return shlex.join(["archsearch", *reproduce_argv(config, store)])


def parsed_config(argv: list[str]) -> StudyConfig:
    """The config the ``search`` command ``argv`` would run (without running it)."""
    from archsearch.cli.common import study_config
    from archsearch.cli.main import build_parser

    args = build_parser().parse_args(argv)
    config = study_config(args)
    if args.name is not None:
        config.set("name", args.name)
    return config


def mismatched_keys(argv: list[str], config: dict[str, Any]) -> list[str]:
    """The keys of ``config`` that ``argv`` would not reproduce."""
    produced = parsed_config(argv).to_dict()
    return [key for key, value in config.items() if key in produced and produced[key] != value]


def _flag(flag: str, kind: Any, value: Any) -> list[str]:
    if kind is bool:
        return [flag] if value else []
    if kind is list:
        return [part for text in str(value).split(",") for part in (flag, text.strip())]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return [flag, str(value)]


def _option_sets(prefix: str, options: dict[str, Any], path: str = "") -> list[str]:
    out = []
    for name, value in options.items():
        dotted = f"{path}{name}"
        if isinstance(value, dict) and value:
            out += _option_sets(prefix, value, dotted + ".")
        else:
            out += ["--set", f"{prefix}.{dotted}={json.dumps(value)}"]
    return out
