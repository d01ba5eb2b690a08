"""Outgoing datagrams: one owner per socket, from ``send()`` to the kernel
and back to the send's callback.

The socket's :class:`Outbox` decides where a send goes:

* straight to the kernel when nothing is waiting: one ``sendto(2)`` from
  the compiled helper on the destination's ``struct sockaddr``, cached
  (pyuv's ``try_send`` parses the address tuple on every call; it is the
  way without the helper);
* into the *waiting* queue while the socket is not ready to send (a bind
  that resolves a name, a pending connect) or while a datagram before it
  waits for its host name to resolve (as a :class:`Datagram`): datagrams to
  one peer leave in the order of the calls;
* into the loop's :class:`SendWindow` while dgram_uv runs user code in a
  loop of its own (the 'message' listeners of a received batch, the deferred
  calls of an iteration): after the first send of a window, which goes
  straight out so that a lone reply pays nothing, sends are held and leave
  together when the window closes, one ``sendmmsg(2)`` per run of one
  socket's datagrams of one address family (a held send is a plain tuple,
  :data:`Held`, not a Datagram: it is made for every reply of a batch);
* to libuv's own queue (``UDP.send``) when the kernel's buffer is full
  (EAGAIN) or libuv already queues sends of this socket.

:meth:`Outbox.send_direct` is the short way for the commonest send, a
datagram to an IP literal and port this process sent to before, while
nothing waits: a dict lookup and a few checks, then what the long way,
:meth:`Outbox.send`, does once a datagram's turn has come
(:meth:`Outbox._hold_or_send`).  Whatever it cannot do, it leaves to the
long way.

Every outcome reaches the send through one method, :meth:`Outbox._settle`:
its callback on a later loop iteration, or, for a failure with no
callback, an 'error' on the socket.  Nothing fails silently.
"""

from __future__ import annotations

import errno
import socket
import struct
import sys
from array import array
from collections import deque
from collections.abc import Callable, Sequence
from itertools import groupby
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import pyuv

from ._errors import DgramError, DgramOSError, lookup_error, misuse, uv_status_of
from ._resolve import split_scope

if TYPE_CHECKING:
    from ._blocklist import BlockList
    from ._context import LoopContext

try:
    from ._batch_c import ffi, lib

    SENDMMSG = hasattr(lib, "dgram_uv_sendmmsg")
except ImportError:  # the helper was not built: every send goes through pyuv
    ffi = lib = None
    SENDMMSG = False
# Datagrams per sendmmsg call (the C side's limit).
SEND_MAX = lib.DGRAM_UV_SEND_MAX if SENDMMSG else 1

SendCallback = Callable[[DgramError | None], Any] | None
# Resolves a host name: lookup(host, done) and later done(address, 0) or
# done(None, negative libuv status).
Lookup = Callable[[str, Callable[[str | None, int], None]], None]


class Datagram:
    """One send: its payload, destination and callback."""

    __slots__ = ("callback", "data", "host", "port", "ready")

    def __init__(self, data: bytes, host: str | None, port: int | None,
                 callback: SendCallback, ready: bool) -> None:
        self.data = data
        self.host = host  # None: the connected peer, known once connected
        self.port = port
        self.callback = callback
        self.ready = ready  # host is an IP literal (or the peer's, filled in later)


# A send held in the window, as a plain tuple (it is made for every held
# datagram): its outbox, payload, destination as a struct sockaddr, the
# destination's host and port (for errors) and its callback.
Held = tuple["Outbox", bytes, bytes, str, int, SendCallback]
_OUTBOX = itemgetter(0)


class SendWindow:
    """The held sends of one loop, and how many windows are open."""

    __slots__ = ("depth", "held", "opened")

    def __init__(self) -> None:
        self.depth = 0
        self.held: list[Held] = []
        self.opened = False  # a send went straight out in this window

    def hold(self) -> None:
        """Open a window: sends after its first are held until the matching
        release()."""
        if not self.depth:
            self.opened = False
        self.depth += 1

    def release(self) -> None:
        """Close a window; the last one to close sends what was held."""
        self.depth -= 1
        if not self.depth and self.held:
            self.flush()

    def flush(self) -> None:
        """Send everything held, in order: one run per consecutive socket."""
        while self.held:
            held, self.held = self.held, []
            for outbox, run in groupby(held, _OUTBOX):
                outbox.send_run(list(run))


class Outbox:
    """The outgoing datagrams of one socket."""

    __slots__ = (
        "_blocklist",
        "_context",
        "_emit_error",
        "_fd",
        "_handle",
        "_in_libuv",
        "_libuv_bytes",
        "_lookup",
        "_waiting",
        "_waiting_for",
        "_window",
        "is_literal",
        "peer",
    )

    def __init__(self, handle: pyuv.UDP, context: LoopContext, lookup: Lookup,
                 is_literal: Callable[[str], Any], emit_error: Callable[[DgramError], Any],
                 blocklist: BlockList | None = None) -> None:
        self._handle = handle
        self._fd = handle.fileno()  # for send_direct; the handle's for its lifetime
        self._context = context
        self._window = context.window if SENDMMSG else None
        self._lookup = lookup
        self.is_literal = is_literal
        self._emit_error = emit_error
        self._blocklist = blocklist
        self._waiting: deque[Datagram] = deque()
        # Why sends cannot go out yet: 'bind' until bound, 'connect' while connecting.
        self._waiting_for: set[str] = {"bind"}
        self._in_libuv = 0  # sends queued in libuv, and their bytes
        self._libuv_bytes = 0
        self.peer: tuple[str, int] | None = None  # set while connected

    # -- the socket's moves ------------------------------------------------

    def pause(self, reason: str) -> None:
        """Keep sends waiting until resume(``reason``)."""
        self._waiting_for.add(reason)

    def resume(self, reason: str) -> None:
        """``reason`` no longer holds sends back; send what is ready."""
        self._waiting_for.discard(reason)
        self._send_waiting()

    def use_handle(self, handle: pyuv.UDP) -> None:
        """Send through ``handle`` from now on (bind({'fd'}) adopts a descriptor)."""
        self._handle = handle
        self._fd = handle.fileno()

    # -- sending -----------------------------------------------------------

    def send_direct(self, data: bytes, host: str, port: object,
                    callback: SendCallback = None) -> bool:
        """Send ``data`` at once if it is the simple case, or hold it in the
        open send window; True when done.

        ``host`` (a str) and ``port`` are the caller's unchecked arguments:
        only a pair cached by :func:`sockaddr` (an IP literal and a valid
        port, checked on the way in) is found; the caller has checked that
        ``data`` is bytes and ``port`` an int.  False means nothing was
        done: the caller goes the long way, :meth:`send`.
        """
        name = _SOCKADDRS.get((host, port))  # type: ignore[arg-type]
        if (name is None or self._waiting or self._waiting_for or self._in_libuv
                or self._blocklist is not None or lib is None):
            return False
        # _hold_or_send, inlined: this runs for every datagram sent.
        window = self._window
        if window is not None and window.depth:
            if window.opened:
                window.held.append((self, data, name, host, port, callback))  # type: ignore[arg-type]
                return True
            window.opened = True
        self._send_now(data, name, host, port, callback)  # type: ignore[arg-type]
        return True

    def send(self, data: bytes, host: str | None, port: int | None,
             callback: SendCallback) -> None:
        """Send ``data`` to ``host``:``port`` (None, None: the connected peer)."""
        ready = host is None or self.is_literal(host) is not None
        if self._waiting or self._waiting_for or not ready:
            self._wait(Datagram(data, host, port, callback, ready))
            return
        self._go(data, host, port, callback)

    def _wait(self, dgram: Datagram) -> None:
        self._waiting.append(dgram)
        if dgram.ready:
            self._send_waiting()
            return
        host = dgram.host
        assert host is not None

        def resolved(address: str | None, status: object) -> None:
            if dgram not in self._waiting:  # cancelled by close() meanwhile
                return
            if address is None:
                self._waiting.remove(dgram)
                self._settle(dgram.callback, lookup_error(status, "getaddrinfo", host, dgram.port))
            else:
                dgram.host, dgram.ready = address, True
            self._send_waiting()

        self._lookup(host, resolved)

    def _send_waiting(self) -> None:
        """Send waiting datagrams from the head while they are ready."""
        waiting = self._waiting
        while waiting and not self._waiting_for and waiting[0].ready:
            dgram = waiting.popleft()
            self._go(dgram.data, dgram.host, dgram.port, dgram.callback)

    def _go(self, data: bytes, host: str | None, port: int | None,
            callback: SendCallback) -> None:
        """A datagram's turn has come (and its host is resolved)."""
        if host is None:
            # The connected peer's: a send without an address only passes the
            # socket's checks while connected, and a failed connect fails
            # those that waited for it (fail_waiting).
            host, port = self.peer  # type: ignore[misc]
        if self._blocklist is not None and self._blocklist.check(host):
            self._settle(callback, misuse("ERR_IP_BLOCKED", address=host))
            return
        name = sockaddr(host, port) if lib is not None else None  # type: ignore[arg-type]
        self._hold_or_send(data, name, host, port, callback)  # type: ignore[arg-type]

    def _hold_or_send(self, data: bytes, name: bytes | None, host: str, port: int,
                      callback: SendCallback) -> None:
        """Into the open send window (after its first send), or out now.
        ``name``: the destination's struct sockaddr, None without the helper."""
        window = self._window
        if window is not None and window.depth:
            if window.opened:  # a window's later sends are held (see the top)
                window.held.append((self, data, name, host, port, callback))  # type: ignore[arg-type]
                return
            window.opened = True
        self._send_now(data, name, host, port, callback)

    def _send_now(self, data: bytes, name: bytes | None, host: str, port: int,
                  callback: SendCallback) -> None:
        """One system call for one datagram, now; libuv's queue if the
        kernel's buffer is full or libuv already queues this socket's sends."""
        if self._in_libuv:  # behind libuv's queue, order needs libuv
            self._send_via_libuv(data, host, port, callback)
            return
        if self._handle.closed:  # closed under us: never write to its old descriptor
            self._settle(callback, DgramOSError(pyuv.errno.UV_EBADF, "send", host, port))
            return
        if name is not None:  # the helper, on the cached sockaddr (pyuv parses the address)
            status = lib.dgram_uv_sendto(self._fd, data, len(data), name, len(name))
        else:
            status = self._try_send(data, host, port)
        if status or callback is not None:
            self._sent(status, data, host, port, callback)

    def _sent(self, status: int, data: bytes, host: str, port: int,
              callback: SendCallback) -> None:
        """What one system call's ``status`` (0 or a negative errno) means for its datagram."""
        if not status:
            if callback is not None:
                self._context.call_later(callback, None)
        elif status == pyuv.errno.UV_EAGAIN:  # the kernel's buffer is full: libuv queues, in order
            self._send_via_libuv(data, host, port, callback)
        else:
            self._settle(callback, DgramOSError(status, "send", host, port))

    def _try_send(self, data: bytes, host: str, port: int) -> int:
        """pyuv's ``try_send`` (no helper): 0 or a negative libuv status."""
        try:
            self._handle.try_send(pyuv_address(host, port), data)
        except pyuv.error.UDPError as exc:
            return uv_status_of(exc)
        except (TypeError, ValueError, OverflowError):  # pyuv refused the address
            return -errno.EINVAL
        return 0

    def _send_via_libuv(self, data: bytes, host: str, port: int, callback: SendCallback) -> None:
        self._in_libuv += 1
        self._libuv_bytes += len(data)

        def sent(_handle: pyuv.UDP, error: int | None) -> None:
            self._in_libuv -= 1
            self._libuv_bytes -= len(data)
            if error is None:
                self._settle(callback, None)
            elif error == pyuv.errno.UV_ECANCELED and callback is None:
                pass  # cancelled by our own close(): the user asked for it
            else:
                self._settle(callback, DgramOSError(error, "send", host, port))

        try:
            self._handle.send(pyuv_address(host, port), data, sent)
        except pyuv.error.UDPError as exc:
            self._in_libuv -= 1
            self._libuv_bytes -= len(data)
            self._settle(callback, DgramOSError(uv_status_of(exc), "send", host, port))

    def send_run(self, run: list[Held]) -> None:
        """Send a run of this socket's held datagrams, in order (SendWindow.flush):
        one sendmmsg per SEND_MAX of one address family."""
        if self._handle.closed:  # closed under us (the user swept the loop's handles)
            for _box, _data, _name, host, port, callback in run:
                self._settle(callback, DgramOSError(pyuv.errno.UV_EBADF, "send", host, port))
            return
        while run:
            if self._in_libuv or len(run) == 1:
                for _box, data, name, host, port, callback in run:
                    self._send_now(data, name, host, port, callback)
                return
            chunk = run[:SEND_MAX]
            _boxes, payloads, names, _hosts, _ports, callbacks = zip(*chunk, strict=True)
            result = sendmmsg(self._fd, payloads, names)
            if result > 0:
                if callbacks.count(None) != len(callbacks):
                    later = self._context.call_later
                    for callback in callbacks[:result]:
                        if callback is not None:
                            later(callback, None)
                run = run[result:]
            elif result == -errno.EAGAIN:
                for _box, data, _name, host, port, callback in run:
                    self._send_via_libuv(data, host, port, callback)
                return
            else:  # this datagram failed (EMSGSIZE, ...); the rest still go
                _box, _data, _name, host, port, callback = run[0]
                self._settle(callback, DgramOSError(result, "send", host, port))
                run = run[1:]

    def flush_held(self) -> None:
        """Send held datagrams now: before a change they must not see."""
        window = self._window
        if window is not None and window.held:
            window.flush()

    # -- outcomes ----------------------------------------------------------

    def _settle(self, callback: SendCallback, err: DgramError | None) -> None:
        """The one place a send's outcome is reported: its callback, later;
        a failure without one is emitted as 'error', later."""
        if callback is not None:
            self._context.call_later(callback, err)
        elif err is not None:
            self._context.call_later(self._emit_error, err)

    def fail_waiting(self, err: DgramError, *, only_for_peer: bool = False) -> None:
        """Fail the waiting sends with ``err`` (a failed bind fails them all;
        a failed connect only those that waited for its peer)."""
        kept: deque[Datagram] = deque()
        for dgram in self._waiting:
            if only_for_peer and dgram.host is not None:
                kept.append(dgram)
            else:
                self._settle(dgram.callback, err)
        self._waiting = kept

    def cancel(self) -> None:
        """close(): held sends go out first (as they would have unheld); the
        waiting ones are cancelled (ECANCELED to their callbacks)."""
        self.flush_held()
        waiting, self._waiting = self._waiting, deque()
        cancelled = DgramOSError(pyuv.errno.UV_ECANCELED, "send")
        for dgram in waiting:
            if dgram.callback is not None:
                self._context.call_later(dgram.callback, cancelled)

    # -- Node's queue figures ----------------------------------------------

    def queue_size(self) -> int:
        """Bytes waiting to be sent: waiting, held, or queued in libuv."""
        held = self._window.held if self._window is not None else ()
        return (sum(len(d.data) for d in self._waiting) + self._libuv_bytes
                + sum(len(item[1]) for item in held if item[0] is self))

    def queue_count(self) -> int:
        """Datagrams waiting to be sent: waiting, held, or queued in libuv."""
        held = self._window.held if self._window is not None else ()
        return len(self._waiting) + self._in_libuv + sum(1 for item in held if item[0] is self)


# -- addresses -------------------------------------------------------------

_ADDRESSES: dict[tuple[str, int], tuple[Any, ...]] = {}  # (host, port) -> pyuv's tuple, bounded
_SOCKADDRS: dict[tuple[str, int], bytes] = {}  # (host, port) -> struct sockaddr, bounded
_FAMILY = struct.pack("=H", socket.AF_INET), struct.pack("=H", socket.AF_INET6)


def pyuv_address(host: str, port: int) -> tuple[Any, ...]:
    """The address tuple pyuv takes: a scoped IPv6 literal ('fe80::1%eth0')
    becomes (address, port, 0, interface index)."""
    key = (host, port)
    found = _ADDRESSES.get(key)
    if found is None:
        if "%" in host:
            address, scope_id = split_scope(host)
            found = (address, port, 0, scope_id)
        else:
            found = key
        if len(_ADDRESSES) >= 4096:
            _ADDRESSES.clear()
        _ADDRESSES[key] = found
    return found


def sockaddr(host: str, port: int) -> bytes:
    """``struct sockaddr_in`` or ``sockaddr_in6`` for an IP literal, as bytes."""
    key = (host, port)
    found = _SOCKADDRS.get(key)
    if found is None:
        if ":" in host:
            address, scope_id = split_scope(host)
            found = (_FAMILY[1] + port.to_bytes(2, "big") + bytes(4)
                     + socket.inet_pton(socket.AF_INET6, address)
                     + scope_id.to_bytes(4, sys.byteorder))
        else:
            found = (_FAMILY[0] + port.to_bytes(2, "big")
                     + socket.inet_pton(socket.AF_INET, host) + bytes(8))
        if len(_SOCKADDRS) >= 4096:
            _SOCKADDRS.clear()
        _SOCKADDRS[key] = found
    return found


def sendmmsg(fd: int, payloads: Sequence[bytes], names: Sequence[bytes]) -> int:
    """One sendmmsg call for ``payloads`` to ``names``, as far as the names
    are of one length (one address family: an IPv4 literal on a udp6 socket
    has a shorter sockaddr).

    Returns how many were sent (at least one), or a negative errno for the
    first.
    """
    namelen = len(names[0])
    joined = b"".join(names)
    count = len(names)
    if len(joined) != namelen * count:  # the family changes: up to there
        count = next(i for i, name in enumerate(names) if len(name) != namelen)
        payloads, joined = payloads[:count], joined[:namelen * count]
    lens = array("I", map(len, payloads))
    return int(lib.dgram_uv_sendmmsg(fd, b"".join(payloads), ffi.from_buffer("uint32_t[]", lens),
                                     joined, namelen, count))
