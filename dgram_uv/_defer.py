"""Deferred calls: run a function on a later iteration of a pyuv loop.

Callbacks and events ('listening', 'close', send callbacks, ...) are never
called synchronously from the method that caused them.  Each loop gets one
pyuv.Idle handle and a FIFO of pending calls; the handle is active only while
the queue is non-empty, so it keeps the loop alive exactly as long as
something is owed.  Calls queued while the queue is being drained wait for the
next iteration.

An exception from a deferred call (or from a receive listener, see
_receive.py) never reaches libuv and never stops the calls behind it: it goes
to the loop's ``excepthook``, as pyuv does for its own callbacks.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pyuv

from ._sendmany import loop_batch

_ATTR = "_dgram_uv_deferred"


def report_exception(loop: pyuv.Loop) -> None:
    """Hand the exception being handled to ``loop.excepthook``, as pyuv does."""
    hook = getattr(loop, "excepthook", None)
    if hook is None:
        sys.excepthook(*sys.exc_info())
    else:
        hook(*sys.exc_info())


class _DeferredCalls:
    __slots__ = ("_idle", "_loop", "_queue")

    def __init__(self, loop: pyuv.Loop) -> None:
        self._loop = loop
        self._queue: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        self._idle = pyuv.Idle(loop)

    def add(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        if not self._queue:
            self._idle.start(self._drain)
        self._queue.append((fn, args))

    def _drain(self, _handle: pyuv.Idle) -> None:
        calls, self._queue = self._queue, []
        sends = loop_batch(self._loop)
        if sends is not None:
            sends.hold()  # sends made by these calls go out together (_sendmany.py)
        try:
            for fn, args in calls:
                try:
                    fn(*args)
                except Exception:
                    report_exception(self._loop)
        finally:
            if sends is not None:
                sends.release()
        if not self._queue:
            self._idle.stop()


def call_later(loop: pyuv.Loop, fn: Callable[..., Any], *args: Any) -> None:
    """Call ``fn(*args)`` on a later iteration of ``loop``."""
    deferred = loop.__dict__.get(_ATTR)
    if deferred is None:
        deferred = _DeferredCalls(loop)
        setattr(loop, _ATTR, deferred)
    deferred.add(fn, args)
