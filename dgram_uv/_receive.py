"""Receivers: what reads datagrams for a bound socket.

Two interchangeable implementations with one interface (:class:`Receiver`).
Both only read, and hand what they read to the socket's inbox
(_inbox.Inbox: ``deliver(runs)``, ``failed(status)``), which emits it:

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

import pyuv

from ._resolve import FAMILY_NAMES, scoped

if TYPE_CHECKING:
    from ._context import LoopContext
    from ._inbox import Inbox


class Receiver(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...
    def set_ref(self, flag: bool) -> None: ...


class PyuvReceiver:
    """Reads through ``pyuv.UDP.start_recv``: one Python call per datagram."""

    __slots__ = ("_family", "_handle", "_inbox", "_reading")

    def __init__(self, handle: pyuv.UDP, family: int, inbox: Inbox) -> None:
        self._handle = handle
        self._inbox = inbox
        self._family = FAMILY_NAMES[family]
        self._reading = False

    def start(self) -> None:
        if not self._reading:
            self._handle.start_recv(self._on_datagram)
            self._reading = True

    def stop(self) -> None:
        if self._reading:
            self._reading = False
            if not self._handle.closed:  # not closed under us (a sweep of the loop's handles)
                self._handle.stop_recv()

    def close(self) -> None:
        self.stop()

    def set_ref(self, flag: bool) -> None:
        pass  # reading through the UDP handle: its own ref is the socket's

    def _on_datagram(self, _handle: Any, addr: tuple[Any, ...] | None, _flags: int,
                     data: bytes | None, error: int | None) -> None:
        if error is not None:
            self._inbox.failed(error)
            return
        if addr is None or data is None:  # libuv's "nothing more to read"
            return
        host = addr[0] if len(addr) < 4 or not addr[3] else scoped(addr[0], addr[3])
        self._inbox.deliver_one(data, {"address": host, "family": self._family,
                                       "port": addr[1], "size": len(data), "ip": host})


def _descriptor_to_spare(fd: int) -> bool:
    """Whether a socket with descriptor ``fd`` may take a second one.

    The batch receiver reads through a dup() of the socket's descriptor.  So
    that dups never take more than half of the descriptors the process may
    open, sockets whose own descriptor lies in the upper half read through
    pyuv instead: 10,000 sockets then fit under a limit of 20,000.
    """
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft == resource.RLIM_INFINITY or fd < soft // 2


def make_receiver(handle: pyuv.UDP, family: int, inbox: Inbox,
                  context: LoopContext) -> Receiver:
    """The batch receiver where the helper is built (and a descriptor can be
    spared), else the pyuv one."""
    def fallback() -> Receiver:
        return PyuvReceiver(handle, family, inbox)

    if (os.environ.get("DGRAM_UV_RECEIVER", "") != "pyuv"
            and _descriptor_to_spare(handle.fileno())):
        from ._batch import AVAILABLE, BatchReceiver

        if AVAILABLE:
            return BatchReceiver(handle, inbox, context, fallback)
    return fallback()
