"""Address resolution: literals recognised at once, names through getaddrinfo."""

from __future__ import annotations

import socket

import pytest
import pyuv  # type: ignore[import-untyped,unused-ignore]

from conftest import run_until
from dgram_uv import _resolve
from dgram_uv._context import context_for
from dgram_uv._resolve import literal_family, lookup, scope_index, scoped, split_scope


def test_literal_family() -> None:
    assert literal_family("127.0.0.1") == socket.AF_INET
    assert literal_family("::1") == socket.AF_INET6
    assert literal_family("::ffff:127.0.0.1") == socket.AF_INET6
    assert literal_family("localhost") is None
    assert literal_family("256.1.1.1") is None
    assert literal_family("") is None
    assert literal_family("\ud800") is None  # no bare UnicodeEncodeError
    assert literal_family("1.2.3.4\x00") is None


@pytest.mark.parametrize("host", ["fe80::1%eth0", "fe80::1%lo", "fe80::1%2", "::1%lo",
                                  "fe80::fc:ff:fe00:1%br-lan_0", "ff02::1%eth0",
                                  "fe80::1%nosuchif0"])  # it need not exist (uv_ip6_addr)
def test_scoped_ipv6_literals_are_literals(host: str) -> None:
    assert literal_family(host) == socket.AF_INET6


@pytest.mark.parametrize("host", ["127.0.0.1%eth0",  # IPv4 has no scope: a name
                                  "fe80::1%", "%eth0", "fe80::1%eth0%1", "fe80::1%a/b",
                                  "fe80::1%a b", "fe80::1%" + "x" * 16, "fe80::1%..",
                                  "fe80::1%\ud800", "fe80::1%" + "9" * 11, "host%eth0"])
def test_not_scoped_literals(host: str) -> None:
    assert literal_family(host) is None


def test_literal_answers_are_cached() -> None:
    literal_family("fe80::2%eth0")
    assert _resolve._LITERALS["fe80::2%eth0"] == socket.AF_INET6
    assert literal_family("fe80::2%eth0") == socket.AF_INET6


def test_scoped_formats_a_received_scope_like_node() -> None:
    assert scoped("fe80::1", 0) == "fe80::1"  # no scope id: the bare address
    lo = socket.if_nametoindex("lo")
    assert scoped("fe80::1", lo) == "fe80::1%lo"
    assert _resolve._SCOPE_NAMES[lo] == "%lo"  # kept per scope id
    assert scoped("fe80::2", lo) == "fe80::2%lo"
    unused = max(index for index, _ in socket.if_nameindex()) + 1000
    assert scoped("fe80::1", unused) == f"fe80::1%{unused}"  # no such interface: the number


def test_scope_index_and_split_scope() -> None:
    lo = socket.if_nametoindex("lo")
    assert scope_index("lo") == lo
    assert scope_index("7") == 7
    assert scope_index("nosuchif0") == 0
    assert scope_index("\ud800") == 0
    assert split_scope("fe80::1%lo") == ("fe80::1", lo)
    assert split_scope("fe80::1%3") == ("fe80::1", 3)
    assert split_scope("::1") == ("::1", 0)


def test_lookup_resolves_names_for_the_family(loop: pyuv.Loop) -> None:
    results: list[tuple[str | None, int]] = []
    lookup(loop, "localhost", socket.AF_INET, lambda a, s: results.append((a, s)),
           context_for(loop).call_later)
    assert results == []  # always asynchronous
    assert run_until(loop, lambda: bool(results), timeout=10)
    assert results == [("127.0.0.1", 0)]


def test_lookup_failure_reports_a_libuv_status(loop: pyuv.Loop) -> None:
    results: list[tuple[str | None, int]] = []
    lookup(loop, "no-such-host.invalid", socket.AF_INET, lambda a, s: results.append((a, s)),
           context_for(loop).call_later)
    assert run_until(loop, lambda: bool(results), timeout=10)
    address, status = results[0]
    assert address is None
    assert status in (pyuv.errno.UV_EAI_NONAME, pyuv.errno.UV_EAI_AGAIN,
                      pyuv.errno.UV_EAI_NODATA)
