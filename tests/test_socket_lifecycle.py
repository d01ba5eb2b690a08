"""close, 'close', context manager, ref/unref, run(), and the closed state."""

from __future__ import annotations

import time

import pytest
import pyuv

import dgram_uv
from conftest import open_fds, run_for, run_until
from dgram_uv import DgramStateError


def test_close_emits_close_later_and_calls_callback(loop) -> None:
    s = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1")
    events: list[str] = []
    s.on("close", lambda: events.append("event"))
    assert s.close(lambda: events.append("callback")) is s
    assert events == []
    assert run_until(loop, lambda: len(events) == 2)
    assert sorted(events) == ["callback", "event"]


def test_second_close_is_a_no_op_whose_callback_still_runs(loop) -> None:
    s = dgram_uv.createSocket("udp4", loop=loop)
    calls: list[str] = []
    s.on("close", lambda: calls.append("event"))
    s.close(lambda: calls.append("first"))
    s.close(lambda: calls.append("second"))
    assert run_until(loop, lambda: len(calls) == 3)
    s.close(lambda: calls.append("third"))  # after 'close' was emitted
    assert run_until(loop, lambda: "third" in calls)
    assert calls.count("event") == 1


@pytest.mark.parametrize("method,args", [
    ("bind", (0,)), ("send", (b"x", 9)), ("recvStart", ()), ("recvStop", ()), ("address", ()),
    ("setBroadcast", (True,)), ("setTTL", (5,)), ("setMulticastTTL", (1,)),
    ("setMulticastLoopback", (True,)), ("setMulticastInterface", ("127.0.0.1",)),
    ("addMembership", ("239.1.1.1",)), ("dropMembership", ("239.1.1.1",)),
    ("setMembership", ("239.1.1.1", "join")), ("setTimeout", (10,)), ("ref", ()),
    ("unref", ()), ("connect", (9,)), ("disconnect", ()), ("remoteAddress", ()),
    ("setRecvBufferSize", (4096,)), ("setSendBufferSize", (4096,)), ("getRecvBufferSize", ()),
    ("getSendBufferSize", ()),
])
def test_every_method_but_close_raises_after_close(loop, method: str, args: tuple) -> None:
    s = dgram_uv.createSocket("udp4", loop=loop)
    s.close()
    with pytest.raises(DgramStateError) as info:
        getattr(s, method)(*args)
    assert info.value.code == "ERR_SOCKET_DGRAM_NOT_RUNNING"


def test_context_manager_closes(loop) -> None:
    with dgram_uv.createSocket("udp4", loop=loop) as s:
        s.bind(0, "127.0.0.1")
    closed: list[bool] = []
    s.close(lambda: closed.append(True))
    assert run_until(loop, lambda: closed == [True])
    with pytest.raises(DgramStateError):
        s.address()


def test_close_releases_descriptors(loop) -> None:
    before = open_fds()
    socks = [dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1") for _ in range(50)]
    for s in socks:
        s.recvStart()
    assert open_fds() >= before + 50
    for s in socks:
        s.close()
    run_for(loop, 0.05)
    assert open_fds() == before


def test_unref_lets_the_loop_exit_and_ref_restores(loop) -> None:
    s = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1")
    assert s.unref() is s
    run_for(loop, 0.05)  # let 'listening' be delivered
    start = time.monotonic()
    loop.run(pyuv.UV_RUN_DEFAULT)  # returns at once: nothing keeps the loop alive
    assert time.monotonic() - start < 1.0
    assert s.ref() is s
    stopper = pyuv.Timer(loop)
    stopper.start(lambda t: loop.stop(), 0.2, 0)
    stopper.ref = False
    start = time.monotonic()
    loop.run(pyuv.UV_RUN_DEFAULT)  # held open by the socket until the stopper
    assert time.monotonic() - start >= 0.15
    stopper.close()
    s.close()


def test_run_uses_the_given_loop(loop) -> None:
    s = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1")
    got: list[bytes] = []
    s.on("message", lambda m, r: (got.append(m), s.close()))
    dgram_uv.createSocket("udp4", loop=loop).unref().send(b"x", s.address()["port"])
    guard = pyuv.Timer(loop)
    guard.start(lambda t: loop.stop(), 3, 0)
    guard.ref = False
    dgram_uv.run(loop)
    guard.close()
    assert got == [b"x"]


def test_default_loop_is_used_without_loop_argument() -> None:
    s = dgram_uv.createSocket("udp4")
    assert s._loop is pyuv.Loop.default_loop()
    s.close()
    run_for(pyuv.Loop.default_loop(), 0.05)


def test_create_socket_rejects_bad_arguments() -> None:
    with pytest.raises(dgram_uv.DgramTypeError) as info:
        dgram_uv.createSocket("tcp")
    assert info.value.code == "ERR_SOCKET_BAD_TYPE"
    with pytest.raises(dgram_uv.DgramTypeError):
        dgram_uv.createSocket("udp4", "not callable")
    with pytest.raises(dgram_uv.DgramTypeError):
        dgram_uv.createSocket("udp4", loop="not a loop")


def test_a_failed_option_at_creation_leaves_no_descriptor(loop, monkeypatch) -> None:
    def refuse(self, size):  # type: ignore[no-untyped-def]
        raise dgram_uv.DgramOSError(-12, "setRecvBufferSize")  # ENOMEM

    monkeypatch.setattr(dgram_uv.Socket, "setRecvBufferSize", refuse)
    before = open_fds()
    with pytest.raises(dgram_uv.DgramOSError):
        dgram_uv.createSocket({"type": "udp4", "recvBufferSize": 1 << 20}, loop=loop)
    run_for(loop, 0.05)
    assert open_fds() == before
