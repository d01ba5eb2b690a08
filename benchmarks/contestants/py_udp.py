"""The Python contestants of the dgram_uv benchmarks, one process per run.

    python py_udp.py MODE --impl IMPL [options]

IMPL is one of
  dgram_uv   the package's public API (createSocket / on('message') / bind / send)
  pyuv       raw pyuv: UDP.start_recv / UDP.send, no emitter
  uvloop     asyncio.DatagramProtocol on uvloop
  asyncio    asyncio.DatagramProtocol on the stdlib event loop

MODE and the line protocol (shared with node_udp.js and luv_udp.lua, driven by
benchmarks/run.py):
  flood     bind 127.0.0.1:0, print "PORT <port> <rcvbuf>", count datagrams
            in the window [warmup, warmup + seconds] and print
            "RESULT count=.. bytes=.. port_sum=.. elapsed_ns=..".
  drain     as flood, but size the receive buffer (--rcvbuf, SO_RCVBUFFORCE),
            do not run the loop until "GO <n>" arrives on stdin, then read
            the queue empty and report how long that took.
  selfsend  (dgram_uv) Node's benchmark/dgram shape: one socket sends to
            itself in bursts of --num from the send callbacks.
  pingpong  (dgram_uv, pyuv) two sockets, one datagram in flight; pyuv
            answers with try_send (no request, no callback).
  echo      (dgram_uv, pyuv) an echo server on 127.0.0.1:0: print
            "PORT <port> <rcvbuf>", then answer every datagram from the
            receive callback until killed (benchmarks' echo load generator).

Every receive callback does the same work in every implementation: count,
add the payload length, add the sender's port.  The harness checks the sums
(bytes == count * size, port_sum == count * sender port), so a layer that
skipped building the payload or the address would be caught.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
HOST = "127.0.0.1"

now_ns = time.perf_counter_ns


def emit_line(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def emit_result(**fields: int) -> None:
    emit_line("RESULT " + " ".join(f"{k}={int(v)}" for k, v in fields.items()))


def force_rcvbuf(fd: int, size: int) -> int:
    """Size a socket's receive buffer past net.core.rmem_max (root), return it.

    Works on a duplicate of ``fd``: socket options belong to the socket, not
    the descriptor, and closing the duplicate leaves the original alone.
    """
    with socket.socket(fileno=os.dup(fd)) as dup:
        try:
            dup.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
        except OSError:
            dup.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
        return dup.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


def fd_bound_to(port: int) -> int:
    """The descriptor of this process's UDP socket bound to ``port``.

    dgram_uv's API has no fileno() (nor does luvit's or Node's); finding the
    socket by its port keeps the benchmark on the public API while still
    letting the harness give every drain reader the same forced buffer size.
    """
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            probe = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        with probe:
            try:
                if probe.type == socket.SOCK_DGRAM and probe.getsockname()[1] == port:
                    return fd
            except (OSError, IndexError, TypeError):
                continue
    raise RuntimeError(f"no UDP socket bound to port {port} in this process")


def read_go() -> int:
    """Block until the harness writes "GO <n>"; return n."""
    line = sys.stdin.readline().split()
    if len(line) != 2 or line[0] != "GO":
        raise SystemExit(f"expected 'GO <n>' on stdin, got {line!r}")
    return int(line[1])


class Counter:
    """The receive-side tally; its ``hit`` closure is what every layer calls.

    Closures over cell variables are the cheapest counters CPython has, and
    every Python contestant uses this same one, so the comparison is between
    the layers and not between counting styles.  ``on_done`` is called when
    the count reaches the target given to ``expect`` (drain mode).
    """

    def __init__(self, on_done: Callable[[], None] | None = None) -> None:
        count = 0
        nbytes = 0
        port_sum = 0
        target = -1

        def hit(data: bytes, port: int) -> None:
            nonlocal count, nbytes, port_sum
            count += 1
            nbytes += len(data)
            port_sum += port
            if count == target and on_done is not None:
                on_done()

        def expect(n: int) -> None:
            nonlocal target
            target = n

        def snapshot() -> tuple[int, int, int]:
            return count, nbytes, port_sum

        self.hit = hit
        self.expect = expect
        self.snapshot = snapshot


# --- event-loop adapters -----------------------------------------------------
# Each one sets up a receiver whose per-datagram path is the layer's own
# callback shape calling counter.hit(payload, sender_port), plus timers.


class PyuvLoop:
    def __init__(self) -> None:
        import pyuv

        self.pyuv = pyuv
        self.loop = pyuv.Loop()
        self._timers: list[Any] = []

    def later(self, seconds: float, fn: Callable[[], None], repeat: float = 0.0) -> None:
        timer = self.pyuv.Timer(self.loop)
        timer.start(lambda _t: fn(), seconds, repeat)
        self._timers.append(timer)

    def run(self) -> None:
        self.loop.run()

    def stop(self) -> None:
        self.loop.stop()


class AsyncioLoop:
    def __init__(self, use_uvloop: bool) -> None:
        if use_uvloop:
            import uvloop

            self.loop = uvloop.new_event_loop()
        else:
            self.loop = asyncio.new_event_loop()

    def later(self, seconds: float, fn: Callable[[], None], repeat: float = 0.0) -> None:
        def tick() -> None:
            if repeat:
                self.loop.call_later(repeat, tick)
            fn()

        self.loop.call_later(seconds, tick)

    def run(self) -> None:
        self.loop.run_forever()

    def stop(self) -> None:
        self.loop.stop()


def make_receiver(impl: str, counter: Counter, rcvbuf: int | None) -> tuple[Any, int, int]:
    """Bind a receiver on 127.0.0.1:0 for ``impl``; return (loop, port, rcvbuf)."""
    if impl == "dgram_uv":
        import dgram_uv

        ev = PyuvLoop()
        sock = dgram_uv.createSocket("udp4", loop=ev.loop)
        hit = counter.hit

        def on_message(msg: bytes, rinfo: Any) -> None:
            hit(msg, rinfo["port"])

        sock.on("message", on_message)
        sock.bind(0, HOST)
        port = sock.address()["port"]
        fd = fd_bound_to(port)
        got = force_rcvbuf(fd, rcvbuf) if rcvbuf else _rcvbuf(fd)
        ev.keep = sock  # type: ignore[attr-defined]
        return ev, port, got
    if impl == "pyuv":
        ev = PyuvLoop()
        udp = ev.pyuv.UDP(ev.loop)
        udp.bind((HOST, 0))
        hit = counter.hit

        def on_read(handle: Any, addr: Any, flags: int, data: bytes | None, error: Any) -> None:
            if data is not None:
                hit(data, addr[1])

        port = udp.getsockname()[1]
        got = force_rcvbuf(udp.fileno(), rcvbuf) if rcvbuf else _rcvbuf(udp.fileno())
        udp.start_recv(on_read)
        ev.keep = udp  # type: ignore[attr-defined]
        return ev, port, got
    if impl in ("uvloop", "asyncio"):
        aev = AsyncioLoop(impl == "uvloop")
        hit = counter.hit

        class Proto(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                hit(data, addr[1])

        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        got = force_rcvbuf(sock.fileno(), rcvbuf) if rcvbuf else _rcvbuf(sock.fileno())
        sock.bind((HOST, 0))
        sock.setblocking(False)
        transport, _ = aev.loop.run_until_complete(
            aev.loop.create_datagram_endpoint(Proto, sock=sock)
        )
        aev.keep = transport  # type: ignore[attr-defined]
        return aev, sock.getsockname()[1], got
    raise SystemExit(f"unknown impl {impl!r}")


def _rcvbuf(fd: int) -> int:
    with socket.socket(fileno=os.dup(fd)) as dup:
        return dup.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


# --- modes -------------------------------------------------------------------


def flood(args: argparse.Namespace) -> None:
    counter = Counter()
    ev, port, got = make_receiver(args.impl, counter, None)
    emit_line(f"PORT {port} {got}")
    start: list[int] = []

    def window_open() -> None:
        start.extend((*counter.snapshot(), now_ns()))
        ev.later(args.seconds, window_close)

    def window_close() -> None:
        t1 = now_ns()
        c, b, p = counter.snapshot()
        c0, b0, p0, t0 = start
        emit_result(count=c - c0, bytes=b - b0, port_sum=p - p0, elapsed_ns=t1 - t0)
        os._exit(0)

    ev.later(args.warmup, window_open)
    ev.run()


def drain(args: argparse.Namespace) -> None:
    t0 = 0

    def finish() -> None:
        t1 = now_ns()
        c, b, p = counter.snapshot()
        emit_result(count=c, bytes=b, port_sum=p, elapsed_ns=t1 - t0)
        os._exit(0)

    counter = Counter(on_done=finish)
    ev, port, got = make_receiver(args.impl, counter, args.rcvbuf)
    emit_line(f"PORT {port} {got}")
    # The loop has not run yet, so nothing has been read: the clock starts
    # when reading can start.
    counter.expect(read_go())
    t0 = now_ns()
    seen = [-1]

    def idle_check() -> None:
        # Datagrams dropped before GO: the count never reaches n; stop once
        # the queue has gone quiet and let the harness report the shortfall.
        c = counter.snapshot()[0]
        if c == seen[0]:
            finish()
        seen[0] = c

    ev.later(0.2, idle_check, repeat=0.2)
    ev.run()


def selfsend(args: argparse.Namespace) -> None:
    if args.impl != "dgram_uv":
        raise SystemExit("selfsend is implemented for dgram_uv only")
    import dgram_uv

    ev = PyuvLoop()
    sock = dgram_uv.createSocket("udp4", loop=ev.loop)
    length, burst = args.len, args.num
    data: Any
    if args.form == "multi":
        data = [bytes(round(length / args.chunks)) for _ in range(args.chunks)]
    else:
        data = bytes(length)
    sent = received = errors = 0
    port = 0

    def send_single() -> None:
        sock.send(data, port, HOST, onsend)

    def send_offset() -> None:
        sock.send(data, 0, length, port, HOST, onsend)

    send = send_offset if args.form == "offset" else send_single

    def send_burst(handle: Any) -> None:
        handle.stop()
        for _ in range(burst):
            send()

    # Node's benchmark starts each burst from setImmediate; an Idle handle
    # that stops itself after one call is the same "next loop iteration".
    immediate = ev.pyuv.Idle(ev.loop)

    def onsend(err: Any = None) -> None:
        # Node's `if (sent++ % num === 0)`: every num-th completion queues
        # another burst of num sends.
        nonlocal sent, errors
        if err is not None:
            errors += 1
        before = sent
        sent += 1
        if before % burst == 0:
            immediate.start(send_burst)

    def on_message(msg: bytes, rinfo: Any) -> None:
        nonlocal received
        received += 1

    start: list[int] = []

    def window_open() -> None:
        start.extend((sent, received, errors, now_ns()))
        ev.later(args.seconds, window_close)

    def window_close() -> None:
        t1 = now_ns()
        s0, r0, e0, t0 = start
        emit_result(sent=sent - s0, received=received - r0, errors=errors - e0, elapsed_ns=t1 - t0)
        os._exit(0)

    def on_listening() -> None:
        nonlocal port
        port = sock.address()["port"]
        onsend()
        ev.later(args.warmup, window_open)

    sock.on("message", on_message)
    sock.on("listening", on_listening)
    sock.bind(0, HOST)
    ev.run()


def pingpong(args: argparse.Namespace) -> None:
    payload = bytes(args.size)
    samples: list[int] = []
    measuring = False
    nbytes = port_sum = 0
    t_send = 0
    ev = PyuvLoop()
    if args.impl == "dgram_uv":
        import dgram_uv

        a = dgram_uv.createSocket("udp4", loop=ev.loop)
        b = dgram_uv.createSocket("udp4", loop=ev.loop)
        a.bind(0, HOST)
        b.bind(0, HOST)
        b_port = b.address()["port"]

        def b_message(msg: bytes, rinfo: Any) -> None:
            b.send(msg, rinfo["port"], rinfo["address"])

        def a_message(msg: bytes, rinfo: Any) -> None:
            nonlocal t_send, nbytes, port_sum
            t = now_ns()
            if measuring:
                samples.append(t - t_send)
                nbytes += len(msg)
                port_sum += rinfo["port"]
            t_send = t
            a.send(payload, b_port, HOST)

        b.on("message", b_message)
        a.on("message", a_message)

        def kick() -> None:
            nonlocal t_send
            t_send = now_ns()
            a.send(payload, b_port, HOST)

    elif args.impl == "pyuv":
        ua = ev.pyuv.UDP(ev.loop)
        ub = ev.pyuv.UDP(ev.loop)
        ua.bind((HOST, 0))
        ub.bind((HOST, 0))
        b_addr = (HOST, ub.getsockname()[1])

        # try_send: the system call at once, no request object or callback
        # (what dgram_uv's send() does first); send() only if the socket's
        # buffer is full, which with one datagram in flight never happens.
        def b_read(handle: Any, addr: Any, flags: int, data: bytes | None, error: Any) -> None:
            if data is not None:
                try:
                    ub.try_send(addr, data)
                except ev.pyuv.error.UDPError:
                    ub.send(addr, data)

        def a_read(handle: Any, addr: Any, flags: int, data: bytes | None, error: Any) -> None:
            nonlocal t_send, nbytes, port_sum
            if data is None:
                return
            t = now_ns()
            if measuring:
                samples.append(t - t_send)
                nbytes += len(data)
                port_sum += addr[1]
            t_send = t
            try:
                ua.try_send(b_addr, payload)
            except ev.pyuv.error.UDPError:
                ua.send(b_addr, payload)

        ub.start_recv(b_read)
        ua.start_recv(a_read)

        def kick() -> None:
            nonlocal t_send
            t_send = now_ns()
            ua.try_send(b_addr, payload)

    else:
        raise SystemExit("pingpong is implemented for dgram_uv and pyuv")

    start: list[int] = []

    def window_open() -> None:
        nonlocal measuring
        measuring = True
        start.append(now_ns())
        ev.later(args.seconds, window_close)

    def window_close() -> None:
        t1 = now_ns()
        ordered = sorted(samples)
        n = len(ordered)
        p50 = ordered[min(n - 1, n // 2)] if n else 0
        p99 = ordered[min(n - 1, int(n * 0.99))] if n else 0
        emit_result(
            count=n,
            bytes=nbytes,
            port_sum=port_sum,
            elapsed_ns=t1 - start[0],
            p50_ns=p50,
            p99_ns=p99,
        )
        os._exit(0)

    kick()
    ev.later(args.warmup, window_open)
    ev.run()


def echo(args: argparse.Namespace) -> None:
    ev = PyuvLoop()
    if args.impl == "dgram_uv":
        import dgram_uv

        sock = dgram_uv.createSocket("udp4", loop=ev.loop)

        def on_message(msg: bytes, rinfo: Any) -> None:
            sock.send(msg, rinfo["port"], rinfo["address"])

        sock.on("message", on_message)
        sock.bind(0, HOST)
        port = sock.address()["port"]
        got = _rcvbuf(fd_bound_to(port))
    elif args.impl == "pyuv":
        udp = ev.pyuv.UDP(ev.loop)
        udp.bind((HOST, 0))
        udp_error = ev.pyuv.error.UDPError

        def on_read(handle: Any, addr: Any, flags: int, data: bytes | None, error: Any) -> None:
            if data is not None:
                try:
                    udp.try_send(addr, data)
                except udp_error:  # the send buffer is full: queue it
                    udp.send(addr, data)

        udp.start_recv(on_read)
        port = udp.getsockname()[1]
        got = _rcvbuf(udp.fileno())
    else:
        raise SystemExit("echo is implemented for dgram_uv and pyuv")
    emit_line(f"PORT {port} {got}")
    ev.run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("mode", choices=["flood", "drain", "selfsend", "pingpong", "echo"])
    parser.add_argument("--impl", required=True, choices=["dgram_uv", "pyuv", "uvloop", "asyncio"])
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rcvbuf", type=int, default=64 << 20)
    parser.add_argument("--form", choices=["single", "offset", "multi"], default="single")
    parser.add_argument("--len", type=int, default=64)
    parser.add_argument("--chunks", type=int, default=1)
    parser.add_argument("--num", type=int, default=100)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args(argv)
    modes = {"flood": flood, "drain": drain, "selfsend": selfsend, "pingpong": pingpong}
    modes["echo"] = echo
    modes[args.mode](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
