"""Self-send, the shape of Node's benchmark/dgram single-buffer, offset-length
and multi-buffer: one socket sends to itself in bursts of 100; sends/s and
datagrams received/s (Node drops most of what it sends itself)."""

from __future__ import annotations

from typing import Any

from ..harness import BenchError, Benchmark, Contestant, Context, alternate, case_json, child, kv
from ..harness import fmt_rate as rate

NAMES = ("dgram_uv", "node")


def label(form: str, length: int, chunks: int) -> str:
    if form == "multi":
        return f"multi {chunks}x{round(length / chunks)} B"
    return f"{form} {length} B"


def run(ctx: Context) -> dict[str, Any]:
    if ctx.quick:
        shapes = [("single", 64, 1), ("offset", 1024, 1), ("multi", 1024, 8)]
        warmup, seconds = 0.2, 0.8
    else:
        shapes = [("single", n, 1) for n in (1, 64, 256, 1024)]
        shapes += [("offset", n, 1) for n in (1, 64, 256, 1024)]
        shapes += [("multi", n, c) for c in (1, 8) for n in (64, 256, 1024)]
        warmup, seconds = 0.3, 1.2
    burst = 100
    rounds = ctx.rounds_or(3)
    cases = []
    for form, length, chunks in shapes:
        dgram_len = round(length / chunks) * chunks if form == "multi" else length

        def once(
            c: Contestant,
            form: str = form,
            length: int = length,
            chunks: int = chunks,
            dgram_len: int = dgram_len,
        ) -> dict[str, float]:
            assert c.argv is not None
            argv = [*c.argv("selfsend"), "--form", form, "--len", str(length)]
            argv += ["--chunks", str(chunks), "--num", str(burst)]
            argv += ["--warmup", str(warmup), "--seconds", str(seconds)]
            with child(ctx.env.pin(argv, "receiver"), c.label) as proc:
                res = kv(proc.expect("RESULT", warmup + seconds + 30)[1:])
            secs = res["elapsed_ns"] / 1e9
            if res["sent"] <= 0:
                raise BenchError(f"{c.label}: no send completed")
            return {
                "sends_per_s": res["sent"] / secs,
                "received_per_s": res["received"] / secs,
                "received_share": res["received"] / res["sent"],
                "gbit_per_s": res["received"] * dgram_len * 8 / secs / 1e9,
                "send_errors": res["errors"],
            }

        name = label(form, length, chunks)
        entries = alternate(NAMES, rounds, ctx.table, once, ctx.progress, f"selfsend {name}")
        for e in entries.values():
            errs = [r["send_errors"] for r in e.runs if r.get("send_errors")]
            if errs:
                e.notes.append(f"send callbacks with an error: up to {max(errs):.0f} per run")
        cases.append(
            case_json(
                name,
                {
                    "form": form,
                    "len": length,
                    "chunks": chunks,
                    "datagram_len": dgram_len,
                    "num": burst,
                },
                "sends_per_s",
                True,
                entries,
                ["sends_per_s", "received_per_s", "received_share", "gbit_per_s"],
                also_vs_node=["received_per_s"],
            )
        )
    return {
        "title": "Self-send",
        "unit": "sends/s",
        "description": "one socket sending to itself in bursts of 100 (Node's benchmark/dgram)",
        "parameters": {"warmup_s": warmup, "seconds": seconds, "burst": burst, "rounds": rounds},
        "cases": cases,
    }


def plot_received(ax: Any, section: dict[str, Any], top: float) -> None:
    """A black tick on each bar at the datagrams received/s."""
    cases = section["cases"]
    names: list[str] = []
    for case in cases:
        names += [n for n in case["contestants"] if n not in names]
    width = 0.8 / max(1, len(names))
    for i, case in enumerate(cases):
        for j, name in enumerate(names):
            got = case["contestants"].get(name, {}).get("medians", {}).get("received_per_s")
            if got:
                x = i + (j - (len(names) - 1) / 2) * width
                ax.hlines(got, x - width / 2, x + width / 2, colors="k", lw=2)
    ax.annotate(
        "black ticks: received/s",
        (0.995, 0.97),
        xycoords="axes fraction",
        ha="right",
        va="top",
        fontsize=7,
    )


def figure(med: dict[str, float | None]) -> str:
    return (
        f"{rate(med['sends_per_s'] or 0)} sends/s, "
        f"{rate(med['received_per_s'] or 0)} recv/s ({(med['received_share'] or 0):.0%}), "
        f"{med['gbit_per_s'] or 0:.3f} Gbit/s"
    )


BENCHMARK = Benchmark(
    name="selfsend",
    order=20,
    summary="one socket sending to itself (Node's benchmark/dgram shape): sends/s and received/s",
    run=run,
    figure=figure,
    plot_extra=plot_received,
)
