"""setTimeout: luvit's idle timeout."""

from __future__ import annotations

import time

import pytest

import dgram_uv
from conftest import run_for, run_until
from dgram_uv import DgramTypeError, DgramValueError


def test_timeout_fires_after_idle_time_and_socket_stays_open(loop) -> None:
    s = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1")
    fired: list[float] = []
    start = time.monotonic()
    s.setTimeout(100, lambda: fired.append(time.monotonic() - start))
    assert run_until(loop, lambda: bool(fired))
    assert 0.09 <= fired[0] < 0.5
    assert s.address()["port"] > 0  # still open
    s.close()


def test_activity_postpones_and_re_arms(loop) -> None:
    server = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1")
    client = dgram_uv.createSocket("udp4", loop=loop)
    timeouts: list[float] = []
    server.on("timeout", lambda: timeouts.append(time.monotonic()))
    server.setTimeout(150)
    start = time.monotonic()
    while time.monotonic() - start < 0.4:  # a datagram every 30 ms: never idle
        client.send(b"tick", server.address()["port"])
        run_for(loop, 0.03)
    assert timeouts == []
    assert run_until(loop, lambda: len(timeouts) == 1)
    run_for(loop, 0.4)
    assert len(timeouts) == 1  # once per idle period
    client.send(b"wake", server.address()["port"])  # activity re-arms it
    assert run_until(loop, lambda: len(timeouts) == 2)
    server.close()
    client.close()


def test_sending_counts_as_activity(loop) -> None:
    s = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1")
    fired: list[bool] = []
    s.setTimeout(120, lambda: fired.append(True))
    start = time.monotonic()
    while time.monotonic() - start < 0.35:
        s.send(b"x", s.address()["port"])
        run_for(loop, 0.03)
    assert fired == []
    assert run_until(loop, lambda: fired == [True])
    s.close()


def test_zero_turns_it_off_and_callback_is_replaced(loop) -> None:
    s = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1")
    calls: list[str] = []
    s.setTimeout(50, lambda: calls.append("first"))
    s.setTimeout(50, lambda: calls.append("second"))  # replaces "first"
    assert run_until(loop, lambda: bool(calls))
    assert calls == ["second"]
    assert s.listenerCount("timeout") == 0
    s.setTimeout(30, lambda: calls.append("off"))
    s.setTimeout(0)
    run_for(loop, 0.2)
    assert calls == ["second"]
    s.close()


def test_armed_timeout_keeps_the_loop_alive_after_recv_stop(loop) -> None:
    """luvit's timer holds the loop: 'timeout' fires after recvStop(), and on
    a socket never bound, with nothing else keeping the loop alive."""
    stopped = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1")
    stopped.recvStop()
    unbound = dgram_uv.createSocket("udp4", loop=loop)
    fired: list[str] = []
    stopped.setTimeout(30, lambda: (fired.append("stopped"), stopped.close()))
    unbound.setTimeout(40, lambda: (fired.append("unbound"), unbound.close()))
    start = time.monotonic()
    run_for(loop, 3)  # returns as soon as nothing keeps the loop alive
    assert sorted(fired) == ["stopped", "unbound"]
    assert time.monotonic() - start < 1


def test_timeout_of_an_unrefd_socket_does_not_keep_the_loop_alive(loop) -> None:
    s = dgram_uv.createSocket("udp4", loop=loop)
    s.setTimeout(10_000)
    s.unref()
    start = time.monotonic()
    run_for(loop, 5)
    assert time.monotonic() - start < 1
    s.ref()  # and back: it holds the loop again
    s.setTimeout(20, lambda: s.close())
    run_for(loop, 3)
    assert time.monotonic() - start < 2


@pytest.mark.parametrize("msecs", [1, 2, 5, 7, 13])
def test_timeout_never_fires_early(loop, msecs: int) -> None:
    """setTimeout(7) once fired after 4.4 ms: pyuv truncated the 1.75 ms tick."""
    s = dgram_uv.createSocket("udp4", loop=loop)
    fired: list[float] = []
    start = time.monotonic()
    s.setTimeout(msecs, lambda: fired.append(time.monotonic() - start))
    assert run_until(loop, lambda: bool(fired))
    assert fired[0] >= msecs / 1000
    s.close()


def test_bad_msecs(loop) -> None:
    s = dgram_uv.createSocket("udp4", loop=loop)
    with pytest.raises(DgramTypeError):
        s.setTimeout("10")
    with pytest.raises(DgramValueError):
        s.setTimeout(-1)
    with pytest.raises(DgramTypeError):
        s.setTimeout(10, "not callable")
    s.setTimeout(10)  # still usable
    s.close()


def test_a_fired_callback_is_forgotten(loop) -> None:
    s = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1")
    calls: list[str] = []

    def f() -> None:
        calls.append("f")

    s.on("timeout", f)
    s.setTimeout(20, f)
    assert run_until(loop, lambda: len(calls) == 2)
    s.setTimeout(20)  # must not remove the permanent on('timeout', f)
    assert s.listenerCount("timeout") == 1
    s.close()
