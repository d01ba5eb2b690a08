"""Address resolution: literals recognised at once, names through getaddrinfo."""

from __future__ import annotations

import socket

import pyuv

from conftest import run_until
from dgram_uv._resolve import literal_family, lookup


def test_literal_family() -> None:
    assert literal_family("127.0.0.1") == socket.AF_INET
    assert literal_family("::1") == socket.AF_INET6
    assert literal_family("::ffff:127.0.0.1") == socket.AF_INET6
    assert literal_family("localhost") is None
    assert literal_family("256.1.1.1") is None


def test_lookup_resolves_names_for_the_family(loop) -> None:
    results: list[tuple[str | None, int]] = []
    lookup(loop, "localhost", socket.AF_INET, lambda a, s: results.append((a, s)))
    assert results == []  # always asynchronous
    assert run_until(loop, lambda: bool(results), timeout=10)
    assert results == [("127.0.0.1", 0)]


def test_lookup_failure_reports_a_libuv_status(loop) -> None:
    results: list[tuple[str | None, int]] = []
    lookup(loop, "no-such-host.invalid", socket.AF_INET, lambda a, s: results.append((a, s)))
    assert run_until(loop, lambda: bool(results), timeout=10)
    address, status = results[0]
    assert address is None
    assert status in (pyuv.errno.UV_EAI_NONAME, pyuv.errno.UV_EAI_AGAIN,
                      pyuv.errno.UV_EAI_NODATA)
