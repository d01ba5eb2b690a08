"""dgram_uv: luvit's ``dgram`` module for Python, on a pyuv loop.

>>> import dgram_uv
>>> server = dgram_uv.createSocket('udp4', lambda msg, rinfo: print(msg, rinfo['port']))
>>> server.bind(41234, '127.0.0.1')          # doctest: +SKIP
>>> dgram_uv.run()                           # doctest: +SKIP

docs/api.md is the reference; the names are luvit's (camelCase), each with a
snake_case alias.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyuv

from ._blocklist import BlockList
from ._emitter import Emitter
from ._errors import (
    DgramError,
    DgramOSError,
    DgramStateError,
    DgramTypeError,
    DgramValueError,
)
from ._socket import Socket
from ._validators import check_callback, socket_type

__all__ = [
    "BlockList",
    "DgramError",
    "DgramOSError",
    "DgramStateError",
    "DgramTypeError",
    "DgramValueError",
    "Emitter",
    "Socket",
    "createSocket",
    "create_socket",
    "run",
]

__version__ = "0.1.0"


MessageListener = Callable[[bytes, dict[str, Any]], Any]


def createSocket(type: Any = "udp4", callback: MessageListener | None = None,
                 *, loop: pyuv.Loop | None = None) -> Socket:
    """A new UDP socket.

    ``type`` is 'udp4' (the default, as in luvit), 'udp6' or a dict with
    'type' and optional 'reuseAddr', 'reusePort', 'ipv6Only',
    'recvBufferSize', 'sendBufferSize', 'lookup', 'receiveBlockList',
    'sendBlockList'.  ``callback`` is added with ``on('message', callback)``.  ``loop``
    defaults to ``pyuv.Loop.default_loop()``.
    """
    family, options = socket_type(type)
    callback = check_callback(callback)
    if loop is None:
        loop = pyuv.Loop.default_loop()
    elif not isinstance(loop, pyuv.Loop):
        from ._errors import describe, misuse

        raise misuse("ERR_INVALID_ARG_TYPE", name="loop", expected="a pyuv.Loop",
                     received=describe(loop))
    sock = Socket(family, options, loop)
    if callback is not None:
        sock.on("message", callback)
    return sock


create_socket = createSocket


def run(loop: pyuv.Loop | None = None) -> None:
    """Run ``loop`` (default: pyuv's default loop) until nothing keeps it alive."""
    (loop or pyuv.Loop.default_loop()).run(pyuv.UV_RUN_DEFAULT)
