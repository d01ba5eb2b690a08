"""Soak: many datagrams through the public API, with nothing lost and flat memory.

A sender and a receiver socket on 127.0.0.1, one pyuv loop.  The sender
sends in bursts small enough for the receiver's buffer and sends the next
burst only when the receiver has counted the whole previous one (flow
control), so a lost datagram is a bug, not congestion.  Every datagram
carries its sequence number; the receiver checks it arrives in order.  The
last send of each burst has a callback, which must be called exactly once.

Resident memory (VmRSS) is sampled after a warm-up and at the end; the run
fails if it grew by more than --max-growth-kb, or if any datagram was lost,
duplicated, reordered or corrupted.

    python benchmarks/soak.py                 # 10 million datagrams
    python benchmarks/soak.py -n 200000       # a short run (CI)

Exit status: 0 good, 1 datagrams lost/wrong or callbacks wrong, 2 memory grew.
"""

from __future__ import annotations

import argparse
import struct
import sys
import time
from typing import Any

import pyuv

import dgram_uv

HEADER = struct.Struct("!Q")


def rss_kb() -> int:
    """Resident set size of this process, in kB, from /proc/self/status."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


class Soak:
    def __init__(self, total: int, size: int, burst: int, warmup: int,
                 drop_every: int = 0, stall_seconds: float = 5.0) -> None:
        self.total = total
        self.size = size
        self.burst = burst
        self.warmup = warmup
        self.drop_every = drop_every  # a test hook: pretend every Nth datagram was lost
        self.stall_seconds = stall_seconds
        self.loop = pyuv.Loop()
        self.padding = b"." * (size - HEADER.size)
        self.sent = 0
        self.received = 0
        self.expected = 0  # the sequence number the receiver waits for next
        self.wrong: list[str] = []
        self.callbacks_owed = 0
        self.callbacks_got = 0
        self.callback_errors: list[BaseException] = []
        self.rss_warm: int | None = None
        self.samples: list[tuple[int, int]] = []
        self.sample_every = max(1, total // 10)
        self.next_sample = 0
        self.last_progress = time.monotonic()
        self.stalled = False

        self.receiver = dgram_uv.createSocket(
            {"type": "udp4", "recvBufferSize": 8 << 20}, self.on_message, loop=self.loop)
        self.receiver.bind(0, "127.0.0.1")
        self.port: int = self.receiver.address()["port"]
        self.sender = dgram_uv.createSocket("udp4", loop=self.loop)
        self.sender.bind(0, "127.0.0.1")
        # The burst must fit the receiver's buffer with room to spare (the
        # kernel charges each datagram well above its payload size).
        fits = self.receiver.getRecvBufferSize() // (2 * (size + 768))
        self.burst = max(1, min(burst, fits))
        self.watchdog = pyuv.Timer(self.loop)
        self.watchdog.start(self.check_progress, 0.5, 0.5)

    # -- the sender ----------------------------------------------------------

    def send_burst(self) -> None:
        count = min(self.burst, self.total - self.sent)
        send, port, padding = self.sender.send, self.port, self.padding
        first = self.sent
        for seq in range(first, first + count - 1):
            send(HEADER.pack(seq) + padding, port, "127.0.0.1")
        self.callbacks_owed += 1
        send(HEADER.pack(first + count - 1) + padding, port, "127.0.0.1", self.on_sent)
        self.sent = first + count

    def on_sent(self, err: Any) -> None:
        self.callbacks_got += 1
        if err is not None:
            self.callback_errors.append(err)

    # -- the receiver --------------------------------------------------------

    def on_message(self, msg: bytes, _rinfo: Any) -> None:
        (seq,) = HEADER.unpack_from(msg)
        if self.drop_every and seq % self.drop_every == self.drop_every - 1:
            return  # the --drop-every test hook: as if this datagram never came
        if (seq != self.expected or len(msg) != self.size) and len(self.wrong) < 10:
            self.wrong.append(f"got #{seq} ({len(msg)} bytes), expected #{self.expected}")
        self.expected = seq + 1
        self.received += 1
        if seq + 1 == self.sent:
            self.end_of_burst()

    def end_of_burst(self) -> None:
        self.last_progress = time.monotonic()
        if self.rss_warm is None:
            if self.received >= self.warmup:
                self.rss_warm = rss_kb()
                self.samples.append((self.received, self.rss_warm))
                self.next_sample = self.received + self.sample_every
        elif self.received >= self.next_sample:
            self.samples.append((self.received, rss_kb()))
            self.next_sample += self.sample_every
        if self.sent < self.total:
            self.send_burst()
        else:
            self.finish()

    def check_progress(self, _timer: pyuv.Timer) -> None:
        if time.monotonic() - self.last_progress > self.stall_seconds:
            self.stalled = True  # the rest of a burst never came: datagrams were lost
            self.finish()

    def finish(self) -> None:
        self.watchdog.close()
        self.receiver.close()
        self.sender.close()

    def run(self) -> None:
        self.send_burst()
        self.loop.run(pyuv.UV_RUN_DEFAULT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--datagrams", type=int, default=10_000_000)
    parser.add_argument("--size", type=int, default=64, help="payload bytes (>= 8)")
    parser.add_argument("--burst", type=int, default=512, help="datagrams per burst (at most)")
    parser.add_argument("--warmup", type=int, default=None,
                        help="datagrams before the first RSS sample (default: 10%%)")
    parser.add_argument("--max-growth-kb", type=int, default=2048,
                        help="allowed VmRSS growth from warm-up to the end")
    parser.add_argument("--drop-every", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--stall-seconds", type=float, default=5.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.size < HEADER.size or args.datagrams < 1:
        parser.error("--size must be >= 8 and -n >= 1")
    warmup = args.warmup if args.warmup is not None else max(1, args.datagrams // 10)

    rss_start = rss_kb()
    soak = Soak(args.datagrams, args.size, args.burst, warmup, args.drop_every,
                args.stall_seconds)
    began = time.perf_counter()
    soak.run()
    elapsed = time.perf_counter() - began
    rss_end = rss_kb()
    rss_warm = soak.rss_warm if soak.rss_warm is not None else rss_end
    growth = rss_end - rss_warm

    lost = soak.sent - soak.received
    print(f"datagrams: sent {soak.sent:,} received {soak.received:,} lost {lost:,} "
          f"(of {args.datagrams:,}, {args.size} bytes, bursts of {soak.burst})")
    print(f"time: {elapsed:.2f} s, {soak.received / elapsed:,.0f} datagrams/s")
    print(f"send callbacks: {soak.callbacks_got:,} of {soak.callbacks_owed:,}, "
          f"errors {len(soak.callback_errors)}")
    print(f"VmRSS kB: start {rss_start}, after warm-up ({warmup:,}) {rss_warm}, "
          f"end {rss_end}, growth {growth:+d} (bound {args.max_growth_kb})")
    print("VmRSS samples (datagrams: kB): "
          + ", ".join(f"{n:,}: {kb}" for n, kb in soak.samples))
    status = 0
    if (lost or soak.wrong or soak.stalled or soak.sent != args.datagrams
            or soak.callbacks_got != soak.callbacks_owed or soak.callback_errors):
        print("FAIL: datagrams lost or wrong" + (" (stalled)" if soak.stalled else ""))
        for line in soak.wrong:
            print("  " + line)
        for err in soak.callback_errors[:5]:
            print(f"  send callback error: {err!r}")
        status = 1
    elif growth > args.max_growth_kb:
        print(f"FAIL: VmRSS grew by {growth} kB (> {args.max_growth_kb} kB)")
        status = 2
    else:
        print("OK")
    return status


if __name__ == "__main__":
    sys.exit(main())
