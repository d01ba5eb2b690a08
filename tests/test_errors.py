"""Error classes, the code table, and Node-like OS error text."""

from __future__ import annotations

import errno

import pytest
import pyuv  # type: ignore[import-untyped,unused-ignore]

from dgram_uv import DgramError, DgramOSError, DgramStateError, DgramTypeError, DgramValueError
from dgram_uv._errors import _MISUSE, misuse, uv_error_name


def test_os_error_reads_like_node_and_carries_details() -> None:
    err = DgramOSError(pyuv.errno.UV_EADDRINUSE, "bind", "127.0.0.1", 41234)
    assert str(err) == "bind EADDRINUSE 127.0.0.1:41234"
    assert isinstance(err, DgramError) and isinstance(err, OSError)
    assert err.errno == errno.EADDRINUSE
    assert (err.code, err.syscall, err.address, err.port) == ("EADDRINUSE", "bind",
                                                             "127.0.0.1", 41234)


@pytest.mark.parametrize("port", [0, None])
def test_os_error_leaves_out_port_0_like_node(port: int | None) -> None:
    # Node: "bind EADDRNOTAVAIL 1.1.1.1", err.port undefined (only built, never sent).
    err = DgramOSError(-errno.EADDRNOTAVAIL, "bind", "1.1.1.1", port)
    assert str(err) == "bind EADDRNOTAVAIL 1.1.1.1"
    assert err.port is None and err.address == "1.1.1.1"
    assert err.args == ("bind EADDRNOTAVAIL 1.1.1.1",)
    assert str(DgramOSError(-errno.EADDRNOTAVAIL, "bind", "::1", 0)) == "bind EADDRNOTAVAIL ::1"


def test_os_error_keeps_a_real_port() -> None:
    err = DgramOSError(-errno.EADDRNOTAVAIL, "bind", "1.1.1.1", 1)
    assert str(err) == "bind EADDRNOTAVAIL 1.1.1.1:1" and err.port == 1


def test_os_error_without_address() -> None:
    err = DgramOSError(-errno.EINVAL, "setTTL")
    assert str(err) == "setTTL EINVAL"
    assert err.address is None and err.port is None


def test_resolver_errors_are_enotfound_like_node() -> None:
    err = DgramOSError(pyuv.errno.UV_EAI_NONAME, "getaddrinfo", "nowhere.invalid")
    assert err.code == "ENOTFOUND"
    assert str(err) == "getaddrinfo ENOTFOUND nowhere.invalid"
    assert uv_error_name(pyuv.errno.UV_EAI_AGAIN) == "EAI_AGAIN"


@pytest.mark.parametrize("code", sorted(_MISUSE))
def test_every_misuse_code_builds_a_coded_error(code: str) -> None:
    fields = dict(name="port", expected="x", received="y", low=1, reason="r", range="z",
                  address="a")
    err = misuse(code, **fields)
    assert err.code == code
    assert str(err)
    assert isinstance(err, DgramError)
    if code != "ERR_IP_BLOCKED":  # neither an argument nor a state error (Node's is an Error)
        assert isinstance(err, DgramTypeError | DgramValueError | DgramStateError)


def test_ip_blocked_reads_like_node() -> None:
    err = misuse("ERR_IP_BLOCKED", address="10.0.0.1")
    assert str(err) == "IP(10.0.0.1) is blocked by net.BlockList"
    assert err.code == "ERR_IP_BLOCKED"
    assert type(err) is DgramError


def test_argument_errors_are_also_builtin_errors() -> None:
    assert isinstance(misuse("ERR_INVALID_ARG_TYPE", name="a", expected="b", received="c"),
                      TypeError)
    assert isinstance(misuse("ERR_SOCKET_BAD_PORT", name="Port", low=0, received=-1), ValueError)
    assert isinstance(misuse("ERR_SOCKET_BAD_TYPE"), TypeError)
