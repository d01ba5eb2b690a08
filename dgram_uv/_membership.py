"""Source-specific multicast membership, set beside libuv.

libuv 1.13 (what pyuv 1.4.0 carries) has ``uv_udp_set_membership`` but not
``uv_udp_set_source_membership`` (added in libuv 1.32), so Node's
``addSourceSpecificMembership`` / ``dropSourceSpecificMembership`` are done
here directly on the handle's descriptor: IP_ADD_SOURCE_MEMBERSHIP /
IP_DROP_SOURCE_MEMBERSHIP for IPv4, MCAST_JOIN_SOURCE_GROUP /
MCAST_LEAVE_SOURCE_GROUP for IPv6, as libuv 1.32 does it.

The descriptor is borrowed through a stdlib ``socket.socket`` that is always
detached afterwards, so it is never closed here.  Failures are raised as
``OSError`` with an ``errno``; the caller turns them into a ``DgramError``.
Arguments are not validated here beyond what is needed to build the option
(the socket's validators do that).
"""

from __future__ import annotations

import errno
import socket
import struct

__all__ = ["source_membership"]

# Linux values, for Pythons whose socket module does not export them.
# <linux/in.h>: IP_ADD_SOURCE_MEMBERSHIP 39, IP_DROP_SOURCE_MEMBERSHIP 40.
IP_ADD_SOURCE_MEMBERSHIP: int = getattr(socket, "IP_ADD_SOURCE_MEMBERSHIP", 39)
IP_DROP_SOURCE_MEMBERSHIP: int = getattr(socket, "IP_DROP_SOURCE_MEMBERSHIP", 40)
# <linux/in.h>: MCAST_JOIN_SOURCE_GROUP 46, MCAST_LEAVE_SOURCE_GROUP 47.
MCAST_JOIN_SOURCE_GROUP: int = getattr(socket, "MCAST_JOIN_SOURCE_GROUP", 46)
MCAST_LEAVE_SOURCE_GROUP: int = getattr(socket, "MCAST_LEAVE_SOURCE_GROUP", 47)

# struct sockaddr_storage is 128 bytes, aligned like a pointer
# (<linux/socket.h>: __aligned(_K_SS_ALIGNSIZE)), so in
# struct group_source_req { __u32 gsr_interface; sockaddr_storage gsr_group;
# sockaddr_storage gsr_source; } the interface index is followed by padding up
# to the pointer size: 264 bytes on 64-bit Linux, 260 on 32-bit.
_SS_SIZE = 128
_PTR = struct.calcsize("P")
_GSR = struct.Struct(f"=I{_PTR - 4}x{_SS_SIZE}s{_SS_SIZE}s")
# struct sockaddr_in6: sa_family_t (host order), in_port_t and flowinfo
# (network order), 16 address bytes, scope id (host order); 28 bytes.
_SIN6 = struct.Struct("=H2s4s16sI")


def _einval(what: str, value: object) -> OSError:
    return OSError(errno.EINVAL, f"invalid {what}: {value!r}")


def _ip4(address: str, what: str) -> bytes:
    try:
        return socket.inet_pton(socket.AF_INET, address)
    except (OSError, TypeError, ValueError):
        raise _einval(what, address) from None


def _ifindex(name: str | int) -> int:
    """An interface index from an index, a decimal string or a name."""
    if isinstance(name, int):
        return name
    if name.isdigit():
        return int(name)
    try:
        return socket.if_nametoindex(name)
    except (OSError, ValueError, UnicodeError):
        raise OSError(errno.ENODEV, f"no interface named {name!r}") from None


def _ip6(address: str, what: str) -> tuple[bytes, int]:
    """The 16 address bytes and the scope id of a (possibly scoped) literal."""
    host, sep, scope = address.partition("%")
    try:
        packed = socket.inet_pton(socket.AF_INET6, host)
    except (OSError, TypeError, ValueError):
        raise _einval(what, address) from None
    return packed, (_ifindex(scope) if sep else 0)


def _iface6(iface: str | int | None) -> int:
    """``gsr_interface``: None is 0 (the kernel picks by route); an index or a
    name is used as is; a scoped address (Node's ``'::%eth0'``) gives its
    scope; an unscoped address gives 0, as uv_ip6_addr does for libuv."""
    if iface is None or isinstance(iface, int):
        return iface or 0
    if "%" in iface:
        return _ifindex(iface.partition("%")[2])
    if ":" in iface:
        return _ip6(iface, "interface")[1]
    return _ifindex(iface)


def _sockaddr6(packed: bytes, scope: int) -> bytes:
    return _SIN6.pack(socket.AF_INET6, b"\0\0", b"\0\0\0\0", packed, scope)


def _option(family: int, source: str, group: str, iface: str | int | None,
            join: bool) -> tuple[int, int, bytes]:
    if family == socket.AF_INET:
        # Linux's struct ip_mreq_source (<linux/in.h>, glibc <netinet/in.h>):
        # imr_multiaddr, imr_interface, imr_sourceaddr, in that order (BSD
        # puts imr_sourceaddr second).
        if iface is None or iface == "":
            interface = b"\0\0\0\0"  # INADDR_ANY: the kernel picks by route
        else:
            interface = _ip4(str(iface), "interface")
        mreq = _ip4(group, "group") + interface + _ip4(source, "source")
        name = IP_ADD_SOURCE_MEMBERSHIP if join else IP_DROP_SOURCE_MEMBERSHIP
        return socket.IPPROTO_IP, name, mreq
    if family == socket.AF_INET6:
        group_bytes, group_scope = _ip6(group, "group")
        source_bytes, source_scope = _ip6(source, "source")
        index = _iface6(iface) or group_scope or source_scope
        gsr = _GSR.pack(index, _sockaddr6(group_bytes, group_scope),
                        _sockaddr6(source_bytes, source_scope))
        name = MCAST_JOIN_SOURCE_GROUP if join else MCAST_LEAVE_SOURCE_GROUP
        return socket.IPPROTO_IPV6, name, gsr
    raise OSError(errno.EAFNOSUPPORT, f"unsupported address family {family!r}")


def source_membership(fd: int, family: int, source: str, group: str,
                      iface: str | int | None, join: bool) -> None:
    """Join (``join=True``) or leave the source-specific multicast group
    ``(source, group)`` on the UDP descriptor ``fd``.

    ``family`` is ``socket.AF_INET`` or ``socket.AF_INET6``.  For IPv4,
    ``iface`` is the local interface address (None: INADDR_ANY).  For IPv6 it
    is an interface name, an index (int or decimal str), a scoped address such
    as ``'::%lo'``, or None (index 0).  Raises ``OSError`` with ``errno`` set.
    """
    level, name, value = _option(family, source, group, iface, join)
    sock = socket.socket(family, socket.SOCK_DGRAM, 0, fd)
    try:
        sock.setsockopt(level, name, value)
    finally:
        sock.detach()
