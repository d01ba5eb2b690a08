"""Where a round trip's microseconds go: dgram_uv's public API vs raw pyuv.

A probe for issue 12 (not part of ``make bench``).  Three parts:

1. **Round trips, layer by layer.**  One pyuv loop, two sockets on
   127.0.0.1, one 64-byte datagram in flight (the ping-pong benchmark's
   shape), N round trips per run, variants alternated round by round;
   per round trip: wall time and this thread's CPU time.

   - ``pyuv``          ``UDP.start_recv`` + ``UDP.try_send``, no layer
   - ``poll+socket``   ``pyuv.Poll`` on Python sockets, ``recvfrom`` / ``sendto``
                       (the batch receiver's shape without its work)
   - ``api``           dgram_uv's public API: ``on('message')`` + ``send()``
   - ``api-try_send``  dgram_uv receives, the listeners reply with the pyuv
                       handle's ``try_send`` (the cost of ``send()`` is the
                       difference from ``api``)
   - ``api-pyuvrecv``  the public API on the pyuv receiver
                       (``DGRAM_UV_RECEIVER=pyuv``)

2. **Per call, with the system call replaced.**  Tight loops, no event loop:
   ``Socket.send()`` with the handle's ``try_send`` a no-op (what the layer
   adds to a send), a real ``UDP.try_send`` and a real ``socket.sendto`` to a
   sink with a large buffer, and the batch receiver's ``_emit`` of one
   datagram to one listener (what the layer adds per received datagram after
   the read).

3. **cProfile** of ``api`` round trips: the functions' own time per round
   trip (cProfile inflates Python calls; read the shares, not the sums).

    python benchmarks/rt_profile.py [--count 20000] [--rounds 5] [--no-cprofile]

Run it pinned (``taskset -c 1``) on a quiet machine; ``--perf`` additionally
prints ``perf record`` shares by binary (kernel, python, pyuv/libuv, the
helper) for the ping-pong benchmark's contestants (needs perf and the
benchmark's build of ``pingpong_epoll``).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyuv

import dgram_uv
from dgram_uv import _outbox

HOST = "127.0.0.1"
SIZE = 64
HERE = Path(__file__).resolve().parent
Kick = Callable[[], None]


def v_pyuv(loop: pyuv.Loop, step: Callable[[], bool]) -> Kick:
    a, b = pyuv.UDP(loop), pyuv.UDP(loop)
    a.bind((HOST, 0))
    b.bind((HOST, 0))
    b_addr = (HOST, b.getsockname()[1])
    payload = bytes(SIZE)

    def b_read(h: Any, addr: Any, flags: int, data: bytes | None, err: Any) -> None:
        if data is not None:
            b.try_send(addr, data)

    def a_read(h: Any, addr: Any, flags: int, data: bytes | None, err: Any) -> None:
        if data is not None and step():
            a.try_send(b_addr, payload)

    a.start_recv(a_read)
    b.start_recv(b_read)
    return lambda: a.try_send(b_addr, payload)


def v_poll_socket(loop: pyuv.Loop, step: Callable[[], bool]) -> Kick:
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for s in (a, b):
        s.bind((HOST, 0))
        s.setblocking(False)
    b_addr = b.getsockname()
    payload = bytes(SIZE)

    def b_ready(h: Any, events: int, err: Any) -> None:
        data, addr = b.recvfrom(2048)
        b.sendto(data, addr)

    def a_ready(h: Any, events: int, err: Any) -> None:
        a.recvfrom(2048)
        if step():
            a.sendto(payload, b_addr)

    pa, pb = pyuv.Poll(loop, a.fileno()), pyuv.Poll(loop, b.fileno())
    pa.start(pyuv.UV_READABLE, a_ready)
    pb.start(pyuv.UV_READABLE, b_ready)
    v_poll_socket.keep = (a, b, pa, pb)  # type: ignore[attr-defined]
    return lambda: a.sendto(payload, b_addr) and None


def _api(loop: pyuv.Loop, step: Callable[[], bool], raw_reply: bool) -> Kick:
    a = dgram_uv.createSocket("udp4", loop=loop)
    b = dgram_uv.createSocket("udp4", loop=loop)
    a.bind(0, HOST)
    b.bind(0, HOST)
    b_port = b.address()["port"]
    payload = bytes(SIZE)
    if raw_reply:
        ha, hb = a._handle, b._handle
        b_addr = (HOST, b_port)

        def b_msg(msg: bytes, rinfo: Any) -> None:
            hb.try_send((rinfo["address"], rinfo["port"]), msg)

        def a_msg(msg: bytes, rinfo: Any) -> None:
            if step():
                ha.try_send(b_addr, payload)

    else:

        def b_msg(msg: bytes, rinfo: Any) -> None:
            b.send(msg, rinfo["port"], rinfo["address"])

        def a_msg(msg: bytes, rinfo: Any) -> None:
            if step():
                a.send(payload, b_port, HOST)

    a.on("message", a_msg)
    b.on("message", b_msg)
    return lambda: a.send(payload, b_port, HOST)


def v_api(loop: pyuv.Loop, step: Callable[[], bool]) -> Kick:
    return _api(loop, step, raw_reply=False)


def v_api_try_send(loop: pyuv.Loop, step: Callable[[], bool]) -> Kick:
    return _api(loop, step, raw_reply=True)


def v_api_pyuvrecv(loop: pyuv.Loop, step: Callable[[], bool]) -> Kick:
    os.environ["DGRAM_UV_RECEIVER"] = "pyuv"
    try:
        return _api(loop, step, raw_reply=False)
    finally:
        del os.environ["DGRAM_UV_RECEIVER"]


VARIANTS: dict[str, Callable[[pyuv.Loop, Callable[[], bool]], Kick]] = {
    "pyuv": v_pyuv,
    "poll+socket": v_poll_socket,
    "api": v_api,
    "api-try_send": v_api_try_send,
    "api-pyuvrecv": v_api_pyuvrecv,
}


def round_trips(
    name: str, count: int, profile: cProfile.Profile | None = None
) -> tuple[float, float]:
    """(wall ns, CPU ns) per round trip over ``count`` round trips after a warm-up."""
    loop = pyuv.Loop()
    n = [count // 5]

    def step() -> bool:
        n[0] -= 1
        if n[0] <= 0:
            loop.stop()
            return False
        return True

    kick = VARIANTS[name](loop, step)
    kick()
    loop.run()  # warm-up: count/5 round trips
    n[0] = count
    w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
    if profile is not None:
        profile.enable()
    kick()
    loop.run()
    if profile is not None:
        profile.disable()
    w1, c1 = time.perf_counter_ns(), time.thread_time_ns()
    return (w1 - w0) / count, (c1 - c0) / count


def c_floor(count_seconds: float = 1.0) -> float | None:
    exe = HERE / ".build" / "pingpong_epoll"
    if not exe.exists():
        return None
    out = subprocess.run(
        [str(exe), "--warmup", "0.2", "--seconds", str(count_seconds)],
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.split()
    res = dict(x.split("=") for x in out[1:])
    return int(res["elapsed_ns"]) / int(res["count"])


# --- part 2: per call, the system call replaced ------------------------------------


class _StubLib:
    """Stands in for the compiled helper: its sendto does nothing."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def dgram_uv_sendto(self, *_args: Any) -> int:
        return 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class _StubHandle:
    """Stands in for the pyuv handle: try_send does nothing."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def try_send(self, addr: Any, data: Any) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def per_call(n: int) -> dict[str, float]:
    loop = pyuv.Loop()
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sink.setsockopt(socket.SOL_SOCKET, 33, 256 << 20)  # SO_RCVBUFFORCE
    except OSError:
        sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 << 20)
    sink.bind((HOST, 0))
    port = sink.getsockname()[1]
    payload = bytes(SIZE)
    out: dict[str, float] = {}

    def drain_sink() -> None:
        sink.setblocking(False)
        try:
            while True:
                sink.recv(2048)
        except BlockingIOError:
            pass

    def timed(fn: Callable[[], None]) -> float:
        t0 = time.thread_time_ns()
        for _ in range(n):
            fn()
        return (time.thread_time_ns() - t0) / n

    # dgram_uv send(): the layer alone (handle stubbed; no system call).
    s = dgram_uv.createSocket("udp4", loop=loop)
    s.bind(0, HOST)
    loop.run(pyuv.UV_RUN_NOWAIT)  # 'listening' and the rest of the set-up
    real = s._handle
    s._outbox.use_handle(_StubHandle(real))  # type: ignore[arg-type]
    real_lib = _outbox.lib
    _outbox.lib = _StubLib(real_lib)
    s.send(payload, port, HOST)  # the first send to a destination goes the long way
    out["send() with the system call a no-op"] = timed(lambda: s.send(payload, port, HOST))
    _outbox.lib = real_lib
    s._outbox.use_handle(real)
    # Empty-loop baseline of the timing loop itself.
    out["(the timing loop, a no-op lambda)"] = timed(lambda: None)
    # Real system calls.
    u = pyuv.UDP(loop)
    u.bind((HOST, 0))
    addr = (HOST, port)
    out["pyuv UDP.try_send (real)"] = timed(lambda: u.try_send(addr, payload))
    drain_sink()
    py = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out["socket.sendto (real)"] = timed(lambda: py.sendto(payload, addr) and None)
    drain_sink()
    out["dgram_uv send() (real)"] = timed(lambda: s.send(payload, port, HOST))
    drain_sink()
    # The receive layer's per-datagram part after the read: the send window,
    # rinfo copy, size, listener lookup and call, for one datagram
    # (Inbox.deliver, what either receiver calls).
    inbox = s._inbox
    template = {"address": HOST, "family": "IPv4", "port": port, "size": 0, "ip": HOST}
    runs = [(template, (payload,))]
    inbox.reading = True
    s.on("message", lambda msg, rinfo: None)
    out["Inbox.deliver, 1 datagram, 1 listener"] = timed(lambda: inbox.deliver(runs))
    out["Inbox.deliver_one, 1 listener"] = timed(
        lambda: inbox.deliver_one(payload, template.copy()))
    s.close()
    u.close()
    for _ in range(3):
        loop.run(pyuv.UV_RUN_NOWAIT)
    for x in (sink, py):
        x.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", help="comma-separated variants")
    parser.add_argument("--no-cprofile", action="store_true")
    parser.add_argument("--perf", action="store_true", help="perf record shares by binary")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(VARIANTS)

    print(f"1. round trips ({args.count} per run, medians of {args.rounds} alternated rounds)")
    wall: dict[str, list[float]] = {n: [] for n in [*names, "C epoll floor"]}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(args.rounds):
        for name in names:
            w, c = round_trips(name, args.count)
            wall[name].append(w)
            cpu[name].append(c)
        floor = c_floor()
        if floor is not None:
            wall["C epoll floor"].append(floor)
    base = statistics.median(wall["pyuv"]) if wall.get("pyuv") else None
    for name, ws in wall.items():
        if not ws:
            continue
        w = statistics.median(ws)
        line = f"   {name:<14} {w / 1e3:6.2f} us/rt wall ({1e9 / w / 1e3:5.1f} k rt/s)"
        if name in cpu:
            line += f", {statistics.median(cpu[name]) / 1e3:6.2f} us CPU"
        if base:
            line += f", {w - base:+7.0f} ns vs pyuv"
        line += f"   [runs: {' '.join(f'{x / 1e3:.1f}' for x in ws)}]"
        print(line)

    print(f"\n2. per call, thread CPU time (ns, {args.count * 5} calls)")
    for k, v in per_call(args.count * 5).items():
        print(f"   {k:<46} {v:7.0f}")

    if not args.no_cprofile and "api" in VARIANTS:
        prof = cProfile.Profile()
        n = args.count
        round_trips("api", n, prof)
        stats = pstats.Stats(prof)
        rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])  # type: ignore[attr-defined]
        total = sum(v[2] for _, v in rows)
        per_rt = total / n * 1e6
        print(f"\n3. cProfile of 'api', own time per round trip ({per_rt:.1f} us/rt profiled)")
        for (file, line, func), (_cc, calls, tt, _ct, _callers) in rows[:18]:
            where = f"{Path(file).name}:{line}" if line else "~"
            print(f"   {tt / n * 1e6:6.2f} us  {calls / n:4.1f} calls/rt  {func}  ({where})")

    if args.perf:
        perf_shares()
    return 0


def perf_shares() -> None:
    perf = shutil.which("perf")
    if perf is None:
        print("\n4. perf: not installed")
        return
    print("\n4. perf record, samples by binary (ping-pong benchmark contestants, 2 s)")
    contestants = HERE / "contestants"
    runs = {
        "C epoll floor": [str(HERE / ".build" / "pingpong_epoll"), "--seconds", "2"],
        "raw pyuv": [sys.executable, str(contestants / "py_udp.py"), "pingpong", "--impl", "pyuv"],
        "dgram_uv": [
            sys.executable,
            str(contestants / "py_udp.py"),
            "pingpong",
            "--impl",
            "dgram_uv",
        ],
    }
    for label, argv in runs.items():
        data = f"/tmp/rt_profile.{os.getpid()}.data"
        subprocess.run(
            [perf, "record", "-q", "-o", data, *argv], capture_output=True, timeout=60, check=False
        )
        rep = subprocess.run(
            [perf, "report", "-i", data, "--no-children", "--sort", "dso", "--stdio"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        ).stdout
        os.unlink(data)
        shares = [ln.split() for ln in rep.splitlines() if ln.strip() and not ln.startswith("#")]
        top = ", ".join(f"{s[1]} {s[0]}" for s in shares[:6] if len(s) >= 2)
        print(f"   {label:<14} {top}")


if __name__ == "__main__":
    sys.exit(main())
