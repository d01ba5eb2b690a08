"""Build hook: metadata lives in pyproject.toml; this file only adds the
optional compiled receive helper (see dgram_uv/_batch_build.py).

The helper is optional: where it cannot be built (no C compiler, no
recvmmsg), installation still succeeds and dgram_uv falls back to pyuv's own
receive path (dgram_uv._batch.AVAILABLE is then False).
"""

from setuptools import setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    def pre_run(self, ext, ffi):  # type: ignore[no-untyped-def]
        # cffi calls this hook before generating the C file of its
        # extension; setuptools then only warns if compiling it fails.
        ext.optional = True


try:
    import cffi  # noqa: F401  (build requirement; absent only in odd setups)
except ImportError:
    extension_options = {}
else:
    extension_options = {
        "cffi_modules": ["dgram_uv/_batch_build.py:ffibuilder"],
        "cmdclass": {"build_ext": OptionalBuildExt},
    }

setup(**extension_options)
