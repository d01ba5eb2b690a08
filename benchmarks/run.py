"""dgram_uv benchmarks: one command, one table, one plot (issues 6 and 12).

    python benchmarks/run.py [--quick] [--only NAME ...] [--out PATH] [--rounds N] [--setup]

The benchmarks live one per module in ``benchsuite/benches/`` (flood,
selfsend, drain, pingpong, echo; see benchmarks/README.md); the harness
(machine set-up, C helpers, child processes, alternating rounds) is
``benchsuite/harness.py`` and the table and plot are ``benchsuite/report.py``.
Every contestant runs as its own process (``benchmarks/contestants/``),
driven through a small line protocol with a timeout on every step;
contestants alternate round by round and medians are reported, because the
machine is shared and noisy.  Results go to benchmarks/results/latest.json
and latest.png.

Also importable: ``main(argv) -> int`` (``python -m dgram_uv bench`` loads
this file by path and calls it).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # loaded by path (runpy, importlib): find benchsuite/
    sys.path.insert(0, str(HERE))

from benchsuite import harness, report  # noqa: E402


def parse_args(
    argv: Sequence[str] | None, benches: dict[str, harness.Benchmark]
) -> argparse.Namespace:
    names = list(benches)
    parser = argparse.ArgumentParser(
        prog="benchmarks/run.py",
        description="dgram_uv vs Node, LuaJIT+luv, pyuv, uvloop, asyncio and C floors "
        "on loopback UDP.",
        epilog="benchmarks: " + "; ".join(f"{b.name}: {b.summary}" for b in benches.values()),
    )
    parser.add_argument("--quick", action="store_true", help="a short run (under two minutes)")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help=f"run only these benchmarks: {', '.join(names)} (space or comma separated)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=harness.RESULTS / "latest.json",
        help="where the JSON goes (the PNG goes beside it); default benchmarks/results/latest.json",
    )
    parser.add_argument("--rounds", type=int, help="rounds per case (default 3, drain 5; quick 2)")
    parser.add_argument(
        "--setup",
        action="store_true",
        help="install missing system tools (luajit, lua-luv) with apt-get; `make bench` passes it",
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    only = [x for item in (args.only or []) for x in item.split(",") if x]
    unknown = sorted(set(only) - set(names))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {tuple(names)}")
    args.only = [b for b in names if b in only] if only else list(names)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    benches = harness.discover()
    args = parse_args(argv, benches)
    started = time.monotonic()

    def progress(msg: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {msg}", file=sys.stderr, flush=True)

    selected = [benches[name] for name in args.only]
    exe = harness.build_c([h for b in selected for h in b.helpers], progress)
    env = harness.detect_env(args.setup, progress)
    ctx = harness.Context(
        quick=args.quick,
        rounds=args.rounds,
        env=env,
        table=harness.contestants(env),
        exe=exe,
        progress=progress,
    )
    progress(f"pinning: {env.pin_note}")
    if env.luajit_note:
        progress(f"LuaJIT+luv contestant skipped: {env.luajit_note}")

    results: dict[str, Any] = {
        "schema": 2,
        "started": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": ["benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])],
        "machine": harness.machine_info(),
        "versions": harness.versions(env),
        "pinning": env.pin_note,
        "parameters": {"quick": args.quick, "rounds": args.rounds},
        "benchmarks": {},
    }
    for bench in selected:
        progress(f"{bench.name} ...")
        t0 = time.monotonic()
        section = bench.run(ctx)
        section["elapsed_s"] = round(time.monotonic() - t0, 1)
        results["benchmarks"][bench.name] = section
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    results["machine"]["loadavg_end"] = list(os.getloadavg())

    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    png = out.with_suffix(".png")
    plot_problem = report.render_plot(results, benches, png)

    print()
    print(report.render_table(results, benches))
    print()
    print(
        f"{env.pin_note}; {'quick' if args.quick else 'full'} run, medians of alternated "
        "rounds; 'vs Node' and 'vs C floor' > 1 mean faster than Node / the floor."
    )
    print(f"wrote {out}" + (f" and {png}" if plot_problem is None else f" ({plot_problem})"))
    print(f"total {results['elapsed_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
