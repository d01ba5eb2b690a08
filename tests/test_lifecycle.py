"""Regression tests for docs/api.md, "Lifecycle and interruptions": each
case was once a defect (issue 10)."""

from __future__ import annotations

import gc
import socket
import warnings
from typing import Any

import pytest

import dgram_uv
from conftest import run_for, run_until
from dgram_uv import DgramError


def test_a_collected_unclosed_socket_frees_its_port(loop, receiver_kind: str) -> None:
    """Once the dup of the batch receiver outlived its socket: 50 dropped
    sockets held 50 descriptors and 50 ports."""
    ports = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for _ in range(50):
            s = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1")
            ports.append(s.address()["port"])
            s.recvStop()
            del s
        run_for(loop, 0.05)  # 'listening' is emitted: nothing owed to them any more
        gc.collect()
        run_for(loop, 0.05)  # their handles close
    assert sum(issubclass(w.category, ResourceWarning) for w in caught) == 50
    for port in ports:  # each port is free again
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", port))


def test_a_receiving_socket_without_a_reference_keeps_receiving(loop, receiver_kind: str) -> None:
    got: list[bytes] = []
    port = dgram_uv.createSocket("udp4", lambda m, r: got.append(m), loop=loop).bind(
        0, "127.0.0.1").address()["port"]
    gc.collect()
    dgram_uv.createSocket("udp4", loop=loop).send(b"still here", port)
    assert run_until(loop, lambda: got == [b"still here"])


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, SystemExit])
def test_an_interrupting_listener_loses_no_datagram(loop, receiver_kind: str,
                                                    interruption: type) -> None:
    got: list[bytes] = []

    def listener(msg: bytes, rinfo: dict[str, Any]) -> None:
        got.append(msg)
        if msg in (b"3", b"7"):
            raise interruption()

    rx = dgram_uv.createSocket("udp4", listener, loop=loop).bind(0, "127.0.0.1")
    tx = dgram_uv.createSocket("udp4", loop=loop)
    for i in range(10):
        tx.send(b"%d" % i, rx.address()["port"])
    assert run_until(loop, lambda: len(got) == 10)
    run_for(loop, 0.05)
    assert got == [b"%d" % i for i in range(10)]  # each once, in order
    assert [type(e) for e in loop.errors] == [interruption, interruption]
    loop.errors.clear()


def test_an_interrupting_send_callback_loses_no_callback(loop) -> None:
    rx = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1")
    tx = dgram_uv.createSocket("udp4", loop=loop)
    done: list[int] = []

    def callback(i: int) -> Any:
        def called(err: DgramError | None) -> None:
            done.append(i)
            if i == 2:
                raise KeyboardInterrupt
        return called

    for i in range(8):
        tx.send(b"x", rx.address()["port"], callback=callback(i))
    assert run_until(loop, lambda: len(done) == 8)
    run_for(loop, 0.05)
    assert done == list(range(8))
    assert [type(e) for e in loop.errors] == [KeyboardInterrupt]
    loop.errors.clear()


def test_a_failed_connect_spares_a_send_waiting_for_its_own_lookup(loop) -> None:
    """Once failed with the connect's error, then AttributeError inside dgram_uv."""
    rx = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1")
    answers: list[Any] = []
    s = dgram_uv.createSocket({"type": "udp4", "lookup": lambda h, f, cb: answers.append(cb)},
                              loop=loop)
    sent: list[Any] = []
    s.send(b"to a name", rx.address()["port"], "rx.test", sent.append)
    connected: list[Any] = []
    s.connect(9, "nowhere.test", connected.append)
    run_for(loop, 0.02)
    answers[1](OSError(111, "refused"), None)  # the connect's lookup fails
    assert run_until(loop, lambda: len(connected) == 1)
    assert isinstance(connected[0], DgramError)
    assert sent == []  # not failed with the connect's error
    answers[0](None, "127.0.0.1")
    assert run_until(loop, lambda: sent == [None])


def test_ipv4_literal_on_udp6_keeps_the_order_of_held_sends(loop) -> None:
    """Inside a listener, a send to an IPv4 literal once overtook earlier held
    sends to the same peer (wire order 1, 3, 2)."""
    got: list[bytes] = []
    rx = dgram_uv.createSocket("udp4", lambda m, r: got.append(m), loop=loop)
    rx.bind(0, "127.0.0.1")
    port = rx.address()["port"]
    tx = dgram_uv.createSocket("udp6", loop=loop).bind(0, "::")

    def reply(_msg: bytes, _rinfo: dict[str, Any]) -> None:
        tx.send(b"1", port, "::ffff:127.0.0.1")
        tx.send(b"2", port, "::ffff:127.0.0.1")
        tx.send(b"3", port, "127.0.0.1")
        tx.send(b"4", port, "::ffff:127.0.0.1")

    tx.on("message", reply)
    dgram_uv.createSocket("udp6", loop=loop).send(b"go", tx.address()["port"], "::1")
    assert run_until(loop, lambda: len(got) == 4)
    assert got == [b"1", b"2", b"3", b"4"]


class _Node(list):  # type: ignore[type-arg]
    pass


@pytest.mark.parametrize("bad", ["lone \ud800 surrogate", "released", "self-containing"])
def test_odd_arguments_get_coded_errors(loop, bad: str) -> None:
    s = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1")
    if bad == "released":
        view = memoryview(b"abc")
        view.release()
        value: Any = view
    elif bad == "self-containing":
        value = []
        value.append(value)
    else:
        value = bad
    with pytest.raises(DgramError):
        s.send(value, 9)
    if isinstance(value, str):
        with pytest.raises(DgramError):
            s.addMembership(value)
        with pytest.raises(DgramError):
            s.send(b"x", 9, value)
    got: list[bytes] = []
    s.on("message", lambda m, r: got.append(m))
    s.send(b"usable", s.address()["port"])
    assert run_until(loop, lambda: got == [b"usable"])
