"""luvit's idle timeout (``setTimeout``) at no cost on the receive path.

The receive and send paths only set ``activity.seen = True`` (one attribute
store per batch, _inbox.Activity).  A repeating timer ticks about four times
per timeout; a tick that finds activity restarts the quiet period from its
own time, and the first tick that finds the socket quiet for ``msecs`` or
more of loop time emits 'timeout', once, until the next activity.  Since the
last activity came no later than the tick that saw it, 'timeout' never comes
before ``msecs`` have passed, and at most one tick period (plus libuv's
millisecond rounding) after.  Loop time is what libuv's timers run on, in
whole milliseconds, so the tick period is whole milliseconds too (pyuv would
truncate a fraction, and four ticks of 1.75 ms would end after 4 ms).

While armed, the timer keeps the loop alive as the socket does (luvit's
timer does): ``ref()``/``unref()`` on the socket apply to it too.  Once it
has fired, it only watches for the next activity and holds nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyuv

from ._inbox import Activity

TICKS = 4


class IdleTimeout:
    """The idle timer of one socket."""

    __slots__ = ("_activity", "_expired", "_fired", "_loop", "_msecs", "_quiet_since", "_ref",
                 "_timer")

    def __init__(self, loop: pyuv.Loop, activity: Activity,
                 expired: Callable[[], Any]) -> None:
        self._loop = loop
        self._activity = activity
        self._expired = expired
        self._timer: pyuv.Timer | None = None
        self._msecs = 0.0
        self._quiet_since = 0
        self._fired = False
        self._ref = True

    def set(self, msecs: float) -> None:
        """Emit 'timeout' after ``msecs`` ms without activity; 0 turns it off."""
        if msecs == 0:
            self.close()
            return
        if self._timer is None or self._timer.closed:
            self._timer = pyuv.Timer(self._loop)
            self._timer.ref = self._ref
        self._msecs = msecs
        period = max(1, int(msecs) // TICKS) / 1000.0
        self._loop.update_time()
        self._quiet_since = self._loop.now()
        self._fired = False
        self._activity.seen = False
        self._timer.start(self._tick, period, period)

    def set_ref(self, flag: bool) -> None:
        self._ref = flag
        if self._timer is not None and not self._timer.closed and not self._fired:
            self._timer.ref = flag

    def close(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and not timer.closed:
            timer.close()

    def _tick(self, _timer: pyuv.Timer) -> None:
        if self._activity.seen:
            # The activity may have come just before this call: count from
            # the real time now, not from the start of the loop iteration.
            self._activity.seen = False
            self._loop.update_time()
            self._quiet_since = self._loop.now()
            if self._fired:  # re-armed: it holds the loop again
                self._fired = False
                self._timer.ref = self._ref  # type: ignore[union-attr]
            return
        # Loop time is whole milliseconds, truncated: the quiet period may
        # have begun up to 1 ms after the time recorded for it.
        if not self._fired and self._loop.now() - self._quiet_since >= self._msecs + 1:
            # Spent until the next activity: it only watches for it now, and
            # no longer holds the loop.
            self._fired = True
            self._timer.ref = False  # type: ignore[union-attr]
            self._expired()
