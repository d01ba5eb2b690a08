"""Address resolution: IP literals at once, host names through pyuv's
asynchronous getaddrinfo (libuv's thread pool)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pyuv

from ._errors import uv_status_of

WILDCARD = {socket.AF_INET: "0.0.0.0", socket.AF_INET6: "::"}
LOOPBACK = {socket.AF_INET: "127.0.0.1", socket.AF_INET6: "::1"}
FAMILY_NAMES = {socket.AF_INET: "IPv4", socket.AF_INET6: "IPv6"}


_LITERALS: dict[str, int | None] = {}  # host -> literal_family(host), bounded


def literal_family(host: str) -> int | None:
    """AF_INET or AF_INET6 when ``host`` is an IP literal, else None.

    send() asks this for every datagram, so answers are kept in a plain dict
    (cheaper to consult than functools.lru_cache), emptied when it grows large.
    """
    try:
        return _LITERALS[host]
    except KeyError:
        pass
    family = None
    for candidate in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(candidate, host)
        except (OSError, ValueError):
            continue
        family = candidate
        break
    if len(_LITERALS) >= 4096:
        _LITERALS.clear()
    _LITERALS[host] = family
    return family


Resolved = Callable[[str | None, int], Any]


def lookup(loop: pyuv.Loop, host: str, family: int, done: Resolved) -> None:
    """Resolve ``host`` for ``family``; later, ``done(address, 0)`` or
    ``done(None, uv_status)`` (a negative libuv status such as UV_EAI_NONAME)."""

    def on_result(result: list[Any] | None, error: int | None) -> None:
        if error is not None:
            done(None, error)
            return
        for info in result or ():
            if info.family == family:
                done(info.sockaddr[0], 0)
                return
        done(None, pyuv.errno.UV_EAI_NONAME)

    try:
        pyuv.dns.getaddrinfo(loop, host, None, family, socket.SOCK_DGRAM, callback=on_result)
    except (pyuv.error.UVError, TypeError, ValueError) as exc:
        # Refused synchronously (e.g. an embedded NUL): report it later all the same.
        status = uv_status_of(exc)
        from ._defer import call_later

        call_later(loop, done, None, status)
