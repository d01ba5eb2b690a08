"""snake_case aliases are the same functions as the camelCase API."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import dgram_uv
from dgram_uv._aliases import snake_case

API = Path(__file__).resolve().parents[2] / "shared" / "API.md"

SOCKET_METHODS = [
    "bind", "send", "recvStart", "recvStop", "close", "address", "setBroadcast", "setTTL",
    "setMulticastTTL", "setMulticastLoopback", "setMulticastInterface", "addMembership",
    "dropMembership", "setMembership", "setTimeout", "ref", "unref", "connect", "disconnect",
    "remoteAddress", "setRecvBufferSize", "setSendBufferSize", "getRecvBufferSize",
    "getSendBufferSize", "on", "once", "emit", "removeListener", "off", "removeAllListeners",
    "listeners", "listenerCount", "propagate", "wrap",
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


@pytest.mark.skipif(not API.exists(), reason="API.md not beside the repository")
def test_every_method_in_api_md_exists() -> None:
    names = set(re.findall(r"`(\w+)\(", API.read_text()))
    missing = [n for n in names if not hasattr(dgram_uv.Socket, n) and not hasattr(dgram_uv, n)
               and n not in {"dict", "str", "type", "fn", "callback"}]
    assert not missing


def test_module_exports() -> None:
    for name in ("createSocket", "Socket", "Emitter", "DgramError", "run"):
        assert name in dgram_uv.__all__
        assert hasattr(dgram_uv, name)
