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
    for low in (0, None):
        with pytest.raises(DgramValueError):
            check_port(low, allow_zero=False)
    for wrong in ("80", 1.0, True, [80]):
        with pytest.raises(DgramTypeError) as tinfo:
            check_port(wrong, allow_zero=True)
        assert tinfo.value.code == "ERR_INVALID_ARG_TYPE"


def test_hosts() -> None:
    assert check_host(None) is None
    assert check_host("::1") == "::1"
    assert check_host("fe80::1%eth0") == "fe80::1%eth0"
    assert check_host("bücher.example") == "bücher.example"
    with pytest.raises(DgramTypeError):
        check_host(127)
    with pytest.raises(DgramTypeError):
        check_host(["::1"])  # unhashable: still the coded type error
    with pytest.raises(DgramValueError):
        check_host("a\x00b")


def test_empty_host_is_the_default_as_in_node() -> None:
    # Node: send(msg, port, ''), bind(port, '') and connect(port, '') all
    # take their default address.
    assert check_host("") is None
    with pytest.raises(DgramValueError) as info:
        check_host("", "interfaceAddress", empty_is_default=False)
    assert info.value.code == "ERR_INVALID_ARG_VALUE"
    assert '"interfaceAddress"' in str(info.value)


def test_host_with_a_lone_surrogate_is_a_coded_error() -> None:
    for name in ("address", "multicastAddress", "multicastInterface"):
        with pytest.raises(DgramValueError) as info:
            check_host("ho\ud800st", name)
        assert info.value.code == "ERR_INVALID_ARG_VALUE"
        assert f'"{name}"' in str(info.value)
        assert not isinstance(info.value, UnicodeError)


def test_host_str_subclass_comes_back_plain() -> None:
    class Host(str):
        pass

    for text in ("127.0.0.1", "never-seen-before.example"):
        host = check_host(Host(text))
        assert host == text and type(host) is str


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
    for msecs in (-1, float("nan"), float("inf")):
        with pytest.raises(DgramValueError) as info:
            check_msecs(msecs)
        assert info.value.code == "ERR_OUT_OF_RANGE"
    with pytest.raises(DgramError):
        check_msecs("10")


# -- bad input never escapes as a bare exception (docs/api.md, "Errors") ----------

def test_lone_surrogate_in_a_payload_names_the_argument() -> None:
    for data, name in (("\ud800", "msg"), (["ok", "x\udfff"], "msg[1]")):
        with pytest.raises(DgramValueError) as info:
            payload(data)
        assert info.value.code == "ERR_INVALID_ARG_VALUE"
        assert f'"{name}"' in str(info.value)
    with pytest.raises(DgramValueError) as sinfo:
        normalize_send("\ud800", (9, "127.0.0.1"), {})
    assert sinfo.value.code == "ERR_INVALID_ARG_VALUE"
    with pytest.raises(DgramValueError) as oinfo:  # the offset form too
        normalize_send("\ud800", (0, 1, 9), {})
    assert '"buffer"' in str(oinfo.value)


def test_released_memoryview_is_a_coded_error() -> None:
    view = memoryview(b"abc")
    view.release()
    for call in (lambda: payload(view), lambda: payload([b"x", view]),
                 lambda: normalize_send(view, (9,), {}),
                 lambda: normalize_send(view, (0, 1, 9), {})):
        with pytest.raises(DgramError) as info:
            call()
        assert info.value.code == "ERR_INVALID_ARG_VALUE"


def test_payload_releases_its_view_of_a_bytearray() -> None:
    buf = bytearray(b"abc")
    assert payload(buf) == b"abc"
    buf.extend(b"def")  # BufferError if a view were still held


def test_a_list_that_contains_itself_is_a_coded_error() -> None:
    looped: list[object] = [b"a"]
    looped.append(looped)
    with pytest.raises(DgramTypeError) as info:
        payload(looped)
    assert info.value.code == "ERR_INVALID_ARG_TYPE"
    assert '"msg[1]"' in str(info.value)
    with pytest.raises(DgramTypeError):
        normalize_send(looped, (9, "127.0.0.1"), {})


def test_lists_do_not_nest_as_in_node() -> None:
    # Node takes a flat array of buffers and strings; so does payload(), so
    # an absurdly deep list is refused at once, with no RecursionError.
    deep: object = b"x"
    for _ in range(100_000):
        deep = [deep]
    for data in ([[b"a"]], [b"a", (b"b",)], deep):
        with pytest.raises(DgramTypeError) as info:
            payload(data)
        assert info.value.code == "ERR_INVALID_ARG_TYPE"


# -- send's forms ------------------------------------------------------------

def test_offset_form_takes_a_str_counting_utf8_bytes() -> None:
    # Node v20: send(str, offset, length, port, host); 'é' is two bytes.
    assert normalize_send("héllo", (1, 3, 9, "h"), {}) == (b"\xc3\xa9l", 9, "h", None)
    assert normalize_send("héllo", (0, 6, 9, cb), {}) == (b"h\xc3\xa9llo", 9, None, cb)
    with pytest.raises(DgramValueError) as info:
        normalize_send("é", (0, 3, 9), {})
    assert info.value.code == "ERR_BUFFER_OUT_OF_BOUNDS"
    for listed in (["ab"], ("ab",), [b"ab"]):  # one buffer is sliced, not a list
        with pytest.raises(DgramTypeError):
            normalize_send(listed, (0, 1, 9), {})


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), (b"data", None, None, None)),
        ((cb,), (b"data", None, None, cb)),
        ((None,), (b"data", None, None, None)),
        ((1, 2), (b"at", None, None, None)),  # Node: send(buf, offset, length)
        ((1, 2, cb), (b"at", None, None, cb)),
        ((1, 2, None), (b"at", None, None, None)),
        ((0, 4, None, None, cb), (b"data", None, None, cb)),  # as Node takes it
        # A port (or host) comes back for the socket to refuse (IS_CONNECTED).
        ((9,), (b"data", 9, None, None)),
        ((9, cb), (b"data", 9, None, cb)),
        ((1, 2, 9), (b"at", 9, None, None)),
        ((1, 2, 9, "h", cb), (b"at", 9, "h", cb)),
    ],
)
def test_send_forms_on_a_connected_socket(args: tuple[object, ...],
                                          expected: tuple[object, ...]) -> None:
    assert normalize_send(b"data", args, {}, connected=True) == expected


def test_connected_offset_form_checks_bounds_and_keywords() -> None:
    with pytest.raises(DgramValueError) as info:
        normalize_send(b"data", (2, 3), {}, True)
    assert info.value.code == "ERR_BUFFER_OUT_OF_BOUNDS"
    assert normalize_send(b"data", (1, 2), {"callback": cb}, True) == (b"at", None, None, cb)
    assert normalize_send("héllo", (1, 2), {}, True) == (b"\xc3\xa9", None, None, None)
    with pytest.raises(DgramTypeError):
        normalize_send(b"data", ("1", 2), {}, True)


def test_unconnected_two_arguments_stay_port_and_host() -> None:
    # Without ``connected`` the same call is luvit's (port, host), as before.
    assert normalize_send(b"data", (1, 2), {}) == (b"data", 1, 2, None)


def test_host_with_a_broken_hash_is_a_coded_type_error() -> None:
    class Odd:
        def __hash__(self) -> int:
            raise RuntimeError("no hash")

    with pytest.raises(DgramTypeError) as info:
        check_host(Odd())
    assert info.value.code == "ERR_INVALID_ARG_TYPE"
