"""Address resolution: IP literals at once, host names through pyuv's
asynchronous getaddrinfo (libuv's thread pool)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pyuv  # type: ignore[import-untyped,unused-ignore]

from ._errors import uv_status_of

WILDCARD: dict[int, str] = {socket.AF_INET: "0.0.0.0", socket.AF_INET6: "::"}
LOOPBACK: dict[int, str] = {socket.AF_INET: "127.0.0.1", socket.AF_INET6: "::1"}
FAMILY_NAMES: dict[int, str] = {socket.AF_INET: "IPv4", socket.AF_INET6: "IPv6"}


_LITERALS: dict[str, int | None] = {}  # host -> literal_family(host), bounded

# Linux's IFNAMSIZ (16) less the NUL: the longest interface name there is.
_IFNAME_MAX = 15
# Characters Linux refuses in an interface name (dev_valid_name), and '%'.
_NOT_IN_IFNAME = frozenset("/:% \t\n\r\v\f")


def _is_scope(scope: str) -> bool:
    """Whether ``scope`` (after the '%' of a literal) is an interface index
    (decimal) or a name an interface could have.  The interface need not
    exist: as with libuv's uv_ip6_addr, an unknown name is scope 0 and the
    OS has the last word (EINVAL for a link-local address)."""
    if not scope or not scope.isascii():
        return False
    if scope.isdigit():
        return int(scope) < 2**32
    return (len(scope) <= _IFNAME_MAX and scope.isprintable() and scope not in (".", "..")
            and _NOT_IN_IFNAME.isdisjoint(scope))


def _is_ipv6(address: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6, address)
    except (OSError, ValueError):  # ValueError: NUL or a lone surrogate
        return False
    return True


def _family_of(host: str) -> int | None:
    address, percent, scope = host.partition("%")
    if percent:
        # A scoped IPv6 literal ('fe80::1%eth0', 'fe80::1%2').  inet_pton knows
        # no scopes, so the address part is checked alone; an IPv4 address
        # has no scope, so '10.0.0.1%eth0' is no literal (a name, to resolve).
        return socket.AF_INET6 if _is_scope(scope) and _is_ipv6(address) else None
    for candidate in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(candidate, host)
        except (OSError, ValueError):
            continue
        return candidate
    return None


def literal_family(host: str) -> int | None:
    """AF_INET or AF_INET6 when ``host`` is an IP literal, else None.

    A scoped IPv6 literal (``'fe80::1%eth0'``, ``'fe80::1%2'``) is AF_INET6.
    send() asks this for every datagram, so answers are kept in a plain dict
    (cheaper to consult than functools.lru_cache), emptied when it grows large.
    """
    try:
        return _LITERALS[host]
    except KeyError:
        pass
    family = _family_of(host)
    if len(_LITERALS) >= 4096:
        _LITERALS.clear()
    _LITERALS[host] = family
    return family


_SCOPE_NAMES: dict[int, str] = {}  # scope id -> '%name' (or '%id'), bounded


def scoped(address: str, scope_id: int) -> str:
    """A received IPv6 address as Node shows it: ``'fe80::1%eth0'`` when the
    sockaddr_in6 has a scope id, the bare address when it is 0.

    The interface's name, or the number when the index has no name (the
    interface is gone).  Names are kept per scope id: the receive path calls
    this for every datagram from a link-local sender.
    """
    if not scope_id:
        return address
    try:
        suffix = _SCOPE_NAMES[scope_id]
    except KeyError:
        try:
            suffix = "%" + socket.if_indextoname(scope_id)
        except (OSError, OverflowError, ValueError):
            suffix = f"%{scope_id}"
        if len(_SCOPE_NAMES) >= 256:
            _SCOPE_NAMES.clear()
        _SCOPE_NAMES[scope_id] = suffix
    return address + suffix


def scope_index(scope: str) -> int:
    """The interface index a literal's ``%scope`` stands for: a decimal index
    as is, a name through if_nametoindex, 0 for a name no interface has (as
    uv_ip6_addr makes it)."""
    if scope.isascii() and scope.isdigit():
        return int(scope)
    try:
        return socket.if_nametoindex(scope)
    except (OSError, ValueError, UnicodeError):
        return 0


def split_scope(host: str) -> tuple[str, int]:
    """``'fe80::1%eth0'`` -> ``('fe80::1', index of eth0)``; an unscoped host
    -> ``(host, 0)``.  pyuv reads an address string with libuv's inet_pton,
    which drops the scope, so a scoped literal must reach pyuv as
    ``(address, port, 0, scope_id)``."""
    address, percent, scope = host.partition("%")
    return (address, scope_index(scope)) if percent else (host, 0)


Resolved = Callable[[str | None, int], Any]


def lookup(loop: pyuv.Loop, host: str, family: int, done: Resolved,
           later: Callable[..., Any]) -> None:
    """Resolve ``host`` for ``family``; later, ``done(address, 0)`` or
    ``done(None, uv_status)`` (a negative libuv status such as UV_EAI_NONAME).
    ``later(fn, *args)`` defers a call (the loop context's call_later)."""

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
        later(done, None, uv_status_of(exc))
