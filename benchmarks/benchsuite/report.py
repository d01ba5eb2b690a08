"""The report: the table on stdout and the plot (latest.png).

Both read only the results dict (what goes to latest.json) and each
benchmark's ``figure`` / ``plot_extra``, so a new benchmark needs nothing here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .harness import Benchmark

COLORS = {
    "dgram_uv": "#d62728",
    "node": "#2ca02c",
    "luvit": "#1f77b4",
    "pyuv": "#ff7f0e",
    "uvloop": "#9467bd",
    "asyncio": "#8c564b",
}
FLOOR_COLOR = "#7f7f7f"


def color(name: str) -> str:
    return COLORS.get(name, FLOOR_COLOR)


def ratio(
    case: dict[str, Any], name: str, other: str | None, key: str | None = None
) -> float | None:
    """How many times faster than ``other`` (>1 faster), on ``key`` (default: primary)."""
    if other is None or other == name:
        return None
    key = key or case["primary"]
    mine: float | None = case["contestants"][name]["medians"].get(key)
    theirs: float | None = case["contestants"].get(other, {}).get("medians", {}).get(key)
    if not mine or not theirs:
        return None
    higher = case["higher_is_better"] if key == case["primary"] else True
    return mine / theirs if higher else theirs / mine


def speed_vs_node(case: dict[str, Any], name: str) -> float | None:
    return ratio(case, name, "node")


def speed_vs_floor(case: dict[str, Any], name: str) -> float | None:
    return ratio(case, name, case.get("floor"))


def _x(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}x"


def table_rows(results: dict[str, Any], benches: Mapping[str, Benchmark]) -> list[list[str]]:
    rows = []
    for bench, section in results["benchmarks"].items():
        for case in section["cases"]:
            for name, entry in case["contestants"].items():
                runs = len(entry["runs"])
                attempts = runs + sum(1 for e in entry["errors"] if not e.startswith("skipped"))
                if entry["ok"]:
                    figure = benches[bench].figure(entry["medians"])
                    vs, floor = _x(speed_vs_node(case, name)), _x(speed_vs_floor(case, name))
                    notes = []
                    for key in case.get("also_vs_node", []):
                        r = ratio(case, name, "node", key)
                        if r is not None:
                            notes.append(f"{key} vs Node {r:.2f}x")
                    notes += entry["notes"]
                    if entry["errors"]:
                        notes.append(f"{len(entry['errors'])} run(s) failed: {entry['errors'][0]}")
                else:
                    figure, vs, floor = "FAILED", "", ""
                    notes = [entry["errors"][0] if entry["errors"] else "no result"]
                rows.append(
                    [
                        section["title"],
                        case["case"],
                        entry["label"],
                        figure,
                        vs,
                        floor,
                        f"{runs}/{attempts}",
                        "; ".join(notes),
                    ]
                )
    return rows


def render_table(results: dict[str, Any], benches: Mapping[str, Benchmark]) -> str:
    head = ["benchmark", "case", "contestant", "median", "vs Node", "vs C floor", "runs", "notes"]
    rows = table_rows(results, benches)
    # Notes can be long (failure reasons): clip them in the terminal table;
    # the JSON keeps them whole.
    rows = [[*r[:-1], r[-1] if len(r[-1]) <= 110 else r[-1][:107] + "..."] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(head), line(["-" * w for w in widths])]
    previous = None
    for r in rows:
        if previous is not None and r[0] != previous:
            out.append("")
        previous = r[0]
        out.append(line(r))
    return "\n".join(out)


def render_plot(
    results: dict[str, Any], benches: Mapping[str, Benchmark], path: Path
) -> str | None:
    """Write the PNG; return why not, if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        return f"no plot: {exc} (pip install -e '.[bench]')"

    from matplotlib.patches import Patch

    sections = results["benchmarks"]
    if not sections:
        return "no plot: no benchmark ran"
    n = len(sections)
    fig, axes = plt.subplots(n, 1, figsize=(13, 3.6 * n), squeeze=False)
    for ax, (bench, section) in zip(axes[:, 0], sections.items(), strict=True):
        cases = section["cases"]
        names: list[str] = []
        labels: dict[str, str] = {}
        for case in cases:
            for name, entry in case["contestants"].items():
                if name not in names:
                    names.append(name)
                    labels[name] = entry["label"]
        width = 0.8 / max(1, len(names))
        values: list[float] = []
        for j, name in enumerate(names):
            for i, case in enumerate(cases):
                entry = case["contestants"].get(name)
                if entry is None:
                    continue
                value = entry["medians"].get(case["primary"])
                x = i + (j - (len(names) - 1) / 2) * width
                if not value:
                    ax.annotate(
                        "failed",
                        (x, 0),
                        xycoords=("data", "axes fraction"),
                        ha="center",
                        va="bottom",
                        fontsize=7,
                        rotation=90,
                        color=color(name),
                    )
                    continue
                values.append(value)
                ax.bar([x], [value], width, color=color(name))
                parts = []
                r = speed_vs_node(case, name)
                if name != "node" and r is not None:
                    parts.append(f"{r:.2f}x")
                f = speed_vs_floor(case, name)
                if f is not None:
                    parts.append(f"[{f:.2f}]")
                if parts:
                    ax.annotate(
                        " ".join(parts),
                        (x, value),
                        ha="center",
                        va="bottom",
                        fontsize=7,
                        rotation=90 if len(names) > 3 else 0,
                    )
        # One slow outlier (asyncio) would flatten every other bar: go
        # logarithmic when the spread is wide.
        if values and max(values) > 15 * min(values):
            ax.set_yscale("log")
        extra = benches[bench].plot_extra if bench in benches else None
        if extra is not None:
            extra(ax, section, max(values, default=0))
        ax.set_xticks(range(len(cases)))
        crowded = len(cases) > 6
        ax.set_xticklabels(
            [c["case"] for c in cases],
            fontsize=8,
            rotation=25 if crowded else 0,
            ha="right" if crowded else "center",
        )
        better = "higher" if cases and cases[0]["higher_is_better"] else "lower"
        ax.set_ylabel(f"{section['unit']} ({better} is better)", fontsize=8)
        has_floor = any(c.get("floor") for c in cases)
        legend = "speed vs Node" + (", [vs C floor]" if has_floor else "")
        ax.set_title(f"{section['title']}: {section['description']}  ({legend})", fontsize=10)
        handles = [Patch(color=color(k), label=labels[k]) for k in names]
        ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.005, 1))
        ax.margins(y=0.25)
    fig.suptitle(
        f"dgram_uv benchmarks, {results['started'][:16]}  "
        f"({'quick' if results['parameters']['quick'] else 'full'} run, medians)",
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
