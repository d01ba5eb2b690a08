"""Receiving: recvStart/recvStop, listeners, errors in listeners, both receivers."""

from __future__ import annotations

import errno
from typing import Any

import pytest

import dgram_uv
from conftest import run_for, run_until
from dgram_uv._receive import PyuvReceiver


def _batch_available() -> bool:
    from dgram_uv._batch import AVAILABLE

    return AVAILABLE


def test_fallback_can_be_forced(loop, receiver_kind: str) -> None:
    s = dgram_uv.createSocket("udp4", loop=loop)
    if receiver_kind == "pyuv":
        assert isinstance(s._inbox._receiver, PyuvReceiver)
    else:
        assert not isinstance(s._inbox._receiver, PyuvReceiver) or not _batch_available()
    s.close()


@pytest.mark.parametrize(("kind", "host"), [("udp4", "127.0.0.1"), ("udp6", "::1")])
def test_many_datagrams_arrive_once_in_order(loop, receiver_kind: str, kind: str,
                                             host: str) -> None:
    got: list[bytes] = []
    sizes: list[int] = []

    def on_message(msg: bytes, rinfo: dict[str, Any]) -> None:
        got.append(msg)
        sizes.append(rinfo["size"])

    server = dgram_uv.createSocket({"type": kind, "recvBufferSize": 4 << 20}, on_message,
                                   loop=loop).bind(0, host)
    client = dgram_uv.createSocket(kind, loop=loop)
    port = server.address()["port"]
    for i in range(1000):
        client.send(b"%d" % i, port, host)
    assert run_until(loop, lambda: len(got) == 1000, timeout=10)
    assert got == [b"%d" % i for i in range(1000)]
    assert sizes == [len(m) for m in got]
    server.close()
    client.close()


def test_largest_and_empty_datagrams(loop, receiver_kind: str) -> None:
    got: list[bytes] = []
    server = dgram_uv.createSocket("udp4", lambda m, r: got.append(m), loop=loop)
    server.bind(0, "127.0.0.1")
    client = dgram_uv.createSocket("udp4", loop=loop)
    big = bytes(range(256)) * 255 + b"x" * 227  # 65507 bytes, the IPv4 maximum
    assert len(big) == 65507
    client.send(big, server.address()["port"])
    client.send(b"", server.address()["port"])
    assert run_until(loop, lambda: len(got) == 2)
    assert got == [big, b""]
    server.close()
    client.close()


def test_recv_stop_and_start(loop, receiver_kind: str) -> None:
    got: list[bytes] = []
    server = dgram_uv.createSocket("udp4", lambda m, r: got.append(m), loop=loop)
    server.bind(0, "127.0.0.1")
    port = server.address()["port"]
    client = dgram_uv.createSocket("udp4", loop=loop)
    server.recvStop()
    server.recvStop()  # idempotent
    client.send(b"while stopped", port)
    run_for(loop, 0.2)
    assert got == []
    assert server.address()["port"] == port  # still bound
    server.recvStart()
    server.recvStart()  # idempotent
    assert run_until(loop, lambda: got == [b"while stopped"])  # waited in the kernel
    server.close()
    client.close()


def test_recv_start_on_unbound_socket_binds_to_wildcard(loop, receiver_kind: str) -> None:
    got: list[bytes] = []
    listening: list[bool] = []
    s = dgram_uv.createSocket("udp4", lambda m, r: got.append(m), loop=loop)
    s.on("listening", lambda: listening.append(True))
    s.recvStart()
    addr = s.address()
    assert addr["address"] == "0.0.0.0" and addr["port"] > 0
    client = dgram_uv.createSocket("udp4", loop=loop)
    client.send(b"hey", addr["port"], "127.0.0.1")
    assert run_until(loop, lambda: got == [b"hey"] and listening == [True])
    s.close()
    client.close()


def test_raising_listener_reports_and_later_datagrams_still_arrive(loop,
                                                                  receiver_kind: str) -> None:
    got: list[bytes] = []

    def listener(msg: bytes, rinfo: dict[str, Any]) -> None:
        got.append(msg)
        if msg == b"boom":
            raise RuntimeError("listener failed")

    server = dgram_uv.createSocket("udp4", listener, loop=loop).bind(0, "127.0.0.1")
    client = dgram_uv.createSocket("udp4", loop=loop)
    for m in (b"a", b"boom", b"b", b"c"):
        client.send(m, server.address()["port"])
    assert run_until(loop, lambda: len(got) == 4)
    assert got == [b"a", b"boom", b"b", b"c"]
    assert len(loop.errors) == 1 and str(loop.errors[0]) == "listener failed"
    loop.errors.clear()
    server.close()
    client.close()


def test_second_listener_and_listener_changes_take_effect(loop, receiver_kind: str) -> None:
    first: list[bytes] = []
    second: list[bytes] = []
    server = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1")
    port = server.address()["port"]

    def add_second(msg: bytes, rinfo: dict[str, Any]) -> None:
        first.append(msg)
        if msg == b"1":
            server.on("message", lambda m, r: second.append(m))

    server.on("message", add_second)
    client = dgram_uv.createSocket("udp4", loop=loop)
    for m in (b"1", b"2", b"3"):
        client.send(m, port)
    assert run_until(loop, lambda: len(first) == 3 and len(second) == 2)
    assert second == [b"2", b"3"]  # the listener added while handling "1" hears the rest
    server.close()
    client.close()


def test_no_message_listener_drops_nothing_of_the_socket(loop, receiver_kind: str) -> None:
    server = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1")
    client = dgram_uv.createSocket("udp4", loop=loop)
    client.send(b"unheard", server.address()["port"])
    run_for(loop, 0.1)
    got: list[bytes] = []
    server.on("message", lambda m, r: got.append(m))
    client.send(b"heard", server.address()["port"])
    assert run_until(loop, lambda: got == [b"heard"])
    server.close()
    client.close()


def test_close_from_a_listener_stops_delivery(loop, receiver_kind: str) -> None:
    got: list[bytes] = []
    closed: list[bool] = []
    server = dgram_uv.createSocket({"type": "udp4", "recvBufferSize": 1 << 20}, loop=loop)

    def listener(msg: bytes, rinfo: dict[str, Any]) -> None:
        got.append(msg)
        if msg == b"5":
            server.close(lambda: closed.append(True))

    server.on("message", listener).bind(0, "127.0.0.1")
    client = dgram_uv.createSocket("udp4", loop=loop)
    for i in range(20):
        client.send(b"%d" % i, server.address()["port"])
    assert run_until(loop, lambda: closed == [True])
    run_for(loop, 0.1)
    assert got == [b"%d" % i for i in range(6)]
    client.close()



def test_sockets_in_the_upper_half_of_the_descriptor_limit_read_through_pyuv(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import dgram_uv._receive as receive

    monkeypatch.setattr(receive.resource, "getrlimit", lambda _which: (1000, 4096))
    assert receive._descriptor_to_spare(499)
    assert not receive._descriptor_to_spare(500)
    monkeypatch.setattr(receive.resource, "getrlimit",
                        lambda _which: (receive.resource.RLIM_INFINITY,) * 2)
    assert receive._descriptor_to_spare(10**6)


def test_out_of_descriptors_falls_back_to_the_pyuv_receiver(
        loop, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the batch receiver cannot get its second descriptor (EMFILE), the
    socket still binds and receives, through pyuv on its own descriptor."""
    batch = pytest.importorskip("dgram_uv._batch")
    if not batch.AVAILABLE:
        pytest.skip("the batch receiver's helper is not built")

    def no_more_descriptors(_fd: int) -> int:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(batch.os, "dup", no_more_descriptors)
    got: list[bytes] = []
    s = dgram_uv.createSocket("udp4", lambda m, r: got.append(m), loop=loop)
    s.bind(0, "127.0.0.1")
    assert type(s._inbox._receiver._fallback) is PyuvReceiver
    dgram_uv.createSocket("udp4", loop=loop).send(b"still here", s.address()["port"])
    assert run_until(loop, lambda: got == [b"still here"])
    s.close()
