"""BatchReceiver: reads many datagrams per wake-up with recvmmsg(2).

The pyuv UDP handle owns the socket and does every send.  For reading, the
receiver watches a ``os.dup()`` of its descriptor with a ``pyuv.Poll`` (libuv
allows one watcher per descriptor, and the UDP handle keeps its own for
writes).  When the socket is readable, one call into the compiled helper
(_batch.c) reads up to ``SLOTS`` datagrams into the loop's shared
:class:`ReceiveBuffer` and writes a struct format that describes them; one
``Struct.unpack_from`` then makes all their bytes objects at C speed.  Sender
addresses come once per run of datagrams from the same sender and are
decoded through a small per-loop cache.

One poll callback makes one recvmmsg call, so a busy socket gets at most
``SLOTS`` datagrams (fewer when they are large) per wake-up and cannot starve
the rest of the loop.  What was read goes to the socket's inbox
(_inbox.Inbox.deliver), which emits it exactly as it emits what the pyuv
receiver reads: recvStop() in the middle of a batch, a raising listener and
interruptions behave the same on both receivers.

The dup'd descriptor is the receiver's: close() releases it, and so does
the socket's finaliser when a socket is collected without close().
"""

from __future__ import annotations

import errno
import os
import socket
import sys
import warnings
from collections.abc import Callable
from struct import Struct
from typing import TYPE_CHECKING, Any

import pyuv

from ._inbox import RInfo, Run
from ._resolve import FAMILY_NAMES, scoped

if TYPE_CHECKING:
    from ._context import LoopContext
    from ._inbox import Inbox
    from ._receive import Receiver

_ABI = 4  # DGRAM_UV_BATCH_ABI of the _batch.c this file goes with

try:
    from ._batch_c import ffi, lib
except ImportError:  # not built (no compiler at install time, or not Linux)
    AVAILABLE = False
else:
    AVAILABLE = getattr(lib, "DGRAM_UV_BATCH_ABI", None) == _ABI
    if not AVAILABLE:
        warnings.warn("dgram_uv._batch_c is a stale build (rebuild: pip install -e . or "
                      "make install); reading through pyuv instead", RuntimeWarning,
                      stacklevel=2)

# Datagrams per recvmmsg call, and so per wake-up.  Each slot is 64 KiB of
# address space, of which a small datagram makes one page resident.  256
# measured ~4% faster per datagram than 64 (the per-call costs are spread
# thinner); more gained nothing measurable.
SLOTS = 256
# Payload bytes one read aims at: after a batch of large datagrams the next
# read asks for fewer, keeping the copies in cache (see _batch.c).
BUDGET = 512 << 10
_CACHE_MAX = 1024  # decoded sender addresses kept per loop
# Compiled struct formats kept per loop: batches of equal datagrams repeat
# theirs.  Not the struct module's own cache, which varied formats would
# keep flushing for everybody else.
_FORMATS_MAX = 64
# Where a batch's first sender key lies in the buffer: after the slots (see
# _batch.c).
_KEYS = SLOTS * lib.DGRAM_UV_STRIDE if AVAILABLE else 0
_FIRST_KEY = slice(_KEYS, _KEYS + (lib.DGRAM_UV_KEY_SIZE if AVAILABLE else 0))


class ReceiveBuffer:
    """The C buffer of one loop, shared by all its sockets (owned by the
    loop's context, _context.LoopContext).

    A loop runs in one thread at a time and its callbacks never overlap, and
    every batch is copied out into Python objects right after it is read, so
    one buffer per loop is enough and never used by two threads at once.
    """

    __slots__ = ("buffer", "c", "first_len", "format", "info", "senders", "unpackers")

    def __init__(self) -> None:
        c = lib.dgram_uv_batch_new(SLOTS, BUDGET)
        if c == ffi.NULL:
            raise MemoryError("dgram_uv: cannot allocate the receive buffer")
        self.c = ffi.gc(c, lib.dgram_uv_batch_free)
        # The C memory as struct.unpack_from reads it; valid while c lives.
        self.buffer = ffi.buffer(lib.dgram_uv_batch_data(c), lib.dgram_uv_batch_size(c))
        self.format = lib.dgram_uv_batch_format(c)
        self.info = lib.dgram_uv_batch_info(c)
        self.first_len = lib.dgram_uv_batch_first_len(c)  # [0]: the last batch's first datagram
        self.senders: dict[bytes, RInfo] = {}
        self.unpackers: dict[bytes, Callable[[Any], tuple[bytes, ...]]] = {}

    def sender(self, key: bytes) -> RInfo:
        """The rinfo template for a raw sockaddr, decoded at most once while cached."""
        found = self.senders.get(key)
        if found is None:
            if len(self.senders) >= _CACHE_MAX:
                self.senders.clear()
            found = self.senders[key] = _decode_sockaddr(key)
        return found

    def unpacker(self, fmt: bytes) -> Callable[[Any], tuple[bytes, ...]]:
        """Compile ``fmt`` and keep its ``unpack_from`` (called on a cache miss)."""
        if len(self.unpackers) >= _FORMATS_MAX:
            self.unpackers.clear()
        found = self.unpackers[fmt] = Struct(fmt).unpack_from
        return found


def _decode_sockaddr(key: bytes) -> RInfo:
    # struct sockaddr_in / sockaddr_in6: family (host order), port (network
    # order), then the IPv4 address, or flowinfo, the IPv6 address and the
    # scope id (host order; a link-local sender's interface).
    family = int.from_bytes(key[0:2], sys.byteorder)
    if family == socket.AF_INET6:
        address = socket.inet_ntop(socket.AF_INET6, key[8:24])
        scope_id = int.from_bytes(key[24:28], sys.byteorder)
        if scope_id:
            address = scoped(address, scope_id)
    else:
        address = socket.inet_ntop(socket.AF_INET, key[4:8])
    return {"address": address, "family": FAMILY_NAMES.get(family, "IPv4"),
            "port": int.from_bytes(key[2:4], "big"), "size": 0, "ip": address}


class BatchReceiver:
    """Reads for one socket; the interface of _receive.Receiver."""

    __slots__ = ("_buffer", "_context", "_fallback", "_fd", "_handle", "_inbox",
                 "_make_fallback", "_poll", "_reading", "_ref", "closed")

    def __init__(self, handle: pyuv.UDP, inbox: Inbox, context: LoopContext,
                 fallback: Callable[[], Receiver]) -> None:
        self._handle = handle
        self._inbox = inbox
        self._context = context
        self._make_fallback = fallback
        self._buffer: ReceiveBuffer | None = None
        self._poll: pyuv.Poll | None = None
        self._fd = -1
        self._reading = False
        self.closed = False
        self._ref = True
        # pyuv's own reading, when there was no descriptor left for the dup.
        self._fallback: Receiver | None = None

    def start(self) -> None:
        """Begin reading; idempotent."""
        if self._fallback is not None:
            self._fallback.start()
            return
        if self._reading or self.closed:
            return
        if self._poll is None:
            try:
                fd = os.dup(self._handle.fileno())
            except OSError as exc:
                if exc.errno not in (errno.EMFILE, errno.ENFILE):
                    raise
                # The dup doubles the descriptors per socket; at the limit,
                # read through pyuv instead: slower, the same events.
                self._fallback = self._make_fallback()
                self._fallback.start()
                return
            try:
                poll = pyuv.Poll(self._context.loop, fd)
            except BaseException:
                os.close(fd)
                raise
            poll.ref = self._ref
            self._fd, self._poll = fd, poll
            self._buffer = self._context.receive_buffer()
        self._poll.start(pyuv.UV_READABLE, self._on_readable)
        self._reading = True

    def stop(self) -> None:
        """Stop reading; idempotent.  The socket stays bound; start() may follow."""
        if self._fallback is not None:
            self._fallback.stop()
        elif self._reading:
            self._reading = False
            if not self._poll.closed:  # type: ignore[union-attr]
                self._poll.stop()  # type: ignore[union-attr]

    def close(self) -> None:
        """Stop, and release the Poll handle and the dup'd descriptor.

        Call it in the same synchronous step as closing the UDP handle: until
        the dup'd descriptor is closed here, it keeps the socket (and its
        port) open.
        """
        self.closed = True
        self._reading = False
        self._buffer = None
        if self._fallback is not None:
            self._fallback.close()
        poll, self._poll = self._poll, None
        if poll is not None:
            if not poll.closed:
                poll.close()
            lib.dgram_uv_epoll_forget(self._context.loop.fileno(), self._fd)
            os.close(self._fd)
            self._fd = -1

    def set_ref(self, flag: bool) -> None:
        """Whether reading keeps the loop alive (Socket.ref()/unref())."""
        self._ref = flag
        if self._fallback is not None:
            self._fallback.set_ref(flag)
        if self._poll is not None:
            self._poll.ref = flag

    def _on_readable(self, _handle: Any, _events: int | None, error: int | None) -> None:
        if not self._reading:
            return
        if error is not None:
            # libuv 1.13's uv_poll turns EPOLLERR (a pending socket error,
            # such as ICMP port unreachable on a connected socket) into
            # UV_EBADF and stops itself.  Watch again; the read below fetches
            # (and clears) the real error.
            self._poll.start(pyuv.UV_READABLE, self._on_readable)  # type: ignore[union-attr]
        buffer = self._buffer
        n = lib.dgram_uv_recv(buffer.c, self._fd)  # type: ignore[union-attr]
        if n == 1:  # a request, a reply: the wake-up of a quiet socket
            # The payload, and its sender's key (see _batch.c), without the format.
            data = buffer.buffer  # type: ignore[union-attr]
            key = data[_FIRST_KEY]
            rinfo = (buffer.senders.get(key) or buffer.sender(key)).copy()  # type: ignore[union-attr]
            msg = data[0:buffer.first_len[0]]  # type: ignore[union-attr]
            rinfo["size"] = len(msg)
            self._inbox.deliver_one(msg, rinfo)
        elif n > 1:
            self._inbox.deliver(_unpack(buffer, n))  # type: ignore[arg-type]
        elif n < 0:
            self._inbox.failed(n)


def _unpack(batch: ReceiveBuffer, n: int) -> list[Run]:
    """The batch of ``n`` datagrams just read, as runs of bytes objects."""
    # The payloads, then one raw sender address per run (see _batch.c).
    fmt = ffi.string(batch.format)
    items = (batch.unpackers.get(fmt) or batch.unpacker(fmt))(batch.buffer)
    keys = items[n:]
    if len(keys) == 1:
        return [(batch.sender(keys[0]), items[:n])]
    known = batch.senders.get
    runs = []
    first = 0
    for key, last in zip(keys, ffi.unpack(batch.info, len(keys)), strict=True):
        runs.append((known(key) or batch.sender(key), items[first:last]))
        first = last
    return runs
