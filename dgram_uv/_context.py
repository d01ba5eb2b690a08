"""What dgram_uv keeps per loop, and for how long (docs/api.md, "Lifecycle
and interruptions").

One :class:`LoopContext` per pyuv loop owns the three things the sockets of
a loop share:

* the deferred calls: callbacks and events ('listening', 'close', send
  callbacks, ...) are never called from the method that caused them; they
  wait in a FIFO drained by one ``pyuv.Idle`` handle, active only while
  something is owed, so it keeps the loop alive exactly that long;
* the send window (_outbox.SendWindow): sends made while dgram_uv runs user
  code in a loop of its own go out together;
* the receive buffer of the batch receiver (_batch.ReceiveBuffer), made on
  first use.

A context is made with its loop's first socket (:func:`context_for`) and
closed once its last socket has closed and nothing is owed any more: its
handle is closed, its buffer dropped, so a loop is left as it was found.  If
the user closed every handle of the loop (pyuv's usual shutdown), the next
socket gets a fresh context.

Interruptions: a deferred call that raises an ``Exception`` goes to the
loop's ``excepthook``, as pyuv does for its own callbacks, and the calls
behind it still run.  A ``BaseException`` (KeyboardInterrupt, SystemExit, an
excepthook that raises) passes through to pyuv, and the calls not yet made
stay queued for the next iteration: none is lost, none is made twice.
"""

from __future__ import annotations

import sys
import weakref
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pyuv

from ._outbox import SendWindow

if TYPE_CHECKING:
    from ._batch import ReceiveBuffer

Call = tuple[Callable[..., Any], tuple[Any, ...]]


def report_exception(loop: pyuv.Loop) -> None:
    """Hand the exception being handled to ``loop.excepthook``, as pyuv does."""
    hook = getattr(loop, "excepthook", None)
    if hook is None:
        sys.excepthook(*sys.exc_info())
    else:
        hook(*sys.exc_info())


class LoopContext:
    """The deferred calls, the send window and the receive buffer of one loop."""

    __slots__ = ("__weakref__", "_buffer", "_calls", "_closed", "_idle", "_sockets", "loop",
                 "window")

    def __init__(self, loop: pyuv.Loop) -> None:
        self.loop = loop
        self.window = SendWindow()
        self._calls: deque[Call] = deque()
        self._idle: pyuv.Idle | None = None  # made when first owed a call
        self._buffer: ReceiveBuffer | None = None
        self._sockets = 0
        self._closed = False

    # -- lifetime ----------------------------------------------------------

    def attach(self) -> None:
        """A socket of this loop was made."""
        self._sockets += 1

    def detach(self) -> None:
        """A socket of this loop has closed; the last one closes the context
        once nothing is owed."""
        self._sockets -= 1
        self._close_if_unused()

    @property
    def usable(self) -> bool:
        """False once closed, by us or by a user who closed every handle."""
        return not self._closed and not (self._idle is not None and self._idle.closed)


    def _close_if_unused(self) -> None:
        if self._sockets > 0 or self._calls:
            return
        # A call owed after the close (the callback of a second close())
        # reopens the handle; it is closed again once that call is made.
        if self._idle is not None and not self._idle.closed:
            self._idle.close()
        self._idle = None
        if not self._closed:
            self._closed = True
            self._buffer = None
            if _CONTEXTS.get(id(self.loop)) is self:
                del _CONTEXTS[id(self.loop)]

    # -- the receive buffer ------------------------------------------------

    def receive_buffer(self) -> ReceiveBuffer:
        """The batch receiver's C buffer, shared by the loop's sockets."""
        if self._buffer is None:
            from ._batch import ReceiveBuffer

            self._buffer = ReceiveBuffer()
        return self._buffer

    # -- deferred calls ----------------------------------------------------

    def call_later(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call ``fn(*args)`` on a later iteration of the loop."""
        if not self._calls:
            if self._idle is None or self._idle.closed:  # closed: by a sweep of the loop
                self._idle = pyuv.Idle(self.loop)
            self._idle.start(self._drain)
        self._calls.append((fn, args))

    def _drain(self, _handle: pyuv.Idle) -> None:
        calls = self._calls
        window = self.window
        window.hold()  # sends made by these calls go out together
        try:
            # Only the calls owed when this iteration began: calls queued
            # meanwhile wait for the next one.  popleft before each call, so a
            # BaseException leaves exactly the calls not yet made.
            for _ in range(len(calls)):
                fn, args = calls.popleft()
                try:
                    fn(*args)
                except Exception:
                    report_exception(self.loop)
        finally:
            window.release()
            if not calls:
                self._idle.stop()  # type: ignore[union-attr]
                self._close_if_unused()


# Keyed by id(loop): a context holds its loop (through its handle), so the id
# cannot be reused while the entry lives; a context nobody holds any more
# (its sockets collected, nothing owed) leaves the table by itself.
_CONTEXTS: weakref.WeakValueDictionary[int, LoopContext] = weakref.WeakValueDictionary()


def context_for(loop: pyuv.Loop) -> LoopContext:
    """The loop's context, made (or remade) when it has none in use."""
    context = _CONTEXTS.get(id(loop))
    if context is None or not context.usable:
        context = _CONTEXTS[id(loop)] = LoopContext(loop)
    return context
