"""Flood receive: a C sendmmsg/GSO sender offers datagrams faster than any
receiver reads; each receiver counts 'message' events for a fixed window."""

from __future__ import annotations

import statistics
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
    run_sender,
)

NAMES = ("dgram_uv", "node", "luvit", "pyuv", "uvloop", "asyncio")


def run(ctx: Context) -> dict[str, Any]:
    sizes = [64] if ctx.quick else [64, 512, 1400]
    warmup, seconds = (0.3, 1.0) if ctx.quick else (0.5, 2.0)
    rounds = ctx.rounds_or(3)
    env, exe = ctx.env, ctx.exe
    cases = []
    for size in sizes:

        def once(c: Contestant, size: int = size) -> dict[str, float]:
            assert c.argv is not None
            argv = [*c.argv("flood"), "--warmup", str(warmup), "--seconds", str(seconds)]
            with child(env.pin(argv, "receiver"), c.label) as rx:
                port = int(rx.expect("PORT", 30)[1])
                # The sender outlives the receiver's window; it stops when the
                # receiver has gone (ECONNREFUSED) or at its own deadline.
                sender = run_sender(env, exe["udp_blast"], port, size, seconds=warmup + seconds + 1)
                res = kv(rx.expect("RESULT", 30)[1:])
            count = res["count"]
            if count <= 0:
                raise BenchError(f"{c.label}: received nothing")
            if res["bytes"] != count * size:
                raise BenchError(f"{c.label}: bytes {res['bytes']} != {count} x {size}")
            if res["port_sum"] != count * sender["port"]:
                raise BenchError(f"{c.label}: sender port sum mismatch")
            return {
                "datagrams_per_s": count / res["elapsed_ns"] * 1e9,
                "offered_per_s": sender["sent"] / sender["elapsed_ns"] * 1e9,
                "count": count,
                "window_s": res["elapsed_ns"] / 1e9,
            }

        entries = alternate(NAMES, rounds, ctx.table, once, ctx.progress, f"flood {size} B")
        for e in entries.values():
            rate, offered = e.median("datagrams_per_s"), e.median("offered_per_s")
            if rate and offered:
                e.notes.append(f"sender offered {fmt_rate(offered)}/s")
                if rate >= 0.9 * offered:
                    e.notes.append("SENDER-BOUND: received >= 90% of offered")
        cases.append(
            case_json(
                f"{size} B",
                {"size": size},
                "datagrams_per_s",
                True,
                entries,
                ["datagrams_per_s", "offered_per_s"],
            )
        )
    return {
        "title": "Flood receive",
        "unit": "datagrams/s",
        "description": "received datagrams/s under a sendmmsg flood (GSO-batched sender)",
        "parameters": {"sizes": sizes, "warmup_s": warmup, "seconds": seconds, "rounds": rounds},
        "cases": cases,
    }


def figure(med: dict[str, float | None]) -> str:
    return f"{fmt_rate(med['datagrams_per_s'] or 0)} dgram/s"


def plot_offered(ax: Any, section: dict[str, Any], top: float) -> None:
    """A dashed line at what the sender offered (or a label when it is far above)."""
    for i, case in enumerate(section["cases"]):
        offered = [
            e["medians"].get("offered_per_s")
            for e in case["contestants"].values()
            if e["medians"].get("offered_per_s")
        ]
        if not offered:
            continue
        y = statistics.median(offered)
        if y <= 3 * top:
            ax.hlines(y, i - 0.45, i + 0.45, colors="k", linestyles="dashed", lw=1)
            ax.annotate("sender offered", (i + 0.45, y), fontsize=7, ha="right", va="bottom")
        else:
            ax.annotate(
                f"sender offered {fmt_rate(y)}/s",
                (i, 0.93),
                xycoords=("data", "axes fraction"),
                fontsize=7,
                ha="center",
            )


BENCHMARK = Benchmark(
    name="flood",
    order=10,
    summary="received datagrams/s under a C sendmmsg flood",
    run=run,
    figure=figure,
    helpers=("udp_blast",),
    plot_extra=plot_offered,
)
