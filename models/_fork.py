"""Locks that survive `os.fork()`: every lock of this library comes from `fork_safe_lock`.

A fork copies a lock's state but only the forking thread: a lock another thread held at
that instant stays held forever in the child, and the child's first call that takes it
hangs. The locks are tracked weakly and re-initialised, unlocked, in every forked child,
in place (`_at_fork_reinit`, what `threading` and `logging` do to their own locks), so
the objects holding them need no fork handling of their own and a call pays nothing.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

__all__ = ["fork_safe_lock"]

_LOCKS: weakref.WeakSet[Any] = weakref.WeakSet()


def fork_safe_lock() -> threading.Lock:
    """A `threading.Lock` that a forked child gets back unlocked."""
    lock = threading.Lock()
    _LOCKS.add(lock)
    return lock


def _reinit_in_child() -> None:
    for lock in list(_LOCKS):
        lock._at_fork_reinit()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_in_child)
