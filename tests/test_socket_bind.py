"""Socket.bind, address, 'listening', and the state rules around them."""

from __future__ import annotations

import socket
import textwrap

import pytest

import dgram_uv
from conftest import run_until
from dgram_uv import DgramOSError, DgramStateError
from netns import SETUP_LINK_LOCAL, run_in_namespace


@pytest.mark.parametrize(("kind", "host"), [("udp4", "127.0.0.1"), ("udp6", "::1")])
def test_bind_literal_binds_before_returning_listening_later(loop, kind: str, host: str) -> None:
    s = dgram_uv.createSocket(kind, loop=loop)
    events: list[str] = []
    assert s.bind(0, host) is s
    addr = s.address()  # works at once for an IP literal
    assert addr["address"] == host and addr["ip"] == host and addr["port"] > 0
    assert addr["family"] == ("IPv4" if kind == "udp4" else "IPv6")
    s.on("listening", lambda: events.append("listening"))  # attached after bind: still heard
    assert events == []
    assert run_until(loop, lambda: events == ["listening"])
    s.close()


def test_bind_defaults_to_wildcard(loop) -> None:
    s4 = dgram_uv.createSocket("udp4", loop=loop).bind()
    s6 = dgram_uv.createSocket("udp6", loop=loop).bind(0)
    assert s4.address()["address"] == "0.0.0.0"
    assert s6.address()["address"] == "::"
    s4.close()
    s6.close()


def test_bind_callback_in_host_or_options_place(loop) -> None:
    heard: list[str] = []
    a = dgram_uv.createSocket("udp4", loop=loop).bind(0, lambda: heard.append("a"))
    b = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1", lambda: heard.append("b"))
    c = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1", None,
                                                     lambda: heard.append("c"))
    d = dgram_uv.createSocket("udp4", loop=loop).bind({"port": 0, "address": "127.0.0.1"},
                                                     lambda: heard.append("d"))
    assert run_until(loop, lambda: sorted(heard) == ["a", "b", "c", "d"])
    assert d.address()["address"] == "127.0.0.1"
    for s in (a, b, c, d):
        s.close()


def test_bind_host_name_resolves_asynchronously(loop) -> None:
    s = dgram_uv.createSocket("udp4", loop=loop)
    listening: list[bool] = []
    s.bind(0, "localhost", lambda: listening.append(True))
    with pytest.raises(DgramOSError) as info:
        s.address()  # not bound until the name resolves
    assert info.value.code == "EBADF"
    with pytest.raises(DgramStateError) as again:
        s.bind(0)
    assert again.value.code == "ERR_SOCKET_ALREADY_BOUND"
    assert run_until(loop, lambda: listening == [True])
    assert s.address()["address"] == "127.0.0.1"
    s.close()


def test_bind_unknown_host_emits_enotfound_and_socket_can_bind_again(loop) -> None:
    s = dgram_uv.createSocket("udp4", loop=loop)
    errors: list[DgramOSError] = []
    s.on("error", errors.append)
    s.bind(0, "no-such-host.invalid")
    assert run_until(loop, lambda: bool(errors), timeout=10)
    assert errors[0].code in ("ENOTFOUND", "EAI_AGAIN")
    assert errors[0].syscall == "getaddrinfo"
    s.bind(0, "127.0.0.1")
    assert s.address()["port"] > 0
    s.close()


def test_second_bind_raises_already_bound(loop) -> None:
    s = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1")
    with pytest.raises(DgramStateError) as info:
        s.bind(0, "127.0.0.1")
    assert info.value.code == "ERR_SOCKET_ALREADY_BOUND"
    assert s.address()["port"] > 0  # still usable
    s.close()


def test_bind_failure_is_emitted_and_socket_returns_to_unbound(loop) -> None:
    first = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1")
    port = first.address()["port"]
    second = dgram_uv.createSocket("udp4", loop=loop)
    errors: list[DgramOSError] = []
    listening: list[bool] = []
    second.on("error", errors.append).on("listening", lambda: listening.append(True))
    second.bind(port, "127.0.0.1")
    assert errors == []  # emitted later, never synchronously
    assert run_until(loop, lambda: bool(errors))
    err = errors[0]
    assert err.code == "EADDRINUSE" and err.syscall == "bind"
    assert (err.address, err.port) == ("127.0.0.1", port)
    assert str(err) == f"bind EADDRINUSE 127.0.0.1:{port}"
    assert isinstance(err, OSError) and err.errno > 0
    assert listening == []
    second.bind(0, "127.0.0.1")  # unbound again: may bind elsewhere
    assert run_until(loop, lambda: listening == [True])
    first.close()
    second.close()


def test_unhandled_bind_error_reaches_excepthook(loop) -> None:
    first = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1")
    second = dgram_uv.createSocket("udp4", loop=loop)
    second.bind(first.address()["port"], "127.0.0.1")
    assert run_until(loop, lambda: bool(loop.errors))
    err = loop.errors.pop()
    assert isinstance(err, DgramOSError) and err.code == "EADDRINUSE"
    first.close()
    second.close()


def test_reuse_addr_lets_two_sockets_share_a_port(loop) -> None:
    a = dgram_uv.createSocket({"type": "udp4", "reuseAddr": True}, loop=loop).bind(0, "127.0.0.1")
    b = dgram_uv.createSocket("udp4", loop=loop)
    errors: list[object] = []
    b.on("error", errors.append)
    b.bind(a.address()["port"], "127.0.0.1", {"reuseaddr": True})  # luvit's key
    assert b.address()["port"] == a.address()["port"]
    a.close()
    b.close()
    assert errors == []


def test_reuse_port_option(loop) -> None:
    a = dgram_uv.createSocket({"type": "udp4", "reusePort": True}, loop=loop).bind(0, "127.0.0.1")
    b = dgram_uv.createSocket("udp4", loop=loop).bind(a.address()["port"], "127.0.0.1",
                                                     {"reusePort": True})
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM, 0, b._handle.fileno()) as raw:
        try:
            assert raw.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
        finally:
            raw.detach()
    assert b.address()["port"] == a.address()["port"]
    a.close()
    b.close()


def test_ipv6_only(loop) -> None:
    s = dgram_uv.createSocket({"type": "udp6", "ipv6Only": True}, loop=loop).bind(0, "::")
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM, 0, s._handle.fileno()) as raw:
        try:
            assert raw.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
        finally:
            raw.detach()
    s.close()


def test_address_when_unbound_is_ebadf(loop) -> None:
    s = dgram_uv.createSocket("udp4", loop=loop)
    with pytest.raises(DgramOSError) as info:
        s.address()
    assert info.value.code == "EBADF"
    s.close()


def test_wrong_family_literal_is_an_emitted_os_error(loop) -> None:
    s = dgram_uv.createSocket("udp4", loop=loop)
    errors: list[DgramOSError] = []
    s.on("error", errors.append)
    s.bind(0, "::1")
    assert run_until(loop, lambda: bool(errors))
    assert errors[0].syscall == "bind"
    s.bind(0, "127.0.0.1")
    s.close()


LINK_LOCAL = textwrap.dedent("""
    import json, pyuv, dgram_uv
    loop = pyuv.Loop()
    got = {"rx": [], "tx": []}
    rx = dgram_uv.createSocket("udp6", loop=loop)
    rx.on("message", lambda m, r: (got["rx"].append([m.decode(), r["address"]]),
                                   rx.send(b"reply", r["port"], r["address"])))
    rx.bind(0, "fe80::1%lo")
    tx = dgram_uv.createSocket("udp6", lambda m, r: got["tx"].append([m.decode(), r["address"]]),
                               loop=loop)
    tx.bind(0, "fe80::1%lo")
    port = rx.address()["port"]
    tx.send("hello", port, "fe80::1%lo")
    c = dgram_uv.createSocket("udp6", loop=loop)
    c.connect(port, "fe80::1%" + str(__import__("socket").if_nametoindex("lo")))
    c.on("connect", lambda: c.send("connected"))
    timer = pyuv.Timer(loop)
    timer.start(lambda t: loop.stop(), 0.5, 0)
    loop.run()
    out = {"rx": rx.address()["address"], "tx": tx.address()["address"],
           "remote": c.remoteAddress()["address"], "got": got}
    for s in (rx, tx, c):
        s.close()
    timer.close()
    loop.run()
    print(json.dumps(out))
""")


@pytest.mark.usefixtures("receiver_kind")
def test_bind_scoped_link_local_literal_keeps_the_scope() -> None:
    """Node's test-dgram-udp6-link-local-address, delivered in a network
    namespace: bind(0, 'fe80::1%lo') binds; address(), remoteAddress() and a
    link-local sender's rinfo.address say 'fe80::1%lo'; a reply to
    rinfo.address arrives; a numeric scope ('%1') works as well."""
    out = run_in_namespace(SETUP_LINK_LOCAL, LINK_LOCAL)
    assert out["rx"] == out["tx"] == out["remote"] == "fe80::1%lo"
    assert sorted(out["got"]["rx"]) == [["connected", "fe80::1%lo"], ["hello", "fe80::1%lo"]]
    assert out["got"]["tx"] == [["reply", "fe80::1%lo"]]
