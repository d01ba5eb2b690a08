"""Build hook: metadata lives in pyproject.toml; this file only adds the
optional compiled receive helper (see dgram_uv/_batch_build.py)."""

from setuptools import setup

setup()
