"""Validators name the bad argument, raise the coded error, return the value."""

from __future__ import annotations

import socket

import pytest

from dgram_uv import DgramError, DgramTypeError, DgramValueError
from dgram_uv._validators import (
    bind_options,
    check_buffer_size,
    check_host,
    check_msecs,
    check_port,
    normalize_send,
    payload,
    socket_type,
)


def cb(err: object = None) -> None:
    pass


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((9,), (b"data", 9, None, None)),
        ((9, "h"), (b"data", 9, "h", None)),
        ((9, "h", cb), (b"data", 9, "h", cb)),
        ((9, None, cb), (b"data", 9, None, cb)),
        ((9, cb), (b"data", 9, None, cb)),
        ((9, "h", None), (b"data", 9, "h", None)),
        ((cb,), (b"data", None, None, cb)),  # a connected socket's form
        ((), (b"data", None, None, None)),
        ((1, 2, 9), (b"at", 9, None, None)),  # Node 0.8: offset 1, length 2
        ((1, 2, 9, "h"), (b"at", 9, "h", None)),
        ((1, 2, 9, "h", cb), (b"at", 9, "h", cb)),
        ((1, 2, 9, None, cb), (b"at", 9, None, cb)),
        ((0, 4, 9, cb), (b"data", 9, None, cb)),
    ],
)
def test_send_forms(args: tuple[object, ...], expected: tuple[object, ...]) -> None:
    assert normalize_send(b"data", args, {}) == expected


def test_send_buf_9_123_is_port_9_with_a_bad_host_as_in_node() -> None:
    assert normalize_send(b"data", (9, 123), {}) == (b"data", 9, 123, None)


def test_send_keywords() -> None:
    assert normalize_send(b"d", (9,), {"callback": cb}) == (b"d", 9, None, cb)
    assert normalize_send(b"d", (), {"port": 9, "host": "h"}) == (b"d", 9, "h", None)
    with pytest.raises(DgramTypeError):
        normalize_send(b"d", (9,), {"bogus": 1})


def test_send_offset_length_bounds() -> None:
    for offset, length in ((5, 0), (-1, 2), (0, 5), (2, 3)):
        with pytest.raises(DgramValueError) as info:
            normalize_send(b"data", (offset, length, 9), {})
        assert info.value.code == "ERR_BUFFER_OUT_OF_BOUNDS"
    assert normalize_send(b"data", (4, 0, 9), {})[0] == b""
    with pytest.raises(DgramTypeError):
        normalize_send(["a"], (0, 1, 9), {})
    with pytest.raises(DgramTypeError):
        normalize_send(b"data", ("0", 1, 9), {})


def test_payload_forms_are_copied_at_call_time() -> None:
    buf = bytearray(b"abc")
    parts = [b"x", "é", bytearray(b"y"), memoryview(b"z")]
    assert payload(buf) == b"abc"
    assert payload(parts) == b"x\xc3\xa9yz"
    out = payload(buf)
    buf[0] = ord("Z")
    assert out == b"abc"
    assert payload(()) == b""
    for bad in (1, None, 2.5, {"a": 1}, [b"a", 1]):
        with pytest.raises(DgramTypeError) as info:
            payload(bad)
        assert info.value.code == "ERR_INVALID_ARG_TYPE"


def test_ports() -> None:
    assert check_port(0, allow_zero=True) == 0
    assert check_port(None, allow_zero=True) == 0
    assert check_port(65535, allow_zero=False) == 65535
    for bad in (-1, 65536, 10**9):
        with pytest.raises(DgramValueError) as info:
            check_port(bad, allow_zero=True)
        assert info.value.code == "ERR_SOCKET_BAD_PORT"
    for bad in (0, None):
        with pytest.raises(DgramValueError):
            check_port(bad, allow_zero=False)
    for bad in ("80", 1.0, True, [80]):
        with pytest.raises(DgramTypeError) as tinfo:
            check_port(bad, allow_zero=True)
        assert tinfo.value.code == "ERR_INVALID_ARG_TYPE"


def test_hosts() -> None:
    assert check_host(None) is None
    assert check_host("::1") == "::1"
    with pytest.raises(DgramTypeError):
        check_host(127)
    with pytest.raises(DgramValueError):
        check_host("")
    with pytest.raises(DgramValueError):
        check_host("a\x00b")


def test_socket_types() -> None:
    assert socket_type("udp4") == (socket.AF_INET, {})
    assert socket_type({"type": "udp6", "reuseAddr": True, "recvBufferSize": 4096}) == (
        socket.AF_INET6, {"reuseAddr": True, "recvBufferSize": 4096})
    for bad in ("tcp", None, 4, {"type": "udp5"}, {}):
        with pytest.raises(DgramTypeError) as info:
            socket_type(bad)
        assert info.value.code == "ERR_SOCKET_BAD_TYPE"
    with pytest.raises(DgramTypeError):
        socket_type({"type": "udp4", "reuseAddr": "yes"})
    with pytest.raises(DgramValueError) as vinfo:
        socket_type({"type": "udp4", "recvBufferSize": 0})
    assert vinfo.value.code == "ERR_SOCKET_BAD_BUFFER_SIZE"


def test_bind_options_take_luvit_and_node_keys() -> None:
    assert bind_options({"reuseaddr": True}, {})["reuseAddr"] is True
    assert bind_options({"ipv6Only": True}, {})["ipv6Only"] is True
    assert bind_options(None, {"reusePort": True})["reusePort"] is True
    with pytest.raises(DgramTypeError):
        bind_options("reuse", {})


def test_buffer_sizes_and_msecs() -> None:
    assert check_buffer_size(1, "size") == 1
    for bad in (0, -5, 2**31):
        with pytest.raises(DgramValueError):
            check_buffer_size(bad, "size")
    with pytest.raises(DgramTypeError):
        check_buffer_size("1", "size")
    assert check_msecs(0) == 0.0 and check_msecs(2.5) == 2.5
    for bad in (-1, float("nan"), float("inf")):
        with pytest.raises(DgramValueError) as info:
            check_msecs(bad)
        assert info.value.code == "ERR_OUT_OF_RANGE"
    with pytest.raises(DgramError):
        check_msecs("10")
