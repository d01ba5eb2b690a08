# dgram_uv: `make install`, `make test`, `make bench` (see README.md).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# pyuv 1.4.0's sdist needs this header force-included to compile on CPython
# 3.11+; CPPFLAGS (not CFLAGS) keeps the interpreter's -O3 -DNDEBUG flags.
PYUV_COMPAT := $(abspath build-support/pyuv_compat.h)

.PHONY: install test bench lint clean

install: $(VENV)/.installed

# The compiled helper is rebuilt (pip install -e) whenever its C or build file changes.
HELPER_SOURCES := dgram_uv/_batch.c dgram_uv/_sendmany.c dgram_uv/_batch_build.py

$(VENV)/.installed: pyproject.toml setup.py build-support/pyuv_compat.h $(HELPER_SOURCES)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel cffi
	CPPFLAGS="-include $(PYUV_COMPAT)" $(PY) -m pip install -q --no-binary pyuv "pyuv==1.4.0"
	$(PY) -m pip install -q -e '.[test]'
	touch $@

test: install
	$(PY) -m pytest

# bench: the bench extra (uvloop, matplotlib) only when missing, since
# `pip install -e` rebuilds the package; run.py --setup apt-gets luajit and
# lua-luv if absent and compiles the C sender into benchmarks/.build/.
# `make bench QUICK=1` is the short run; ONLY="flood drain" picks benchmarks.
bench: install
	$(PY) -c 'import uvloop, matplotlib' 2>/dev/null || $(PY) -m pip install -q -e '.[bench]'
	$(PY) benchmarks/run.py --setup $(if $(QUICK),--quick) $(if $(ONLY),--only $(ONLY))

# ruff on everything; mypy --strict (pyproject.toml) on the package.
lint: install
	$(PY) -m ruff check dgram_uv tests benchmarks
	$(PY) -m mypy dgram_uv

clean:
	rm -rf $(VENV) build *.egg-info dgram_uv/*.so
