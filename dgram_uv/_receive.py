"""Receivers: what reads datagrams for a bound socket and emits 'message'.

Two interchangeable implementations with one interface (start, stop, close):

* ``BatchReceiver`` (_batch.py): recvmmsg through a small compiled helper,
  many datagrams per wake-up; used when the helper was built.
* ``PyuvReceiver`` (here): pyuv's ``UDP.start_recv``, one datagram per
  callback; the fallback where the helper cannot be built, and the reference
  the batch path is tested against.

Set ``DGRAM_UV_RECEIVER=pyuv`` in the environment to force the fallback.
"""

from __future__ import annotations

import os
import resource
from typing import TYPE_CHECKING, Any, Protocol

from ._resolve import FAMILY_NAMES

if TYPE_CHECKING:
    from ._socket import Socket


class Receiver(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...


class PyuvReceiver:
    """Reads through ``pyuv.UDP.start_recv``: one Python call per datagram."""

    def __init__(self, sock: Socket) -> None:
        self._sock = sock
        self._family = FAMILY_NAMES[sock._family]
        self._reading = False

    def start(self) -> None:
        if not self._reading:
            self._sock._handle.start_recv(self._on_datagram)
            self._reading = True

    def stop(self) -> None:
        if self._reading:
            self._reading = False
            self._sock._handle.stop_recv()

    def close(self) -> None:
        self.stop()

    def _on_datagram(self, _handle: Any, addr: tuple[Any, ...] | None, _flags: int,
                     data: bytes | None, error: int | None) -> None:
        # The hot path.  A listener's exception propagates to pyuv, which
        # hands it to loop.excepthook; libuv never sees it.
        sock = self._sock
        if error is not None:
            sock._receive_failed(error, "recvmsg")
            return
        sock._idle_seen = True
        listeners = sock._events.get("message")
        if listeners:
            host = addr[0]  # type: ignore[index]
            rinfo = {"address": host, "family": self._family, "port": addr[1],  # type: ignore[index]
                     "size": len(data), "ip": host}  # type: ignore[arg-type]
            for fn in listeners:
                fn(data, rinfo)


def _descriptor_to_spare(fd: int) -> bool:
    """Whether a socket with descriptor ``fd`` may take a second one.

    The batch receiver reads through a dup() of the socket's descriptor.  So
    that dups never take more than half of the descriptors the process may
    open, sockets whose own descriptor lies in the upper half read through
    pyuv instead: 10,000 sockets then fit under a limit of 20,000.
    """
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft == resource.RLIM_INFINITY or fd < soft // 2


def make_receiver(sock: Socket) -> Receiver:
    """The batch receiver where the helper is built (and a descriptor can be
    spared), else the pyuv one."""
    if (os.environ.get("DGRAM_UV_RECEIVER", "") != "pyuv"
            and _descriptor_to_spare(sock._handle.fileno())):
        try:
            from ._batch import AVAILABLE, BatchReceiver
        except ImportError:
            AVAILABLE = False
        if AVAILABLE:
            return BatchReceiver(sock)
    return PyuvReceiver(sock)
