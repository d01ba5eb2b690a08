"""luvit's idle timeout (``setTimeout``) at no cost on the receive path.

The receive and send paths only set ``sock._idle_seen = True``.  A repeating
timer ticks every ``msecs / TICKS`` and counts the ticks that saw no activity;
after ``TICKS`` quiet ticks in a row it emits 'timeout' once, and the next
activity starts the count again.  So 'timeout' comes between ``msecs`` and
``msecs * (1 + 1/TICKS)`` after the last activity, and no timer is restarted
per datagram.  The timer is unref'd: an idle timeout alone never keeps the
loop alive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyuv

if TYPE_CHECKING:
    from ._socket import Socket

TICKS = 4


class IdleTimeout:
    def __init__(self, sock: Socket) -> None:
        self._sock = sock
        self._timer: pyuv.Timer | None = None
        self._quiet_ticks = 0
        self._ticks = TICKS

    def set(self, msecs: float) -> None:
        """Emit 'timeout' after ``msecs`` ms without activity; 0 turns it off."""
        if msecs == 0:
            self.close()
            return
        if self._timer is None:
            self._timer = pyuv.Timer(self._sock._loop)
            self._timer.ref = False
        # At least 1 ms per tick: a 1 ms timeout ticks once per ms, not four times.
        self._ticks = max(1, min(TICKS, int(msecs)))
        period = msecs / 1000.0 / self._ticks
        self._quiet_ticks = 0
        self._sock._idle_seen = False
        self._timer.start(self._tick, period, period)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.close()
            self._timer = None

    def _tick(self, _timer: pyuv.Timer) -> None:
        sock = self._sock
        if sock._idle_seen:
            sock._idle_seen = False
            self._quiet_ticks = 0
            return
        self._quiet_ticks += 1
        if self._quiet_ticks == self._ticks:
            sock._idle_expired()
