"""Incoming datagrams: one owner per socket, between the receiver that reads
them and the 'message' listeners.

A receiver (_receive.PyuvReceiver or _batch.BatchReceiver) only reads: it
hands what it read to :meth:`Inbox.deliver` as *runs* (the rinfo of one
sender and the payloads of its consecutive datagrams), and a read error to
:meth:`Inbox.failed`.  Delivery is the same whichever receiver read:

* the listeners of a batch (two datagrams or more) run inside the loop's
  send window, so that their replies go out together (_outbox.py);
* a listener's ``Exception`` goes to the loop's ``excepthook`` and the next
  datagram is delivered (as ``emit`` would, that datagram's later listeners
  are skipped);
* when a listener calls ``recvStop()``, no datagram is delivered after it
  returns; the rest of the batch is kept and delivered first when reading
  starts again (libuv would drop it);
* when a ``BaseException`` passes (KeyboardInterrupt, SystemExit, an
  excepthook that raises), it goes on to pyuv, and the rest of the batch is
  delivered on a later iteration: nothing already read is lost
  (docs/api.md, "Lifecycle and interruptions").

The hot loop is :meth:`Inbox._emit_all`; a socket with a ``receiveBlockList``
gets :meth:`Inbox._emit_allowed` in front of it, chosen once, so a socket
without one pays nothing for the feature.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ._context import report_exception
from ._errors import DgramOSError

if TYPE_CHECKING:
    from ._blocklist import BlockList
    from ._context import LoopContext
    from ._receive import Receiver

# The rinfo of one sender ('size' still 0; only ever copied) and the payloads
# of its consecutive datagrams.
RInfo = dict[str, Any]
Run = tuple[RInfo, tuple[bytes, ...]]
Listeners = Mapping[Any, tuple[Callable[..., Any], ...]]


class Activity:
    """Set by every send and every received batch; read by the idle timer
    (_idle.py), so marking activity costs one attribute store."""

    __slots__ = ("seen",)

    def __init__(self) -> None:
        self.seen = False


class Inbox:
    """The incoming datagrams of one socket."""

    __slots__ = ("_blocklist", "_closed", "_context", "_emit", "_emit_error", "_events",
                 "_owner", "_pending", "_receiver", "_window", "activity", "reading")

    def __init__(self, owner: object, events: Listeners, context: LoopContext,
                 activity: Activity, emit_error: Callable[[Any], Any],
                 blocklist: BlockList | None = None) -> None:
        # The socket, held while reading: a socket that receives stays alive
        # without a reference of the user's, as in Node and luvit.
        self._owner = owner
        self._events = events  # the socket's listener table (live; see _emitter.py)
        self._context = context
        self._window = context.window  # the loop's, for as long as the loop lives
        self.activity = activity
        self._emit_error = emit_error
        self._blocklist = blocklist
        self._emit = self._emit_all if blocklist is None else self._emit_allowed
        self._pending: list[Run] | None = None  # the rest of a batch cut short
        self._receiver: Receiver | None = None
        self.reading = False
        self._closed = False

    def attach(self, receiver: Receiver) -> None:
        """The receiver that reads for this inbox (made by the socket)."""
        self._receiver = receiver

    # -- the socket's moves ------------------------------------------------

    def start(self) -> None:
        """Start reading; idempotent.  A batch cut short is delivered first."""
        self.reading = True
        self._receiver.start()  # type: ignore[union-attr]
        if self._pending is not None:
            # Not from start() itself: listeners never run inside a method
            # call, and a quiet socket gives no read callback.
            self._context.call_later(self._resume)

    def stop(self) -> None:
        """Stop reading; idempotent; what was read and not delivered is kept."""
        self.reading = False
        self._receiver.stop()  # type: ignore[union-attr]

    def close(self) -> None:
        """Stop for good: the receiver releases what it holds."""
        self.reading = False
        self._closed = True
        self._pending = None
        self._receiver.close()  # type: ignore[union-attr]

    def set_ref(self, flag: bool) -> None:
        self._receiver.set_ref(flag)  # type: ignore[union-attr]

    # -- what receivers call -----------------------------------------------

    def failed(self, status: int) -> None:
        """A read failed (not EAGAIN): emitted as 'error', syscall 'recvmsg'
        whichever receiver read."""
        self._emit_error(DgramOSError(status, "recvmsg"))

    def deliver(self, runs: list[Run]) -> None:
        """Emit 'message' for every datagram of ``runs``, after any kept ones."""
        if self._pending is not None:
            runs = self._pending + runs
            self._pending = None
        self.activity.seen = True
        window = self._window
        window.hold()
        try:
            self._emit(runs)
        finally:
            window.release()

    def deliver_one(self, msg: bytes, rinfo: RInfo) -> None:
        """One datagram (a wake-up that read one; every read of the pyuv
        receiver): the same delivery as deliver(), without a batch to cut
        short.  A listener's exception goes on to pyuv, which hands it to the
        excepthook.

        No send window is opened: it exists so that the replies of many
        datagrams leave together, and a lone datagram's first reply would go
        straight out anyway.  (A listener that answers one datagram with
        several sends makes one sendto each.)"""
        if self._pending is not None or self._blocklist is not None:
            rinfo["size"] = 0
            self.deliver([(rinfo, (msg,))])
            return
        self.activity.seen = True
        for fn in self._events.get("message", ()):
            fn(msg, rinfo)

    def _resume(self) -> None:
        if self.reading and self._pending is not None:
            self.deliver([])

    def _emit_allowed(self, runs: list[Run]) -> None:
        """receiveBlockList: a blocked sender's datagrams are dropped before
        any listener (one check per run of one sender)."""
        check = self._blocklist.check  # type: ignore[union-attr]
        self._emit_all([run for run in runs if not check(run[0]["address"])])

    def _emit_all(self, runs: list[Run]) -> None:
        # The hot loop: one dict copy and the listener calls per datagram.
        listeners = self._events.get  # asked anew per datagram: they may change
        k = 0
        template: RInfo = {}
        rest: Iterator[bytes] = iter(())
        try:
            for k, (template, msgs) in enumerate(runs):
                rest = iter(msgs)
                for msg in rest:
                    rinfo = template.copy()  # cheaper than building a dict
                    rinfo["size"] = len(msg)
                    try:
                        for fn in listeners("message", ()):
                            fn(msg, rinfo)
                    except Exception:
                        report_exception(self._context.loop)
                    if not self.reading:
                        self._keep([(template, tuple(rest)), *runs[k + 1:]])
                        return
        except BaseException:
            # The datagram whose listener raised counts as delivered.
            self._keep([(template, tuple(rest)), *runs[k + 1:]])
            if self._pending is not None:
                self._context.call_later(self._resume)
            raise

    def _keep(self, runs: list[Run]) -> None:
        runs = [run for run in runs if run[1]]
        if runs and not self._closed:
            self._pending = runs
