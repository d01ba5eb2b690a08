"""Ping-pong: two sockets in one process, one 64-byte datagram in flight;
round trips/s and p50/p99 round-trip time, with a C epoll floor."""

from __future__ import annotations

from typing import Any

from ..harness import (
    BenchError,
    Benchmark,
    Contestant,
    Context,
    alternate,
    case_json,
    child,
    fmt_rate,
    kv,
)

NAMES = ("dgram_uv", "node", "pyuv", "c_pingpong")
FLOOR = "c_pingpong"


def run(ctx: Context) -> dict[str, Any]:
    size = 64
    warmup, seconds = (0.2, 1.0) if ctx.quick else (0.3, 2.0)
    rounds = ctx.rounds_or(3)
    exe = ctx.exe["pingpong_epoll"]
    table = {
        **ctx.table,
        FLOOR: Contestant(FLOOR, "C epoll floor", lambda mode: [str(exe)]),
    }

    def once(c: Contestant) -> dict[str, float]:
        assert c.argv is not None
        argv = [*c.argv("pingpong"), "--size", str(size)]
        argv += ["--warmup", str(warmup), "--seconds", str(seconds)]
        with child(ctx.env.pin(argv, "receiver"), c.label) as proc:
            res = kv(proc.expect("RESULT", warmup + seconds + 30)[1:])
        if res["count"] <= 0:
            raise BenchError(f"{c.label}: no round trip completed")
        if res["bytes"] != res["count"] * size:
            raise BenchError(f"{c.label}: byte count mismatch")
        return {
            "round_trips_per_s": res["count"] / res["elapsed_ns"] * 1e9,
            "p50_us": res["p50_ns"] / 1e3,
            "p99_us": res["p99_ns"] / 1e3,
        }

    entries = alternate(NAMES, rounds, table, once, ctx.progress, f"pingpong {size} B")
    return {
        "title": "Ping-pong",
        "unit": "round trips/s",
        "description": f"two sockets in one process, one {size}-byte datagram in flight",
        "parameters": {"size": size, "warmup_s": warmup, "seconds": seconds, "rounds": rounds},
        "cases": [
            case_json(
                f"{size} B",
                {"size": size},
                "round_trips_per_s",
                True,
                entries,
                ["round_trips_per_s", "p50_us", "p99_us"],
                floor=FLOOR,
            )
        ],
    }


def figure(med: dict[str, float | None]) -> str:
    return (
        f"{fmt_rate(med['round_trips_per_s'] or 0)} rt/s, "
        f"p50 {med['p50_us'] or 0:.1f} us, p99 {med['p99_us'] or 0:.1f} us"
    )


BENCHMARK = Benchmark(
    name="pingpong",
    order=40,
    summary="round trips/s and p50/p99 of one datagram bouncing between two sockets",
    run=run,
    figure=figure,
    helpers=("pingpong_epoll",),
)
