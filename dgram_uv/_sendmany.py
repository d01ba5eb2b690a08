"""Batched sending: many datagrams per sendmmsg(2) while dgram_uv runs user code.

dgram_uv calls user code in loops of its own: the 'message' listeners of a
batch of received datagrams, and the deferred calls of a loop iteration
(send callbacks among them).  While such a window is open, sends are held
per loop; when it closes they go out together, one sendmmsg call for each run
of sends from the same socket, instead of one system call each.  The first
send of a window goes straight out (try_send), so a lone reply, as in a
request-response exchange, pays nothing for batching; so does every send made
outside a window (a timer, top-level code).

Only what the socket needs is here: the per-loop queue, the window count,
and the encoding of destinations.  Sending, and reporting results, is the
socket's (``Socket._send_run``).
"""

from __future__ import annotations

import socket
import struct
from typing import TYPE_CHECKING, Any

import pyuv

if TYPE_CHECKING:
    from ._socket import Socket

try:
    from ._batch_c import ffi, lib

    AVAILABLE = hasattr(lib, "dgram_uv_sendmmsg")
except ImportError:  # the helper was not built: every send goes straight out
    ffi = lib = None
    AVAILABLE = False

_ATTR = "_dgram_uv_sendmany"

# A held send: (socket, payload, host, port, callback).
Held = tuple["Socket", bytes, str, int, Any]


class SendBatch:
    """The held sends of one loop, and how many windows are open."""

    __slots__ = ("depth", "held", "opened")

    def __init__(self) -> None:
        self.depth = 0
        self.held: list[Held] = []
        self.opened = False  # a send went straight out in this window

    def hold(self) -> None:
        """Open a window: sends after its first are held until the
        matching release()."""
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
            start = 0
            for i in range(1, len(held) + 1):
                if i == len(held) or held[i][0] is not held[start][0]:
                    held[start][0]._send_run(held[start:i])
                    start = i


def loop_batch(loop: pyuv.Loop) -> SendBatch | None:
    """The loop's SendBatch, or None when the compiled helper is missing."""
    if not AVAILABLE:
        return None
    batch = loop.__dict__.get(_ATTR)
    if batch is None:
        batch = SendBatch()
        setattr(loop, _ATTR, batch)
    return batch


_SOCKADDRS: dict[tuple[str, int], bytes] = {}  # (host, port) -> struct sockaddr, bounded
_FAMILY = struct.pack("=H", socket.AF_INET), struct.pack("=H", socket.AF_INET6)


def sockaddr(host: str, port: int) -> bytes:
    """``struct sockaddr_in`` or ``sockaddr_in6`` for an IP literal, as bytes."""
    key = (host, port)
    found = _SOCKADDRS.get(key)
    if found is None:
        if ":" in host:
            found = (_FAMILY[1] + port.to_bytes(2, "big") + bytes(4)
                     + socket.inet_pton(socket.AF_INET6, host) + bytes(4))
        else:
            found = (_FAMILY[0] + port.to_bytes(2, "big")
                     + socket.inet_pton(socket.AF_INET, host) + bytes(8))
        if len(_SOCKADDRS) >= 4096:
            _SOCKADDRS.clear()
        _SOCKADDRS[key] = found
    return found


def sendmmsg(fd: int, payloads: list[bytes], addrs: list[bytes], first: int) -> int:
    """One sendmmsg call for ``payloads[first:]`` (all of one address family).

    Returns how many were sent (at least one), or a negative errno for
    ``payloads[first]``.
    """
    data = b"".join(payloads[first:])
    lens = ffi.new("uint32_t[]", [len(p) for p in payloads[first:]])
    names = b"".join(addrs[first:])
    return int(lib.dgram_uv_sendmmsg(fd, ffi.from_buffer(data), lens,
                                     ffi.from_buffer(names), len(addrs[first]),
                                     len(payloads) - first))

