"""The per-loop context: deferred calls (later iterations, FIFO, exceptions to
the excepthook, nothing lost to an interruption) and its lifetime (made with
a loop's first socket, closed with its last, remade after a sweep)."""

from __future__ import annotations

import gc
import os
from typing import Any

import pytest
import pyuv

import dgram_uv
from conftest import Loop, run_for, run_until
from dgram_uv._context import context_for, report_exception


def call_later(loop: pyuv.Loop, fn: Any, *args: Any) -> None:
    context_for(loop).call_later(fn, *args)


def test_calls_run_later_in_order(loop) -> None:
    calls: list[int] = []
    for i in range(5):
        call_later(loop, calls.append, i)
    assert calls == []
    assert run_until(loop, lambda: len(calls) == 5)
    assert calls == [0, 1, 2, 3, 4]


def test_a_call_queued_by_a_call_waits_for_the_next_iteration(loop) -> None:
    iterations: list[str] = []

    def first() -> None:
        iterations.append("first")
        call_later(loop, iterations.append, "queued from first")

    call_later(loop, first)
    loop.run(pyuv.UV_RUN_NOWAIT)
    assert iterations == ["first"]
    loop.run(pyuv.UV_RUN_NOWAIT)
    assert iterations == ["first", "queued from first"]


def test_exception_goes_to_excepthook_and_later_calls_still_run(loop) -> None:
    calls: list[str] = []
    call_later(loop, lambda: 1 / 0)
    call_later(loop, calls.append, "after")
    assert run_until(loop, lambda: calls == ["after"])
    assert len(loop.errors) == 1 and isinstance(loop.errors[0], ZeroDivisionError)
    loop.errors.clear()


def test_pending_calls_keep_the_loop_alive_then_let_it_exit(loop) -> None:
    calls: list[int] = []
    call_later(loop, calls.append, 1)
    run_for(loop, 2)  # returns as soon as the queue is empty
    assert calls == [1]
    assert loop.handles == []  # no socket: the context closed itself


def test_report_exception_uses_loop_excepthook(loop) -> None:
    try:
        raise KeyError("k")
    except KeyError:
        report_exception(loop)
    assert isinstance(loop.errors.pop(), KeyError)


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, SystemExit])
def test_an_interrupting_call_loses_no_later_call(loop, interruption: type) -> None:
    """A BaseException passes to pyuv (and so to the excepthook); the calls
    behind it run on a later iteration, each exactly once."""
    calls: list[str] = []

    def interrupt() -> None:
        calls.append("interrupt")
        raise interruption()

    call_later(loop, calls.append, "a")
    call_later(loop, interrupt)
    for name in ("b", "c", "d"):
        call_later(loop, calls.append, name)
    assert run_until(loop, lambda: len(calls) == 5)
    run_for(loop, 0.05)
    assert calls == ["a", "interrupt", "b", "c", "d"]
    assert [type(e) for e in loop.errors] == [interruption]
    loop.errors.clear()


class RaisingHookLoop(Loop):
    """A loop whose excepthook itself raises."""

    def excepthook(self, typ: type, value: BaseException, tb: Any) -> None:
        self.errors.append(value)
        raise RuntimeError("the hook fails")


def test_a_raising_excepthook_loses_no_later_call(capfd: pytest.CaptureFixture[str]) -> None:
    lp = RaisingHookLoop()
    calls: list[str] = []
    call_later(lp, lambda: 1 / 0)
    call_later(lp, calls.append, "after")
    call_later(lp, calls.append, "and after")
    assert run_until(lp, lambda: len(calls) == 2)
    run_for(lp, 0.05)
    assert calls == ["after", "and after"]
    assert isinstance(lp.errors[0], ZeroDivisionError)
    assert "Unhandled exception in excepthook" in capfd.readouterr().err  # pyuv's report
    assert lp.handles == []


def test_the_last_socket_closes_the_context(loop) -> None:
    a = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1")
    b = dgram_uv.createSocket("udp4", loop=loop)
    b.send(b"x", a.address()["port"], callback=lambda err: None)
    a.close()
    run_for(loop, 0.05)
    assert loop.handles  # b is open: its handle and the context's
    b.close()
    run_for(loop, 0.05)
    assert loop.handles == []


def test_a_swept_loop_takes_a_new_socket() -> None:
    """The usual pyuv shutdown (close every handle) and dgram_uv again after."""
    lp = Loop()
    s = dgram_uv.createSocket("udp4", loop=lp).bind(0, "127.0.0.1")
    s.setTimeout(1000)
    for handle in lp.handles:
        handle.close()
    run_for(lp, 0.05)
    got: list[bytes] = []
    again = dgram_uv.createSocket("udp4", lambda m, r: got.append(m), loop=lp)
    again.bind(0, "127.0.0.1", lambda: again.send(b"back", again.address()["port"]))
    assert run_until(lp, lambda: got == [b"back"])
    again.close()
    del s
    run_for(lp, 0.05)
    assert lp.handles == []


def test_a_dropped_loop_takes_no_descriptor() -> None:
    gc.collect()
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        lp = pyuv.Loop()
        s = dgram_uv.createSocket("udp4", loop=lp).bind(0, "127.0.0.1")
        s.send(b"x", s.address()["port"], callback=lambda err: None)
        run_for(lp, 0.02)
        s.close()
        run_for(lp, 0.02)
        del lp, s
    gc.collect()
    assert len(os.listdir("/proc/self/fd")) <= before
