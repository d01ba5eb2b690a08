"""BatchReceiver: reads many datagrams per wake-up with recvmmsg(2).

The pyuv UDP handle owns the socket and does every send.  For reading, the
receiver watches a ``os.dup()`` of its descriptor with a ``pyuv.Poll`` (libuv
allows one watcher per descriptor, and the UDP handle keeps its own for
writes).  When the socket is readable, one call into the compiled helper
(_batch.c) reads up to ``SLOTS`` datagrams into the loop's shared buffer and
writes a struct format that describes them; one ``Struct.unpack_from`` then
makes all their bytes objects at C speed.  Sender addresses come once per
run of datagrams from the same sender and are decoded through a small
per-loop cache.

One poll callback makes one recvmmsg call, so a busy socket gets at most
``SLOTS`` datagrams (fewer when they are large) per wake-up and cannot starve
the rest of the loop.  The listeners of a batch run with the loop's sends
held, so that their replies go out together (_sendmany.py).

Stopping in the middle of a batch (a listener calls recvStop() or close()):
as in libuv, no datagram is delivered after the call returns; the check is
one attribute test per datagram, which costs nothing measurable.  Unlike
libuv, which drops the rest of its recvmmsg batch, nothing is lost on
recvStop(): the undelivered rest is kept and delivered first, on a later loop
iteration, when reading starts again.  On close() it is discarded, and so is
the rest of a batch when a listener raises a BaseException that is not an
Exception (KeyboardInterrupt, SystemExit), which goes to pyuv as it is.
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

from ._defer import call_later, report_exception
from ._resolve import FAMILY_NAMES
from ._sendmany import SendBatch, loop_batch

if TYPE_CHECKING:
    from ._receive import Receiver
    from ._socket import Socket

_ABI = 2  # DGRAM_UV_BATCH_ABI of the _batch.c this file goes with

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
_ATTR = "_dgram_uv_batch"

# A run: the rinfo of one sender ('size' still 0; only ever copied) and the
# payloads of its consecutive datagrams.
RInfo = dict[str, Any]
Run = tuple[RInfo, tuple[bytes, ...]]


class _LoopBatch:
    """The C buffer of one loop, shared by all its sockets.

    A loop runs in one thread at a time and its callbacks never overlap, and
    every batch is copied out into Python objects right after it is read, so
    one buffer per loop is enough and never used by two threads at once.
    """

    __slots__ = ("buffer", "c", "format", "info", "senders", "unpackers")

    def __init__(self) -> None:
        c = lib.dgram_uv_batch_new(SLOTS, BUDGET)
        if c == ffi.NULL:
            raise MemoryError("dgram_uv: cannot allocate the receive buffer")
        self.c = ffi.gc(c, lib.dgram_uv_batch_free)
        # The C memory as struct.unpack_from reads it; valid while c lives.
        self.buffer = ffi.buffer(lib.dgram_uv_batch_data(c), lib.dgram_uv_batch_size(c))
        self.format = lib.dgram_uv_batch_format(c)
        self.info = lib.dgram_uv_batch_info(c)
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
    # order), then the IPv4 address, or flowinfo and the IPv6 address.
    family = int.from_bytes(key[0:2], sys.byteorder)
    if family == socket.AF_INET6:
        address = socket.inet_ntop(socket.AF_INET6, key[8:24])
    else:
        address = socket.inet_ntop(socket.AF_INET, key[4:8])
    return {"address": address, "family": FAMILY_NAMES.get(family, "IPv4"),
            "port": int.from_bytes(key[2:4], "big"), "size": 0, "ip": address}


def _loop_batch(loop: pyuv.Loop) -> _LoopBatch:
    batch = loop.__dict__.get(_ATTR)
    if batch is None:
        batch = _LoopBatch()
        setattr(loop, _ATTR, batch)
    return batch


class BatchReceiver:
    """Reads for one socket; the interface of _receive.PyuvReceiver."""

    __slots__ = ("_batch", "_closed", "_fallback", "_fd", "_pending", "_poll", "_reading", "_ref",
                 "_sends", "_sock")

    def __init__(self, sock: Socket) -> None:
        self._sock = sock
        self._batch: _LoopBatch | None = None
        self._poll: pyuv.Poll | None = None
        self._fd = -1
        self._reading = False
        self._closed = False
        self._ref = True
        # The rest of a batch cut short by stop().
        self._pending: list[Run] | None = None
        # pyuv's own reading, when there was no descriptor left for the dup.
        self._fallback: Receiver | None = None
        self._sends: SendBatch | None = None

    def start(self) -> None:
        """Begin reading; idempotent."""
        if self._fallback is not None:
            self._fallback.start()
            return
        if self._reading or self._closed:
            return
        loop = self._sock._loop
        if self._poll is None:
            self._batch = _loop_batch(loop)
            self._sends = loop_batch(loop)
            try:
                fd = os.dup(self._sock._handle.fileno())
            except OSError as exc:
                if exc.errno not in (errno.EMFILE, errno.ENFILE):
                    raise
                # The dup doubles the descriptors per socket; at the limit,
                # read through pyuv instead: slower, the same events.
                from ._receive import PyuvReceiver

                self._fallback = PyuvReceiver(self._sock)
                self._fallback.start()
                return
            try:
                poll = pyuv.Poll(loop, fd)
            except BaseException:
                os.close(fd)
                raise
            poll.ref = self._ref
            self._fd, self._poll = fd, poll
        self._poll.start(pyuv.UV_READABLE, self._on_readable)
        self._reading = True
        if self._pending is not None:
            # Not synchronously from start(): listeners never run inside a
            # method call, and a quiet socket gives no poll callback.
            call_later(loop, self._resume)

    def stop(self) -> None:
        """Stop reading; idempotent.  The socket stays bound; start() may follow."""
        if self._fallback is not None:
            self._fallback.stop()
        elif self._reading:
            self._reading = False
            self._poll.stop()  # type: ignore[union-attr]

    def close(self) -> None:
        """Stop, and release the Poll handle and the dup'd descriptor.

        Call it in the same synchronous step as closing the UDP handle: until
        the dup'd descriptor is closed here, it keeps the socket (and its
        port) open.
        """
        self._closed = True
        self._reading = False
        self._pending = None
        if self._fallback is not None:
            self._fallback.close()
        poll, self._poll = self._poll, None
        if poll is not None:
            poll.close()
            lib.dgram_uv_epoll_forget(self._sock._loop.fileno(), self._fd)
            os.close(self._fd)
            self._fd = -1

    def set_ref(self, flag: bool) -> None:
        """Whether reading keeps the loop alive (Socket.ref()/unref())."""
        self._ref = flag
        if self._poll is not None:
            self._poll.ref = flag

    def _on_readable(self, _handle: Any, _events: int | None, error: int | None) -> None:
        if not self._reading:
            return
        sock = self._sock
        if error is not None:
            # libuv 1.13's uv_poll turns EPOLLERR (a pending socket error,
            # such as ICMP port unreachable on a connected socket) into
            # UV_EBADF and stops itself.  Watch again; the read below fetches
            # (and clears) the real error.
            self._poll.start(pyuv.UV_READABLE, self._on_readable)  # type: ignore[union-attr]
        if self._pending is not None:
            self._resume()
            if not self._reading:
                return
        batch = self._batch
        n = lib.dgram_uv_recv(batch.c, self._fd)  # type: ignore[union-attr]
        if n <= 0:
            if n < 0:
                sock._receive_failed(n, "recvmmsg")
            return
        sock._idle_seen = True
        self._deliver(_unpack(batch, n))  # type: ignore[arg-type]

    def _resume(self) -> None:
        """Deliver what a stop() cut short, before anything newer."""
        if self._reading and self._pending is not None:
            runs, self._pending = self._pending, None
            self._deliver(runs)

    def _deliver(self, runs: list[Run]) -> None:
        """Emit the runs with the loop's sends held, so that replies made by
        the listeners go out together (see _sendmany.py)."""
        sends = self._sends
        if sends is None:
            self._emit(runs)
            return
        sends.hold()
        try:
            self._emit(runs)
        finally:
            sends.release()

    def _emit(self, runs: list[Run]) -> None:
        """Emit 'message' for each datagram of each run."""
        listeners = self._sock._events.get  # asked anew per datagram: they may change
        for k, (template, msgs) in enumerate(runs):
            rest = iter(msgs)
            for msg in rest:
                rinfo = template.copy()  # cheaper than building a dict
                rinfo["size"] = len(msg)
                try:
                    for fn in listeners("message", ()):
                        fn(msg, rinfo)
                except Exception:
                    # As emit() would: this datagram's other listeners are
                    # skipped; the next datagram is delivered.
                    report_exception(self._sock._loop)
                if not self._reading:
                    self._cut_short([(template, tuple(rest)), *runs[k + 1:]])
                    return

    def _cut_short(self, runs: list[Run]) -> None:
        runs = [run for run in runs if run[1]]
        if runs and not self._closed:
            self._pending = runs


def _unpack(batch: _LoopBatch, n: int) -> list[Run]:
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
