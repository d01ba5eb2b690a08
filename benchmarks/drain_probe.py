"""Drain probe: ns per datagram to empty a pre-filled UDP socket.

A scratch measurement for tuning the batch receiver (not the benchmark
suite).  For each contestant a socket on 127.0.0.1 gets a large receive
buffer, is filled with COUNT datagrams from plain Python sockets, and is
then drained with no competing sender:

  c           a C loop of recvmmsg calls (64 slots), compiled here with cffi
  pyuv        pyuv's UDP.start_recv and a callback
  api         dgram_uv's public API and a 'message' listener, which
              uses BatchReceiver where it is built
  api-pyuv    the same with DGRAM_UV_RECEIVER=pyuv (the fallback receiver)
  base        with --baseline DIR: 'api' on the dgram_uv of another checkout
  base-pyuv   (git worktree add DIR REV; build its helper in place with
              python setup.py build_ext --inplace), loaded beside this one
              under another name, so that before and after alternate in one run

Each Python receiver counts the datagrams and sums their sizes and sender
ports (the work of the benchmark suite's listeners).  Contestants alternate
for ROUNDS rounds; the medians are reported.

    python benchmarks/drain_probe.py [--count 200000] [--size 64] [--rounds 5]
                                     [--senders 1] [--only c,api] [--slots 64]
                                     [--clock wall|cpu] [--budget 524288]
                                     [--baseline DIR]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import socket
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pyuv

HERE = Path(__file__).resolve().parent
BUILD = HERE / ".build"
RCVBUF = 1 << 30
# Wall time, or this thread's CPU time (user + system), which other
# processes on a shared machine disturb far less; the drain never blocks.
CLOCKS = {"wall": time.perf_counter_ns, "cpu": time.thread_time_ns}
CLOCK = CLOCKS["wall"]  # asked for; the kernel doubles it, root may force past rmem_max

# One loop per API contestant for the whole run, as in a long-lived program:
# the batch receiver's buffer is per loop, its pages faulted in once.
LOOPS: dict[str, pyuv.Loop] = {}

C_LOOP = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <netinet/in.h>

#define SLOTS 64
#define SLOT_SIZE 65536

/* Read until EAGAIN; return the number of datagrams, or -errno. */
static long drain(int fd)
{
    static struct mmsghdr msgs[SLOTS];
    static struct iovec iov[SLOTS];
    static struct sockaddr_in6 names[SLOTS];
    static char *buf;
    long total = 0;
    int i, n;

    if (buf == NULL && (buf = malloc((size_t)SLOTS * SLOT_SIZE)) == NULL)
        return -ENOMEM;
    for (;;) {
        for (i = 0; i < SLOTS; i++) {
            iov[i].iov_base = buf + (size_t)i * SLOT_SIZE;
            iov[i].iov_len = SLOT_SIZE;
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &names[i];
            msgs[i].msg_hdr.msg_namelen = sizeof names[i];
        }
        n = recvmmsg(fd, msgs, SLOTS, MSG_DONTWAIT, NULL);
        if (n < 0)
            return errno == EAGAIN ? total : -errno;
        total += n;
    }
}
"""


def build_c_loop() -> Callable[[int], int]:
    """Compile the C contestant once into benchmarks/.build (cached)."""
    sys.path.insert(0, str(BUILD))
    try:
        from _drain_c import lib  # type: ignore[import-not-found]
    except ImportError:
        from cffi import FFI

        ffi = FFI()
        ffi.cdef("long drain(int fd);")
        ffi.set_source("_drain_c", C_LOOP)
        BUILD.mkdir(exist_ok=True)
        ffi.compile(tmpdir=str(BUILD))
        importlib.invalidate_caches()  # BUILD may be new since sys.path was searched
        from _drain_c import lib  # type: ignore[import-not-found]
    return lib.drain


def enlarge_rcvbuf(fd: int) -> None:
    sock = socket.socket(fileno=os.dup(fd))
    try:
        opt = getattr(socket, "SO_RCVBUFFORCE", 33)
        try:
            sock.setsockopt(socket.SOL_SOCKET, opt, RCVBUF)
        except PermissionError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
    finally:
        sock.close()


def fill(port: int, count: int, size: int, senders: int) -> None:
    """Send ``count`` datagrams, alternating between ``senders`` sockets."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(senders)]
    payload = b"x" * size
    dest = ("127.0.0.1", port)
    sends = [s.sendto for s in socks]
    for i in range(count):
        sends[i % senders](payload, dest)
    for s in socks:
        s.close()


def queued_drops(port: int) -> int:
    """Datagrams the kernel dropped on our socket (last column of /proc/net/udp)."""
    with open("/proc/net/udp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port:
                return int(fields[-1])
    return 0


def run_c(count: int, size: int, senders: int, drain: Callable[[int], int]) -> float:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        enlarge_rcvbuf(sock.fileno())
        port = sock.getsockname()[1]
        fill(port, count, size, senders)
        check_drops(port)
        t0 = CLOCK()
        got = drain(sock.fileno())
        elapsed = CLOCK() - t0
    finally:
        sock.close()
    if got != count:
        raise SystemExit(f"c: drained {got} of {count}")
    return elapsed / count


def check_drops(port: int) -> None:
    drops = queued_drops(port)
    if drops:
        raise SystemExit(f"the kernel dropped {drops} datagrams: raise the receive buffer")


def run_loop(loop: pyuv.Loop, port: int, count: int, size: int, senders: int,
             received: Callable[[], int]) -> float:
    """Fill, then run ``loop`` until ``received()`` reaches ``count``."""
    fill(port, count, size, senders)
    check_drops(port)

    def check(_handle: pyuv.Check) -> None:
        if received() >= count:
            loop.stop()

    checker = pyuv.Check(loop)
    checker.start(check)
    guard = pyuv.Timer(loop)
    guard.start(lambda _h: loop.stop(), 60.0, 0)
    guard.ref = False
    t0 = CLOCK()
    loop.run()
    elapsed = CLOCK() - t0
    checker.close()
    guard.close()
    if received() != count:
        raise SystemExit(f"received {received()} of {count}")
    return elapsed / count


def check_sums(nbytes: int, ports: int, count: int, size: int) -> None:
    if nbytes != count * size or ports <= 0:
        raise SystemExit(f"payload bytes {nbytes}, expected {count * size}; port sum {ports}")


def run_pyuv(count: int, size: int, senders: int) -> float:
    loop = pyuv.Loop()
    udp = pyuv.UDP(loop)
    udp.bind(("127.0.0.1", 0))
    enlarge_rcvbuf(udp.fileno())
    n = 0

    def on_datagram(_h: pyuv.UDP, addr: tuple[str, int], _flags: int, data: bytes,
                    _error: int | None) -> None:
        nonlocal n, nbytes, ports
        n += 1
        nbytes += len(data)
        ports += addr[1]

    nbytes = ports = 0
    udp.start_recv(on_datagram)
    try:
        result = run_loop(loop, udp.getsockname()[1], count, size, senders, lambda: n)
        check_sums(nbytes, ports, count, size)
        return result
    finally:
        udp.close()
        loop.run()


def load_baseline(checkout: Path) -> ModuleType:
    """The dgram_uv package of another checkout, imported as
    ``dgram_uv_base`` beside this one.  Both compiled helpers are registered
    by cffi as 'dgram_uv._batch_c', so each package's modules that load it
    are imported while that package's helper is the one in sys.modules."""
    import dgram_uv._batch  # noqa: F401  (this checkout's helper, first)

    ours = sys.modules.get("dgram_uv._batch_c")
    spec = importlib.util.spec_from_file_location(
        "dgram_uv_base", checkout / "dgram_uv" / "__init__.py",
        submodule_search_locations=[str(checkout / "dgram_uv")])
    if spec is None or spec.loader is None:
        raise SystemExit(f"no dgram_uv package in {checkout}")
    base = importlib.util.module_from_spec(spec)
    sys.modules["dgram_uv_base"] = base
    spec.loader.exec_module(base)
    sys.modules.pop("dgram_uv._batch_c", None)
    for name in ("_batch", "_outbox", "_sendmany"):
        if (checkout / "dgram_uv" / f"{name}.py").exists():
            importlib.import_module(f"dgram_uv_base.{name}")
    if ours is not None:
        sys.modules["dgram_uv._batch_c"] = ours
    return base


def run_api(count: int, size: int, senders: int, receiver: str, *,
            second_listener: bool = False, idle_timeout: bool = False,
            package: ModuleType | None = None) -> float:
    """The public API; optionally with a second 'message' listener (which
    only counts) or with setTimeout on, to show what each costs; ``package``
    is another checkout's dgram_uv (load_baseline)."""
    import dgram_uv

    if package is None:
        package = dgram_uv
    os.environ["DGRAM_UV_RECEIVER"] = receiver
    loop = LOOPS.setdefault(f"{package.__name__}-{receiver}", pyuv.Loop())
    n = nbytes = ports = 0

    def on_message(msg: bytes, rinfo: dict[str, int]) -> None:
        nonlocal n, nbytes, ports
        n += 1
        nbytes += len(msg)
        ports += rinfo["port"]

    sock = package.createSocket("udp4", on_message, loop=loop)
    seen = [0]
    if second_listener:
        sock.on("message", lambda _msg, _rinfo: seen.__setitem__(0, seen[0] + 1))
    if idle_timeout:
        sock.setTimeout(60_000)
    sock.bind(0, "127.0.0.1")
    enlarge_rcvbuf(sock._handle.fileno())
    try:
        result = run_loop(loop, sock.address()["port"], count, size, senders, lambda: n)
        check_sums(nbytes, ports, count, size)
        if second_listener and seen[0] != count:
            raise SystemExit(f"the second listener heard {seen[0]} of {count}")
        return result
    finally:
        sock.close()
        loop.run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--senders", type=int, default=1)
    parser.add_argument("--only", default="c,pyuv,api,api-pyuv",
                        help="comma separated: c, pyuv, api, api-pyuv, api-2nd, api-timeout, "
                             "base, base-pyuv")
    parser.add_argument("--slots", type=int, help="BatchReceiver's datagrams per recvmmsg")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    parser.add_argument("--budget", type=int, help="BatchReceiver's payload bytes per read")
    parser.add_argument("--baseline", type=Path,
                        help="another checkout, for the 'base' and 'base-pyuv' contestants")
    args = parser.parse_args()
    base = load_baseline(args.baseline.resolve()) if args.baseline else None
    if args.budget:
        from dgram_uv import _batch

        _batch.BUDGET = args.budget
    global CLOCK
    CLOCK = CLOCKS[args.clock]
    if args.slots:
        from dgram_uv import _batch

        _batch.SLOTS = args.slots

    drain = build_c_loop()
    contestants: dict[str, Callable[[], float]] = {
        "c": lambda: run_c(args.count, args.size, args.senders, drain),
        "pyuv": lambda: run_pyuv(args.count, args.size, args.senders),
        "api": lambda: run_api(args.count, args.size, args.senders, "batch"),
        "api-pyuv": lambda: run_api(args.count, args.size, args.senders, "pyuv"),
        "api-2nd": lambda: run_api(args.count, args.size, args.senders, "batch",
                                   second_listener=True),
        "api-timeout": lambda: run_api(args.count, args.size, args.senders, "batch",
                                       idle_timeout=True),
        "base": lambda: run_api(args.count, args.size, args.senders, "batch", package=base),
        "base-pyuv": lambda: run_api(args.count, args.size, args.senders, "pyuv",
                                     package=base),
    }
    names = args.only.split(",")
    results: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(args.rounds):
        for name in names:
            results[name].append(contestants[name]())
    print(f"{args.count} x {args.size}-byte datagrams from {args.senders} sender(s), "
          f"{args.rounds} rounds, ns/datagram ({args.clock} clock)")
    for name in names:
        runs = results[name]
        line = f"  {name:9} median {statistics.median(runs):7.0f}"
        if "c" in results and name != "c":
            # Per-round ratios resist the drift of a shared, noisy machine.
            ratios = [r / c for r, c in zip(runs, results["c"], strict=True)]
            line += f"  x{statistics.median(ratios):.2f} of c"
        print(line + "   runs " + " ".join(f"{r:.0f}" for r in runs))


if __name__ == "__main__":
    main()
