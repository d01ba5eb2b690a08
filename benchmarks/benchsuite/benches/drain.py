"""Drain: a reader's queue is filled with N datagrams while it is not reading,
then it reads the queue empty: ns per datagram, with no competing sender."""

from __future__ import annotations

import contextlib
import socket
from typing import Any

from ..harness import (
    HOST,
    SO_RCVBUFFORCE,
    BenchError,
    Benchmark,
    Contestant,
    Context,
    alternate,
    case_json,
    child,
    kv,
    run_sender,
)

NAMES = ("dgram_uv", "node", "luvit", "pyuv", "uvloop", "asyncio", "recvmmsg")
FLOOR = "recvmmsg"


def udp_queue_stats(port: int) -> tuple[int, int] | None:
    """(rx_queue bytes, drops) of the IPv4 UDP socket bound to ``port``."""
    needle = f":{port:04X}"
    with contextlib.suppress(OSError), open("/proc/net/udp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            if len(parts) > 12 and parts[1].endswith(needle):
                rx_queue = int(parts[4].split(":")[1], 16)
                return rx_queue, int(parts[-1])
    return None


def harness_socket(rcvbuf: int) -> socket.socket:
    """A bound UDP socket with a forced receive buffer, for readers (Node)
    that cannot pass net.core.rmem_max themselves; it is handed over by fd."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((HOST, 0))
    return s


def run(ctx: Context) -> dict[str, Any]:
    size = 64
    # A 64-byte datagram costs ~830 bytes of receive-buffer accounting (skb
    # truesize) on loopback; the kernel doubles the value set, so 128 MiB
    # holds ~320k of them.
    n, rcvbuf_want = (50_000, 64 << 20) if ctx.quick else (200_000, 128 << 20)
    rounds = ctx.rounds_or(5)
    env, exe = ctx.env, ctx.exe
    table = {
        **ctx.table,
        FLOOR: Contestant(FLOOR, "C recvmmsg floor", lambda mode: [str(exe["recvmmsg_drain"])]),
    }

    def once(c: Contestant) -> dict[str, float]:
        assert c.argv is not None
        argv = c.argv("drain")
        pass_fds: tuple[int, ...] = ()
        held: socket.socket | None = None
        if c.needs_fd:
            held = harness_socket(rcvbuf_want)
            pass_fds = (held.fileno(),)
            argv += ["--fd", str(held.fileno())]
        elif c.name == FLOOR:
            argv += [str(rcvbuf_want)]
        else:
            argv += ["--rcvbuf", str(rcvbuf_want)]
        try:
            with child(env.pin(argv, "receiver"), c.label, pass_fds) as rx:
                if held is not None:
                    held.close()  # the child has its own copy now
                    held = None
                fields = rx.expect("PORT", 30)
                port, rcvbuf = int(fields[1]), int(fields[2])
                sender = run_sender(env, exe["udp_blast"], port, size, count=n)
                stats = udp_queue_stats(port)
                rx.write(f"GO {n}")
                res = kv(rx.expect("RESULT", 120)[1:])
        finally:
            if held is not None:
                held.close()
        count = res["count"]
        if count != n:
            dropped = f", kernel dropped {stats[1]} while filling" if stats else ""
            raise BenchError(
                f"{c.label}: read {count} of {n} datagrams (SO_RCVBUF {rcvbuf}{dropped})"
            )
        if res["bytes"] != n * size or res["port_sum"] != n * sender["port"]:
            raise BenchError(f"{c.label}: byte or port sums do not match what was sent")
        return {
            "ns_per_datagram": res["elapsed_ns"] / count,
            "datagrams_per_s": count / res["elapsed_ns"] * 1e9,
            "rcvbuf": rcvbuf,
            "queued_bytes": stats[0] if stats else -1,
        }

    entries = alternate(NAMES, rounds, table, once, ctx.progress, f"drain {n}x{size} B")
    return {
        "title": "Drain",
        "unit": "ns/datagram",
        "description": f"read {n} queued {size}-byte datagrams with nobody sending",
        "parameters": {"count": n, "size": size, "rcvbuf": rcvbuf_want, "rounds": rounds},
        "cases": [
            case_json(
                f"{n} x {size} B",
                {"count": n, "size": size, "rcvbuf_requested": rcvbuf_want},
                "ns_per_datagram",
                False,
                entries,
                ["ns_per_datagram", "datagrams_per_s"],
                floor=FLOOR,
            )
        ],
    }


def figure(med: dict[str, float | None]) -> str:
    return f"{med['ns_per_datagram'] or 0:.0f} ns/dgram"


BENCHMARK = Benchmark(
    name="drain",
    order=30,
    summary="ns per datagram to read a pre-filled queue empty (with a C recvmmsg floor)",
    run=run,
    figure=figure,
    helpers=("udp_blast", "recvmmsg_drain"),
)
