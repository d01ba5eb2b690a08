"""connect / disconnect / remoteAddress (Node 12's connected sockets)."""

from __future__ import annotations

from typing import Any

import pytest

import dgram_uv
from conftest import run_until
from dgram_uv import DgramOSError, DgramStateError


def bound(loop, kind: str = "udp4", host: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    got: list[tuple[bytes, dict[str, Any]]] = []
    s = dgram_uv.createSocket(kind, lambda m, r: got.append((m, dict(r))), loop=loop)
    return s.bind(0, host), got


@pytest.mark.parametrize(("kind", "host"), [("udp4", "127.0.0.1"), ("udp6", "::1")])
def test_connected_send_needs_no_address_and_only_peer_datagrams_arrive(loop, kind: str,
                                                                         host: str) -> None:
    peer, peer_got = bound(loop, kind, host)
    stranger, _ = bound(loop, kind, host)
    client, client_got = bound(loop, kind, host)
    connected: list[bool] = []
    client.connect(peer.address()["port"], host, lambda: connected.append(True))
    assert run_until(loop, lambda: connected == [True])
    assert client.remoteAddress() == {"address": host, "ip": host, "port": peer.address()["port"],
                                      "family": "IPv4" if kind == "udp4" else "IPv6"}
    sent: list[object] = []
    client.send(b"to peer", callback=sent.append)
    client.send(b"second")
    assert run_until(loop, lambda: len(peer_got) == 2 and sent == [None])
    assert [m for m, _ in peer_got] == [b"to peer", b"second"]
    stranger.send(b"from stranger", client.address()["port"], host)
    peer.send(b"from peer", client.address()["port"], host)
    assert run_until(loop, lambda: len(client_got) >= 1)
    assert [m for m, _ in client_got] == [b"from peer"]
    with pytest.raises(DgramStateError) as info:
        client.send(b"x", peer.address()["port"], host)
    assert info.value.code == "ERR_SOCKET_DGRAM_IS_CONNECTED"
    with pytest.raises(DgramStateError) as again:
        client.connect(peer.address()["port"], host)
    assert again.value.code == "ERR_SOCKET_DGRAM_IS_CONNECTED"
    for s in (peer, stranger, client):
        s.close()


def test_connect_unbound_socket_binds_and_sends_wait_until_connected(loop) -> None:
    peer, peer_got = bound(loop)
    client = dgram_uv.createSocket("udp4", loop=loop)
    events: list[str] = []
    client.on("listening", lambda: events.append("listening"))
    client.on("connect", lambda: events.append("connect"))
    client.connect(peer.address()["port"], "localhost")
    client.send(b"queued")  # sent once connected
    assert run_until(loop, lambda: events == ["listening", "connect"] and len(peer_got) == 1)
    assert peer_got[0][0] == b"queued"
    assert peer_got[0][1]["port"] == client.address()["port"]
    peer.close()
    client.close()


def test_disconnect(loop) -> None:
    peer, _ = bound(loop)
    other, other_got = bound(loop)
    client, _ = bound(loop)
    connected: list[bool] = []
    client.connect(peer.address()["port"], "127.0.0.1", lambda: connected.append(True))
    assert run_until(loop, lambda: connected == [True])
    assert client.remoteAddress()["port"] == peer.address()["port"]
    client.disconnect()
    with pytest.raises(DgramStateError) as info:
        client.remoteAddress()
    assert info.value.code == "ERR_SOCKET_DGRAM_NOT_CONNECTED"
    with pytest.raises(DgramStateError) as again:
        client.disconnect()
    assert again.value.code == "ERR_SOCKET_DGRAM_NOT_CONNECTED"
    client.send(b"anywhere", other.address()["port"], "127.0.0.1")
    assert run_until(loop, lambda: len(other_got) == 1)
    for s in (peer, other, client):
        s.close()


def test_connect_errors(loop) -> None:
    s = dgram_uv.createSocket("udp4", loop=loop)
    failures: list[object] = []
    s.connect(9, "no-such-host.invalid", lambda err=None: failures.append(err))
    assert run_until(loop, lambda: bool(failures), timeout=10)
    assert isinstance(failures[0], DgramOSError) and failures[0].syscall == "getaddrinfo"
    with pytest.raises(DgramStateError):
        s.remoteAddress()
    errors: list[object] = []
    s.on("error", errors.append)
    s.connect(9, "no-such-host.invalid")  # no callback: emitted
    assert run_until(loop, lambda: bool(errors), timeout=10)
    with pytest.raises(dgram_uv.DgramValueError):
        s.connect(0)
    s.close()
    with pytest.raises(DgramStateError) as info:
        s.connect(9)
    assert info.value.code == "ERR_SOCKET_DGRAM_NOT_RUNNING"


def test_connect_waiting_for_a_failed_bind_fails_with_it(loop) -> None:
    taken = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1")
    s = dgram_uv.createSocket("udp4", loop=loop)
    errors: list[object] = []
    results: list[object] = []
    s.on("error", errors.append)
    s.bind(taken.address()["port"], "localhost")  # resolves, then EADDRINUSE
    s.connect(taken.address()["port"], "127.0.0.1", lambda err=None: results.append(err))
    assert run_until(loop, lambda: bool(errors) and bool(results))
    assert isinstance(results[0], DgramOSError) and results[0].code == "EADDRINUSE"
    assert errors[0] is results[0]
    with pytest.raises(DgramStateError):
        s.remoteAddress()
    connected: list[bool] = []
    s.connect(taken.address()["port"], "127.0.0.1", lambda: connected.append(True))
    assert run_until(loop, lambda: connected == [True])  # a new attempt works
    assert s.remoteAddress()["port"] == taken.address()["port"]
    s.close()
    taken.close()
