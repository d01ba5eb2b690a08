"""Batched sending: sends made while dgram_uv runs user code go out together."""

from __future__ import annotations

import errno
from typing import Any

import pytest

import dgram_uv
import dgram_uv._outbox as outbox_module
from conftest import run_until
from dgram_uv import DgramOSError
from dgram_uv._context import context_for
from dgram_uv._outbox import SENDMMSG, sockaddr

pytestmark = pytest.mark.skipif(not SENDMMSG, reason="the compiled helper is not built")


def call_later(loop: Any, fn: Any, *args: Any) -> None:
    context_for(loop).call_later(fn, *args)


@pytest.fixture
def sendmmsg_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the datagrams of each sendmmsg call the socket makes."""
    calls: list[int] = []
    real = outbox_module.sendmmsg

    def counting(fd: int, payloads: list[bytes], names: list[bytes]) -> int:
        calls.append(len(payloads))
        return real(fd, payloads, names)

    monkeypatch.setattr(outbox_module, "sendmmsg", counting)
    return calls


def pair(loop, kind: str = "udp4", host: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    got: list[bytes] = []
    rx = dgram_uv.createSocket({"type": kind, "recvBufferSize": 4 << 20},
                               lambda m, r: got.append(m), loop=loop).bind(0, host)
    tx = dgram_uv.createSocket(kind, loop=loop).bind(0, host)
    return rx, tx, got


@pytest.mark.parametrize(("kind", "host"), [("udp4", "127.0.0.1"), ("udp6", "::1")])
def test_sends_from_deferred_calls_go_out_in_one_call_in_order(loop, sendmmsg_calls, kind: str,
                                                               host: str) -> None:
    rx, tx, got = pair(loop, kind, host)
    port = rx.address()["port"]
    done: list[object] = []

    def burst() -> None:
        for i in range(100):
            tx.send(b"%d" % i, port, host, done.append)

    call_later(loop, burst)
    assert run_until(loop, lambda: len(got) == 100 and len(done) == 100)
    assert got == [b"%d" % i for i in range(100)]
    assert done == [None] * 100
    assert sendmmsg_calls == [99]  # the first went straight out
    rx.close()
    tx.close()


def test_replies_from_listeners_are_batched(loop, sendmmsg_calls) -> None:
    echo = dgram_uv.createSocket({"type": "udp4", "recvBufferSize": 4 << 20}, loop=loop)
    echo.on("message", lambda m, r: echo.send(m, r["port"], r["address"]))
    echo.bind(0, "127.0.0.1")
    client = dgram_uv.createSocket({"type": "udp4", "recvBufferSize": 4 << 20}, loop=loop)
    replies: list[bytes] = []
    client.on("message", lambda m, r: replies.append(m)).bind(0, "127.0.0.1")
    for i in range(200):
        client.send(b"%d" % i, echo.address()["port"])
    assert run_until(loop, lambda: len(replies) == 200)
    assert replies == [b"%d" % i for i in range(200)]
    assert max(sendmmsg_calls, default=0) > 1  # several replies shared a call
    echo.close()
    client.close()


def test_a_failing_datagram_in_a_batch_fails_alone(loop, sendmmsg_calls) -> None:
    rx, tx, got = pair(loop)
    port = rx.address()["port"]
    results: list[Any] = []

    def burst() -> None:
        tx.send(b"before", port, "127.0.0.1", results.append)
        tx.send(b"x" * 70000, port, "127.0.0.1", results.append)
        tx.send(b"after", port, "127.0.0.1", results.append)

    call_later(loop, burst)
    assert run_until(loop, lambda: len(results) == 3 and len(got) == 2)
    assert got == [b"before", b"after"]
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], DgramOSError) and results[1].code == "EMSGSIZE"
    assert results[1].syscall == "send" and results[1].port == port
    rx.close()
    tx.close()


def test_close_in_the_window_sends_what_came_before(loop, sendmmsg_calls) -> None:
    rx, tx, got = pair(loop)
    port = rx.address()["port"]
    results: list[Any] = []

    def burst() -> None:
        for i in range(3):
            tx.send(b"%d" % i, port, "127.0.0.1", results.append)
        tx.close()

    call_later(loop, burst)
    assert run_until(loop, lambda: len(results) == 3 and len(got) == 3)
    assert got == [b"0", b"1", b"2"] and results == [None] * 3
    rx.close()


def test_option_changes_in_the_window_apply_after_earlier_sends(loop, sendmmsg_calls) -> None:
    rx, tx, got = pair(loop)
    port = rx.address()["port"]

    def burst() -> None:
        tx.send(b"a", port)  # straight out, the first of the window
        tx.send(b"b", port)
        tx.send(b"c", port)
        tx.setTTL(5)  # the held sends go out first, under the old TTL
        tx.send(b"d", port)

    call_later(loop, burst)
    assert run_until(loop, lambda: len(got) == 4)
    assert got == [b"a", b"b", b"c", b"d"]
    assert sendmmsg_calls[0] == 2
    rx.close()
    tx.close()


def test_sockaddr_encoding() -> None:
    v4 = sockaddr("127.0.0.1", 0x1234)
    assert len(v4) == 16 and v4[2:4] == b"\x12\x34" and v4[4:8] == bytes([127, 0, 0, 1])
    v6 = sockaddr("::1", 80)
    assert len(v6) == 28 and v6[2:4] == b"\x00\x50" and v6[8:24] == bytes(15) + b"\x01"


@pytest.fixture
def long_way(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Records the payloads of the sends that went the long way
    (Outbox.send), not the short one (Outbox.send_direct)."""
    calls: list[bytes] = []
    real = outbox_module.Outbox.send

    def recording(self: Any, data: bytes, *args: Any) -> None:
        calls.append(bytes(data))
        real(self, data, *args)

    monkeypatch.setattr(outbox_module.Outbox, "send", recording)
    return calls


@pytest.fixture
def direct_sends(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bytes]]:
    """Records the helper's single sendto calls (either way's system call
    for a lone datagram)."""
    calls: list[tuple[int, bytes]] = []
    real = outbox_module.lib

    class Recording:
        def dgram_uv_sendto(self, fd: int, data: bytes, size: int, name: bytes,
                            namelen: int) -> int:
            calls.append((size, bytes(data)))
            return int(real.dgram_uv_sendto(fd, data, size, name, namelen))

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    monkeypatch.setattr(outbox_module, "lib", Recording())
    return calls


@pytest.mark.parametrize(("kind", "host"), [("udp4", "127.0.0.1"), ("udp6", "::1")])
def test_a_repeated_destination_goes_direct_in_order(loop, direct_sends, long_way, kind: str,
                                                     host: str) -> None:
    """The first send to a literal goes the long way and caches its sockaddr;
    the next ones take the short way; each is one sendto from the helper, and
    all arrive in order."""
    rx, tx, got = pair(loop, kind, host)
    port = rx.address()["port"]
    for i in range(5):
        tx.send(b"%d" % i, port, host)
    assert long_way == [b"0"]
    assert [data for _, data in direct_sends] == [b"0", b"1", b"2", b"3", b"4"]
    assert run_until(loop, lambda: len(got) == 5)
    assert got == [b"0", b"1", b"2", b"3", b"4"]
    rx.close()
    tx.close()


def test_what_goes_direct_and_what_goes_the_long_way(loop, long_way) -> None:
    """Any form to a known literal goes direct, a callback and keywords too; a
    host name, the sends behind it while it resolves, a window's later sends
    and a block list go the long way; each is still sent (or refused) in
    order."""
    rx, tx, got = pair(loop)
    port = rx.address()["port"]
    tx.send(b"warm", port, "127.0.0.1")
    done: list[object] = []
    tx.send(b"with callback", port, "127.0.0.1", done.append)
    tx.send(b"by keyword", port=port, host="127.0.0.1")
    tx.send(b"xx offset xx", 3, 6, port, "127.0.0.1")
    tx.send(b"by name", port, "localhost")
    tx.send(b"behind a name", port, "127.0.0.1")  # waits its turn behind the lookup
    assert run_until(loop, lambda: len(got) == 6 and done == [None])

    def burst() -> None:  # inside a window: the first direct, the rest held
        tx.send(b"w1", port, "127.0.0.1")
        tx.send(b"w2", port, "127.0.0.1")

    call_later(loop, burst)
    assert run_until(loop, lambda: len(got) == 8)
    assert got == [b"warm", b"with callback", b"by keyword", b"offset", b"by name",
                   b"behind a name", b"w1", b"w2"]
    # The offset form is normalised first, then goes direct: the long way
    # would see b"offset"; w2 is held by the short way too.
    slow = [b"warm", b"by name", b"behind a name"]
    assert long_way == slow

    blocks = dgram_uv.BlockList()
    blocks.addAddress("127.0.0.1")
    guarded = dgram_uv.createSocket({"type": "udp4", "sendBlockList": blocks},
                                    loop=loop).bind(0, "127.0.0.1")
    errors: list[Any] = []
    guarded.send(b"blocked", port, "127.0.0.1", errors.append)
    guarded.on("error", errors.append)
    guarded.send(b"blocked too", port, "127.0.0.1")  # the pair is cached: still refused
    assert run_until(loop, lambda: len(errors) == 2)
    assert [err.code for err in errors] == ["ERR_IP_BLOCKED", "ERR_IP_BLOCKED"]
    assert long_way == [*slow, b"blocked", b"blocked too"]
    for s in (rx, tx, guarded):
        s.close()


def test_a_direct_send_that_fails_is_reported_once(loop, direct_sends) -> None:
    """A payload too large for UDP fails in sendto, is reported once
    (EMSGSIZE as 'error', not tried again), and the socket keeps sending."""
    rx, tx, got = pair(loop)
    port = rx.address()["port"]
    tx.send(b"warm", port, "127.0.0.1")
    errors: list[Any] = []
    tx.on("error", errors.append)
    tx.send(bytes(70000), port, "127.0.0.1")
    tx.send(b"after", port, "127.0.0.1")
    assert run_until(loop, lambda: errors and len(got) == 2)
    assert [(err.code, err.syscall) for err in errors] == [("EMSGSIZE", "send")]
    assert got == [b"warm", b"after"]
    assert [size for size, _ in direct_sends] == [4, 70000, 5]
    rx.close()
    tx.close()


def test_a_handle_closed_under_the_socket_is_not_written_to(loop, direct_sends) -> None:
    """A handle closed behind dgram_uv's back (a sweep of the loop's handles)
    is never sent through: its descriptor number may belong to another file
    by then."""
    rx, tx, _got = pair(loop)
    port = rx.address()["port"]
    tx.send(b"warm", port, "127.0.0.1")
    assert direct_sends == [(4, b"warm")]
    tx._handle.close()
    errors: list[Any] = []
    tx.on("error", errors.append)
    tx.send(b"late", port, "127.0.0.1")
    assert run_until(loop, lambda: bool(errors))
    assert [(err.code, err.syscall) for err in errors] == [("EBADF", "send")]
    assert direct_sends == [(4, b"warm")]
    rx.close()
    tx.close()


def test_without_the_helper_every_send_goes_the_long_way(loop, monkeypatch) -> None:
    """The pure-pyuv fallback: no helper, no direct path; all still arrive."""
    rx, tx, got = pair(loop)
    port = rx.address()["port"]
    monkeypatch.setattr(outbox_module, "lib", None)
    for i in range(3):
        tx.send(b"%d" % i, port, "127.0.0.1")
    assert run_until(loop, lambda: len(got) == 3)
    assert got == [b"0", b"1", b"2"]
    rx.close()
    tx.close()


@pytest.mark.parametrize("port_of", [float, bool, str])
def test_a_cached_pair_does_not_let_a_wrong_port_type_through(loop, port_of: Any) -> None:
    """(host, 1.0) and (host, True) equal (host, 1) as dict keys: the short
    way must not take them for the cached pair; the port check refuses them."""
    rx, tx, got = pair(loop)
    port = rx.address()["port"] if port_of is not bool else 1
    tx.send(b"warm", port, "127.0.0.1")  # caches ("127.0.0.1", port)
    with pytest.raises(dgram_uv.DgramTypeError) as info:
        tx.send(b"bad", port_of(port), "127.0.0.1")
    assert info.value.code == "ERR_INVALID_ARG_TYPE"
    tx.send(b"after", rx.address()["port"], "127.0.0.1")
    assert run_until(loop, lambda: got[-1:] == [b"after"])
    assert b"bad" not in got
    rx.close()
    tx.close()


def test_a_window_larger_than_one_call_goes_out_in_calls_of_the_limit(loop,
                                                                      sendmmsg_calls) -> None:
    rx, tx, got = pair(loop)
    port = rx.address()["port"]
    count = outbox_module.SEND_MAX + 44

    def burst() -> None:
        for i in range(count):
            tx.send(b"%d" % i, port, "127.0.0.1")

    call_later(loop, burst)
    assert run_until(loop, lambda: len(got) == count)
    assert got == [b"%d" % i for i in range(count)]
    assert sendmmsg_calls == [outbox_module.SEND_MAX, 43]  # the first went straight out
    rx.close()
    tx.close()


def test_a_full_send_buffer_queues_in_libuv_in_order(loop, monkeypatch) -> None:
    """EAGAIN from the helper's sendto (the kernel's buffer full), on the
    short way and the long: the datagram goes to libuv's queue, the sends
    behind it follow it there, all arrive in order, each callback once."""
    rx, tx, got = pair(loop)
    port = rx.address()["port"]
    tx.send(b"warm", port, "127.0.0.1")
    real = outbox_module.lib
    refusals = [0]

    class Full:
        def dgram_uv_sendto(self, *args: Any) -> int:
            if refusals[0] < 2:
                refusals[0] += 1
                return -errno.EAGAIN
            return int(real.dgram_uv_sendto(*args))

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    monkeypatch.setattr(outbox_module, "lib", Full())
    done: list[object] = []
    for i in range(5):
        tx.send(b"%d" % i, port, "127.0.0.1", done.append)
    assert tx.getSendQueueCount() >= 1  # the refused one waits in libuv
    assert run_until(loop, lambda: len(got) == 6 and len(done) == 5)
    assert got == [b"warm", b"0", b"1", b"2", b"3", b"4"]
    assert done == [None] * 5
    assert refusals[0] == 1  # after the first refusal the rest queue behind it
    assert tx.getSendQueueCount() == 0
    rx.close()
    tx.close()
