# dgram_uv: `make install`, `make test`, `make bench` (see README.md).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# pyuv 1.4.0's sdist needs this header force-included to compile on CPython
# 3.11+; CPPFLAGS (not CFLAGS) keeps the interpreter's -O3 -DNDEBUG flags.
PYUV_COMPAT := $(abspath build-support/pyuv_compat.h)

.PHONY: install test bench lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml setup.py build-support/pyuv_compat.h
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel cffi
	CPPFLAGS="-include $(PYUV_COMPAT)" $(PY) -m pip install -q --no-binary pyuv "pyuv==1.4.0"
	$(PY) -m pip install -q -e '.[test]'
	touch $@

test: install
	$(PY) -m pytest

lint: install
	$(PY) -m ruff check dgram_uv tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info dgram_uv/*.so
