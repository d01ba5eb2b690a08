"""Echo under load: a C closed-loop load generator (32 clients x 8 requests of
64 B in flight, a request re-sent when unanswered past a deadline) against
echo servers that answer from their receive callback; replies/s, lost
requests, the server's CPU time per reply and the spread of its rate between
100 ms slices (the "phase swing")."""

from __future__ import annotations

import statistics
from typing import Any

from ..harness import (
    HOST,
    BenchError,
    Benchmark,
    Child,
    Contestant,
    Context,
    alternate,
    case_json,
    child,
    fmt_rate,
    kv,
    proc_cpu_ns,
)

NAMES = ("dgram_uv", "node", "pyuv", "c_echo")
FLOOR = "c_echo"
CLIENTS, INFLIGHT, SIZE = 32, 8, 64
DEADLINE_MS, SLICE_MS = 50, 100


def run(ctx: Context) -> dict[str, Any]:
    warmup, seconds = (0.3, 1.0) if ctx.quick else (0.5, 3.0)
    rounds = ctx.rounds_or(3)
    env, exe = ctx.env, ctx.exe
    table = {
        **ctx.table,
        FLOOR: Contestant(FLOOR, "C recvmmsg/sendmmsg", lambda mode: [str(exe["echo_mmsg"])]),
    }

    def once(c: Contestant) -> dict[str, float]:
        assert c.argv is not None
        with child(env.pin(c.argv("echo"), "receiver"), c.label) as server:
            port = int(server.expect("PORT", 30)[1])
            argv = [str(exe["echo_load"]), HOST, str(port), "--clients", str(CLIENTS)]
            argv += ["--inflight", str(INFLIGHT), "--size", str(SIZE)]
            argv += ["--warmup", str(warmup), "--seconds", str(seconds)]
            argv += ["--deadline-ms", str(DEADLINE_MS), "--slice-ms", str(SLICE_MS)]
            with child(env.pin(argv, "sender"), "echo load generator") as gen:
                gen.expect("WINDOW", warmup + 30)
                cpu0 = proc_cpu_ns(server.proc.pid)
                res = kv(gen.expect("RESULT", seconds + 30)[1:])
                cpu1 = proc_cpu_ns(server.proc.pid)
                slices = [int(x) for x in gen.expect("SLICES", 10)[1:]]
            _still_running(server)
        replies = res["replies"]
        if replies <= 0:
            raise BenchError(f"{c.label}: no reply in the window")
        if res["bad"]:
            raise BenchError(f"{c.label}: {res['bad']} replies did not match a request")
        secs = res["elapsed_ns"] / 1e9
        out: dict[str, float] = {
            "replies_per_s": replies / secs,
            "lost": res["resent"] - res["late"],
            "resent": res["resent"],
            "late": res["late"],
            "sent": res["sent"],
            "p50_us": res["p50_ns"] / 1e3,
            "p99_us": res["p99_ns"] / 1e3,
        }
        if cpu0 is not None and cpu1 is not None:
            out["server_cpu_us_per_reply"] = (cpu1 - cpu0) / 1e3 / replies
        # The phase swing: wall-clock microseconds per reply in each full slice.
        per_slice = [SLICE_MS * 1e3 / n for n in slices if n > 0]
        if len(per_slice) >= 2:
            out["slice_us_fast"] = min(per_slice)
            out["slice_us_median"] = statistics.median(per_slice)
            out["slice_us_slow"] = max(per_slice)
        return out

    entries = alternate(NAMES, rounds, table, once, ctx.progress, f"echo {CLIENTS}x{INFLIGHT}")
    for e in entries.values():
        if not e.runs:
            continue
        lost = [int(r["lost"]) for r in e.runs]
        sent = [int(r["sent"]) for r in e.runs]
        share = max(lo / s for lo, s in zip(lost, sent, strict=True) if s) if any(sent) else 0
        e.notes.append(f"lost {'/'.join(map(str, lost))} ({share:.2%} max)")
        fast = [r["slice_us_fast"] for r in e.runs if "slice_us_fast" in r]
        slow = [r["slice_us_slow"] for r in e.runs if "slice_us_slow" in r]
        if fast and slow:
            e.notes.append(f"{SLICE_MS} ms slices {min(fast):.1f}-{max(slow):.1f} us/reply")
        cpu = e.median("server_cpu_us_per_reply")
        if cpu is not None:
            e.notes.append(f"server CPU {cpu:.2f} us/reply")
    return {
        "title": "Echo under load",
        "unit": "replies/s",
        "description": (
            f"C load generator, {CLIENTS} clients x {INFLIGHT} requests of {SIZE} B in flight"
        ),
        "parameters": {
            "clients": CLIENTS,
            "inflight": INFLIGHT,
            "size": SIZE,
            "deadline_ms": DEADLINE_MS,
            "slice_ms": SLICE_MS,
            "warmup_s": warmup,
            "seconds": seconds,
            "rounds": rounds,
        },
        "cases": [
            case_json(
                f"{CLIENTS}x{INFLIGHT} x {SIZE} B",
                {"clients": CLIENTS, "inflight": INFLIGHT, "size": SIZE},
                "replies_per_s",
                True,
                entries,
                [
                    "replies_per_s",
                    "lost",
                    "p50_us",
                    "p99_us",
                    "server_cpu_us_per_reply",
                    "slice_us_fast",
                    "slice_us_median",
                    "slice_us_slow",
                ],
                floor=FLOOR,
            )
        ],
    }


def _still_running(server: Child) -> None:
    if server.proc.poll() is not None:
        raise BenchError(f"{server.name}: the server exited during the run{server._stderr()}")


def figure(med: dict[str, float | None]) -> str:
    return (
        f"{fmt_rate(med['replies_per_s'] or 0)} replies/s, "
        f"p50 {med['p50_us'] or 0:.0f} us, p99 {med['p99_us'] or 0:.0f} us"
    )


BENCHMARK = Benchmark(
    name="echo",
    order=50,
    summary="replies/s of an echo server under a C closed-loop load (32 x 8 in flight)",
    run=run,
    figure=figure,
    helpers=("echo_load", "echo_mmsg"),
)
