"""Node's own dgram tests (nodejs/node test/parallel/test-dgram-*.js), ported.

Each test is named after the Node file whose behaviour it mirrors and says in
its docstring which behaviour that is.  The cases are rewritten for
dgram_uv's contract (docs/api.md): callbacks get only ``err`` (no byte
count), send's host defaults to loopback, every loop run is bounded, and only
loopback addresses (127.0.0.1, 127.0.0.2, ::1) are ever sent to.

Not ported, and why:

- test-dgram-cluster-*, test-dgram-exclusive-implicit-bind,
  test-dgram-bind-shared-ports: Node's cluster module (workers sharing a
  handle) has no counterpart.
- test-dgram-create-socket-handle(-fd), test-dgram-recv-error,
  test-dgram-close-during-bind's handle.bind mock, test-dgram-send-error's
  handle.send mock: they patch Node's internal UDP wrap (kStateSymbol,
  internalBinding); the resolver-side cases are ported with the public
  ``lookup`` option instead.
- test-dgram-close-signal, test-dgram-abort-closed: AbortSignal is Node-only.
- test-dgram-deprecation-error, test-dgram-sendto: Node's deprecated
  underscore properties and the undocumented ``sendto`` method (its type
  checks are ported onto ``send``).
- test-dgram-bytes-length and the ``bytes`` argument of the send-callback
  tests: dgram_uv's send callback gets only ``err`` (docs/api.md).
- test-dgram-close-is-not-callback: Node ignores a non-function close
  callback; the contract makes it ERR_INVALID_ARG_TYPE.
- test-dgram-setBroadcast / test-dgram-socket-buffer-size EBADF-before-bind
  cases: dgram_uv's socket options work before bind (a documented difference).
- test-dgram-unref's unref() after close: the contract makes every method
  but close raise ERR_SOCKET_DGRAM_NOT_RUNNING after close.
- test-dgram-bind-fd-error's non-UDP descriptor (ERR_INVALID_FD_TYPE): the
  contract names no such code, and libuv does not check the descriptor type.
- test-dgram-udp6-link-local-address's delivery half: sending to a link-local
  address is not loopback; only binding a scoped literal is tested.
- test-dgram-multicast-*-delivery: sending to a group is not loopback here;
  tests/test_multicast.py does it inside a network namespace.
"""

from __future__ import annotations

import os
import socket as pysocket
import time
from typing import Any

import pytest
import pyuv

import dgram_uv
from conftest import run_for, run_until
from dgram_uv import DgramError, DgramOSError, DgramTypeError, DgramValueError

# Every port runs on both receivers (the batch one and pyuv's).
pytestmark = pytest.mark.usefixtures("receiver_kind")


def listen(loop, kind: str = "udp4", host: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    """A bound receiver: (socket, port, [(msg, rinfo), ...])."""
    got: list[tuple[bytes, dict[str, Any]]] = []
    s = dgram_uv.createSocket(kind, lambda msg, rinfo: got.append((msg, dict(rinfo))), loop=loop)
    s.bind(0, host)
    return s, s.address()["port"], got


def closed_port(loop, kind: str = "udp4", host: str = "127.0.0.1") -> int:  # type: ignore[no-untyped-def]
    """A loopback port nobody listens on (bound, read, then released)."""
    family = pysocket.AF_INET if kind == "udp4" else pysocket.AF_INET6
    with pysocket.socket(family, pysocket.SOCK_DGRAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def link_local_address() -> str | None:
    """A scoped link-local IPv6 literal of this machine ('fe80::…%ifname'), if any."""
    try:
        with open("/proc/net/if_inet6") as f:
            for line in f:
                hexaddr, _idx, _plen, scope, _flags, name = line.split()
                if scope == "20":
                    groups = [hexaddr[i:i + 4] for i in range(0, 32, 4)]
                    packed = bytes.fromhex("".join(groups))
                    return pysocket.inet_ntop(pysocket.AF_INET6, packed) + "%" + name
    except OSError:
        return None
    return None


def messages(got: list[tuple[bytes, dict[str, Any]]]) -> list[bytes]:
    return [m for m, _ in got]


# -- bind ---------------------------------------------------------------------


def test_dgram_bind(loop) -> None:
    """test-dgram-bind: bind() returns the socket; a second bind raises ERR_SOCKET_ALREADY_BOUND."""
    s = dgram_uv.createSocket("udp4", loop=loop)
    seen: list[BaseException] = []

    def on_listening() -> None:
        try:
            s.bind()
        except DgramError as exc:
            seen.append(exc)
        s.close()

    s.on("listening", on_listening)
    assert s.bind() is s
    assert run_until(loop, lambda: len(seen) == 1)
    assert seen[0].code == "ERR_SOCKET_ALREADY_BOUND"
    assert str(seen[0]) == "Socket is already bound"


def test_dgram_bind_callback_only(loop) -> None:
    """test-dgram-custom-lookup: Node's bind(callback) binds the wildcard address, port 0."""
    s = dgram_uv.createSocket("udp4", loop=loop)
    fired: list[bool] = []
    assert s.bind(lambda: fired.append(True)) is s
    assert run_until(loop, lambda: fired == [True])
    assert s.address()["address"] == "0.0.0.0"
    assert s.address()["port"] > 0
    s.close()


def test_dgram_bind_default_address(loop) -> None:
    """test-dgram-bind-default-address: bind(port, callback) binds '0.0.0.0' / '::'."""
    port4 = closed_port(loop, "udp4", "0.0.0.0")
    addrs: dict[str, dict[str, Any]] = {}
    s4 = dgram_uv.createSocket("udp4", loop=loop)
    s4.bind(port4, lambda: addrs.setdefault("4", s4.address()))
    s6 = dgram_uv.createSocket("udp6", loop=loop)
    s6.bind(0, lambda: addrs.setdefault("6", s6.address()))
    assert run_until(loop, lambda: len(addrs) == 2)
    assert addrs["4"]["address"] == "0.0.0.0"
    assert addrs["4"]["port"] == port4
    assert addrs["6"]["address"] in ("::", "::ffff:0.0.0.0")
    assert addrs["6"]["family"] == "IPv6"
    s4.close()
    s6.close()


def test_dgram_bind_error_repeat(loop) -> None:
    """test-dgram-bind-error-repeat: a failed bind may be retried again and again, then succeed."""
    reserve, port, _ = listen(loop, host="0.0.0.0")
    s = dgram_uv.createSocket("udp4", loop=loop)
    errors: list[DgramError] = []
    listened: list[bool] = []
    s.on("error", errors.append)
    for attempt in range(5):
        s.bind(port, lambda: listened.append(True))
        assert run_until(loop, lambda n=attempt: len(errors) == n + 1)
    assert [e.code for e in errors] == ["EADDRINUSE"] * 5
    assert all(e.syscall == "bind" and e.port == port for e in errors)
    assert listened == []
    ok: list[bool] = []
    s.bind(0, "127.0.0.1", lambda: ok.append(True))  # unbound again, so this works
    assert run_until(loop, lambda: ok == [True])
    assert s.address()["port"] not in (0, port)
    s.close()
    reserve.close()


def test_dgram_error_message_address(loop) -> None:
    """test-dgram-error-message-address: the message reads like Node's; a 0 port is left out."""
    errors: dict[str, DgramError] = {}
    s0 = dgram_uv.createSocket("udp4", loop=loop)
    s0.on("error", lambda e: errors.setdefault("zero", e))
    s0.on("listening", lambda: errors.setdefault("listening", None))  # type: ignore[arg-type]
    s0.bind(0, "1.1.1.1")
    s1 = dgram_uv.createSocket("udp4", loop=loop)
    s1.on("error", lambda e: errors.setdefault("port", e))
    s1.bind(41234, "1.1.1.1")
    s6 = dgram_uv.createSocket("udp6", loop=loop)
    s6.on("error", lambda e: errors.setdefault("six", e))
    s6.bind(41234, "111::1")
    assert run_until(loop, lambda: {"zero", "port", "six"} <= set(errors))
    run_for(loop, 0.05)
    assert "listening" not in errors
    zero, port, six = errors["zero"], errors["port"], errors["six"]
    assert zero.code == "EADDRNOTAVAIL"
    assert str(zero) == "bind EADDRNOTAVAIL 1.1.1.1"
    assert zero.address == "1.1.1.1"
    assert zero.port is None
    assert str(port) == "bind EADDRNOTAVAIL 1.1.1.1:41234"
    assert port.port == 41234
    assert six.code in ("EADDRNOTAVAIL", "EAFNOSUPPORT", "EPROTONOSUPPORT")
    assert str(six) == f"bind {six.code} 111::1:41234"
    assert isinstance(zero, OSError) and zero.syscall == "bind"
    for s in (s0, s1, s6):
        s.close()


def test_dgram_bind_fd(loop) -> None:
    """test-dgram-bind-fd: bind({'fd': n}, callback) adopts a bound descriptor, both families."""
    for kind, family, host in (("udp4", pysocket.AF_INET, "127.0.0.1"),
                               ("udp6", pysocket.AF_INET6, "::1")):
        receiver, rport, got = listen(loop, kind, host)
        raw = pysocket.socket(family, pysocket.SOCK_DGRAM)
        raw.bind((host, 0))
        expected_port = raw.getsockname()[1]
        fd = raw.detach()
        s = dgram_uv.createSocket({"type": kind, "recvBufferSize": 4096,
                                   "sendBufferSize": 4096}, loop=loop)
        back: list[bytes] = []
        s.on("message", lambda msg, rinfo, back=back: back.append(msg))
        listened: list[bool] = []
        try:
            s.bind({"fd": fd}, lambda listened=listened: listened.append(True))
        except BaseException:
            os.close(fd)
            raise
        assert run_until(loop, lambda listened=listened: listened == [True])
        assert s.address()["address"] == host
        assert s.address()["port"] == expected_port
        assert s.getRecvBufferSize() == 8192  # Linux doubles it
        token = str(fd).encode()
        s.send(token, rport, host)
        assert run_until(loop, lambda got=got, token=token: messages(got) == [token])
        assert got[0][1]["port"] == expected_port
        receiver.send(b"echo", expected_port, host)
        assert run_until(loop, lambda back=back: back == [b"echo"])
        s.close()
        receiver.close()


def test_dgram_bind_fd_error(loop) -> None:
    """test-dgram-bind-fd-error: adopting a descriptor another loop handle owns fails: EEXIST."""
    other = pyuv.UDP(loop)
    other.bind(("127.0.0.1", 0))
    other.start_recv(lambda *args: None)  # reading, as Node's bound socket is
    s = dgram_uv.createSocket("udp4", loop=loop)
    errors: list[DgramError] = []
    s.on("error", errors.append)
    try:
        s.bind({"fd": other.fileno()})
    except DgramError as exc:  # Node throws it; the contract may emit it
        errors.append(exc)
    assert run_until(loop, lambda: len(errors) == 1)
    assert errors[0].code == "EEXIST"
    s.close()
    other.close()


def test_dgram_udp6_link_local_address(loop) -> None:
    """test-dgram-udp6-link-local-address: a scoped 'fe80::…%if' literal binds as a literal."""
    scoped = link_local_address()
    if scoped is None:
        pytest.skip("no link-local IPv6 address on this machine")
    s = dgram_uv.createSocket("udp6", loop=loop)
    errors: list[DgramError] = []
    s.on("error", errors.append)
    s.bind(0, scoped)
    addr = s.address()  # a literal is bound before bind() returns
    assert addr["address"].split("%")[0] == scoped.split("%")[0]
    assert addr["port"] > 0
    run_for(loop, 0.05)
    assert errors == []
    s.close()


def test_dgram_ipv6only(loop) -> None:
    """test-dgram-ipv6only: with ipv6Only, a udp4 socket can still bind 0.0.0.0 on the same port."""
    s6 = dgram_uv.createSocket({"type": "udp6", "ipv6Only": True}, loop=loop)
    s6.bind(0, "::")
    port = s6.address()["port"]
    s4 = dgram_uv.createSocket("udp4", loop=loop)
    errors: list[DgramError] = []
    s4.on("error", errors.append)
    listened: list[bool] = []
    s4.bind(port, "0.0.0.0", lambda: listened.append(True))
    assert run_until(loop, lambda: listened == [True] or bool(errors))
    assert errors == []
    assert s4.address()["port"] == port
    s4.close()
    s6.close()


def test_dgram_reuseport(loop) -> None:
    """test-dgram-reuseport: two sockets created with reusePort bind the same port."""
    a = dgram_uv.createSocket({"type": "udp4", "reusePort": True}, loop=loop)
    b = dgram_uv.createSocket({"type": "udp4", "reusePort": True}, loop=loop)
    errors: list[DgramError] = []
    b.on("error", errors.append)
    a.bind(0, "127.0.0.1")
    listened: list[bool] = []
    b.bind(a.address()["port"], "127.0.0.1", lambda: listened.append(True))
    assert run_until(loop, lambda: listened == [True] or bool(errors))
    assert errors == []
    assert b.address()["port"] == a.address()["port"]
    a.close()
    b.close()


def test_dgram_bind_shared_ports_reuseaddr(loop) -> None:
    """test-dgram-bind-shared-ports (no cluster): reuseAddr lets a second socket share a port."""
    a = dgram_uv.createSocket({"type": "udp4", "reuseAddr": True}, loop=loop)
    a.bind(0, "127.0.0.1")
    b = dgram_uv.createSocket({"type": "udp4", "reuseAddr": True}, loop=loop)
    errors: list[DgramError] = []
    b.on("error", errors.append)
    b.bind(a.address()["port"], "127.0.0.1")
    run_for(loop, 0.05)
    assert errors == []
    assert b.address()["port"] == a.address()["port"]
    # Without the option, the same bind fails with EADDRINUSE.
    c = dgram_uv.createSocket("udp4", loop=loop)
    c.on("error", errors.append)
    c.bind(a.address()["port"], "127.0.0.1")
    assert run_until(loop, lambda: len(errors) == 1)
    assert errors[0].code == "EADDRINUSE"
    for s in (a, b, c):
        s.close()


def test_dgram_listen_after_bind(loop) -> None:
    """test-dgram-listen-after-bind: 'listening' follows bind() on a later iteration."""
    s = dgram_uv.createSocket("udp4", loop=loop)
    events: list[str] = []
    s.on("listening", lambda: (events.append("listening"), s.close()))
    s.on("close", lambda: events.append("close"))
    s.bind()
    assert events == []  # not synchronously
    assert run_until(loop, lambda: events == ["listening", "close"])


def test_dgram_close_during_bind(loop) -> None:
    """test-dgram-close-during-bind: close while bind waits for the resolver: no bind, no listen."""
    s = dgram_uv.createSocket("udp4", loop=loop)
    events: list[str] = []
    s.on("listening", lambda: events.append("listening"))
    s.on("error", lambda e: events.append(f"error {e.code}"))
    s.bind(0, "localhost")
    s.close(lambda: events.append("close"))
    assert run_until(loop, lambda: "close" in events)
    run_for(loop, 0.2)  # the lookup completes meanwhile
    assert events == ["close"]


def test_dgram_bind_socket_close_before_lookup(loop) -> None:
    """test-dgram-bind-socket-close-before-lookup: a lookup answering after close binds nothing."""
    pending: list[Any] = []
    s = dgram_uv.createSocket({"type": "udp4",
                               "lookup": lambda host, family, cb: pending.append(cb)}, loop=loop)
    events: list[str] = []
    s.on("listening", lambda: events.append("listening"))
    s.on("error", lambda e: events.append(f"error {e.code}"))
    s.bind(0, "later.test", lambda: events.append("bind callback"))
    assert len(pending) == 1
    s.close(lambda: events.append("close"))
    assert run_until(loop, lambda: "close" in events)
    pending[0](None, "127.0.0.1")
    run_for(loop, 0.05)
    assert events == ["close"]


# -- createSocket -------------------------------------------------------------


@pytest.mark.parametrize("bad", ["test", ["udp4"], 1, {}, True, False, {"type": "udp5"}])
def test_dgram_createSocket_type_invalid(loop, bad: Any) -> None:
    """test-dgram-createSocket-type: a bad type raises ERR_SOCKET_BAD_TYPE (a TypeError)."""
    with pytest.raises(DgramTypeError) as info:
        dgram_uv.createSocket(bad, loop=loop)
    assert info.value.code == "ERR_SOCKET_BAD_TYPE"
    assert str(info.value) == "Bad socket type specified. Valid types are: udp4, udp6"


def test_dgram_createSocket_type_valid_and_buffer_sizes(loop) -> None:
    """test-dgram-createSocket-type: valid types work; recv/sendBufferSize options apply."""
    for kind in ("udp4", "udp6", {"type": "udp4"}, {"type": "udp6"}):
        dgram_uv.createSocket(kind, loop=loop).close()
    s = dgram_uv.createSocket({"type": "udp4", "recvBufferSize": 10000,
                               "sendBufferSize": 15000}, loop=loop)
    sizes: list[tuple[int, int]] = []
    s.bind(lambda: sizes.append((s.getRecvBufferSize(), s.getSendBufferSize())))
    assert run_until(loop, lambda: len(sizes) == 1)
    assert sizes[0][0] in (10000, 20000)
    assert sizes[0][1] in (15000, 30000)
    s.close()


def test_dgram_custom_lookup(loop) -> None:
    """test-dgram-custom-lookup: a 'lookup' option resolves names for bind and send."""
    calls: list[tuple[str, int]] = []

    def lookup(host: str, family: int, callback: Any) -> None:
        calls.append((host, family))
        callback(None, "127.0.0.1")

    receiver, port, got = listen(loop)
    s = dgram_uv.createSocket({"type": "udp4", "lookup": lookup}, loop=loop)
    listened: list[bool] = []
    s.bind(0, "me.test", lambda: listened.append(True))
    assert run_until(loop, lambda: listened == [True])
    assert s.address()["address"] == "127.0.0.1"
    done: list[Any] = []
    s.send(b"by name", port, "peer.test", done.append)
    s.send(b"by literal", port, "127.0.0.1", done.append)
    assert run_until(loop, lambda: len(got) == 2 and len(done) == 2)
    assert messages(got) == [b"by name", b"by literal"]
    assert done == [None, None]
    assert calls == [("me.test", 4), ("peer.test", 4)]
    s.close()
    receiver.close()


def test_dgram_custom_lookup_udp6(loop) -> None:
    """test-dgram-custom-lookup: a udp6 socket's lookup is asked for family 6."""
    calls: list[tuple[str, int]] = []

    def lookup(host: str, family: int, callback: Any) -> None:
        calls.append((host, family))
        callback(None, "::1")

    receiver, port, got = listen(loop, "udp6", "::1")
    s = dgram_uv.createSocket({"type": "udp6", "lookup": lookup}, loop=loop)
    s.send(b"six", port, "six.test")
    assert run_until(loop, lambda: messages(got) == [b"six"])
    assert calls == [("six.test", 6)]
    s.close()
    receiver.close()


@pytest.mark.parametrize("bad", [True, False, 0, 1, "", "foo", {}])
def test_dgram_custom_lookup_not_callable(loop, bad: Any) -> None:
    """test-dgram-custom-lookup: a lookup that is not callable raises ERR_INVALID_ARG_TYPE."""
    with pytest.raises(DgramTypeError) as info:
        dgram_uv.createSocket({"type": "udp4", "lookup": bad}, loop=loop)
    assert info.value.code == "ERR_INVALID_ARG_TYPE"


# -- address, ref -------------------------------------------------------------


def test_dgram_address(loop) -> None:
    """test-dgram-address: address() after 'listening' gives the bound address, port and family."""
    found: dict[str, dict[str, Any]] = {}
    s4 = dgram_uv.createSocket("udp4", loop=loop)
    s4.on("listening", lambda: found.setdefault("4", s4.address()))
    s4.bind(0, "127.0.0.1")
    s6 = dgram_uv.createSocket("udp6", loop=loop)
    s6.on("listening", lambda: found.setdefault("6", s6.address()))
    s6.bind(0, "::1")
    assert run_until(loop, lambda: len(found) == 2)
    for key, host, family in (("4", "127.0.0.1", "IPv4"), ("6", "::1", "IPv6")):
        addr = found[key]
        assert addr["address"] == host
        assert addr["ip"] == host
        assert addr["family"] == family
        assert isinstance(addr["port"], int) and 0 < addr["port"] < 65536
    s4.close()
    s6.close()


def test_dgram_address_unbound(loop) -> None:
    """test-dgram-address: address() on a socket never bound raises EBADF."""
    s = dgram_uv.createSocket("udp4", loop=loop)
    with pytest.raises(DgramError) as info:
        s.address()
    assert info.value.code == "EBADF"
    s.close()


def test_dgram_ref(loop) -> None:
    """test-dgram-ref: sockets that are created but never bound do not keep the loop alive."""
    a = dgram_uv.createSocket("udp4", loop=loop)
    b = dgram_uv.createSocket("udp6", loop=loop)
    started = time.monotonic()
    run_for(loop, 2.0)
    assert time.monotonic() - started < 1.0
    a.close()
    b.close()


def test_dgram_unref(loop) -> None:
    """test-dgram-unref: an unref'd bound socket lets the loop end; ref() holds it again."""
    s = dgram_uv.createSocket("udp4", loop=loop)
    s.bind(0, "127.0.0.1")
    assert s.unref() is s
    started = time.monotonic()
    run_for(loop, 2.0)
    assert time.monotonic() - started < 1.0
    assert s.ref() is s
    started = time.monotonic()
    run_for(loop, 0.3)
    assert time.monotonic() - started >= 0.25  # held until the stopper fires
    s.close()


# -- send: forms and payloads -------------------------------------------------


def test_dgram_udp4(loop) -> None:
    """test-dgram-udp4: str offset form to 'localhost'; the server echoes back to rinfo."""
    server = dgram_uv.createSocket("udp4", loop=loop)
    server.on("message", lambda msg, rinfo: server.send(msg, 0, len(msg), rinfo["port"],
                                                          rinfo["address"]))
    server.bind(0, "127.0.0.1")
    sport = server.address()["port"]
    client = dgram_uv.createSocket("udp4", loop=loop)
    got: list[tuple[bytes, dict[str, Any]]] = []
    client.on("message", lambda msg, rinfo: got.append((msg, dict(rinfo))))
    text = "A message to send"
    errs: list[Any] = []
    client.send(text, 0, len(text), sport, "localhost", errs.append)
    assert run_until(loop, lambda: len(got) == 1)
    assert errs == [None]
    assert got[0][0] == text.encode()
    assert got[0][1]["address"] == "127.0.0.1"
    assert got[0][1]["port"] == sport
    client.close()
    server.close()


def test_dgram_send_default_host(loop) -> None:
    """test-dgram-send-default-host: four forms without a host (str offset too) reach loopback."""
    client = dgram_uv.createSocket("udp4", loop=loop)
    got: list[bytes] = []
    client.on("message", lambda msg, rinfo: got.append(msg))
    client.bind(0)
    port = client.address()["port"]
    x, y, z = b"x" * 256, b"y" * 256, b"z" * 256
    client.send(x, 0, len(x), port)
    client.send(y, port)
    client.send([z], port)
    client.send("hello", 0, 5, port)
    assert run_until(loop, lambda: len(got) == 4)
    assert sorted(got) == sorted([x, y, z, b"hello"])
    client.close()


def test_dgram_send_default_host_str_offset_utf8(loop) -> None:
    """test-dgram-send-default-host (v20): str offset/length count bytes of the UTF-8 encoding."""
    receiver, port, got = listen(loop)
    client = dgram_uv.createSocket("udp4", loop=loop)
    done: list[Any] = []
    client.send("h\u00e9llo", 1, 3, port, "127.0.0.1", done.append)  # b'h\xc3\xa9llo'[1:4]
    client.send("abcdef", 2, 2, port, "127.0.0.1")
    assert run_until(loop, lambda: len(got) == 2 and done == [None])
    assert messages(got) == [b"\xc3\xa9l", b"cd"]
    client.close()
    receiver.close()


def test_dgram_udp6_send_default_host(loop) -> None:
    """test-dgram-udp6-send-default-host: a udp6 socket's sends without a host go to ::1."""
    client = dgram_uv.createSocket("udp6", loop=loop)
    got: list[tuple[bytes, dict[str, Any]]] = []
    client.on("message", lambda msg, rinfo: got.append((msg, dict(rinfo))))
    client.bind(0, "::")
    port = client.address()["port"]
    client.send(b"a" * 64, 0, 64, port)
    client.send(b"b" * 64, port)
    client.send([b"c" * 64], port)
    client.send("hello", 0, 5, port)
    assert run_until(loop, lambda: len(got) == 4)
    assert sorted(messages(got)) == sorted([b"a" * 64, b"b" * 64, b"c" * 64, b"hello"])
    assert {r["address"] for _, r in got} == {"::1"}
    assert {r["family"] for _, r in got} == {"IPv6"}
    client.close()


def test_dgram_send_address_types(loop) -> None:
    """test-dgram-send-address-types: host '' / None / left out mean loopback; others raise."""
    got: list[bytes] = []
    done: list[Any] = []
    client = dgram_uv.createSocket("udp4", lambda msg, rinfo: got.append(msg), loop=loop)
    client.bind(0, "127.0.0.1")
    port = client.address()["port"]
    client.send(b"empty", port, "", done.append)
    client.send(b"none", port, None, done.append)
    client.send(b"omitted", port, callback=done.append)
    client.send(b"bare", port)
    assert run_until(loop, lambda: len(got) == 4 and len(done) == 3)
    assert sorted(got) == sorted([b"empty", b"none", b"omitted", b"bare"])
    assert done == [None, None, None]
    for bad in ([], 1, True, 2.5):
        with pytest.raises(DgramTypeError) as info:
            client.send(b"x", port, bad)
        assert info.value.code == "ERR_INVALID_ARG_TYPE"
    client.close()


def test_dgram_send_callback_buffer_length(loop) -> None:
    """test-dgram-send-callback-buffer-length: send(buf, offset, length, port, host, cb)."""
    receiver, port, got = listen(loop)
    client = dgram_uv.createSocket("udp4", loop=loop)
    buf = bytes(range(256))
    done: list[Any] = []
    client.send(buf, 20, len(buf) - 20, port, "127.0.0.1", done.append)
    assert run_until(loop, lambda: done == [None] and len(got) == 1)
    assert got[0][0] == buf[20:]
    assert got[0][1]["size"] == 236
    client.close()
    receiver.close()


def test_dgram_send_callback_buffer_length_empty_address(loop) -> None:
    """test-dgram-send-callback-buffer-length-empty-address: send(buf, off, len, port, cb)."""
    receiver, port, got = listen(loop)
    client = dgram_uv.createSocket("udp4", loop=loop)
    buf = b"x" * 256
    done: list[Any] = []
    client.send(buf, 20, 236, port, done.append)
    assert run_until(loop, lambda: done == [None] and len(got) == 1)
    assert got[0][0] == b"x" * 236
    client.close()
    receiver.close()


def test_dgram_send_callback_buffer_empty_address(loop) -> None:
    """test-dgram-send-callback-buffer-empty-address: bind(0, cb), then send(buf, port, cb)."""
    got: list[bytes] = []
    done: list[Any] = []
    client = dgram_uv.createSocket("udp4", lambda msg, rinfo: got.append(msg), loop=loop)
    buf = b"x" * 256
    client.bind(0, lambda: client.send(buf, client.address()["port"], done.append))
    assert run_until(loop, lambda: done == [None] and got == [buf])
    client.close()


def test_dgram_send_callback_multi_buffer(loop) -> None:
    """test-dgram-send-callback-multi-buffer: a list of buffers is one datagram; cb gets None."""
    receiver, port, got = listen(loop)
    client = dgram_uv.createSocket("udp4", loop=loop)
    done: list[Any] = []
    client.send([b"x" * 256, bytearray(b"y" * 256), memoryview(b"z" * 10)], port,
                "127.0.0.1", done.append)
    assert run_until(loop, lambda: done == [None] and len(got) == 1)
    assert got[0][0] == b"x" * 256 + b"y" * 256 + b"z" * 10
    client.close()
    receiver.close()


def test_dgram_send_multi_buffer_copy(loop) -> None:
    """test-dgram-send-multi-buffer-copy: the list and its buffers are copied at call time."""
    receiver, port, got = listen(loop)
    client = dgram_uv.createSocket("udp4", loop=loop)
    first, second = bytearray(b"x" * 256), bytearray(b"y" * 256)
    parts = [first, second]
    done: list[Any] = []
    client.send(parts, port, "localhost", done.append)  # a name: the send waits for the resolver
    parts.clear()
    first[:] = b"-" * 256
    second[0:1] = b"!"
    assert run_until(loop, lambda: done == [None] and len(got) == 1)
    assert got[0][0] == b"x" * 256 + b"y" * 256
    client.close()
    receiver.close()


def test_dgram_send_multi_string_array(loop) -> None:
    """test-dgram-send-multi-string-array: a list of str sent to 'localhost' arrives joined."""
    got: list[bytes] = []
    s = dgram_uv.createSocket("udp4", lambda msg, rinfo: got.append(msg), loop=loop)
    s.bind(0, lambda: s.send(["foo", "bar", "baz"], s.address()["port"], "localhost"))
    assert run_until(loop, lambda: got == [b"foobarbaz"])
    s.close()


def test_dgram_send_empty_packet(loop) -> None:
    """test-dgram-send-empty-packet: send(buf, 0, 0, port, host, cb) delivers b''."""
    got: list[tuple[bytes, dict[str, Any]]] = []
    done: list[Any] = []
    s = dgram_uv.createSocket("udp4", lambda msg, rinfo: got.append((msg, dict(rinfo))), loop=loop)
    s.bind(0, "127.0.0.1")
    s.send(b"\x00", 0, 0, s.address()["port"], "127.0.0.1", done.append)
    assert run_until(loop, lambda: done == [None] and len(got) == 1)
    assert got[0][0] == b""
    assert got[0][1]["size"] == 0
    s.close()


def test_dgram_send_empty_array(loop) -> None:
    """test-dgram-send-empty-array: send([], port, host, cb) sends an empty datagram."""
    got: list[bytes] = []
    done: list[Any] = []
    s = dgram_uv.createSocket("udp4", lambda msg, rinfo: got.append(msg), loop=loop)
    s.bind(0, "127.0.0.1")
    s.send([], s.address()["port"], "127.0.0.1", done.append)
    assert run_until(loop, lambda: done == [None] and got == [b""])
    s.close()


def test_dgram_send_empty_buffer(loop) -> None:
    """test-dgram-send-empty-buffer: send(b'', port) sends an empty datagram to loopback."""
    got: list[bytes] = []
    s = dgram_uv.createSocket("udp4", lambda msg, rinfo: got.append(msg), loop=loop)
    s.bind(0, "127.0.0.1")
    s.send(b"", s.address()["port"])
    s.send("", s.address()["port"])
    assert run_until(loop, lambda: got == [b"", b""])
    s.close()


def test_dgram_send_callback_recursive(loop) -> None:
    """test-dgram-send-callback-recursive: sending again from a send callback, ten times."""
    got: list[bytes] = []
    s = dgram_uv.createSocket("udp4", lambda msg, rinfo: got.append(msg), loop=loop)
    s.bind(0, "127.0.0.1")
    port = s.address()["port"]
    depth = {"calls": 0}

    def onsend(err: Any = None) -> None:
        assert err is None
        depth["calls"] += 1
        if depth["calls"] <= 10:
            s.send(b"abc", 0, 3, port, "127.0.0.1", onsend)

    onsend()
    assert run_until(loop, lambda: len(got) == 10 and depth["calls"] == 11)
    assert got == [b"abc"] * 10
    s.close()


def test_dgram_implicit_bind(loop) -> None:
    """test-dgram-implicit-bind: two sends from an unbound socket bind it once, and both arrive."""
    target, port, got = listen(loop)
    source = dgram_uv.createSocket("udp4", loop=loop)
    listening: list[bool] = []
    source.on("listening", lambda: listening.append(True))
    source.send(b"abc", 0, 3, port, "127.0.0.1")
    source.send(b"def", 0, 3, port, "127.0.0.1")  # no second bind, no bind error
    assert run_until(loop, lambda: len(got) == 2)
    run_for(loop, 0.05)
    assert messages(got) == [b"abc", b"def"]
    assert listening == [True]
    assert source.address()["address"] == "0.0.0.0"
    assert {r["port"] for _, r in got} == {source.address()["port"]}
    source.close()
    target.close()


def test_dgram_implicit_bind_order(loop) -> None:
    """test-dgram-implicit-bind (order): sends to one peer keep call order, names and literals."""
    target, port, got = listen(loop)
    source = dgram_uv.createSocket("udp4", loop=loop)
    expected = []
    for i in range(30):
        payload = f"m{i:02d}".encode()
        expected.append(payload)
        source.send(payload, port, "localhost" if i % 3 == 0 else "127.0.0.1")
    assert run_until(loop, lambda: len(got) == 30)
    assert messages(got) == expected
    source.close()
    target.close()


# -- send: failures -----------------------------------------------------------


def test_dgram_msgsize(loop) -> None:
    """test-dgram-msgsize: a too-big datagram gives its callback EMSGSIZE, with Node's fields."""
    s = dgram_uv.createSocket("udp4", loop=loop)
    done: list[Any] = []
    s.send(bytes(256 * 1024), 0, 256 * 1024, 12345, "127.0.0.1", done.append)
    assert run_until(loop, lambda: len(done) == 1)
    err = done[0]
    assert isinstance(err, DgramOSError)
    assert err.code == "EMSGSIZE"
    assert err.syscall == "send"
    assert err.address == "127.0.0.1"
    assert err.port == 12345
    assert str(err) == "send EMSGSIZE 127.0.0.1:12345"
    s.close()


def test_dgram_send_cb_quelches_error(loop) -> None:
    """test-dgram-send-cb-quelches-error: a failure goes to the callback, else to 'error'."""
    s = dgram_uv.createSocket("udp4", loop=loop)
    emitted: list[DgramError] = []
    s.on("error", emitted.append)
    done: list[Any] = []
    big = bytes(100_000)
    s.send(big, 0, len(big), 9, "127.0.0.1", done.append)
    assert run_until(loop, lambda: len(done) == 1)
    run_for(loop, 0.05)
    assert done[0].code == "EMSGSIZE"
    assert emitted == []
    s.send(big, 0, len(big), 9, "127.0.0.1")
    assert run_until(loop, lambda: len(emitted) == 1)
    assert emitted[0].code == "EMSGSIZE"
    s.close()


def test_dgram_send_error(loop) -> None:
    """test-dgram-send-error: a lookup failure goes to the send callback, else to 'error'."""
    failure = DgramError("ENOTFOUND", "getaddrinfo ENOTFOUND nowhere.test")

    def lookup(host: str, family: int, callback: Any) -> None:
        callback(failure, None)

    got: list[bytes] = []
    s = dgram_uv.createSocket({"type": "udp4", "lookup": lookup}, loop=loop)
    s.on("message", lambda msg, rinfo: got.append(msg))
    s.bind(0, "127.0.0.1")
    port = s.address()["port"]
    done: list[Any] = []
    emitted: list[DgramError] = []
    s.on("error", emitted.append)
    s.send(b"foo", port, "nowhere.test", done.append)
    assert run_until(loop, lambda: len(done) == 1)
    assert isinstance(done[0], DgramError) and done[0].code == "ENOTFOUND"
    assert emitted == []
    s.send(b"foo", port, "nowhere.test")
    assert run_until(loop, lambda: len(emitted) == 1)
    assert emitted[0].code == "ENOTFOUND"
    run_for(loop, 0.05)
    assert got == []
    s.close()


def test_dgram_oob_buffer(loop) -> None:
    """test-dgram-oob-buffer: slices to a closed port succeed; unreachable is not an error."""
    port = closed_port(loop)
    s = dgram_uv.createSocket("udp4", loop=loop)
    errors: list[DgramError] = []
    s.on("error", errors.append)
    buf = b"\x01\x02\x03\x04"
    done: list[Any] = []
    for offset, length in ((0, 0), (0, 4), (1, 3), (3, 1), (4, 0)):
        s.send(buf, offset, length, port, "127.0.0.1", done.append)
    assert run_until(loop, lambda: len(done) == 5)
    run_for(loop, 0.1)
    assert done == [None] * 5
    assert errors == []
    s.close()


def test_dgram_send_bad_arguments(loop) -> None:
    """test-dgram-send-bad-arguments: missing data, bad ports, bad payloads raise coded errors."""
    s = dgram_uv.createSocket("udp4", loop=loop)
    with pytest.raises(DgramTypeError) as info:
        s.send()
    assert info.value.code == "ERR_MISSING_ARGS"
    for port in (-1, 0, 65536):
        with pytest.raises(DgramValueError) as vinfo:
            s.send(b"test", 1, 1, port, "127.0.0.1")
        assert vinfo.value.code == "ERR_SOCKET_BAD_PORT"
    with pytest.raises(DgramTypeError) as info:
        s.send(23, 12345, "127.0.0.1")
    assert info.value.code == "ERR_INVALID_ARG_TYPE"
    with pytest.raises(DgramTypeError) as info:
        s.send([b"test", 23], 12345, "127.0.0.1")
    assert info.value.code == "ERR_INVALID_ARG_TYPE"
    with pytest.raises(DgramValueError) as vinfo:
        s.send(b"hello", 6, 0, 12345, "127.0.0.1")
    assert vinfo.value.code == "ERR_BUFFER_OUT_OF_BOUNDS"
    s.close()


def test_dgram_send_bad_arguments_connected(loop) -> None:
    """test-dgram-send-bad-arguments (connected): port/host refused; offset bounds checked."""
    server, port, _ = listen(loop)
    s = dgram_uv.createSocket("udp4", loop=loop)
    connected: list[Any] = []
    s.connect(port, "127.0.0.1", lambda *a: connected.append(a))
    assert run_until(loop, lambda: len(connected) == 1)
    for bad_port in (-1, 0, 65536):
        with pytest.raises(DgramError) as info:
            s.send(b"test", 1, 1, bad_port, "127.0.0.1")
        assert info.value.code == "ERR_SOCKET_DGRAM_IS_CONNECTED"
    with pytest.raises(DgramError) as info:
        s.send(b"test", 1234, "127.0.0.1", lambda err: None)
    assert info.value.code == "ERR_SOCKET_DGRAM_IS_CONNECTED"
    long = bytes([1, 2, 3, 4, 5, 6, 7, 8])
    inputs: list[Any] = ["hello", b"hello", bytearray(b"hello"), memoryview(b"hello world")[0:5],
                         memoryview(b"hello world")[6:], memoryview(long)[2:7]]
    for data in inputs:
        for offset, length in ((6, 0), (0, 6), (3, 4)):
            with pytest.raises(DgramValueError) as vinfo:
                s.send(data, offset, length)
            assert vinfo.value.code == "ERR_BUFFER_OUT_OF_BOUNDS"
    s.close()
    server.close()


@pytest.mark.parametrize("bad", [True, 5, 1.5, object(), {"a": 1}])
def test_dgram_send_invalid_msg_type(loop, bad: Any) -> None:
    """test-dgram-send-invalid-msg-type: a payload that is not bytes/str raises a TypeError."""
    s = dgram_uv.createSocket("udp4", loop=loop)
    with pytest.raises(DgramTypeError) as info:
        s.send(bad, 0, 1, 1, "127.0.0.1")
    assert info.value.code == "ERR_INVALID_ARG_TYPE"
    with pytest.raises(DgramTypeError):
        s.send(bad, 9, "127.0.0.1")
    s.close()


def test_dgram_sendto_argument_types(loop) -> None:
    """test-dgram-sendto (on send): a non-int offset or length raises ERR_INVALID_ARG_TYPE."""
    s = dgram_uv.createSocket("udp4", loop=loop)
    with pytest.raises(DgramTypeError) as info:
        s.send(b"buffer", 1, "length", 9, "127.0.0.1")
    assert info.value.code == "ERR_INVALID_ARG_TYPE"
    with pytest.raises(DgramTypeError) as info:
        s.send(b"buffer", "offset", 1, 9, "127.0.0.1")
    assert info.value.code == "ERR_INVALID_ARG_TYPE"
    s.close()


# -- connected sockets --------------------------------------------------------


def test_dgram_connect(loop) -> None:
    """test-dgram-connect: connect/disconnect/remoteAddress states, error codes, bad ports."""
    client = dgram_uv.createSocket("udp4", loop=loop)
    connected: list[Any] = []
    client.connect(12345, lambda *a: connected.append(a))
    with pytest.raises(DgramError) as info:
        client.connect(12345)  # still connecting
    assert info.value.code == "ERR_SOCKET_DGRAM_IS_CONNECTED"
    assert run_until(loop, lambda: len(connected) == 1)
    assert client.remoteAddress()["port"] == 12345
    assert client.remoteAddress()["address"] == "127.0.0.1"
    with pytest.raises(DgramError) as info:
        client.connect(12345)
    assert info.value.code == "ERR_SOCKET_DGRAM_IS_CONNECTED"
    client.disconnect()
    for call in (client.disconnect, client.remoteAddress):
        with pytest.raises(DgramError) as info:
            call()
        assert info.value.code == "ERR_SOCKET_DGRAM_NOT_CONNECTED"
    again: list[bool] = []
    client.once("connect", lambda: again.append(True))
    client.connect(12345)
    assert run_until(loop, lambda: again == [True])
    client.disconnect()
    for port in (0, 78960, -1):
        with pytest.raises(DgramValueError) as vinfo:
            client.connect(port)
        assert vinfo.value.code == "ERR_SOCKET_BAD_PORT"
    client.close()


def test_dgram_connect_send_default_host(loop) -> None:
    """test-dgram-connect-send-default-host: connected send forms (offset too) reach the peer."""
    server, port, got = listen(loop)
    client = dgram_uv.createSocket("udp4", loop=loop)
    ready: list[Any] = []
    client.connect(port, lambda *a: ready.append(a))
    assert run_until(loop, lambda: len(ready) == 1)
    x, y, z = b"x" * 256, b"y" * 256, b"z" * 256
    client.send(x, 0, len(x))
    client.send(y)
    client.send([z])
    client.send("hello", 0, 5)
    client.send(bytearray(x), 0, len(x))
    client.send(memoryview(y))
    client.send([bytearray(z)])
    client.send(memoryview(b"hello"), 0, 5)
    assert run_until(loop, lambda: len(got) == 8)
    assert sorted(messages(got)) == sorted([x, y, z, b"hello"] * 2)
    client.close()
    server.close()


def test_dgram_connect_send_callback_buffer_length(loop) -> None:
    """test-dgram-connect-send-callback-buffer-length: connected send(buf, off, len, cb)."""
    client = dgram_uv.createSocket("udp4", loop=loop)
    got: list[bytes] = []
    client.on("message", lambda msg, rinfo: got.append(msg))
    done: list[Any] = []
    buf = bytes(range(256))

    def on_bound() -> None:
        client.connect(client.address()["port"],
                       lambda *a: client.send(buf, 20, len(buf) - 20, done.append))

    client.bind(0, "127.0.0.1", on_bound)
    assert run_until(loop, lambda: done == [None] and len(got) == 1)
    assert got[0] == buf[20:]
    client.close()


def test_dgram_connect_send_empty_packet(loop) -> None:
    """test-dgram-connect-send-empty-packet: connected send(buf, 0, 0, cb) delivers b''."""
    client = dgram_uv.createSocket("udp4", loop=loop)
    got: list[bytes] = []
    client.on("message", lambda msg, rinfo: got.append(msg))
    done: list[Any] = []

    def on_bound() -> None:
        client.connect(client.address()["port"],
                       lambda *a: client.send(b"\x00", 0, 0, done.append))

    client.bind(0, "127.0.0.1", on_bound)
    assert run_until(loop, lambda: done == [None] and got == [b""])
    client.close()


def test_dgram_connect_send_multi_buffer_copy(loop) -> None:
    """test-dgram-connect-send-multi-buffer-copy: a connected list send is copied at call time."""
    server, port, got = listen(loop)
    client = dgram_uv.createSocket("udp4", loop=loop)
    ready: list[Any] = []
    client.connect(port, lambda *a: ready.append(a))
    assert run_until(loop, lambda: len(ready) == 1)
    parts = [bytearray(b"x" * 64), bytearray(b"y" * 64)]
    done: list[Any] = []
    client.send(parts, callback=done.append)
    parts[0][:] = b"-" * 64
    parts.clear()
    assert run_until(loop, lambda: done == [None] and len(got) == 1)
    assert got[0][0] == b"x" * 64 + b"y" * 64
    client.close()
    server.close()


def test_dgram_send_queue_info(loop) -> None:
    """test-dgram-send-queue-info: getSendQueueSize/Count: 0 when idle, count held datagrams."""
    idle = dgram_uv.createSocket("udp4", loop=loop)
    assert idle.getSendQueueSize() == 0
    assert idle.getSendQueueCount() == 0
    idle.close()
    server, port, got = listen(loop)
    client = dgram_uv.createSocket("udp4", loop=loop)
    client.send("hello", port, "localhost")  # held until the name resolves
    client.send("hello", port, "localhost")
    assert client.getSendQueueCount() == 2
    assert client.getSendQueueSize() == 10
    assert run_until(loop, lambda: len(got) == 2)
    assert run_until(loop, lambda: client.getSendQueueCount() == 0)
    assert client.getSendQueueSize() == 0
    client.close()
    server.close()


# -- block lists --------------------------------------------------------------


def test_blocklist(loop) -> None:
    """test-blocklist (net.BlockList): addAddress, addRange, addSubnet and check, IPv4 and IPv6."""
    bl = dgram_uv.BlockList()
    bl.addAddress("10.0.0.1")
    bl.addRange("10.0.1.1", "10.0.1.10")
    bl.addSubnet("192.168.0.0", 16)
    bl.addAddress("::1")
    bl.addRange("2001:db8::1", "2001:db8::ff")
    bl.addSubnet("8592:757c:efae:4e45::", 64)
    assert bl.check("10.0.0.1") is True
    assert bl.check("10.0.0.2") is False
    assert bl.check("10.0.1.5") is True
    assert bl.check("10.0.1.11") is False
    assert bl.check("192.168.200.7") is True
    assert bl.check("192.169.0.1") is False
    assert bl.check("::1") is True
    assert bl.check("::2") is False
    assert bl.check("2001:db8::80") is True
    assert bl.check("2001:db8::100") is False
    assert bl.check("8592:757c:efae:4e45:f::") is True
    assert bl.check("8592:757c:efae:4f45::f") is False


def test_dgram_blocklist_send(loop) -> None:
    """test-dgram-blocklist: a send to a sendBlockList address fails with ERR_IP_BLOCKED."""
    receiver, port, got = listen(loop)
    bl = dgram_uv.BlockList()
    bl.addAddress("127.0.0.1")
    s = dgram_uv.createSocket({"type": "udp4", "sendBlockList": bl}, loop=loop)
    done: list[Any] = []
    s.send("hello", port, "127.0.0.1", done.append)
    assert run_until(loop, lambda: len(done) == 1)
    assert isinstance(done[0], DgramError)
    assert done[0].code == "ERR_IP_BLOCKED"
    emitted: list[DgramError] = []
    s.on("error", emitted.append)
    s.send("hello", port, "127.0.0.1")  # no callback: emitted
    assert run_until(loop, lambda: len(emitted) == 1)
    assert emitted[0].code == "ERR_IP_BLOCKED"
    run_for(loop, 0.05)
    assert got == []
    s.close()
    receiver.close()


def test_dgram_blocklist_connect(loop) -> None:
    """test-dgram-blocklist: connect() to an address on sendBlockList fails with ERR_IP_BLOCKED."""
    bl = dgram_uv.BlockList()
    bl.addAddress("127.0.0.1")
    s = dgram_uv.createSocket({"type": "udp4", "sendBlockList": bl}, loop=loop)
    results: list[Any] = []
    s.on("error", lambda e: results.append(("error", e)))
    s.connect(9999, "127.0.0.1", lambda *a: results.append(("cb", a[0] if a else None)))
    assert run_until(loop, lambda: len(results) >= 1)
    run_for(loop, 0.05)
    assert len(results) == 1
    assert results[0][1] is not None and results[0][1].code == "ERR_IP_BLOCKED"
    s.close()


def test_dgram_blocklist_receive(loop) -> None:
    """test-dgram-blocklist: datagrams from a sender on receiveBlockList never reach a listener."""
    bl = dgram_uv.BlockList()
    bl.addAddress("127.0.0.1")
    got: list[tuple[bytes, str]] = []
    rx = dgram_uv.createSocket({"type": "udp4", "receiveBlockList": bl}, loop=loop)
    rx.on("message", lambda msg, rinfo: got.append((msg, rinfo["address"])))
    rx.bind(0, "127.0.0.1")
    port = rx.address()["port"]
    blocked = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1")
    allowed = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.2")
    done: list[Any] = []
    blocked.send(b"blocked", port, "127.0.0.1", done.append)
    allowed.send(b"allowed", port, "127.0.0.1", done.append)
    assert run_until(loop, lambda: len(done) == 2 and len(got) >= 1)
    blocked.send(b"blocked again", port, "127.0.0.1")
    allowed.send(b"allowed again", port, "127.0.0.1")
    assert run_until(loop, lambda: len(got) >= 2)
    run_for(loop, 0.05)
    assert done == [None, None]
    assert got == [(b"allowed", "127.0.0.2"), (b"allowed again", "127.0.0.2")]
    for s in (rx, blocked, allowed):
        s.close()


# -- options ------------------------------------------------------------------


def test_dgram_setTTL(loop) -> None:
    """test-dgram-setTTL: returns its argument; a str is a TypeError; 1000 is setTTL EINVAL."""
    s = dgram_uv.createSocket("udp4", loop=loop)
    s.bind(0, "127.0.0.1")
    assert s.setTTL(16) == 16
    with pytest.raises(DgramTypeError) as info:
        s.setTTL("foo")
    assert info.value.code == "ERR_INVALID_ARG_TYPE"
    with pytest.raises(DgramOSError) as oinfo:
        s.setTTL(1000)
    assert oinfo.value.code == "EINVAL"
    assert oinfo.value.syscall == "setTTL"
    assert str(oinfo.value) == "setTTL EINVAL"
    s.close()


def test_dgram_multicast_setTTL(loop) -> None:
    """test-dgram-multicast-setTTL: returns its argument; 1000 is EINVAL; a str a TypeError."""
    s = dgram_uv.createSocket("udp4", loop=loop)
    s.bind(0)
    assert s.setMulticastTTL(16) == 16
    with pytest.raises(DgramOSError) as oinfo:
        s.setMulticastTTL(1000)
    assert oinfo.value.code == "EINVAL"
    assert str(oinfo.value) == "setMulticastTTL EINVAL"
    with pytest.raises(DgramTypeError) as info:
        s.setMulticastTTL("foo")
    assert info.value.code == "ERR_INVALID_ARG_TYPE"
    s.close()


def test_dgram_multicast_loopback(loop) -> None:
    """test-dgram-multicast-loopback: setMulticastLoopback returns its argument."""
    s = dgram_uv.createSocket("udp4", loop=loop)
    s.bind(0)
    assert s.setMulticastLoopback(True) is True
    assert s.setMulticastLoopback(False) is False
    s.close()


def test_dgram_multicast_set_interface(loop) -> None:
    """test-dgram-multicast-set-interface: a loopback address is accepted; a non-str is not."""
    s = dgram_uv.createSocket("udp4", loop=loop)
    s.bind(0)
    s.setMulticastInterface("127.0.0.1")
    with pytest.raises(DgramTypeError) as info:
        s.setMulticastInterface(1)
    assert info.value.code == "ERR_INVALID_ARG_TYPE"
    s.close()


def test_dgram_setBroadcast(loop) -> None:
    """test-dgram-setBroadcast: setBroadcast(True/False) on a bound socket does not raise."""
    s = dgram_uv.createSocket({"type": "udp4", "reuseAddr": True}, loop=loop)
    done: list[bool] = []

    def on_bound() -> None:
        s.setBroadcast(True)
        s.setBroadcast(False)
        done.append(True)

    s.bind(0, "127.0.0.1", on_bound)
    assert run_until(loop, lambda: done == [True])
    s.close()


def test_dgram_membership(loop) -> None:
    """test-dgram-membership: bad calls raise coded errors; add/drop return the socket."""
    group, iface = "224.0.0.114", "127.0.0.1"  # joined on lo: nothing leaves the machine

    def setup():  # type: ignore[no-untyped-def]
        return dgram_uv.createSocket({"type": "udp4", "reuseAddr": True}, loop=loop)

    closed = setup()
    closed.close()
    for call in (closed.addMembership, closed.dropMembership):
        with pytest.raises(DgramError) as info:
            call(group, iface)
        assert info.value.code == "ERR_SOCKET_DGRAM_NOT_RUNNING"
    s = setup()
    s.bind(0)
    for call in (s.addMembership, s.dropMembership):
        with pytest.raises(DgramTypeError) as tinfo:
            call()
        assert tinfo.value.code == "ERR_MISSING_ARGS"
        with pytest.raises(DgramError) as info:
            call("256.256.256.256", iface)
        assert info.value.code == "EINVAL"
    with pytest.raises(DgramError) as info:
        s.dropMembership(group, iface)
    assert info.value.code == "EADDRNOTAVAIL"
    assert s.addMembership(group, iface) is s
    assert s.dropMembership(group, iface) is s
    assert s.setMembership(group, iface, "join") is s
    assert s.setMembership(group, iface, "leave") is s
    assert s.setMembership(group, "join") is s
    s.close()


def test_dgram_socket_buffer_size(loop) -> None:
    """test-dgram-socket-buffer-size: bad sizes raise; a size of 10000 reads back doubled."""
    s = dgram_uv.createSocket("udp4", loop=loop)
    bound: list[bool] = []
    s.bind(0, lambda: bound.append(True))
    assert run_until(loop, lambda: bound == [True])
    for bad in (-1, float("inf"), "Doh!"):
        for setter in (s.setRecvBufferSize, s.setSendBufferSize):
            with pytest.raises(DgramError) as info:
                setter(bad)
            assert info.value.code in ("ERR_SOCKET_BAD_BUFFER_SIZE", "ERR_INVALID_ARG_TYPE")
    with pytest.raises(DgramError):
        s.setRecvBufferSize(2**31)
    s.setRecvBufferSize(10000)
    s.setSendBufferSize(10000)
    assert s.getRecvBufferSize() == 20000
    assert s.getSendBufferSize() == 20000
    s.close()


# -- close --------------------------------------------------------------------


def test_dgram_close(loop) -> None:
    """test-dgram-close: close() during a lookup returns the socket and cancels the send."""
    s = dgram_uv.createSocket("udp4", loop=loop)
    done: list[Any] = []
    events: list[str] = []
    s.send(b"*" * 1024, 0, 1024, 9, "localhost", done.append)
    assert s.close(lambda: events.append("callback")) is s
    s.on("close", lambda: events.append("event"))
    assert events == []
    assert run_until(loop, lambda: len(events) == 2 and len(done) == 1)
    assert sorted(events) == ["callback", "event"]
    assert isinstance(done[0], DgramError) and done[0].code == "ECANCELED"
    run_for(loop, 0.2)  # the lookup finishes after close: nothing more happens
    assert len(done) == 1


def test_dgram_close_in_listening(loop) -> None:
    """test-dgram-close-in-listening: closing in 'listening' with a send queued is safe."""
    s = dgram_uv.createSocket("udp4", loop=loop)
    done: list[Any] = []
    closed: list[bool] = []
    s.on("listening", lambda: s.close())
    s.on("close", lambda: closed.append(True))
    s.send(b"*" * 1024, 0, 1024, closed_port(loop), "localhost", done.append)
    assert run_until(loop, lambda: closed == [True] and len(done) == 1)
    assert done[0] is None or done[0].code == "ECANCELED"


def test_dgram_close_then_methods(loop) -> None:
    """test-dgram-membership (closed): every method but close raises NOT_RUNNING."""
    s = dgram_uv.createSocket("udp4", loop=loop)
    s.bind(0, "127.0.0.1")
    s.close()
    calls = [lambda: s.send(b"x", 9, "127.0.0.1"), lambda: s.bind(0), s.address,
             lambda: s.setTTL(4), s.recvStart, lambda: s.connect(9), lambda: s.setBroadcast(True)]
    for call in calls:
        with pytest.raises(DgramError) as info:
            call()
        assert info.value.code == "ERR_SOCKET_DGRAM_NOT_RUNNING"
    assert s.close() is s  # a second close is a no-op


def test_dgram_async_dispose(loop) -> None:
    """test-dgram-async-dispose (as with): leaving the block closes the socket."""
    closed: list[bool] = []
    with dgram_uv.createSocket("udp4", loop=loop) as s:
        s.on("close", lambda: closed.append(True))
        s.bind(0, "127.0.0.1")
    with pytest.raises(DgramError) as info:
        s.address()
    assert info.value.code == "ERR_SOCKET_DGRAM_NOT_RUNNING"
    assert run_until(loop, lambda: closed == [True])
