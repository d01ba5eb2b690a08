"""snake_case aliases are the same functions as the camelCase API."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import dgram_uv
from dgram_uv._aliases import snake_case

API = Path(__file__).resolve().parents[1] / "docs" / "api.md"
# Words in the reference written like calls that are not methods of ours.
NOT_METHODS = {"dict", "str", "type", "fn", "callback", "lookup", "assert", "recvmmsg",
               "sendmmsg"}

SOCKET_METHODS = [
    "bind", "send", "recvStart", "recvStop", "close", "address", "setBroadcast", "setTTL",
    "setMulticastTTL", "setMulticastLoopback", "setMulticastInterface", "addMembership",
    "dropMembership", "setMembership", "setTimeout", "ref", "unref", "connect", "disconnect",
    "remoteAddress", "setRecvBufferSize", "setSendBufferSize", "getRecvBufferSize",
    "getSendBufferSize", "on", "once", "emit", "removeListener", "off", "removeAllListeners",
    "listeners", "listenerCount", "propagate", "wrap", "getSendQueueSize", "getSendQueueCount",
    "addSourceSpecificMembership", "dropSourceSpecificMembership",
]


@pytest.mark.parametrize("name", SOCKET_METHODS)
def test_socket_method_and_alias(name: str) -> None:
    method = getattr(dgram_uv.Socket, name)
    assert callable(method)
    assert getattr(dgram_uv.Socket, snake_case(name)) is method


def test_examples_of_alias_names() -> None:
    assert dgram_uv.Socket.recv_start is dgram_uv.Socket.recvStart
    assert dgram_uv.Socket.set_multicast_ttl is dgram_uv.Socket.setMulticastTTL
    assert dgram_uv.Socket.remove_all_listeners is dgram_uv.Socket.removeAllListeners
    assert dgram_uv.create_socket is dgram_uv.createSocket


def test_every_method_in_the_reference_exists() -> None:
    names = set(re.findall(r"`(\w+)\(", API.read_text()))
    owners = (dgram_uv.Socket, dgram_uv, dgram_uv.BlockList)
    missing = [n for n in names - NOT_METHODS if not any(hasattr(o, n) for o in owners)]
    assert names and not missing


def test_module_exports() -> None:
    for name in ("createSocket", "Socket", "Emitter", "DgramError", "run", "BlockList"):
        assert name in dgram_uv.__all__
        assert hasattr(dgram_uv, name)
