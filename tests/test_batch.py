"""BatchReceiver in isolation: a minimal stand-in for the socket, a real bound
pyuv.UDP on 127.0.0.1 or ::1, plain Python sockets as senders."""

from __future__ import annotations

import errno
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import pyuv

from conftest import open_fds, run_for, run_until
from dgram_uv import _batch
from dgram_uv._batch import AVAILABLE, SLOTS, BatchReceiver
from dgram_uv._context import context_for
from dgram_uv._inbox import Activity, Inbox
from dgram_uv._receive import PyuvReceiver

pytestmark = pytest.mark.skipif(not AVAILABLE, reason="the recvmmsg helper is not built")

Listener = Callable[[bytes, dict[str, Any]], Any]


def _has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


class FakeSock:
    """What BatchReceiver uses of a dgram_uv Socket, and nothing more."""

    def __init__(self, loop: pyuv.Loop, family: int = socket.AF_INET) -> None:
        self._loop = loop
        self._family = family
        self._handle = pyuv.UDP(loop, family)
        host = "127.0.0.1" if family == socket.AF_INET else "::1"
        self._handle.bind((host, 0))
        self._events: dict[str, tuple[Listener, ...]] = {}
        self.activity = Activity()
        self.failures: list[tuple[int, str]] = []
        self.received: list[tuple[bytes, dict[str, Any]]] = []
        # Room for thousands of queued datagrams (root may go past rmem_max).
        with socket.socket(family, socket.SOCK_DGRAM, fileno=os.dup(self._handle.fileno())) as s:
            for opt in (getattr(socket, "SO_RCVBUFFORCE", 33), socket.SO_RCVBUF):
                try:
                    s.setsockopt(socket.SOL_SOCKET, opt, 8 << 20)
                    break
                except PermissionError:
                    continue

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._handle.getsockname()[:2]
        return host, port

    def record(self, msg: bytes, rinfo: dict[str, Any]) -> None:
        self.received.append((msg, rinfo))

    def on(self, *listeners: Listener) -> None:
        # As the Emitter does: the tuple is replaced, the dict kept.
        self._events["message"] = listeners

    @property
    def _idle_seen(self) -> bool:
        return self.activity.seen

    def emit_error(self, err: Any) -> None:
        self.failures.append((err.uv_status, err.syscall))


class Harness:
    """A BatchReceiver with the Inbox a socket would give it; start, stop and
    close go through the inbox, as the socket's do."""

    def __init__(self, sock: FakeSock) -> None:
        context = self.context = context_for(sock._loop)
        context.attach()  # as a socket does
        self.inbox = Inbox(sock, sock._events, context, sock.activity, sock.emit_error)
        self.receiver = BatchReceiver(
            sock._handle, self.inbox, context,
            lambda: PyuvReceiver(sock._handle, sock._family, self.inbox))
        self.inbox.attach(self.receiver)

    def start(self) -> None:
        self.inbox.start()

    def stop(self) -> None:
        self.inbox.stop()

    def close(self) -> None:
        if not self.receiver.closed:
            self.inbox.close()
            self.context.detach()

    def set_ref(self, flag: bool) -> None:
        self.inbox.set_ref(flag)

    @property
    def _pending(self) -> Any:
        return self.inbox._pending

    @property
    def _batch(self) -> Any:
        return self.receiver._buffer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.receiver, name)


@pytest.fixture
def sock(loop: pyuv.Loop) -> Iterator[FakeSock]:
    s = FakeSock(loop)
    s.on(s.record)
    yield s


@pytest.fixture
def receiver(sock: FakeSock) -> Iterator[Harness]:
    r = Harness(sock)
    yield r
    r.close()
    sock._handle.close()


def sender(family: int = socket.AF_INET) -> socket.socket:
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1" if family == socket.AF_INET else "::1", 0))
    return s


def send_all(loop: pyuv.Loop, sock: FakeSock, items: list[tuple[socket.socket, bytes]],
             chunk: int = 200) -> None:
    """Send in chunks, each received before the next goes, so the kernel
    never drops one for want of buffer space."""
    for at in range(0, len(items), chunk):
        for s, payload in items[at:at + chunk]:
            s.sendto(payload, sock.address)
        expected = min(at + chunk, len(items))
        assert run_until(loop, lambda n=expected: len(sock.received) >= n)


def test_available_in_this_build() -> None:
    assert AVAILABLE is True


def test_many_datagrams_in_order_and_complete(loop, sock: FakeSock,
                                              receiver: BatchReceiver) -> None:
    receiver.start()
    src = sender()
    payloads = [b"%06d" % i * (i % 7) for i in range(5000)]
    send_all(loop, sock, [(src, p) for p in payloads])
    run_for(loop, 0.02)
    assert [m for m, _ in sock.received] == payloads
    port = src.getsockname()[1]
    for msg, rinfo in sock.received:
        assert type(msg) is bytes
        assert rinfo == {"address": "127.0.0.1", "family": "IPv4", "port": port,
                         "size": len(msg), "ip": "127.0.0.1"}
    # A fresh dict per datagram, never the cached template.
    assert len({id(r) for _, r in sock.received}) == len(sock.received)
    assert all(r is not t for _, r in sock.received for t in receiver._batch.senders.values())
    assert sock._idle_seen is True
    assert sock.failures == []
    src.close()


def test_one_batch_holds_many_datagrams(loop, sock: FakeSock, receiver: BatchReceiver,
                                        monkeypatch) -> None:
    src = sender()
    for i in range(3 * SLOTS + 5):
        src.sendto(b"%d" % i, sock.address)
    calls = 0
    unpack = _batch._unpack

    def counting(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        return unpack(*args)

    monkeypatch.setattr(_batch, "_unpack", counting)
    receiver.start()
    assert run_until(loop, lambda: len(sock.received) == 3 * SLOTS + 5)
    assert [m for m, _ in sock.received] == [b"%d" % i for i in range(3 * SLOTS + 5)]
    # At most SLOTS per wake-up (bounded), and far fewer wake-ups than datagrams.
    assert calls == 4
    src.close()


def test_zero_byte_datagrams(loop, sock: FakeSock, receiver: BatchReceiver) -> None:
    receiver.start()
    src = sender()
    payloads = [b"", b"a", b"", b"", b"bc", b""]
    send_all(loop, sock, [(src, p) for p in payloads])
    assert [m for m, _ in sock.received] == payloads
    assert [r["size"] for _, r in sock.received] == [0, 1, 0, 0, 2, 0]
    assert all(type(m) is bytes for m, _ in sock.received)
    src.close()


def test_largest_ipv4_datagrams_are_whole(loop, sock: FakeSock,
                                          receiver: BatchReceiver) -> None:
    receiver.start()
    src = sender()
    big = [bytes([i]) * 65507 for i in range(1, 6)]
    payloads = [b"small", big[0], big[1], b"", big[2], b"x", big[3], big[4]]
    send_all(loop, sock, [(src, p) for p in payloads], chunk=4)
    assert [m for m, _ in sock.received] == payloads
    assert [r["size"] for _, r in sock.received] == [len(p) for p in payloads]
    src.close()


def test_mixed_senders_get_their_own_rinfo(loop, sock: FakeSock,
                                           receiver: BatchReceiver) -> None:
    receiver.start()
    senders = [sender() for _ in range(3)]
    pattern = [0, 0, 1, 2, 2, 2, 1, 0, 1, 1, 2, 0] * 40
    items = [(senders[k], b"%d:%d" % (k, i)) for i, k in enumerate(pattern)]
    send_all(loop, sock, items)
    assert [m for m, _ in sock.received] == [p for _, p in items]
    for (s, _), (_, rinfo) in zip(items, sock.received, strict=True):
        assert (rinfo["address"], rinfo["port"]) == s.getsockname()
        assert rinfo["ip"] == "127.0.0.1"
    for s in senders:
        s.close()


@pytest.mark.skipif(not _has_ipv6(), reason="no IPv6 loopback")
def test_ipv6(loop) -> None:
    sock = FakeSock(loop, socket.AF_INET6)
    sock.on(sock.record)
    receiver = Harness(sock)
    receiver.start()
    a, b = sender(socket.AF_INET6), sender(socket.AF_INET6)
    items = [(a if i % 3 else b, b"six%d" % i) for i in range(300)] + [(a, b"")]
    send_all(loop, sock, items)
    assert [m for m, _ in sock.received] == [p for _, p in items]
    for (s, _), (_, rinfo) in zip(items, sock.received, strict=True):
        assert rinfo == {"address": "::1", "family": "IPv6", "port": s.getsockname()[1],
                         "size": rinfo["size"], "ip": "::1"}
    receiver.close()
    sock._handle.close()
    a.close()
    b.close()


def test_listener_exception_skips_only_the_rest_of_that_datagram(
        loop, sock: FakeSock, receiver: BatchReceiver) -> None:
    second: list[bytes] = []

    def fragile(msg: bytes, rinfo: dict[str, Any]) -> None:
        sock.record(msg, rinfo)
        if msg.startswith(b"bad"):
            raise ValueError(msg)

    sock.on(fragile, lambda msg, _r: second.append(msg))
    src = sender()
    payloads = [b"ok0", b"bad1", b"ok2", b"bad3", b"bad4", b"ok5"]
    for p in payloads:  # all in one batch
        src.sendto(p, sock.address)
    receiver.start()
    assert run_until(loop, lambda: len(sock.received) == len(payloads))
    assert [m for m, _ in sock.received] == payloads
    assert second == [b"ok0", b"ok2", b"ok5"]
    errors, loop.errors[:] = list(loop.errors), []
    assert [e.args[0] for e in errors] == [b"bad1", b"bad3", b"bad4"]
    assert all(isinstance(e, ValueError) for e in errors)
    src.close()


def test_no_listener_drops_quietly(loop, sock: FakeSock, receiver: BatchReceiver) -> None:
    sock._events.clear()  # as removeAllListeners() does: the table is kept
    receiver.start()
    src = sender()
    src.sendto(b"nobody", sock.address)
    run_for(loop, 0.1)
    sock.on(sock.record)
    src.sendto(b"somebody", sock.address)
    assert run_until(loop, lambda: len(sock.received) == 1)
    assert sock.received[0][0] == b"somebody"
    assert sock._idle_seen is True
    src.close()


def test_listeners_changed_during_a_batch(loop, sock: FakeSock, receiver: BatchReceiver) -> None:
    later: list[bytes] = []

    def first(msg: bytes, rinfo: dict[str, Any]) -> None:
        sock.record(msg, rinfo)
        if msg == b"3":
            sock.on(lambda m, _r: later.append(m))  # replaces the tuple

    sock.on(first)
    src = sender()
    for i in range(8):
        src.sendto(b"%d" % i, sock.address)
    receiver.start()
    assert run_until(loop, lambda: len(later) == 4)
    assert [m for m, _ in sock.received] == [b"0", b"1", b"2", b"3"]
    assert later == [b"4", b"5", b"6", b"7"]
    src.close()


def test_stop_and_start(loop, sock: FakeSock, receiver: BatchReceiver) -> None:
    src = sender()
    receiver.start()
    receiver.start()  # idempotent
    src.sendto(b"one", sock.address)
    assert run_until(loop, lambda: len(sock.received) == 1)
    receiver.stop()
    receiver.stop()  # idempotent
    src.sendto(b"two", sock.address)
    src.sendto(b"three", sock.address)
    run_for(loop, 0.1)
    assert len(sock.received) == 1  # still bound, nothing read
    receiver.start()
    assert run_until(loop, lambda: len(sock.received) == 3)
    assert [m for m, _ in sock.received] == [b"one", b"two", b"three"]
    src.close()


def test_stop_in_the_middle_of_a_batch_loses_nothing(loop, sock: FakeSock,
                                                     receiver: BatchReceiver) -> None:
    def stopper(msg: bytes, rinfo: dict[str, Any]) -> None:
        sock.record(msg, rinfo)
        if msg == b"9":
            receiver.stop()

    sock.on(stopper, sock.record)  # the second listener still runs for "9"
    src = sender()
    for i in range(40):
        src.sendto(b"%d" % i, sock.address)
    receiver.start()
    assert run_until(loop, lambda: len(sock.received) >= 20)
    run_for(loop, 0.1)
    # Nothing after the datagram whose listener stopped reading.
    assert [m for m, _ in sock.received][::2] == [b"%d" % i for i in range(10)]
    assert len(sock.received) == 20
    sock.on(sock.record)
    src.sendto(b"40", sock.address)
    receiver.start()
    assert len(sock.received) == 20  # never from inside start()
    assert run_until(loop, lambda: len(sock.received) == 51)
    assert [m for m, _ in sock.received][20:] == [b"%d" % i for i in range(10, 41)]
    src.close()


def test_stop_then_start_inside_a_listener_goes_on(loop, sock: FakeSock,
                                                   receiver: BatchReceiver) -> None:
    def flapper(msg: bytes, rinfo: dict[str, Any]) -> None:
        sock.record(msg, rinfo)
        receiver.stop()
        receiver.start()

    sock.on(flapper)
    src = sender()
    for i in range(30):
        src.sendto(b"%d" % i, sock.address)
    receiver.start()
    assert run_until(loop, lambda: len(sock.received) == 30)
    run_for(loop, 0.05)
    assert [m for m, _ in sock.received] == [b"%d" % i for i in range(30)]
    src.close()


def test_close_in_the_middle_of_a_batch_stops_delivery(loop, sock: FakeSock) -> None:
    receiver = Harness(sock)

    def closer(msg: bytes, rinfo: dict[str, Any]) -> None:
        sock.record(msg, rinfo)
        if msg == b"4":
            receiver.close()
            sock._handle.close()

    sock.on(closer)
    src = sender()
    for i in range(20):
        src.sendto(b"%d" % i, sock.address)
    receiver.start()
    assert run_until(loop, lambda: len(sock.received) >= 5)
    run_for(loop, 0.1)
    assert [m for m, _ in sock.received] == [b"0", b"1", b"2", b"3", b"4"]
    receiver.start()  # after close: ignored
    assert receiver._pending is None
    src.close()


def test_close_releases_the_dup_and_the_poll(loop) -> None:
    before = open_fds()
    sock = FakeSock(loop)
    receiver = Harness(sock)
    with_socket = open_fds()
    receiver.start()
    assert open_fds() == with_socket + 1  # the dup'd descriptor
    poll = receiver._poll
    receiver.stop()
    receiver.start()
    assert open_fds() == with_socket + 1  # one dup, however often started
    receiver.close()
    assert open_fds() == with_socket
    assert poll is not None and poll.closed
    sock._handle.close()
    run_for(loop, 0.02)
    assert open_fds() == before
    receiver.close()  # a second close is harmless


def test_closed_socket_port_is_free_again(loop) -> None:
    sock = FakeSock(loop)
    receiver = Harness(sock)
    receiver.start()
    address = sock.address
    receiver.close()
    sock._handle.close()
    run_for(loop, 0.02)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:
        again.bind(address)  # the dup no longer holds the port


def test_many_receivers_share_one_buffer_per_loop(loop) -> None:
    socks = [FakeSock(loop) for _ in range(3)]
    receivers = [Harness(s) for s in socks]
    for s, r in zip(socks, receivers, strict=True):
        s.on(s.record)
        r.start()
    assert len({id(r._batch) for r in receivers}) == 1
    src = sender()
    for i in range(60):
        src.sendto(b"%d" % i, socks[i % 3].address)
    assert run_until(loop, lambda: sum(len(s.received) for s in socks) == 60)
    for k, s in enumerate(socks):
        assert [m for m, _ in s.received] == [b"%d" % i for i in range(k, 60, 3)]
    for s, r in zip(socks, receivers, strict=True):
        r.close()
        s._handle.close()
    src.close()


def test_two_loops_in_two_threads(loop) -> None:
    results: dict[int, list[bytes]] = {}
    count = 3000

    def work(k: int) -> None:
        lp = pyuv.Loop()
        s = FakeSock(lp)
        s.on(s.record)
        r = Harness(s)
        r.start()
        src = sender()
        sent = 0

        def pump(_idle: pyuv.Idle) -> None:
            nonlocal sent
            for _ in range(16):
                if sent < count:
                    src.sendto(b"%d-%d" % (k, sent), s.address)
                    sent += 1
            if len(s.received) == count:
                lp.stop()

        idle = pyuv.Idle(lp)
        idle.start(pump)
        guard = pyuv.Timer(lp)
        guard.start(lambda _t: lp.stop(), 10.0, 0)
        lp.run()
        results[k] = [m for m, _ in s.received]
        assert r._batch is context_for(lp).receive_buffer()
        for h in (idle, guard):
            h.close()
        r.close()
        s._handle.close()
        lp.run()
        src.close()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for k in range(2):
        assert results[k] == [b"%d-%d" % (k, i) for i in range(count)]


def test_read_error_is_reported(loop, sock: FakeSock, receiver: BatchReceiver) -> None:
    # A connected UDP socket learns of ICMP port-unreachable on its next read.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as gone:
        gone.bind(("127.0.0.1", 0))
        closed_port = gone.getsockname()[1]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM,
                       fileno=os.dup(sock._handle.fileno())) as view:
        view.connect(("127.0.0.1", closed_port))
        receiver.start()
        view.send(b"ping")
    assert run_until(loop, lambda: bool(sock.failures))
    assert sock.failures[0] == (-errno.ECONNREFUSED, "recvmsg")
    assert sock.received == []


def test_unref_lets_the_loop_exit(loop, sock: FakeSock, receiver: BatchReceiver) -> None:
    receiver.set_ref(False)
    receiver.start()
    assert receiver._poll is not None and receiver._poll.ref is False
    guard = pyuv.Timer(loop)
    guard.start(lambda _t: loop.stop(), 2.0, 0)
    guard.ref = False
    started = time.monotonic()
    loop.run()  # returns at once: nothing keeps the loop alive
    assert time.monotonic() - started < 1.0
    guard.close()
    receiver.set_ref(True)
    assert receiver._poll.ref is True


def test_sender_cache_is_bounded(loop, monkeypatch) -> None:
    monkeypatch.setattr(_batch, "_CACHE_MAX", 4)
    sock = FakeSock(loop)
    sock.on(sock.record)
    receiver = Harness(sock)
    receiver.start()
    senders = [sender() for _ in range(10)]
    send_all(loop, sock, [(s, b"hi") for s in senders * 3])
    for (msg, rinfo), s in zip(sock.received, senders * 3, strict=True):
        assert msg == b"hi" and rinfo["port"] == s.getsockname()[1]
    assert len(receiver._batch.senders) <= 4
    receiver.close()
    sock._handle.close()
    for s in senders:
        s.close()


def test_kept_rest_survives_other_sockets_reading(loop) -> None:
    # Large datagrams are sliced straight from the loop's shared C buffer;
    # what a stop() leaves undelivered must not be overwritten by the next
    # read, here another socket's on the same loop.
    first, other = FakeSock(loop), FakeSock(loop)
    r1, r2 = Harness(first), Harness(other)

    def stopper(msg: bytes, rinfo: dict[str, Any]) -> None:
        first.record(msg, rinfo)
        if len(first.received) == 2:
            r1.stop()

    first.on(stopper)
    other.on(other.record)
    src = sender()
    payloads = [bytes([65 + i]) * 3000 for i in range(6)]
    for p in payloads:
        src.sendto(p, first.address)
    r1.start()
    r2.start()
    assert run_until(loop, lambda: len(first.received) == 2)
    for i in range(6):
        src.sendto(bytes([97 + i]) * 3000, other.address)
    assert run_until(loop, lambda: len(other.received) == 6)
    first.on(first.record)
    r1.start()
    assert run_until(loop, lambda: len(first.received) == 6)
    assert [m for m, _ in first.received] == payloads
    for r, s in ((r1, first), (r2, other)):
        r.close()
        s._handle.close()
    src.close()


def test_closed_receiver_leaves_no_epoll_registration(loop, sock: FakeSock) -> None:
    # libuv 1.13 keeps a closed uv_poll's descriptor in epoll; with the dup
    # closed but the socket still open (through the UDP handle), a pending
    # datagram would wake the loop at every turn, spinning it.
    receiver = Harness(sock)
    receiver.start()
    run_for(loop, 0.02)  # libuv adds the descriptor to epoll on this turn
    receiver.close()
    src = sender()
    src.sendto(b"unread", sock.address)
    keep_alive = pyuv.Timer(loop)
    keep_alive.start(lambda _t: None, 1.0, 0)
    started, cpu = time.monotonic(), time.process_time()
    run_for(loop, 0.3)
    assert time.monotonic() - started >= 0.25  # the loop did wait
    assert time.process_time() - cpu < 0.1  # without spinning
    keep_alive.close()
    sock._handle.close()
    src.close()


def test_out_of_descriptors_falls_back_to_pyuv(loop, sock: FakeSock, monkeypatch) -> None:
    def no_dup(_fd: int) -> int:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(_batch.os, "dup", no_dup)
    receiver = Harness(sock)
    receiver.start()
    monkeypatch.undo()
    assert receiver._poll is None and receiver._fallback is not None
    src = sender()
    src.sendto(b"still", sock.address)
    assert run_until(loop, lambda: len(sock.received) == 1)
    receiver.stop()
    src.sendto(b"later", sock.address)
    run_for(loop, 0.05)
    assert len(sock.received) == 1
    receiver.start()
    assert run_until(loop, lambda: len(sock.received) == 2)
    assert [m for m, _ in sock.received] == [b"still", b"later"]
    assert sock.received[0][1]["port"] == src.getsockname()[1]
    receiver.close()
    sock._handle.close()
    src.close()


def test_listeners_run_with_the_loops_sends_held(loop, sock: FakeSock,
                                                 receiver: BatchReceiver) -> None:

    sends = context_for(loop).window
    if sends is None:
        pytest.skip("no send batching without the helper")
    depths: list[int] = []

    def listener(msg: bytes, _rinfo: dict[str, Any]) -> None:
        depths.append(sends.depth)
        if msg == b"boom":
            raise ValueError(msg)

    sock.on(listener)
    src = sender()
    for p in (b"a", b"boom", b"b"):
        src.sendto(p, sock.address)
    receiver.start()
    assert run_until(loop, lambda: len(depths) == 3)
    assert depths == [1, 1, 1]  # one window around the whole batch
    assert sends.depth == 0  # closed again, exception or not
    loop.errors[:] = []
    src.close()


def test_a_lone_datagram_is_delivered_outside_any_window(loop, sock: FakeSock,
                                                         receiver: BatchReceiver) -> None:
    """A wake-up that read one datagram: its listener runs with no send
    window open (its sends go out one by one), with the payload, its size
    and the sender's rinfo read without the batch's struct format."""
    sends = context_for(loop).window
    if sends is None:
        pytest.skip("no send batching without the helper")
    seen: list[tuple[int, bytes, dict[str, Any]]] = []
    sock.on(lambda msg, rinfo: seen.append((sends.depth, msg, rinfo)))
    src = sender()
    receiver.start()
    for count, payload in enumerate((b"one", b"", bytes(range(256)) * 40), 1):
        src.sendto(payload, sock.address)  # each alone, waited for
        assert run_until(loop, lambda count=count: len(seen) == count)
    assert [(depth, msg) for depth, msg, _ in seen] == [
        (0, b"one"), (0, b""), (0, bytes(range(256)) * 40)]
    for _depth, msg, rinfo in seen:
        assert rinfo == {"address": "127.0.0.1", "family": "IPv4",
                         "port": src.getsockname()[1], "size": len(msg), "ip": "127.0.0.1"}
    assert seen[0][2] is not seen[1][2]  # a fresh rinfo per datagram
    src.close()
