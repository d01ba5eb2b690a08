"""Random interleavings of the socket's operations on several sockets.

bind / send / recvStart / recvStop / close / setTimeout / connect /
disconnect, with short loop runs in between, in orders chosen by hypothesis
(a rule-based state machine, which shrinks a failure to a short sequence) and
by seeded random sequences (many more of them, cheaply).  Whatever the order:

* nothing but the documented state errors is raised, and nothing but
  DgramErrors is emitted;
* every send with a callback gets exactly one call, never from inside the
  call that made it;
* every close gets exactly one 'close';
* after all sockets are closed and the loop has run briefly, no socket handle
  is left in ``loop.handles`` and no descriptor is left open.

Only 127.0.0.1 and 'localhost' are used, and every destination port belongs
to a socket of the test (an "anchor" socket stands in when the chosen target
has none).
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import dgram_uv
from conftest import Loop, open_fds, run_for, run_until, show
from dgram_uv import DgramError, Socket

SOCKETS = 4
STATE_CODES = {"ERR_SOCKET_ALREADY_BOUND", "ERR_SOCKET_DGRAM_NOT_RUNNING",
               "ERR_SOCKET_DGRAM_IS_CONNECTED", "ERR_SOCKET_DGRAM_NOT_CONNECTED"}
COUNTS: Counter[str] = Counter()


class World:
    """A loop, SOCKETS sockets under test and an anchor, and the books."""

    def __init__(self) -> None:
        self.loop = Loop()
        self.fds_before = open_fds()
        self.anchor = dgram_uv.createSocket("udp4", loop=self.loop)
        self.anchor.bind(0, "127.0.0.1")
        self.anchor_port: int = self.anchor.address()["port"]
        self.sockets: list[Socket] = []
        self.closed: list[bool] = []
        self.close_events: list[int] = []
        self.close_calls: list[int] = []
        self.close_owed: list[int] = []
        self.errors: list[BaseException] = []
        # Per send with a callback: the arguments of each call it got.
        self.send_calls: list[list[tuple[Any, ...]]] = []
        self.in_call = False
        self.sync_calls: list[str] = []
        for _ in range(SOCKETS):
            self._add_socket()

    def _add_socket(self) -> None:
        index = len(self.sockets)
        sock = dgram_uv.createSocket("udp4", loop=self.loop)
        sock.on("error", self.errors.append)
        sock.on("close", lambda: self._closed_event(index))
        self.sockets.append(sock)
        self.closed.append(False)
        self.close_events.append(0)
        self.close_calls.append(0)
        self.close_owed.append(0)

    def _closed_event(self, index: int) -> None:
        if self.in_call:
            self.sync_calls.append(f"'close' of socket {index}")
        self.close_events[index] += 1

    # -- operations -----------------------------------------------------------

    def call(self, what: str, fn: Callable[[], Any], *, also: frozenset[str] = frozenset()
             ) -> bool:
        """Run one public call; only the documented state errors (and the
        codes in ``also``) may come out.  True if it was not refused."""
        COUNTS["operations"] += 1
        self.in_call = True
        try:
            fn()
        except DgramError as exc:
            assert exc.code in STATE_CODES | also, f"{what}: {exc!r}"
            return False
        finally:
            self.in_call = False
        return True

    def target_port(self, j: int) -> int:
        """Socket j's port if it has one, else the anchor's."""
        if not self.closed[j]:
            try:
                port = self.sockets[j].address()["port"]
            except DgramError:
                port = 0
            if port:
                return int(port)
        return self.anchor_port

    def send_callback(self, label: str) -> Callable[..., None]:
        calls: list[tuple[Any, ...]] = []
        self.send_calls.append(calls)

        def callback(*args: Any) -> None:
            if self.in_call:
                self.sync_calls.append(label)
            calls.append(args)

        return callback

    def op(self, name: str, i: int, j: int, variant: int) -> None:
        sock = self.sockets[i]
        host = "localhost" if variant % 3 == 0 else "127.0.0.1"
        if name == "bind":
            self.call(name, lambda: sock.bind(0, host if variant % 2 else None))
        elif name == "send":
            payload = b"%d->%d" % (i, j)
            callback = self.send_callback(f"send {i}->{j}") if variant % 4 else None
            port = self.target_port(j)
            if variant % 5 == 0:
                # The connected form: with no port it is ERR_SOCKET_BAD_PORT
                # on an unconnected socket, as in Node.
                done = self.call(name, lambda: sock.send(payload, callback=callback),
                                 also=frozenset({"ERR_SOCKET_BAD_PORT"}))
            else:
                done = self.call(name, lambda: sock.send(payload, port, host, callback))
            if not done and callback is not None:
                self.send_calls.pop()  # refused: no callback is owed
        elif name == "recvStart":
            self.call(name, sock.recvStart)
        elif name == "recvStop":
            self.call(name, sock.recvStop)
        elif name == "setTimeout":
            self.call(name, lambda: sock.setTimeout((0, 1, 5, 50)[variant % 4]))
        elif name == "connect":
            port = self.target_port(j)
            self.call(name, lambda: sock.connect(port, host))
        elif name == "disconnect":
            self.call(name, sock.disconnect)
        elif name == "close":
            def closed_callback() -> None:
                self.close_calls[i] += 1

            # Every close callback is owed a call, a second close's too.
            with_callback = bool(variant % 2)
            self.call(name, lambda: sock.close(closed_callback if with_callback else None))
            self.close_owed[i] += with_callback
            self.closed[i] = True
        elif name == "run":
            run_for(self.loop, (0.0, 0.001, 0.005)[variant % 3])
        else:  # pragma: no cover - a typo in a rule
            raise AssertionError(name)

    # -- the end -------------------------------------------------------------

    def finish(self) -> None:
        """Close everything, let what is owed arrive, and check the books."""
        for i in range(len(self.sockets)):
            if not self.closed[i]:
                self.op("close", i, i, 1)
        self.anchor.close()

        def settled() -> bool:
            return (all(calls for calls in self.send_calls)
                    and all(n >= 1 for n in self.close_events)
                    and self.close_calls == self.close_owed)

        run_until(self.loop, settled, 3.0)
        run_for(self.loop, 0.02)  # anything owed twice would show up now
        COUNTS["sends with a callback"] += len(self.send_calls)
        assert not self.sync_calls, f"called synchronously: {self.sync_calls}"
        for n, calls in enumerate(self.send_calls):
            assert len(calls) == 1, f"send callback {n} called {len(calls)} times: {calls}"
            (args,) = calls
            assert len(args) == 1
            err = args[0]
            if err is not None:
                assert isinstance(err, DgramError) and isinstance(err, OSError), err
                assert err.syscall in ("send", "getaddrinfo", "bind", "connect"), err
        assert self.close_events == [1] * SOCKETS, self.close_events
        assert self.close_calls == self.close_owed, (self.close_calls, self.close_owed)
        for err in self.errors:
            assert isinstance(err, DgramError) and isinstance(err, OSError), err
        # Nothing of dgram_uv's stays: not even its per-loop context's handle.
        left = [h for h in self.loop.handles if not h.closed]
        assert not left, f"handles left: {left}"
        assert open_fds() <= self.fds_before, (open_fds(), self.fds_before)
        assert not self.loop.errors, self.loop.errors
        COUNTS["interleavings"] += 1


OPERATIONS = ["bind", "send", "send", "recvStart", "recvStop", "close", "setTimeout",
              "connect", "disconnect", "run", "run"]
HYPOTHESIS_RUNS = int(os.environ.get("DGRAM_UV_INTERLEAVINGS", "40"))
SEEDED_RUNS = int(os.environ.get("DGRAM_UV_SEEDED_RUNS", "200"))


class Interleavings(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world = World()

    @rule(name=st.sampled_from(OPERATIONS), i=st.integers(0, SOCKETS - 1),
          j=st.integers(0, SOCKETS - 1), variant=st.integers(0, 59))
    def operate(self, name: str, i: int, j: int, variant: int) -> None:
        self.world.op(name, i, j, variant)

    @invariant()
    def nothing_twice_nothing_synchronous(self) -> None:
        assert not self.world.sync_calls, self.world.sync_calls
        assert all(len(calls) <= 1 for calls in self.world.send_calls)
        assert all(n <= 1 for n in self.world.close_events)

    def teardown(self) -> None:
        self.world.finish()


Interleavings.TestCase.settings = settings(
    max_examples=HYPOTHESIS_RUNS, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
test_hypothesis_interleavings = Interleavings.TestCase


@pytest.mark.parametrize("block", range(4))
def test_seeded_interleavings(block: int) -> None:
    """Many more sequences, cheaply: seed n replays sequence n exactly."""
    for seed in range(block * SEEDED_RUNS // 4, (block + 1) * SEEDED_RUNS // 4):
        rng = random.Random(seed)
        world = World()
        for _ in range(rng.randrange(5, 60)):
            world.op(rng.choice(OPERATIONS), rng.randrange(SOCKETS), rng.randrange(SOCKETS),
                     rng.randrange(60))
        try:
            world.finish()
        except AssertionError as exc:
            raise AssertionError(f"seed {seed}: {exc}") from exc


@pytest.fixture(scope="module", autouse=True)
def report_counts(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    show(request, "test_interleavings: " + ", ".join(f"{count} {name}"
                                                     for name, count in sorted(COUNTS.items())))
