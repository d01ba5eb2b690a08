"""Shared fixtures: a fresh pyuv loop per test, and bounded ways to run it.

Every loop run in a test goes through run_until() or run_for(), so nothing
can hang: each has a deadline enforced by a timer that does not keep the loop
alive by itself.  Exceptions that reach the loop's excepthook are collected in
``loop.errors`` and fail the test unless the test took them out.

After every test, two checks (docs/api.md, "Lifecycle and interruptions"):
once the sockets the test left open are closed and the test's loop has
run, no handle is left on it (nothing of dgram_uv's stays behind), and the process holds no more
descriptors than before the test.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import pyuv

import dgram_uv
from subprocs import Proc

# libuv makes a pipe once per process, with its first loop (the lock of its
# signal handling): made here, before any test counts descriptors.
pyuv.Loop()
pyuv.Loop.default_loop()  # a process-wide singleton: its descriptors are no test's


class Loop(pyuv.Loop):
    """A pyuv loop that records what reaches its excepthook, and knows its
    own descriptors (epoll, eventfd, ...: released when it is collected)."""

    own_fds: set[str]

    def __new__(cls) -> Loop:
        before = set(os.listdir("/proc/self/fd"))
        self = super().__new__(cls)  # pyuv makes the libuv loop here
        self.own_fds = set(os.listdir("/proc/self/fd")) - before
        return self

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[BaseException] = []

    def excepthook(self, typ: type, value: BaseException, tb: Any) -> None:
        self.errors.append(value)


# node id -> the descriptors of the test's own loop (see no_descriptor_leaks).
_LOOP_FDS: dict[str, set[str]] = {}


@pytest.fixture
def loop(request: pytest.FixtureRequest) -> Iterator[Loop]:
    lp = Loop()
    _LOOP_FDS[request.node.nodeid] = lp.own_fds
    yield lp
    # Sockets the test left open are closed through the API; after that,
    # nothing of dgram_uv's may remain on the loop.
    for obj in gc.get_objects():
        if isinstance(obj, dgram_uv.Socket) and obj._loop is lp:
            obj.close()
    run_for(lp, 0.05)
    left = [handle for handle in lp.handles if not handle.closed]
    # Close what the test left open, so that one failure does not leak into
    # the next test, then fail it.
    for handle in left:
        handle.close()
    run_for(lp, 0.05)
    errors = lp.errors
    assert not errors, f"exceptions reached loop.excepthook: {errors!r}"
    assert not left, f"handles left on the test's loop: {left!r}"


@pytest.fixture(params=["default", "pyuv"])
def receiver_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the default receiver and again with the pyuv fallback
    (``DGRAM_UV_RECEIVER=pyuv``, read each time a socket starts receiving)."""
    if request.param == "pyuv":
        monkeypatch.setenv("DGRAM_UV_RECEIVER", "pyuv")
    return str(request.param)


@pytest.fixture(autouse=True)
def no_descriptor_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    """The process holds no more descriptors after a test than before it (the
    test's own loop, still referenced by pytest here, not counted)."""
    before = open_fds()
    yield
    own = _LOOP_FDS.pop(request.node.nodeid, set())

    def left() -> set[str]:
        gc.collect()
        return set(os.listdir("/proc/self/fd")) - own

    after = left()
    if len(after) > before:  # a collection may lag behind a loop's last callback
        time.sleep(0.05)
        after = left()
    assert len(after) <= before, (f"{len(after) - before} descriptor(s) left open: "
                                  f"{sorted(after, key=int)} (the loop's own: {sorted(own)})")


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
