"""Faults: raising listeners, unreachable ports, oversized datagrams, closing
mid-operation, failed binds.  After each fault the socket (or a fresh bind
of it) must still carry datagrams, and every callback owed is called exactly
once."""

from __future__ import annotations

from typing import Any

import pytest
import pyuv

import dgram_uv
from conftest import Loop, run_for, run_until
from dgram_uv import DgramError, Socket


class Calls:
    """A callback that records its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, *args: Any) -> None:
        self.calls.append(args)


def listening_socket(loop: Loop, host: str = "127.0.0.1",
                     kind: str = "udp4") -> tuple[Socket, list[bytes], int]:
    inbox: list[bytes] = []
    sock = dgram_uv.createSocket(kind, lambda msg, _rinfo: inbox.append(msg), loop=loop)
    sock.bind(0, host)
    return sock, inbox, int(sock.address()["port"])


def free_port(loop: Loop) -> int:
    """A port nobody listens on (bound, then closed again)."""
    sock = dgram_uv.createSocket("udp4", loop=loop)
    sock.bind(0, "127.0.0.1")
    port = int(sock.address()["port"])
    sock.close()
    run_for(loop, 0.01)
    return port


def round_trip(loop: Loop, sock: Socket, inbox: list[bytes], tag: bytes) -> None:
    """``sock`` sends to a fresh peer and gets an answer: it still works."""
    peer, peer_inbox, peer_port = listening_socket(loop)
    done = Calls()
    sock.send(b"ping " + tag, peer_port, "127.0.0.1", done)
    assert run_until(loop, lambda: bool(peer_inbox) and bool(done.calls), 2.0), done.calls
    assert done.calls == [(None,)]
    peer.send(b"pong " + tag, sock.address()["port"], "127.0.0.1")
    assert run_until(loop, lambda: b"pong " + tag in inbox, 2.0), inbox
    peer.close()


# -- listeners and callbacks that raise ------------------------------------------

def test_listener_that_raises(loop: Loop, receiver_kind: str) -> None:
    """An exception in a 'message' listener goes to loop.excepthook; the
    datagrams after it still arrive, in order."""
    received: list[bytes] = []

    def listener(msg: bytes, _rinfo: Any) -> None:
        if msg == b"boom":
            raise RuntimeError("listener failed")
        received.append(msg)

    sock = dgram_uv.createSocket("udp4", listener, loop=loop)
    sock.bind(0, "127.0.0.1")
    port = sock.address()["port"]
    sender = dgram_uv.createSocket("udp4", loop=loop)
    for msg in (b"boom", b"one", b"boom", b"two"):
        sender.send(msg, port, "127.0.0.1")
    assert run_until(loop, lambda: len(received) == 2, 2.0), received
    assert received == [b"one", b"two"]
    # Later ones still arrive too: the socket did not stop reading.
    sender.send(b"three", port, "127.0.0.1")
    assert run_until(loop, lambda: len(received) == 3, 2.0), received
    failures = [e for e in loop.errors if isinstance(e, RuntimeError)]
    assert [str(e) for e in failures] == ["listener failed"] * 2, loop.errors
    loop.errors.clear()


def test_send_callback_that_raises(loop: Loop) -> None:
    """A raising send callback is reported to loop.excepthook and does not
    keep the callbacks queued behind it from being called."""
    _peer, inbox, port = listening_socket(loop)
    sender = dgram_uv.createSocket("udp4", loop=loop)
    later = Calls()

    def bad(_err: Any) -> None:
        raise ValueError("callback failed")

    sender.send(b"a", port, "127.0.0.1", bad)
    sender.send(b"b", port, "127.0.0.1", later)
    assert run_until(loop, lambda: bool(later.calls) and len(inbox) == 2, 2.0)
    assert later.calls == [(None,)]
    assert [str(e) for e in loop.errors] == ["callback failed"], loop.errors
    loop.errors.clear()


def test_failure_without_error_listener_is_not_dropped(loop: Loop) -> None:
    """No callback and no 'error' listener: the error is raised from the
    emit (Node), so it reaches loop.excepthook instead of vanishing."""
    sender = dgram_uv.createSocket("udp4", loop=loop)
    sender.send(b"x" * 70_000, 9, "127.0.0.1")
    assert run_until(loop, lambda: bool(loop.errors), 2.0)
    (err,) = loop.errors
    assert isinstance(err, DgramError) and err.code == "EMSGSIZE"
    loop.errors.clear()


# -- unreachable ports ---------------------------------------------------------------

def test_send_to_port_nobody_listens_on(loop: Loop, receiver_kind: str) -> None:
    """ICMP port unreachable on an unconnected socket breaks nothing."""
    dead = free_port(loop)
    sock, inbox, _port = listening_socket(loop)
    errors: list[BaseException] = []
    sock.on("error", errors.append)
    results = Calls()
    for n in range(20):
        sock.send(b"into the void %d" % n, dead, "127.0.0.1", results)
        run_for(loop, 0.001)  # let each ICMP error come back before the next send
    assert run_until(loop, lambda: len(results.calls) == 20, 2.0)
    # Linux reports ICMP errors only on connected sockets: every send succeeds.
    assert results.calls == [(None,)] * 20
    for n in range(3):
        round_trip(loop, sock, inbox, b"%d" % n)
    assert errors == []


def test_connected_to_port_nobody_listens_on(loop: Loop, receiver_kind: str) -> None:
    """A connected socket learns of the ICMP error (ECONNREFUSED, as in
    Node: to the send callback or as a receive error); afterwards it still
    receives, and after disconnect() it sends and receives normally.  (libuv's
    Poll handle, which the batch receiver reads through, reports the pending
    socket error as EBADF and stops itself: this is the test that the
    receiver recovers from that.)"""
    dead = free_port(loop)
    sock, inbox, _port = listening_socket(loop)
    errors: list[BaseException] = []
    sock.on("error", errors.append)
    connected = Calls()
    sock.connect(dead, "127.0.0.1", connected)
    assert run_until(loop, lambda: bool(connected.calls), 2.0)
    results = Calls()
    for _ in range(3):
        sock.send(b"refused?", callback=results)
        run_for(loop, 0.01)
    assert run_until(loop, lambda: len(results.calls) == 3, 2.0)
    reported = [args[0] for args in results.calls if args[0] is not None] + errors
    assert reported, "the ICMP error was never reported"
    for err in reported:
        assert isinstance(err, DgramError) and err.code == "ECONNREFUSED", err
    sock.disconnect()
    errors.clear()
    round_trip(loop, sock, inbox, b"after disconnect")
    assert errors == []


# -- oversized datagrams -------------------------------------------------------------

@pytest.mark.parametrize(("kind", "host"), [("udp4", "127.0.0.1"), ("udp6", "::1")])
def test_emsgsize(loop: Loop, kind: str, host: str) -> None:
    sock, inbox, port = listening_socket(loop, host, kind)
    result = Calls()
    sock.send(b"x" * 70_000, port, host, result)
    assert result.calls == []  # never synchronously
    assert run_until(loop, lambda: bool(result.calls), 2.0)
    ((err,),) = result.calls
    assert isinstance(err, DgramError) and isinstance(err, OSError)
    assert (err.code, err.syscall, err.address, err.port) == ("EMSGSIZE", "send", host, port)
    assert str(err) == f"send EMSGSIZE {host}:{port}"
    # Without a callback the same failure is emitted.
    errors: list[BaseException] = []
    sock.on("error", errors.append)
    sock.send([b"y" * 40_000, b"z" * 30_000], port, host)
    assert run_until(loop, lambda: bool(errors), 2.0)
    assert [getattr(e, "code", None) for e in errors] == ["EMSGSIZE"]
    # And the socket still works: the largest datagram that fits goes through.
    limit = 65_507 if kind == "udp4" else 65_527
    fits = Calls()
    sock.send(b"w" * limit, port, host, fits)
    assert run_until(loop, lambda: bool(inbox), 2.0)
    assert fits.calls == [(None,)] and inbox == [b"w" * limit]
    assert errors == [] or len(errors) == 1


# -- closing in the middle of things ---------------------------------------------------

def test_close_during_bind_to_host_name(loop: Loop) -> None:
    """'localhost' is resolved asynchronously: closing before it resolves
    cancels the bind (no 'listening', no 'error') and the sends queued
    behind it (ECANCELED), and leaves no handle behind."""
    handles_before = len(loop.handles)
    sock = dgram_uv.createSocket("udp4", loop=loop)
    events = Calls()
    for name in ("listening", "error"):
        sock.on(name, lambda *args, name=name: events(name, *args))
    peer, inbox, port = listening_socket(loop)
    listening = Calls()
    sock.bind(0, "localhost", listening)
    queued = Calls()
    sock.send(b"queued", port, "127.0.0.1", queued)
    closed = Calls()
    sock.close(closed)
    assert queued.calls == [] and closed.calls == []
    assert run_until(loop, lambda: bool(closed.calls) and bool(queued.calls), 2.0)
    run_for(loop, 0.2)  # the lookup's answer comes back to a closed socket
    assert closed.calls == [()]
    ((err,),) = queued.calls
    assert isinstance(err, DgramError) and err.code == "ECANCELED"
    assert listening.calls == [] and events.calls == [] and inbox == []
    peer.close()
    run_for(loop, 0.01)
    assert len([h for h in loop.handles if not h.closed and isinstance(h, pyuv.UDP)]) == 0
    assert len(loop.handles) <= handles_before + 1  # + the package's per-loop Idle


def test_close_during_lookup_in_send(loop: Loop) -> None:
    sock, _inbox, _port = listening_socket(loop)
    peer, peer_inbox, port = listening_socket(loop)
    errors: list[BaseException] = []
    sock.on("error", errors.append)
    first, second = Calls(), Calls()
    sock.send(b"via lookup", port, "localhost", first)
    sock.send(b"behind it", port, "127.0.0.1", second)  # waits, in order, behind the lookup
    sock.close()
    assert run_until(loop, lambda: bool(first.calls) and bool(second.calls), 2.0)
    run_for(loop, 0.2)  # the lookup finishes after the close
    for result in (first, second):
        ((err,),) = result.calls
        assert isinstance(err, DgramError) and err.code == "ECANCELED", err
        assert err.syscall == "send"
    assert peer_inbox == [] and errors == []
    peer.close()


def test_close_with_sends_pending(loop: Loop) -> None:
    """Close with sends in every stage (sent, in libuv's queue, waiting for a
    lookup): each callback exactly once, success or ECANCELED."""
    peer, _inbox, port = listening_socket(loop)
    peer.recvStop()  # let the peer's buffer fill: later sends may have to queue
    sock = dgram_uv.createSocket({"type": "udp4", "sendBufferSize": 4096}, loop=loop)
    results: list[Calls] = []
    for n in range(600):
        result = Calls()
        results.append(result)
        host = "localhost" if n % 3 == 0 else "127.0.0.1"
        sock.send(b"%05d" % n + b"." * 8000, port, host, result)
    sock.close()
    assert all(r.calls == [] for r in results), "a callback was called synchronously"
    assert run_until(loop, lambda: all(r.calls for r in results), 3.0)
    run_for(loop, 0.2)  # lookups finishing late must not call anything again
    outcomes: dict[str, int] = {}
    for r in results:
        assert len(r.calls) == 1, r.calls
        ((err,),) = r.calls
        code = "ok" if err is None else err.code
        assert code in ("ok", "ECANCELED"), err
        outcomes[code] = outcomes.get(code, 0) + 1
    # The first send waits for its lookup, and all behind it wait too.
    assert outcomes.get("ECANCELED", 0) >= 1, outcomes
    peer.close()


# -- failed binds -------------------------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_bind_failure_then_bind_elsewhere(loop: Loop, host: str) -> None:
    holder, _inbox, port = listening_socket(loop)
    inbox: list[bytes] = []
    sock = dgram_uv.createSocket("udp4", lambda msg, _rinfo: inbox.append(msg), loop=loop)
    errors: list[BaseException] = []
    listening = Calls()
    sock.on("error", errors.append)
    sock.on("listening", listening)
    queued = Calls()
    assert sock.bind(port, host) is sock
    sock.send(b"waits for the bind", port, "127.0.0.1", queued)
    assert run_until(loop, lambda: bool(errors) and bool(queued.calls), 2.0)
    (err,) = errors
    assert isinstance(err, DgramError) and isinstance(err, OSError)
    assert (err.code, err.syscall, err.address, err.port) == ("EADDRINUSE", "bind", "127.0.0.1",
                                                              port)
    assert str(err) == f"bind EADDRINUSE 127.0.0.1:{port}"
    # The send that waited for the bind fails with it, or (an IP literal binds
    # before bind() returns, so the send finds the socket unbound) binds the
    # socket implicitly and goes out.
    ((send_err,),) = queued.calls
    assert send_err is None or send_err.code == "EADDRINUSE", send_err
    if host == "localhost":
        assert send_err is err
        with pytest.raises(OSError) as raised:
            sock.address()  # back to unbound
        assert getattr(raised.value, "code", None) == "EBADF"
        assert listening.calls == []
        sock.bind(0, "127.0.0.1")
    assert run_until(loop, lambda: len(listening.calls) == 1, 2.0)
    errors.clear()
    round_trip(loop, sock, inbox, b"rebound")
    assert errors == []
    holder.close()
