"""Socket.send in both forms, implicit bind, queueing, callbacks, failures."""

from __future__ import annotations

from typing import Any

import pytest

import dgram_uv
from conftest import run_until
from dgram_uv import DgramError, DgramOSError, DgramStateError, DgramTypeError, DgramValueError


def receiver(loop, kind: str = "udp4", host: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    got: list[tuple[bytes, dict[str, Any]]] = []
    s = dgram_uv.createSocket(kind, lambda msg, rinfo: got.append((msg, dict(rinfo))), loop=loop)
    s.bind(0, host)
    return s, s.address()["port"], got


@pytest.mark.parametrize(("kind", "host"), [("udp4", "127.0.0.1"), ("udp6", "::1")])
def test_luvit_form_and_rinfo(loop, kind: str, host: str) -> None:
    server, port, got = receiver(loop, kind, host)
    client = dgram_uv.createSocket(kind, loop=loop)
    client.send(b"hello", port, host)
    assert run_until(loop, lambda: len(got) == 1)
    msg, rinfo = got[0]
    assert msg == b"hello"
    assert rinfo == {"address": host, "ip": host, "port": client.address()["port"],
                     "family": "IPv4" if kind == "udp4" else "IPv6", "size": 5}
    server.close()
    client.close()


def test_host_defaults_to_loopback(loop) -> None:
    server, port, got = receiver(loop)
    client = dgram_uv.createSocket("udp4", loop=loop)
    client.send("ping", port)
    assert run_until(loop, lambda: [m for m, _ in got] == [b"ping"])
    server6, port6, got6 = receiver(loop, "udp6", "::1")
    client6 = dgram_uv.createSocket("udp6", loop=loop)
    client6.send(b"six", port6)
    assert run_until(loop, lambda: [m for m, _ in got6] == [b"six"])
    for s in (server, client, server6, client6):
        s.close()


def test_node_08_offset_length_form(loop) -> None:
    server, port, got = receiver(loop)
    client = dgram_uv.createSocket("udp4", loop=loop)
    done: list[object] = []
    client.send(b"--middle--", 2, 6, port, "127.0.0.1", done.append)
    client.send(bytearray(b"xyz"), 1, 1, port)
    assert run_until(loop, lambda: len(got) == 2 and done == [None])
    assert [m for m, _ in got] == [b"middle", b"y"]
    server.close()
    client.close()


def test_payload_forms_str_list_empty(loop) -> None:
    server, port, got = receiver(loop)
    client = dgram_uv.createSocket("udp4", loop=loop)
    client.send("héllo", port)
    client.send([b"ab", "cd", bytearray(b"ef")], port)
    client.send(b"", port)
    assert run_until(loop, lambda: len(got) == 3)
    assert [m for m, _ in got] == ["héllo".encode(), b"abcdef", b""]
    assert got[2][1]["size"] == 0
    server.close()
    client.close()


def test_list_is_copied_at_call_time(loop) -> None:
    server, port, got = receiver(loop)
    client = dgram_uv.createSocket("udp4", loop=loop)
    buf = bytearray(b"before")
    client.send([buf], port, "localhost")  # a name: the send waits for the lookup
    buf[:] = b"AFTER!"
    assert run_until(loop, lambda: len(got) == 1)
    assert got[0][0] == b"before"
    server.close()
    client.close()


def test_send_on_unbound_socket_binds_emits_listening_and_receives(loop) -> None:
    server, port, got = receiver(loop)
    client = dgram_uv.createSocket("udp4", loop=loop)
    events: list[str] = []
    replies: list[bytes] = []
    client.on("listening", lambda: events.append("listening"))
    client.on("message", lambda msg, rinfo: replies.append(msg))
    client.send(b"hi", port)
    assert client.address()["address"] == "0.0.0.0"
    assert run_until(loop, lambda: events == ["listening"] and len(got) == 1)
    server.send(b"back", got[0][1]["port"], "127.0.0.1")
    assert run_until(loop, lambda: replies == [b"back"])
    server.close()
    client.close()


def test_callback_is_always_deferred(loop) -> None:
    server, port, _ = receiver(loop)
    client = dgram_uv.createSocket("udp4", loop=loop)
    calls: list[object] = []
    client.send(b"x", port, "127.0.0.1", calls.append)
    client.send(b"x" * 70000, port, "127.0.0.1", calls.append)  # fails at once, reported later
    assert calls == []
    assert run_until(loop, lambda: len(calls) == 2)
    assert calls[0] is None
    err = calls[1]
    assert isinstance(err, DgramOSError) and err.code == "EMSGSIZE"
    assert (err.syscall, err.address, err.port) == ("send", "127.0.0.1", port)
    server.close()
    client.close()


def test_send_failure_without_callback_is_emitted(loop) -> None:
    client = dgram_uv.createSocket("udp4", loop=loop)
    errors: list[DgramError] = []
    client.on("error", errors.append)
    client.send(b"x" * 70000, 9)
    assert run_until(loop, lambda: bool(errors))
    assert errors[0].code == "EMSGSIZE"
    client.close()


def test_dns_failure_goes_to_callback_and_order_is_kept(loop) -> None:
    server, port, got = receiver(loop)
    client = dgram_uv.createSocket("udp4", loop=loop)
    results: list[tuple[str, object]] = []
    client.send(b"1", port, "localhost", lambda e: results.append(("1", e)))
    client.send(b"2", port, "no-such-host.invalid", lambda e: results.append(("2", e)))
    client.send(b"3", port, "127.0.0.1", lambda e: results.append(("3", e)))
    client.send(b"4", port, "localhost", lambda e: results.append(("4", e)))
    assert run_until(loop, lambda: len(results) == 4 and len(got) == 3, timeout=10)
    assert [m for m, _ in got] == [b"1", b"3", b"4"]
    failed = dict(results)["2"]
    assert isinstance(failed, DgramOSError) and failed.syscall == "getaddrinfo"
    assert failed.code in ("ENOTFOUND", "EAI_AGAIN")
    assert all(dict(results)[k] is None for k in "134")
    server.close()
    client.close()


def test_sends_queued_during_a_host_name_bind_are_sent_in_order(loop) -> None:
    server, port, got = receiver(loop)
    client = dgram_uv.createSocket("udp4", loop=loop)
    client.bind(0, "localhost")
    for i in range(20):
        client.send(str(i), port, "127.0.0.1")
    assert run_until(loop, lambda: len(got) == 20)
    assert [m for m, _ in got] == [str(i).encode() for i in range(20)]
    server.close()
    client.close()


def test_bad_arguments_raise_and_leave_the_socket_usable(loop) -> None:
    server, port, got = receiver(loop)
    client = dgram_uv.createSocket("udp4", loop=loop)
    cases: list[tuple[tuple[Any, ...], type, str]] = [
        ((b"x", 0), DgramValueError, "ERR_SOCKET_BAD_PORT"),
        ((b"x", 65536), DgramValueError, "ERR_SOCKET_BAD_PORT"),
        ((b"x", "80"), DgramTypeError, "ERR_INVALID_ARG_TYPE"),
        ((b"x", 9, 123), DgramTypeError, "ERR_INVALID_ARG_TYPE"),  # Node: port 9, bad host
        ((b"x",), DgramValueError, "ERR_SOCKET_BAD_PORT"),
        ((12345, port), DgramTypeError, "ERR_INVALID_ARG_TYPE"),
        ((b"x", port, "127.0.0.1", "not callable"), DgramTypeError, "ERR_INVALID_ARG_TYPE"),
        ((b"abc", 2, 5, port), DgramValueError, "ERR_BUFFER_OUT_OF_BOUNDS"),
    ]
    for args, cls, code in cases:
        with pytest.raises(cls) as info:
            client.send(*args)
        assert info.value.code == code, args
    client.send(b"still fine", port)
    assert run_until(loop, lambda: [m for m, _ in got] == [b"still fine"])
    server.close()
    client.close()


def test_send_after_close_raises_not_running(loop) -> None:
    client = dgram_uv.createSocket("udp4", loop=loop)
    client.close()
    with pytest.raises(DgramStateError) as info:
        client.send(b"x", 9)
    assert info.value.code == "ERR_SOCKET_DGRAM_NOT_RUNNING"


def test_close_cancels_pending_sends_each_callback_once(loop) -> None:
    client = dgram_uv.createSocket("udp4", loop=loop)
    server, port, _ = receiver(loop)
    results: list[object] = []
    client.send(b"a", port, "localhost", results.append)  # waiting for a lookup
    client.send(b"b", port, "127.0.0.1", results.append)  # queued behind it
    client.close()
    assert run_until(loop, lambda: len(results) == 2)
    assert all(isinstance(r, DgramOSError) and r.code == "ECANCELED" for r in results)
    server.close()


def test_burst_larger_than_the_send_buffer_is_delivered_in_order(loop) -> None:
    server = dgram_uv.createSocket({"type": "udp4", "recvBufferSize": 4 << 20}, loop=loop)
    got: list[bytes] = []
    server.on("message", lambda msg, rinfo: got.append(msg)).bind(0, "127.0.0.1")
    client = dgram_uv.createSocket({"type": "udp4", "sendBufferSize": 4096}, loop=loop)
    done: list[object] = []
    for i in range(300):
        client.send(b"%04d" % i + b"." * 1000, server.address()["port"], "127.0.0.1",
                    done.append)
    assert run_until(loop, lambda: len(done) == 300 and len(got) == 300, timeout=10)
    assert done == [None] * 300
    assert [m[:4] for m in got] == [b"%04d" % i for i in range(300)]
    server.close()
    client.close()
