"""cffi builder (API, out-of-line mode) for the batched receiver's C helper.

setup.py hands ``ffibuilder`` to cffi (``cffi_modules``), which compiles it
into ``dgram_uv._batch_c`` as an optional extension.  By hand:
``python dgram_uv/_batch_build.py`` builds it in place.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    # Run as a script, this directory heads sys.path, and its _socket.py
    # would shadow the standard library's _socket.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(__file__)]

from cffi import FFI

ffibuilder = FFI()

ffibuilder.cdef(
    """
    struct dgram_uv_batch;
    struct dgram_uv_batch *dgram_uv_batch_new(int slots, int budget);
    void dgram_uv_batch_free(struct dgram_uv_batch *b);
    char *dgram_uv_batch_data(struct dgram_uv_batch *b);
    size_t dgram_uv_batch_size(struct dgram_uv_batch *b);
    uint32_t *dgram_uv_batch_info(struct dgram_uv_batch *b);
    uint32_t *dgram_uv_batch_first_len(struct dgram_uv_batch *b);
    char *dgram_uv_batch_format(struct dgram_uv_batch *b);
    int dgram_uv_recv(struct dgram_uv_batch *b, int fd);
    int dgram_uv_epoll_forget(int epfd, int fd);
    #define DGRAM_UV_BATCH_ABI ...
    #define DGRAM_UV_STRIDE ...
    #define DGRAM_UV_KEY_SIZE ...
    #define DGRAM_UV_SEND_MAX ...
    int dgram_uv_sendmmsg(int fd, const char *data, const uint32_t *lens,
                          const char *names, int namelen, int count);
    int dgram_uv_sendto(int fd, const char *data, size_t len, const char *name, int namelen);
    """
)

# cffi runs this file with exec() and a __file__ relative to setup.py's
# directory; the C source sits next to it.
_here = os.path.dirname(os.path.abspath(__file__))
_source = ""
for _name in ("_batch.c", "_sendmany.c"):  # _sendmany.c: batched sending
    with open(os.path.join(_here, _name), encoding="utf-8") as _f:
        _source += _f.read()

ffibuilder.set_source("dgram_uv._batch_c", _source)

if __name__ == "__main__":
    import glob
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        built = ffibuilder.compile(tmpdir=tmp, verbose=True)
        for path in glob.glob(os.path.join(os.path.dirname(built), "_batch_c*.so")):
            shutil.copy(path, _here)
