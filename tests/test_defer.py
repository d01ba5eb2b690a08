"""call_later: later loop iterations, FIFO order, exceptions to the excepthook."""

from __future__ import annotations

import pyuv

from conftest import run_for, run_until
from dgram_uv._defer import call_later, report_exception


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
    assert not any(h.active for h in loop.handles)


def test_report_exception_uses_loop_excepthook(loop) -> None:
    try:
        raise KeyError("k")
    except KeyError:
        report_exception(loop)
    assert isinstance(loop.errors.pop(), KeyError)
