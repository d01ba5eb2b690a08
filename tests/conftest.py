"""Shared fixtures: a fresh pyuv loop per test, and bounded ways to run it.

Every loop run in a test goes through run_until() or run_for(), so nothing
can hang: each has a deadline enforced by a timer that does not keep the loop
alive by itself.  Exceptions that reach the loop's excepthook are collected in
``loop.errors`` and fail the test unless the test took them out.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import pyuv

from subprocs import Proc


class Loop(pyuv.Loop):
    """A pyuv loop that records what reaches its excepthook."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[BaseException] = []

    def excepthook(self, typ: type, value: BaseException, tb: Any) -> None:
        self.errors.append(value)


@pytest.fixture
def loop() -> Iterator[Loop]:
    lp = Loop()
    yield lp
    # Close what the test left open, so descriptors do not leak between tests.
    for handle in lp.handles:
        if not handle.closed:
            handle.close()
    run_for(lp, 0.05)
    errors = lp.errors
    assert not errors, f"exceptions reached loop.excepthook: {errors!r}"


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    """Processes a test starts (tests/subprocs.py); killed at the end if still running."""
    started: list[Proc] = []
    yield started
    for proc in started:
        proc.kill()


def run_until(loop: pyuv.Loop, predicate: Callable[[], bool], timeout: float = 3.0) -> bool:
    """Run ``loop`` until ``predicate()`` is true or ``timeout`` seconds pass.

    Returns the final value of ``predicate()``.
    """
    deadline = time.monotonic() + timeout
    ticker = pyuv.Timer(loop)
    ticker.start(lambda _t: None, 0.002, 0.002)  # wakes the loop to re-check
    try:
        while not predicate():
            if time.monotonic() >= deadline:
                break
            loop.run(pyuv.UV_RUN_ONCE)
    finally:
        ticker.close()
        loop.run(pyuv.UV_RUN_NOWAIT)
    return predicate()


def run_for(loop: pyuv.Loop, seconds: float) -> None:
    """Run ``loop`` for ``seconds`` (or until nothing keeps it alive)."""
    stopper = pyuv.Timer(loop)
    stopper.start(lambda _t: loop.stop(), seconds, 0)
    stopper.ref = False
    loop.run(pyuv.UV_RUN_DEFAULT)
    stopper.close()
    loop.run(pyuv.UV_RUN_NOWAIT)


def show(request: pytest.FixtureRequest, text: str) -> None:
    """Write ``text`` to the terminal past output capturing (the figures a
    run is asked to report)."""
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is None or reporter is None:
        print(text)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(text)


def open_fds() -> int:
    """Descriptors open in this process, after collecting dead loops (a
    pyuv.Loop releases its epoll and eventfd descriptors when collected)."""
    gc.collect()
    return len(os.listdir("/proc/self/fd"))
