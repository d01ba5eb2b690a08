"""The UDP socket: luvit's dgram.Socket over a pyuv.UDP handle.

The pyuv handle owns the descriptor and does every send; a receiver
(_receive.py) reads.  What the socket adds is bookkeeping: its states
(_states.py), argument checks (_validators.py), name lookups (_resolve.py),
sends queued while a bind, a lookup or a connect is pending, and callbacks
that always run on a later loop iteration (_defer.py).
"""

from __future__ import annotations

import ctypes
import errno
import socket
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any, Self

import pyuv

from ._aliases import with_snake_case_aliases
from ._defer import call_later
from ._emitter import Emitter
from ._errors import DgramError, DgramOSError, misuse, uv_status_of
from ._idle import IdleTimeout
from ._receive import make_receiver
from ._resolve import FAMILY_NAMES, LOOPBACK, WILDCARD, literal_family, lookup
from ._sendmany import Held, loop_batch, sendmmsg, sockaddr
from ._states import BindState, ConnectState, next_bind_state, next_connect_state
from ._validators import (
    MISSING,
    bind_options,
    check_buffer_size,
    check_callback,
    check_flag,
    check_host,
    check_membership_op,
    check_msecs,
    check_port,
    check_ttl,
    normalize_send,
    require,
)

UNBOUND, BINDING, BOUND, CLOSED = (BindState.UNBOUND, BindState.BINDING, BindState.BOUND,
                                   BindState.CLOSED)
DISCONNECTED, CONNECTING, CONNECTED = (ConnectState.DISCONNECTED, ConnectState.CONNECTING,
                                       ConnectState.CONNECTED)

SendCallback = Callable[[DgramError | None], Any] | None


class _QueuedSend:
    """A send waiting for a bind, a name lookup or a connect to finish."""

    __slots__ = ("callback", "data", "host", "port", "ready")

    def __init__(self, data: bytes, port: int, host: str | None, callback: SendCallback) -> None:
        self.data = data
        self.port = port
        self.host = host  # None: the connected peer's address, known once connected
        self.callback = callback
        self.ready = host is None or literal_family(host) is not None


@contextmanager
def _borrowed(fd: int, family: int):  # type: ignore[no-untyped-def]
    """A stdlib socket object on the handle's descriptor, for the few calls
    pyuv lacks (SO_REUSEPORT, connect); the descriptor stays pyuv's."""
    sock = socket.socket(family, socket.SOCK_DGRAM, 0, fd)
    try:
        yield sock
    finally:
        sock.detach()


def _disconnect_fd(fd: int) -> int:
    """connect(fd, AF_UNSPEC): dissolve a UDP association.  The stdlib cannot
    express it; returns 0 or a negative errno."""
    libc = ctypes.CDLL(None, use_errno=True)
    unspec = (ctypes.c_ubyte * 16)()  # sa_family = AF_UNSPEC (0)
    if libc.connect(fd, unspec, ctypes.sizeof(unspec)) != 0:
        return -ctypes.get_errno()
    return 0


@with_snake_case_aliases
class Socket(Emitter):
    """A UDP socket; make one with :func:`dgram_uv.createSocket`."""

    def __init__(self, family: int, options: dict[str, Any], loop: pyuv.Loop) -> None:
        Emitter.__init__(self)
        self._loop = loop
        self._family = family
        self._options = options
        try:
            self._handle = pyuv.UDP(loop, family)
        except pyuv.error.UDPError as exc:  # EMFILE, ...
            raise DgramOSError(uv_status_of(exc), "socket") from None
        self._bind_state = UNBOUND
        self._connect_state = DISCONNECTED
        self._peer: tuple[str, int] | None = None
        self._connect_attempt: tuple[Any] | None = None  # (callback,) of a pending connect
        self._want_receive = False  # bind/recvStart asked for reading, recvStop did not
        self._receiver = make_receiver(self)
        self._queue: list[_QueuedSend] | None = None  # None: send at once
        self._send_batch = loop_batch(loop)
        self._idle_seen = False  # set by every send and receive (see _idle.py)
        self._idle = IdleTimeout(self)
        self._timeout_callback: Callable[[], Any] | None = None
        self._close_emitted = False
        try:
            for key, setter in (("recvBufferSize", self.setRecvBufferSize),
                                ("sendBufferSize", self.setSendBufferSize)):
                if key in options:
                    setter(options[key])
        except DgramError:
            self.close()  # no half-made socket keeps a descriptor
            raise

    def __repr__(self) -> str:
        return f"<dgram_uv.Socket {FAMILY_NAMES[self._family]} {self._bind_state.value}>"

    # -- binding -----------------------------------------------------------

    def bind(self, port: Any = 0, host: Any = None, options: Any = None,
             callback: Any = None) -> Self:
        """Bind to ``host``:``port`` and start receiving; returns the socket.

        ``host`` defaults to the wildcard address; a name is resolved first.
        A callable in the ``host`` or ``options`` place is the callback,
        added with ``once('listening')``.  OS failures are emitted as 'error'.
        """
        self._check_open()
        if isinstance(port, dict):  # Node's bind({port, address}, callback)
            port, host, options, callback = (port.get("port", 0), port.get("address"), None,
                                             host if callback is None else callback)
        if callable(host):
            host, options, callback = None, None, host
        elif callable(options):
            options, callback = None, options
        port = check_port(port, allow_zero=True)
        host = check_host(host)
        flags = bind_options(options, self._options)
        callback = check_callback(callback)
        next_bind_state(self._bind_state, "bind")  # refuses a second bind
        if callback is not None:
            self.once("listening", callback)
        self._want_receive = True
        self._bind_to(host or WILDCARD[self._family], port, flags)
        return self

    def _bind_to(self, host: str, port: int, flags: dict[str, bool]) -> None:
        if literal_family(host) is not None:
            self._bind_now(host, port, flags)
            return
        self._bind_state = next_bind_state(self._bind_state, "bind")
        if self._queue is None:
            self._queue = []

        def resolved(address: str | None, status: int) -> None:
            if self._bind_state is not BINDING:  # closed meanwhile
                return
            if address is None:
                self._bind_failed(DgramOSError(status, "getaddrinfo", host))
            else:
                self._bind_now(address, port, flags)

        lookup(self._loop, host, self._family, resolved)

    def _bind_now(self, host: str, port: int, flags: dict[str, bool]) -> None:
        uv_flags = ((pyuv.UV_UDP_REUSEADDR if flags["reuseAddr"] else 0)
                    | (pyuv.UV_UDP_IPV6ONLY if flags["ipv6Only"] else 0))
        try:
            if flags["reusePort"]:
                with _borrowed(self._handle.fileno(), self._family) as sock:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            self._handle.bind((host, port), uv_flags)
        except (pyuv.error.UDPError, OSError) as exc:
            status = -exc.errno if isinstance(exc, OSError) and exc.errno else uv_status_of(exc)
            self._bind_failed(DgramOSError(status, "bind", host, port))
            return
        self._bind_state = next_bind_state(self._bind_state, "bound")
        if self._want_receive:
            self._receiver.start()
        call_later(self._loop, self._emit_listening)
        self._flush_queue()

    def _bind_failed(self, err: DgramOSError) -> None:
        """Back to unbound (another bind may follow); the error is emitted,
        and sends that waited for this bind fail with it."""
        if self._bind_state is BINDING:
            self._bind_state = next_bind_state(self._bind_state, "bind_failed")
        self._want_receive = False
        if self._connect_state is CONNECTING:
            # A connect waiting for this bind fails with it (its callback gets
            # the error; with none, the one 'error' below reports both).
            callback = self._end_connect_attempt()
            if callback is not None:
                call_later(self._loop, callback, err)
        waiting, self._queue = self._queue or [], None
        for item in waiting:
            self._send_failed(item.callback, err)
        call_later(self._loop, self.emit, "error", err)

    def _emit_listening(self) -> None:
        if self._bind_state is BOUND:
            self.emit("listening")

    def _bind_implicitly(self) -> None:
        """send/recvStart/connect on an unbound socket: bind to the wildcard address."""
        if self._bind_state is UNBOUND:
            self._want_receive = True
            self._bind_to(WILDCARD[self._family], 0, bind_options(None, self._options))

    # -- sending -----------------------------------------------------------

    def send(self, data: Any = MISSING, *args: Any, **keywords: Any) -> None:
        """Send one datagram.

        ``send(data, port, host=None, callback=None)`` (luvit) or
        ``send(buf, offset, length, port, host=None, callback=None)`` (Node 0.8);
        on a connected socket ``send(data, callback=None)``.  ``callback(err)``
        is called on a later loop iteration; with none, a failure is emitted
        as 'error'.
        """
        # This runs for every datagram sent: checks are inlined where it pays.
        if self._bind_state is CLOSED:
            raise misuse("ERR_SOCKET_DGRAM_NOT_RUNNING")
        if data is MISSING:
            require(data, "msg")
        # The callback comes back callable or None (that is how it is told apart).
        data, port, host, callback = normalize_send(data, args, keywords)
        if self._connect_state is DISCONNECTED:
            if type(port) is not int or not 0 < port < 65536:
                port = check_port(port, allow_zero=False)  # raises the coded error
            host = LOOPBACK[self._family] if host is None else check_host(host)
        elif port is not None or host is not None:
            raise misuse("ERR_SOCKET_DGRAM_IS_CONNECTED")
        self._idle_seen = True
        if self._bind_state is UNBOUND:
            self._bind_implicitly()
        if self._queue is None and host is not None and literal_family(host) is not None:
            self._send_now(data, host, port, callback)
            return
        self._enqueue(_QueuedSend(data, port, host, callback))

    def _enqueue(self, item: _QueuedSend) -> None:
        """Keep ``item`` in order behind whatever is pending; resolve its host."""
        if self._queue is None:
            self._queue = []
        self._queue.append(item)
        if item.ready:
            self._flush_queue()
            return
        host = item.host
        assert host is not None

        def resolved(address: str | None, status: int) -> None:
            if self._bind_state is CLOSED:
                return
            if address is None:
                self._queue.remove(item)  # type: ignore[union-attr]
                self._send_failed(item.callback,
                                  DgramOSError(status, "getaddrinfo", host, item.port))
            else:
                item.host, item.ready = address, True
            self._flush_queue()

        lookup(self._loop, host, self._family, resolved)

    def _flush_queue(self) -> None:
        """Send queued datagrams from the head while they are ready; when the
        queue empties, sends go straight out again."""
        queue = self._queue
        if queue is None or self._bind_state is not BOUND or self._connect_state is CONNECTING:
            return
        while queue and queue[0].ready:
            item = queue.pop(0)
            if item.host is None:
                item.host, item.port = self._peer  # type: ignore[misc]
            self._send_now(item.data, item.host, item.port, item.callback)  # type: ignore[arg-type]
        if not queue:
            self._queue = None

    def _send_now(self, data: bytes, host: str, port: int, callback: SendCallback) -> None:
        batch = self._send_batch
        if batch is not None and batch.depth:
            # dgram_uv is running user code in a loop: after the first, sends
            # go out with the others when it returns (see _sendmany.py).
            if batch.opened and literal_family(host) == self._family:
                batch.held.append((self, data, host, port, callback))
                return
            batch.opened = True
        self._send_direct(data, host, port, callback)

    def _send_direct(self, data: bytes, host: str, port: int, callback: SendCallback) -> None:
        try:
            self._handle.try_send((host, port), data)
        except pyuv.error.UDPError as exc:
            status = uv_status_of(exc)
            if status != pyuv.errno.UV_EAGAIN:
                self._send_failed(callback, DgramOSError(status, "send", host, port))
                return
            # The kernel's buffer is full or libuv has sends queued: let libuv
            # queue this one behind them, in order.
            self._send_via_libuv(data, host, port, callback)
            return
        if callback is not None:
            call_later(self._loop, callback, None)

    def _send_via_libuv(self, data: bytes, host: str, port: int, callback: SendCallback) -> None:
        self._handle.send((host, port), data,
                          lambda _h, error: self._send_done(error, callback, host, port))

    def _send_run(self, held: list[Held]) -> None:
        """Send a run of held sends (see _sendmany.py) with sendmmsg, in order."""
        if len(held) == 1 or self._handle.send_queue_size:
            # One alone gains nothing; behind libuv's queue, order needs libuv.
            for _, data, host, port, callback in held:
                self._send_direct(data, host, port, callback)
            return
        fd = self._handle.fileno()
        payloads = [item[1] for item in held]
        addrs = [sockaddr(item[2], item[3]) for item in held]
        first = 0
        while first < len(held):
            result = sendmmsg(fd, payloads, addrs, first)
            if result > 0:
                for _, _, _, _, callback in held[first:first + result]:
                    if callback is not None:
                        call_later(self._loop, callback, None)
                first += result
            elif result == -errno.EAGAIN:
                for _, data, host, port, callback in held[first:]:
                    self._send_via_libuv(data, host, port, callback)
                return
            else:  # this datagram failed (EMSGSIZE, ...); the rest still go
                _, _, host, port, callback = held[first]
                self._send_failed(callback, DgramOSError(result, "send", host, port))
                first += 1

    def _flush_held(self) -> None:
        """Send held datagrams now: before a change they must not see."""
        batch = self._send_batch
        if batch is not None and batch.held:
            batch.flush()

    def _send_done(self, error: int | None, callback: SendCallback, host: str, port: int) -> None:
        if error is None:
            if callback is not None:
                callback(None)
            return
        if error == pyuv.errno.UV_ECANCELED and callback is None:
            return  # cancelled by our own close(): the user asked for it
        err = DgramOSError(error, "send", host, port)
        if callback is not None:
            callback(err)
        else:
            self.emit("error", err)

    def _send_failed(self, callback: SendCallback, err: DgramError) -> None:
        if callback is not None:
            call_later(self._loop, callback, err)
        else:
            call_later(self._loop, self.emit, "error", err)

    # -- receiving ---------------------------------------------------------

    def recvStart(self) -> None:
        """Start reading (binding to the wildcard address if unbound); idempotent."""
        self._check_open()
        self._want_receive = True
        if self._bind_state is UNBOUND:
            self._bind_implicitly()
        elif self._bind_state is BOUND:
            self._receiver.start()

    def recvStop(self) -> None:
        """Stop reading; the socket stays bound; idempotent."""
        self._check_open()
        self._want_receive = False
        self._receiver.stop()

    def _receive_failed(self, status: int, syscall: str) -> None:
        """Called by the receiver for a read error other than EAGAIN."""
        self.emit("error", DgramOSError(status, syscall))

    # -- connection --------------------------------------------------------

    def connect(self, port: Any = MISSING, host: Any = None, callback: Any = None) -> None:
        """Associate the socket with one peer: only its datagrams arrive and
        ``send(data)`` needs no address.  Emits 'connect'; ``callback`` is
        added with ``once('connect')``, and gets the error if connecting fails."""
        require(port, "port")
        self._check_open()
        if callable(host):
            host, callback = None, host
        port = check_port(port, allow_zero=False)
        host = check_host(host) or LOOPBACK[self._family]
        callback = check_callback(callback)
        self._connect_state = next_connect_state(self._connect_state, "connect")
        if callback is not None:
            self.once("connect", callback)
        # This attempt, so that a late lookup or 'listening' of an attempt that
        # already failed cannot complete a later one.
        attempt = self._connect_attempt = (callback,)
        self._bind_implicitly()
        if self._queue is None:
            self._queue = []  # sends wait until connected

        def connect_to(address: str | None, status: int) -> None:
            if self._bind_state is CLOSED or self._connect_attempt is not attempt:
                return
            if address is None:
                self._connect_failed(DgramOSError(status, "getaddrinfo", host, port))
                return
            if literal_family(address) != self._family:
                err = DgramOSError(-errno.EAFNOSUPPORT, "connect", address, port)
                self._connect_failed(err)
                return
            self._flush_held()
            try:
                with _borrowed(self._handle.fileno(), self._family) as sock:
                    sock.connect((address, port))
                    # The peer as the kernel has it ('0.0.0.0' means this host).
                    peer = sock.getpeername()
            except OSError as exc:
                err = DgramOSError(-(exc.errno or errno.EINVAL), "connect", address, port)
                self._connect_failed(err)
                return
            self._peer = (peer[0], peer[1])
            self._connect_state = next_connect_state(self._connect_state, "connected")
            self._flush_queue()
            self.emit("connect")

        if literal_family(host) is not None:
            call_later(self._loop, self._when_bound, connect_to, host)
        else:
            lookup(self._loop, host, self._family,
                   lambda address, status: self._when_bound(connect_to, address, status))

    def _when_bound(self, then: Callable[[str | None, int], None], address: str | None,
                    status: int = 0) -> None:
        """Run ``then`` once the (implicit) bind has finished."""
        if self._bind_state is BINDING:
            self.once("listening", lambda: then(address, status))
        elif self._bind_state is BOUND:
            then(address, status)
        # UNBOUND: the bind failed, and the connect with it (see _bind_failed).

    def _end_connect_attempt(self) -> Callable[..., Any] | None:
        """A pending connect failed: back to disconnected.  Returns its
        callback, taken off 'connect', for the caller to hand the error to."""
        attempt, self._connect_attempt = self._connect_attempt, None
        self._connect_state = next_connect_state(self._connect_state, "connect_failed")
        callback = attempt[0] if attempt else None
        if callback is None or callback not in self.listeners("connect"):
            return None
        self.removeListener("connect", callback)
        return callback

    def _connect_failed(self, err: DgramOSError) -> None:
        callback = self._end_connect_attempt()
        waiting, self._queue = self._queue or [], None
        for item in waiting:
            self._send_failed(item.callback, err)
        if callback is not None:
            callback(err)
        else:
            self.emit("error", err)

    def disconnect(self) -> None:
        """Dissolve the association made by ``connect``."""
        self._check_open()
        self._connect_state = next_connect_state(self._connect_state, "disconnect")
        self._flush_held()
        status = _disconnect_fd(self._handle.fileno())
        self._peer = None
        if status:
            raise DgramOSError(status, "disconnect")

    def remoteAddress(self) -> dict[str, Any]:
        """The connected peer: ``{'address', 'family', 'port', 'ip'}``."""
        self._check_open()
        if self._connect_state is not CONNECTED or self._peer is None:
            raise misuse("ERR_SOCKET_DGRAM_NOT_CONNECTED")
        return self._describe(*self._peer)

    # -- closing -----------------------------------------------------------

    def close(self, callback: Any = None) -> Self:
        """Stop reading and close; 'close' is emitted later.  Pending send
        callbacks get ECANCELED.  Closing twice is a no-op (the callback is
        still called).  Returns the socket."""
        callback = check_callback(callback)
        if callback is not None:
            if self._close_emitted:
                call_later(self._loop, callback)
            else:
                self.once("close", callback)
        if self._bind_state is CLOSED:
            return self
        self._flush_held()  # sends made before close() go out, as they would unheld
        self._bind_state = next_bind_state(self._bind_state, "close")
        self._receiver.close()
        self._idle.close()
        waiting, self._queue = self._queue or [], None
        cancelled = DgramOSError(pyuv.errno.UV_ECANCELED, "send")
        for item in waiting:
            if item.callback is not None:
                call_later(self._loop, item.callback, cancelled)
        # libuv cancels sends still in its queue (ECANCELED) before it calls this.
        self._handle.close(self._on_handle_closed)
        return self

    def _on_handle_closed(self, _handle: pyuv.UDP) -> None:
        self._close_emitted = True
        self.emit("close")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._bind_state is CLOSED:
            raise misuse("ERR_SOCKET_DGRAM_NOT_RUNNING")

    # -- addresses ---------------------------------------------------------

    def _describe(self, host: str, port: int) -> dict[str, Any]:
        return {"address": host, "family": FAMILY_NAMES[self._family], "port": port, "ip": host}

    def address(self) -> dict[str, Any]:
        """The bound address: ``{'address', 'family', 'port', 'ip'}``; EBADF when unbound."""
        self._check_open()
        if self._bind_state is not BOUND:
            raise DgramOSError(-errno.EBADF, "getsockname")
        host, port = self._handle.getsockname()[:2]
        return self._describe(host, port)

    # -- options -----------------------------------------------------------

    def _option(self, syscall: str, call: Callable[..., Any], *args: Any) -> None:
        """Run a pyuv option call; a failure is raised as an OS error."""
        self._check_open()
        self._flush_held()  # earlier sends go out with the options they were made under
        try:
            call(*args)
        except (pyuv.error.UDPError, OSError) as exc:
            status = -exc.errno if isinstance(exc, OSError) and exc.errno else uv_status_of(exc)
            raise DgramOSError(status, syscall) from None

    def setBroadcast(self, flag: Any = MISSING) -> None:
        """Set or clear SO_BROADCAST."""
        require(flag, "flag")
        self._option("setBroadcast", self._handle.set_broadcast, check_flag(flag, "flag"))

    def setTTL(self, ttl: Any = MISSING) -> int:
        """Set IP_TTL (1-255); returns ``ttl``."""
        require(ttl, "ttl")
        self._set_ttl("setTTL", self._handle.set_ttl, check_ttl(ttl), 1)
        return ttl

    def setMulticastTTL(self, ttl: Any = MISSING) -> int:
        """Set IP_MULTICAST_TTL (0-255); returns ``ttl``."""
        require(ttl, "ttl")
        self._set_ttl("setMulticastTTL", self._handle.set_multicast_ttl, check_ttl(ttl), 0)
        return ttl

    def _set_ttl(self, syscall: str, call: Callable[[int], None], ttl: int, low: int) -> None:
        # libuv refuses out-of-range values with EINVAL; pyuv would raise a
        # bare ValueError first, so the range is checked here, as libuv does.
        if not low <= ttl <= 255:
            self._check_open()
            raise DgramOSError(-errno.EINVAL, syscall)
        self._option(syscall, call, ttl)

    def setMulticastLoopback(self, flag: Any = MISSING) -> bool:
        """Set or clear IP_MULTICAST_LOOP; returns ``flag``."""
        require(flag, "flag")
        self._option("setMulticastLoopback", self._handle.set_multicast_loop,
                     check_flag(flag, "flag"))
        return flag

    def setMulticastInterface(self, iface: Any = MISSING) -> None:
        """Choose the outgoing interface for multicast (an address of it)."""
        require(iface, "interfaceAddress")
        iface = check_host(iface, "interfaceAddress")  # type: ignore[assignment]
        if iface is None:
            raise misuse("ERR_INVALID_ARG_TYPE", name="interfaceAddress", expected="of type str",
                         received="None")
        self._option("setMulticastInterface", self._handle.set_multicast_interface, iface)

    def setMembership(self, group: Any = MISSING, iface: Any = None, op: Any = None) -> None:
        """Join or leave a multicast group: ``op`` is 'join' or 'leave'.
        ``setMembership(group, op)`` also works."""
        require(group, "multicastAddress")
        if op is None and iface in ("join", "leave"):
            iface, op = None, iface
        self._membership(group, iface, check_membership_op(op))

    def addMembership(self, group: Any = MISSING, iface: Any = None) -> None:
        """Join multicast ``group`` (IP_ADD_MEMBERSHIP)."""
        self._membership(group, iface, "join")

    def dropMembership(self, group: Any = MISSING, iface: Any = None) -> None:
        """Leave multicast ``group`` (IP_DROP_MEMBERSHIP)."""
        self._membership(group, iface, "leave")

    def _membership(self, group: Any, iface: Any, op: str) -> None:
        require(group, "multicastAddress")
        group = check_host(group, "multicastAddress")
        if group is None:
            raise misuse("ERR_MISSING_ARGS", name="multicastAddress")
        iface = check_host(iface, "multicastInterface")
        membership = pyuv.UV_JOIN_GROUP if op == "join" else pyuv.UV_LEAVE_GROUP
        args = (group, membership) if iface is None else (group, membership, iface)
        syscall = "addMembership" if op == "join" else "dropMembership"
        self._option(syscall, self._handle.set_membership, *args)

    def setRecvBufferSize(self, size: Any = MISSING) -> None:
        """Set SO_RCVBUF (the kernel may double it)."""
        require(size, "size")
        size = check_buffer_size(size, "size")
        self._option("setRecvBufferSize", setattr, self._handle, "receive_buffer_size", size)

    def setSendBufferSize(self, size: Any = MISSING) -> None:
        """Set SO_SNDBUF (the kernel may double it)."""
        require(size, "size")
        size = check_buffer_size(size, "size")
        self._option("setSendBufferSize", setattr, self._handle, "send_buffer_size", size)

    def getRecvBufferSize(self) -> int:
        """SO_RCVBUF as the kernel reports it."""
        self._check_open()
        return int(self._handle.receive_buffer_size)

    def getSendBufferSize(self) -> int:
        """SO_SNDBUF as the kernel reports it."""
        self._check_open()
        return int(self._handle.send_buffer_size)

    # -- timeout and loop liveness ----------------------------------------

    def setTimeout(self, msecs: Any = MISSING, callback: Any = None) -> None:
        """Emit 'timeout' after ``msecs`` ms with no send and no receive; the
        socket stays open and the next activity re-arms it.  0 turns it off.
        ``callback`` is added with ``once('timeout')``, replacing the callback
        of an earlier setTimeout that has not fired."""
        require(msecs, "msecs")
        self._check_open()
        msecs = check_msecs(msecs)
        callback = check_callback(callback)
        if self._timeout_callback is not None:
            self.removeListener("timeout", self._timeout_callback)
            self._timeout_callback = None
        if callback is not None:
            self.once("timeout", callback)
            self._timeout_callback = callback
        self._idle.set(msecs)

    def _idle_expired(self) -> None:
        """Called by IdleTimeout.  The once('timeout') callback of setTimeout
        is spent now, so a later setTimeout must not remove it again (it may
        also be registered with on())."""
        self._timeout_callback = None
        self.emit("timeout")

    def ref(self) -> Self:
        """Let the socket keep the loop alive (the default); returns the socket."""
        self._set_ref(True)
        return self

    def unref(self) -> Self:
        """Let the loop exit even while the socket is open; returns the socket."""
        self._set_ref(False)
        return self

    def _set_ref(self, flag: bool) -> None:
        self._check_open()
        self._handle.ref = flag
        set_ref = getattr(self._receiver, "set_ref", None)
        if set_ref is not None:
            set_ref(flag)

