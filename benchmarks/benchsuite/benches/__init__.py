"""One module per benchmark; each exports ``BENCHMARK`` (a harness.Benchmark).

Add a benchmark by adding a module here: the runner discovers them.
"""
