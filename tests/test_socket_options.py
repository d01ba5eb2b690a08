"""Socket options: broadcast, TTLs, multicast settings, buffer sizes."""

from __future__ import annotations

import socket

import pytest

import dgram_uv
from dgram_uv import DgramOSError, DgramTypeError, DgramValueError


def raw_opt(s: dgram_uv.Socket, level: int, opt: int) -> int:
    raw = socket.socket(s._family, socket.SOCK_DGRAM, 0, s._handle.fileno())
    try:
        return raw.getsockopt(level, opt)
    finally:
        raw.detach()


def test_set_broadcast(loop) -> None:
    s = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1")
    s.setBroadcast(True)
    assert raw_opt(s, socket.SOL_SOCKET, socket.SO_BROADCAST) == 1
    s.set_broadcast(False)
    assert raw_opt(s, socket.SOL_SOCKET, socket.SO_BROADCAST) == 0
    with pytest.raises(DgramTypeError):
        s.setBroadcast("yes")
    s.close()


def test_ttl_returns_argument_and_sets_option(loop) -> None:
    s = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1")
    assert s.setTTL(17) == 17
    assert raw_opt(s, socket.IPPROTO_IP, socket.IP_TTL) == 17
    assert s.setMulticastTTL(3) == 3
    assert raw_opt(s, socket.IPPROTO_IP, socket.IP_MULTICAST_TTL) == 3
    assert s.setMulticastTTL(0) == 0
    for bad, method in ((0, s.setTTL), (256, s.setTTL), (-1, s.setMulticastTTL),
                        (256, s.setMulticastTTL)):
        with pytest.raises(DgramOSError) as info:
            method(bad)
        assert info.value.code == "EINVAL"
        assert info.value.syscall in ("setTTL", "setMulticastTTL")
    with pytest.raises(DgramTypeError) as tinfo:
        s.setTTL("64")
    assert tinfo.value.code == "ERR_INVALID_ARG_TYPE"
    assert s.setTTL(64) == 64  # still usable
    s.close()


def test_ipv6_ttl(loop) -> None:
    s = dgram_uv.createSocket("udp6", loop=loop).bind(0, "::1")
    assert s.setTTL(9) == 9
    assert raw_opt(s, socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS) == 9
    s.close()


def test_multicast_loopback_and_interface(loop) -> None:
    s = dgram_uv.createSocket("udp4", loop=loop).bind(0)
    assert s.setMulticastLoopback(False) is False
    assert raw_opt(s, socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP) == 0
    assert s.setMulticastLoopback(True) is True
    assert raw_opt(s, socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP) == 1
    s.setMulticastInterface("127.0.0.1")
    with pytest.raises(DgramOSError) as info:
        s.setMulticastInterface("not an address")
    assert info.value.syscall == "setMulticastInterface"
    with pytest.raises(DgramTypeError):
        s.setMulticastInterface(None)
    s.close()


def test_membership_argument_errors(loop) -> None:
    s = dgram_uv.createSocket("udp4", loop=loop).bind(0)
    with pytest.raises(DgramValueError) as info:
        s.setMembership("239.1.2.3", None, "subscribe")
    assert info.value.code == "ERR_INVALID_ARG_VALUE"
    with pytest.raises(DgramTypeError) as tinfo:
        s.addMembership(None)
    assert tinfo.value.code == "ERR_MISSING_ARGS"
    with pytest.raises(DgramOSError) as oinfo:
        s.addMembership("10.0.0.1")  # not a multicast group
    assert oinfo.value.code == "EINVAL" and oinfo.value.syscall == "addMembership"
    with pytest.raises(DgramOSError):
        s.dropMembership("239.1.2.3")  # never joined
    s.close()


def test_buffer_sizes(loop) -> None:
    s = dgram_uv.createSocket({"type": "udp4", "recvBufferSize": 1 << 16,
                               "sendBufferSize": 1 << 15}, loop=loop)
    assert s.getRecvBufferSize() >= 1 << 16
    assert s.getSendBufferSize() >= 1 << 15
    s.setRecvBufferSize(1 << 17)
    assert s.get_recv_buffer_size() >= 1 << 17
    s.set_send_buffer_size(1 << 16)
    assert s.getSendBufferSize() >= 1 << 16
    for bad in (0, -1):
        with pytest.raises(DgramValueError) as info:
            s.setRecvBufferSize(bad)
        assert info.value.code == "ERR_SOCKET_BAD_BUFFER_SIZE"
    with pytest.raises(DgramTypeError):
        s.setSendBufferSize("big")
    s.close()
