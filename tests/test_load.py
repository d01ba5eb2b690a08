"""Load: a burst of datagrams, many sockets in sequence, many sockets at once."""

from __future__ import annotations

import resource
import struct
from collections.abc import Iterator

import pytest
import pyuv

import dgram_uv
from conftest import Loop, open_fds, run_for, run_until
from dgram_uv import Socket

BURST = 5_000
SEQUENTIAL = 2_000
AT_ONCE = 10_000


def udp_handles(loop: pyuv.Loop) -> list[pyuv.Handle]:
    return [h for h in loop.handles if not h.closed and not isinstance(h, pyuv.Idle)]


def test_burst_arrives_complete_and_in_order(loop: Loop) -> None:
    """5,000 datagrams sent without running the loop in between: every one
    arrives, in the order sent, each intact."""
    received: list[int] = []
    sizes: set[int] = set()

    def on_message(msg: bytes, rinfo: dict[str, object]) -> None:
        (seq,) = struct.unpack_from("!I", msg)
        received.append(seq)
        sizes.add(len(msg))
        assert rinfo["size"] == len(msg) == 4 + 96
        assert msg[4:] == bytes([seq % 251]) * 96

    receiver = dgram_uv.createSocket({"type": "udp4", "recvBufferSize": 8 << 20}, on_message,
                                     loop=loop)
    receiver.bind(0, "127.0.0.1")
    if receiver.getRecvBufferSize() < 4 << 20:
        pytest.skip(f"SO_RCVBUF capped at {receiver.getRecvBufferSize()} bytes "
                    "(net.core.rmem_max): a 5,000-datagram burst cannot be buffered")
    port = receiver.address()["port"]
    sender = dgram_uv.createSocket("udp4", loop=loop)
    done: list[object] = []
    for seq in range(BURST):
        sender.send(struct.pack("!I", seq) + bytes([seq % 251]) * 96, port, "127.0.0.1",
                    done.append if seq == BURST - 1 else None)
    assert run_until(loop, lambda: len(received) >= BURST, 10.0), len(received)
    run_for(loop, 0.02)  # nothing extra, nothing duplicated
    assert done == [None]
    assert received == list(range(BURST))
    assert sizes == {100}
    sender.close()
    receiver.close()


def test_sockets_bound_and_closed_leave_nothing(loop: Loop) -> None:
    """2,000 sockets, each bound, used once and closed: no descriptor and no
    handle outlives them."""
    peer_inbox: list[bytes] = []
    peer = dgram_uv.createSocket("udp4", lambda msg, _r: peer_inbox.append(msg), loop=loop)
    peer.bind(0, "127.0.0.1")
    port = peer.address()["port"]
    fds_before = open_fds()
    handles_before = len(udp_handles(loop))  # the peer's
    closed = 0

    def on_close() -> None:
        nonlocal closed
        closed += 1

    for n in range(SEQUENTIAL):
        sock = dgram_uv.createSocket("udp4", loop=loop)
        sock.bind(0, "127.0.0.1")
        if n % 100 == 0:
            sock.send(b"%d" % n, port, "127.0.0.1")
            sock.recvStop()
        sock.close(on_close)
        if n % 200 == 199:
            run_for(loop, 0.001)  # let closes complete as they would in a program
    assert run_until(loop, lambda: closed == SEQUENTIAL and len(peer_inbox) == 20, 5.0)
    assert len(udp_handles(loop)) == handles_before
    assert open_fds() <= fds_before, (open_fds(), fds_before)
    assert sorted(peer_inbox) == sorted(b"%d" % n for n in range(0, SEQUENTIAL, 100))
    peer.close()


def descriptors_per_socket(loop: Loop) -> int:
    """How many descriptors one bound, reading socket holds at the least: one.
    (The batch receiver reads through a dup() of it, but when descriptors run
    out a socket falls back to reading through pyuv on its own descriptor.)"""
    before = open_fds()
    sock = dgram_uv.createSocket("udp4", loop=loop)
    sock.bind(0, "127.0.0.1")
    used = open_fds() - before
    sock.close()
    run_for(loop, 0.01)
    assert used in (1, 2)
    return 1


@pytest.fixture
def descriptor_limit() -> Iterator[int]:
    """Raise the soft descriptor limit to the hard one for the test."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError) as exc:
        pytest.skip(f"cannot raise RLIMIT_NOFILE soft limit to {hard}: {exc}")
    try:
        yield hard
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_ten_thousand_sockets_at_once(loop: Loop, receiver_kind: str,
                                      descriptor_limit: int) -> None:
    """10,000 sockets bound at the same time, each reachable; then all closed."""
    per_socket = descriptors_per_socket(loop)
    fds_before = open_fds()
    need = fds_before + AT_ONCE * per_socket + 64
    if descriptor_limit != resource.RLIM_INFINITY and need > descriptor_limit:
        pytest.skip(f"{receiver_kind} receiver: {AT_ONCE} sockets need {need} descriptors "
                    f"({per_socket} per socket), RLIMIT_NOFILE hard limit is {descriptor_limit}")
    sockets: list[Socket] = []
    hits: list[int] = []
    for n in range(AT_ONCE):
        sock = dgram_uv.createSocket("udp4", lambda _m, _r, n=n: hits.append(n), loop=loop)
        try:
            sock.bind(0, "127.0.0.1")
        except OSError as exc:  # pragma: no cover - depends on the host
            pytest.skip(f"bind {n} failed: {exc}")
        sockets.append(sock)
    ports = {s.address()["port"] for s in sockets}
    assert len(ports) == AT_ONCE
    # Every 100th socket gets a datagram: they are all live at once.
    sender = dgram_uv.createSocket("udp4", loop=loop)
    for n in range(0, AT_ONCE, 100):
        sender.send(b"x", sockets[n].address()["port"], "127.0.0.1")
    assert run_until(loop, lambda: len(hits) == AT_ONCE // 100, 5.0), len(hits)
    assert sorted(hits) == list(range(0, AT_ONCE, 100))
    closed = [0]
    for sock in [*sockets, sender]:
        sock.close(lambda: closed.__setitem__(0, closed[0] + 1))
    assert run_until(loop, lambda: closed[0] == AT_ONCE + 1, 10.0)
    assert udp_handles(loop) == []
    assert open_fds() <= fds_before
