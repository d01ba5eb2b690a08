"""The dgram_uv benchmark suite behind ``benchmarks/run.py``.

``harness`` (machine, tools, child processes, alternating rounds), one module
per benchmark in ``benches/`` (each exports ``BENCHMARK``, found by
:func:`harness.discover`), and ``report`` (the table and the plot).
"""
