"""The lock that lets one process at a time run (or remove, or rename) an experiment of a SQLite store.

An exclusive ``flock`` on a side file ``.<store name>.<experiment id>.lock`` next to the store, taken without
waiting; the kernel drops it when the process dies (SIGKILL included). A clean release removes the file while
it still holds the lock, so lock files do not pile up beside the store. A process that opened the file before
it was removed may then lock a file no longer at the path: every locker checks after locking that the file it
holds is the one at the path (same device and inode), and otherwise tries again with the new file. Only the
holder removes the file, so a lock is never held on a file that a later locker cannot see.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import IO

from archsearch.core.errors import UserError

ATTEMPTS = 100  # files removed under a locker's feet before it gives up (each removal is a clean release)


def lock_path(store: Path, experiment_id: int) -> Path:
    return store.with_name(f".{store.name}.{experiment_id}.lock")


def acquire(path: Path, name: str, action: str) -> IO[str] | None:
    """The locked, open side file at ``path``, holding ``process <pid> on <host>``; a ``UserError`` naming the
    holder and ``action`` (what to do first) when another process runs experiment ``name``; None where there
    are no flocks (not POSIX: no lock)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return None
    for _ in range(ATTEMPTS):
        try:
            handle = open(path, "a+", encoding="utf-8")
        except OSError as exc:
            raise UserError(f"cannot lock experiment {name!r} next to {path.parent}: {exc.strerror}") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise UserError(f"experiment {name!r} is being run by {holder}; {action}") from None
        if _is_at(handle, path):
            handle.seek(0)
            handle.truncate()
            handle.write(f"process {os.getpid()} on {os.uname().nodename}")
            handle.flush()
            return handle
        handle.close()  # its holder removed it as it released it: lock the file now at the path
    raise UserError(f"cannot lock experiment {name!r} next to {path.parent}: its lock file keeps being removed")


def release(handle: IO[str], path: Path) -> None:
    """Remove the side file (while it is still locked), then drop the lock."""
    try:
        if _is_at(handle, path):
            os.unlink(path)
    except OSError:  # pragma: no cover - the folder became read-only: the file stays, harmless
        pass
    handle.close()


def _is_at(handle: IO[str], path: Path) -> bool:
    """Whether the open file ``handle`` is the file at ``path`` (not one removed since it was opened)."""
    try:
        at_path = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(handle.fileno())
    return (held.st_dev, held.st_ino) == (at_path.st_dev, at_path.st_ino)


def holder_alive(path: Path) -> bool:
    """Whether the lock at ``path`` may still be held by a live process: False when the file is gone (a clean
    release removes it) or names a process of this host that no longer exists (a driver killed by SIGKILL);
    True otherwise (a holder on another host cannot be checked from here). Takes no lock itself."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return False
    except OSError:  # pragma: no cover - unreadable: trust the stored status
        return True
    match = re.fullmatch(r"process (\d+) on (.+)", text)
    if match is None or match.group(2) != os.uname().nodename:
        return True
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True
