"""The UDP socket: luvit's dgram.Socket over a pyuv.UDP handle.

The pyuv handle owns the descriptor.  What the socket adds is bookkeeping,
each part with one owner:

* its states (_states.py) and argument checks (_validators.py);
* the outgoing datagrams (_outbox.Outbox): waiting for a bind, a name or a
  connect, held in a send window, sent, and their callbacks;
* the incoming ones (_inbox.Inbox), read by a receiver (_receive.py,
  _batch.py) and emitted as 'message';
* the idle timeout (_idle.py);
* what it shares with the other sockets of its loop (_context.LoopContext):
  deferred calls, the send window, the receive buffer.

The contract is docs/api.md.
"""

from __future__ import annotations

import ctypes
import errno
import socket
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any, Self

import pyuv

from ._aliases import with_snake_case_aliases
from ._context import LoopContext, context_for
from ._emitter import Emitter
from ._errors import DgramError, DgramOSError, lookup_error, misuse, uv_status_of
from ._idle import IdleTimeout
from ._inbox import Activity, Inbox
from ._membership import source_membership
from ._outbox import Outbox, pyuv_address
from ._receive import make_receiver
from ._resolve import FAMILY_NAMES, LOOPBACK, WILDCARD, literal_family, lookup, scoped
from ._states import BindState, ConnectState, next_bind_state, next_connect_state
from ._validators import (
    MISSING,
    bind_arguments,
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
# A name lookup's outcome: (address, 0), or (None, a libuv status or an error).
Resolved = Callable[[str | None, Any], None]


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


def _host_of(name: tuple[Any, ...]) -> str:
    """The host of a socket name (getsockname, getpeername) as Node shows it:
    an IPv6 name's scope id becomes its ``%interface``."""
    return scoped(name[0], name[3]) if len(name) > 3 else str(name[0])


def _os_status(exc: BaseException) -> int:
    """The negative status of a pyuv or stdlib failure."""
    if isinstance(exc, OSError) and exc.errno:
        return -exc.errno
    return uv_status_of(exc)


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
        self._context: LoopContext = context_for(loop)
        self._context.attach()
        self._bind_state = UNBOUND
        self._connect_state = DISCONNECTED
        self._connect_attempt: tuple[Any] | None = None  # (callback,) of a pending connect
        self._want_receive = False  # bind/recvStart asked for reading, recvStop did not
        self._custom_lookup: Callable[..., Any] | None = options.get("lookup")
        self._activity = Activity()
        self._outbox = Outbox(self._handle, self._context, self._lookup_host, literal_family,
                              self._emit_error, options.get("sendBlockList"))
        self._inbox = self._make_inbox(self._handle)
        self._idle = IdleTimeout(loop, self._activity, self._idle_expired)
        self._timeout_callback: Callable[[], Any] | None = None
        self._close_emitted = False
        try:
            self._apply_buffer_sizes()
        except DgramError:
            self.close()  # no half-made socket keeps a descriptor
            raise

    def _make_inbox(self, handle: pyuv.UDP) -> Inbox:
        """The owner of what ``handle`` receives, with its receiver."""
        inbox = Inbox(self, self._events, self._context, self._activity, self._emit_error,
                      self._options.get("receiveBlockList"))
        inbox.attach(make_receiver(handle, self._family, inbox, self._context))
        return inbox

    def _apply_buffer_sizes(self) -> None:
        for key, setter in (("recvBufferSize", self.setRecvBufferSize),
                            ("sendBufferSize", self.setSendBufferSize)):
            if key in self._options:
                setter(self._options[key])

    def __repr__(self) -> str:
        return f"<dgram_uv.Socket {FAMILY_NAMES[self._family]} {self._bind_state.value}>"

    def __del__(self) -> None:
        # A socket collected without close() releases its descriptors and its
        # port, with a ResourceWarning, as Python's own sockets do.  (While it
        # reads, its handles keep it alive: only a socket that cannot receive
        # is ever collected.)
        if getattr(self, "_bind_state", CLOSED) is CLOSED:
            return
        if not self._handle.closed:  # not closed under us by a sweep of the loop's handles
            warnings.warn(f"unclosed {self!r}", ResourceWarning, source=self, stacklevel=1)
        self._bind_state = CLOSED
        self._release()

    def _release(self) -> None:
        """Stop reading, close the handle and the timer, leave the loop's context."""
        self._inbox.close()
        self._idle.close()
        if not self._handle.closed:
            self._handle.close(self._on_handle_closed)
        else:
            self._context.detach()

    def _emit_error(self, err: DgramError) -> None:
        self.emit("error", err)

    # -- name lookups ------------------------------------------------------

    def _lookup_host(self, host: str, done: Resolved) -> None:
        """Resolve ``host`` for this socket's family: through the user's
        ``lookup`` option if given, else libuv's getaddrinfo.  ``done`` is
        called once, on a later iteration."""
        custom = self._custom_lookup
        if custom is None:
            lookup(self._loop, host, self._family, done, self._context.call_later)
            return
        answered = False

        def answer(err: Any = None, address: Any = None, *_rest: Any) -> None:
            nonlocal answered
            if answered:  # a lookup calls back at most once
                return
            answered = True
            if err:
                self._context.call_later(done, None, err)
            elif not isinstance(address, str) or literal_family(address) != self._family:
                self._context.call_later(done, None, -errno.EINVAL)
            else:
                self._context.call_later(done, address, 0)

        try:
            custom(host, 4 if self._family == socket.AF_INET else 6, answer)
        except Exception as exc:
            answer(exc)

    # -- binding -----------------------------------------------------------

    def bind(self, port: Any = 0, host: Any = None, options: Any = None,
             callback: Any = None) -> Self:
        """Bind to ``host``:``port`` and start receiving; returns the socket.

        ``host`` defaults to the wildcard address; a name is resolved first.
        Also Node's ``bind(callback)``, ``bind(port, callback)`` and
        ``bind({'port', 'address', 'fd'}, callback)``.  A callable in the
        ``host`` or ``options`` place is the callback, added with
        ``once('listening')``.  OS failures are emitted as 'error'.
        """
        self._check_open()
        port, host, options, callback, fd = bind_arguments(port, host, options, callback)
        flags = bind_options(options, self._options)
        next_bind_state(self._bind_state, "bind")  # refuses a second bind
        if callback is not None:
            self.once("listening", callback)
        self._want_receive = True
        if fd is not None:
            self._adopt(fd)
        else:
            self._bind_to(host or WILDCARD[self._family], port, flags)
        return self

    def _bind_to(self, host: str, port: int, flags: dict[str, bool]) -> None:
        if literal_family(host) is not None:
            self._bind_now(host, port, flags)
            return
        self._bind_state = next_bind_state(self._bind_state, "bind")

        def resolved(address: str | None, outcome: Any) -> None:
            if self._bind_state is not BINDING:  # closed meanwhile
                return
            if address is None:
                self._bind_failed(lookup_error(outcome, "getaddrinfo", host, None))
            else:
                self._bind_now(address, port, flags)

        self._lookup_host(host, resolved)

    def _bind_now(self, host: str, port: int, flags: dict[str, bool]) -> None:
        uv_flags = ((pyuv.UV_UDP_REUSEADDR if flags["reuseAddr"] else 0)
                    | (pyuv.UV_UDP_IPV6ONLY if flags["ipv6Only"] else 0))
        try:
            if flags["reusePort"]:
                with _borrowed(self._handle.fileno(), self._family) as sock:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            self._handle.bind(pyuv_address(host, port), uv_flags)
        except (pyuv.error.UDPError, OSError, ValueError, TypeError, OverflowError) as exc:
            self._bind_failed(DgramOSError(_os_status(exc), "bind", host, port))
            return
        self._bound()

    def _adopt(self, fd: int) -> None:
        """bind({'fd': n}): read and send through an already-bound descriptor
        (Node's ``{fd}``); the socket owns it from now on."""
        try:
            with _borrowed(fd, self._family) as probe:
                kind = probe.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE)
                family = probe.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN)
                probe.getsockname()
        except OSError as exc:
            raise DgramOSError(-(exc.errno or errno.EBADF), "bind") from None
        if kind != socket.SOCK_DGRAM or family != self._family:
            raise DgramOSError(-errno.EINVAL, "bind")
        if any(isinstance(h, pyuv.UDP) and not h.closed and h.fileno() == fd
               for h in self._loop.handles):
            raise DgramOSError(-errno.EEXIST, "bind")  # another handle owns it (Node)
        # pyuv made a descriptor of its own for this socket: a handle made
        # without a family has none, and takes the adopted one.
        old = self._handle
        self._inbox.close()
        handle = pyuv.UDP(self._loop)
        handle.open(fd)
        self._handle = handle
        self._outbox.use_handle(handle)
        self._inbox = self._make_inbox(handle)
        old.close()
        self._apply_buffer_sizes()
        self._bound()

    def _bound(self) -> None:
        self._bind_state = next_bind_state(self._bind_state, "bound")
        if self._want_receive:
            self._inbox.start()
        self._context.call_later(self._emit_listening)
        self._outbox.resume("bind")

    def _bind_failed(self, err: DgramError) -> None:
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
                self._context.call_later(callback, err)
        self._outbox.fail_waiting(err)
        self._context.call_later(self._emit_error, err)

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
        on a connected socket ``send(data, callback=None)`` or
        ``send(buf, offset, length, callback=None)``.  ``callback(err)`` is
        called on a later loop iteration; with none, a failure is emitted as
        'error'.
        """
        # This runs for every datagram sent: checks are inlined where it pays.
        # First the commonest shape, send(bytes, port, host) on a bound,
        # unconnected socket, which the outbox may send at once.
        tried = (not keywords and len(args) == 2 and type(data) is bytes
                 and type(args[1]) is str and type(args[0]) is int
                 and self._bind_state is BOUND and self._connect_state is DISCONNECTED)
        if tried and self._outbox.send_direct(data, args[1], args[0]):
            self._activity.seen = True
            return
        if self._bind_state is CLOSED:
            raise misuse("ERR_SOCKET_DGRAM_NOT_RUNNING")
        if data is MISSING:
            require(data, "msg")
        connected = self._connect_state is not DISCONNECTED
        # The callback comes back callable or None (that is how it is told apart).
        data, port, host, callback = normalize_send(data, args, keywords, connected)
        if not connected:
            if type(port) is not int or not 0 < port < 65536:
                port = check_port(port, allow_zero=False)  # raises the coded error
            if host is not None:
                host = check_host(host)  # '' is the default host too, as in Node
            if host is None:
                host = LOOPBACK[self._family]
        elif port is not None or host is not None:
            raise misuse("ERR_SOCKET_DGRAM_IS_CONNECTED")
        self._activity.seen = True
        if self._bind_state is UNBOUND:
            self._bind_implicitly()
        elif (not tried and host is not None and self._bind_state is BOUND
              and self._outbox.send_direct(data, host, port, callback)):
            return  # every other form, once normalised, may go direct too
        self._outbox.send(data, host, port, callback)

    def getSendQueueSize(self) -> int:
        """Bytes waiting to be sent (held by dgram_uv or queued in libuv)."""
        self._check_open()
        return self._outbox.queue_size()

    def getSendQueueCount(self) -> int:
        """Datagrams waiting to be sent (held by dgram_uv or queued in libuv)."""
        self._check_open()
        return self._outbox.queue_count()

    # -- receiving ---------------------------------------------------------

    def recvStart(self) -> None:
        """Start reading (binding to the wildcard address if unbound); idempotent."""
        self._check_open()
        self._want_receive = True
        if self._bind_state is UNBOUND:
            self._bind_implicitly()
        elif self._bind_state is BOUND:
            self._inbox.start()

    def recvStop(self) -> None:
        """Stop reading; the socket stays bound; idempotent."""
        self._check_open()
        self._want_receive = False
        self._inbox.stop()

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
        self._outbox.pause("connect")  # sends wait until connected
        self._bind_implicitly()

        def connect_to(address: str | None, outcome: Any) -> None:
            if self._bind_state is CLOSED or self._connect_attempt is not attempt:
                return
            if address is None:
                self._connect_failed(lookup_error(outcome, "getaddrinfo", host, port))
                return
            if literal_family(address) != self._family:
                err = DgramOSError(-errno.EAFNOSUPPORT, "connect", address, port)
                self._connect_failed(err)
                return
            blocklist = self._options.get("sendBlockList")
            if blocklist is not None and blocklist.check(address):
                self._connect_failed(misuse("ERR_IP_BLOCKED", address=address))
                return
            self._outbox.flush_held()
            try:
                with _borrowed(self._handle.fileno(), self._family) as sock:
                    sock.connect(pyuv_address(address, port))
                    # The peer as the kernel has it ('0.0.0.0' means this host).
                    peer = sock.getpeername()
            except OSError as exc:
                err = DgramOSError(-(exc.errno or errno.EINVAL), "connect", address, port)
                self._connect_failed(err)
                return
            self._connect_state = next_connect_state(self._connect_state, "connected")
            self._outbox.peer = (_host_of(peer), peer[1])
            self._outbox.resume("connect")
            self.emit("connect")

        if literal_family(host) is not None:
            self._context.call_later(self._when_bound, connect_to, host)
        else:
            self._lookup_host(host, lambda address, outcome: self._when_bound(
                connect_to, address, outcome))

    def _when_bound(self, then: Resolved, address: str | None, outcome: Any = 0) -> None:
        """Run ``then`` once the (implicit) bind has finished."""
        if self._bind_state is BINDING:
            self.once("listening", lambda: then(address, outcome))
        elif self._bind_state is BOUND:
            then(address, outcome)
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
        return callback  # type: ignore[no-any-return]

    def _connect_failed(self, err: DgramError) -> None:
        """Only the sends that waited for the connection fail with it; sends
        to an explicit host go on."""
        callback = self._end_connect_attempt()
        self._outbox.fail_waiting(err, only_for_peer=True)
        self._outbox.resume("connect")
        if callback is not None:
            callback(err)
        else:
            self.emit("error", err)

    def disconnect(self) -> None:
        """Dissolve the association made by ``connect``."""
        self._check_open()
        self._connect_state = next_connect_state(self._connect_state, "disconnect")
        self._outbox.flush_held()
        status = _disconnect_fd(self._handle.fileno())
        self._outbox.peer = None
        if status:
            raise DgramOSError(status, "disconnect")

    def remoteAddress(self) -> dict[str, Any]:
        """The connected peer: ``{'address', 'family', 'port', 'ip'}``."""
        self._check_open()
        peer = self._outbox.peer
        if self._connect_state is not CONNECTED or peer is None:
            raise misuse("ERR_SOCKET_DGRAM_NOT_CONNECTED")
        return self._describe(*peer)

    # -- closing -----------------------------------------------------------

    def close(self, callback: Any = None) -> Self:
        """Stop reading and close; 'close' is emitted later.  Pending send
        callbacks get ECANCELED.  Closing twice is a no-op (the callback is
        still called).  Returns the socket."""
        callback = check_callback(callback)
        if callback is not None:
            if self._close_emitted:
                self._context.call_later(callback)
            else:
                self.once("close", callback)
        if self._bind_state is CLOSED:
            return self
        self._bind_state = next_bind_state(self._bind_state, "close")
        self._outbox.cancel()
        # libuv cancels sends still in its queue (ECANCELED) before it calls
        # _on_handle_closed.
        self._release()
        return self

    def _on_handle_closed(self, _handle: pyuv.UDP) -> None:
        self._close_emitted = True
        try:
            self.emit("close")
        finally:
            self._context.detach()

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
        name = self._handle.getsockname()
        return self._describe(_host_of(name), name[1])

    # -- options -----------------------------------------------------------

    def _option(self, syscall: str, call: Callable[..., Any], *args: Any) -> None:
        """Run a pyuv option call; a failure is raised as an OS error."""
        self._check_open()
        self._outbox.flush_held()  # earlier sends go out with the options they were made under
        try:
            call(*args)
        except (pyuv.error.UDPError, OSError, ValueError, TypeError, OverflowError) as exc:
            raise DgramOSError(_os_status(exc), syscall) from None

    def setBroadcast(self, flag: Any = MISSING) -> None:
        """Set or clear SO_BROADCAST."""
        require(flag, "flag")
        self._option("setBroadcast", self._handle.set_broadcast, check_flag(flag, "flag"))

    def setTTL(self, ttl: Any = MISSING) -> int:
        """Set IP_TTL (1-255); returns ``ttl``."""
        require(ttl, "ttl")
        self._set_ttl("setTTL", self._handle.set_ttl, check_ttl(ttl), 1)
        return ttl  # type: ignore[no-any-return]

    def setMulticastTTL(self, ttl: Any = MISSING) -> int:
        """Set IP_MULTICAST_TTL (0-255); returns ``ttl``."""
        require(ttl, "ttl")
        self._set_ttl("setMulticastTTL", self._handle.set_multicast_ttl, check_ttl(ttl), 0)
        return ttl  # type: ignore[no-any-return]

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
        return flag  # type: ignore[no-any-return]

    def setMulticastInterface(self, iface: Any = MISSING) -> None:
        """Choose the outgoing interface for multicast (an address of it)."""
        require(iface, "interfaceAddress")
        iface = check_host(iface, "interfaceAddress")
        if iface is None:
            raise misuse("ERR_INVALID_ARG_TYPE", name="interfaceAddress", expected="of type str",
                         received="None")
        self._option("setMulticastInterface", self._handle.set_multicast_interface, iface)

    def setMembership(self, group: Any = MISSING, iface: Any = None, op: Any = None) -> Self:
        """Join or leave a multicast group: ``op`` is 'join' or 'leave'.
        ``setMembership(group, op)`` also works.  Returns the socket."""
        require(group, "multicastAddress")
        if op is None and iface in ("join", "leave"):
            iface, op = None, iface
        return self._membership(group, iface, check_membership_op(op))

    def addMembership(self, group: Any = MISSING, iface: Any = None) -> Self:
        """Join multicast ``group`` (IP_ADD_MEMBERSHIP); returns the socket."""
        return self._membership(group, iface, "join")

    def dropMembership(self, group: Any = MISSING, iface: Any = None) -> Self:
        """Leave multicast ``group`` (IP_DROP_MEMBERSHIP); returns the socket."""
        return self._membership(group, iface, "leave")

    def _membership(self, group: Any, iface: Any, op: str) -> Self:
        group = self._group(group, "multicastAddress")
        iface = check_host(iface, "multicastInterface")
        membership = pyuv.UV_JOIN_GROUP if op == "join" else pyuv.UV_LEAVE_GROUP
        args = (group, membership) if iface is None else (group, membership, iface)
        syscall = "addMembership" if op == "join" else "dropMembership"
        self._option(syscall, self._handle.set_membership, *args)
        return self

    @staticmethod
    def _group(value: Any, name: str) -> str:
        """A required address argument of the multicast calls."""
        require(value, name)
        address = check_host(value, name)
        if address is None:
            raise misuse("ERR_MISSING_ARGS", name=name)
        return address

    def addSourceSpecificMembership(self, source: Any = MISSING, group: Any = MISSING,
                                    iface: Any = None) -> Self:
        """Join ``group`` for datagrams from ``source`` only (source-specific
        multicast); returns the socket."""
        return self._source_membership(source, group, iface, True)

    def dropSourceSpecificMembership(self, source: Any = MISSING, group: Any = MISSING,
                                     iface: Any = None) -> Self:
        """Leave the source-specific ``group`` joined for ``source``; returns the socket."""
        return self._source_membership(source, group, iface, False)

    def _source_membership(self, source: Any, group: Any, iface: Any, join: bool) -> Self:
        source = self._group(source, "sourceAddress")
        group = self._group(group, "groupAddress")
        iface = check_host(iface, "multicastInterface")
        syscall = "addSourceSpecificMembership" if join else "dropSourceSpecificMembership"
        self._option(syscall, lambda: source_membership(self._handle.fileno(), self._family,
                                                        source, group, iface, join))
        return self

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
        self._inbox.set_ref(flag)
        self._idle.set_ref(flag)

