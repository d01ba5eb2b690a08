/*
 * pyuv_compat.h: lets the unchanged pyuv 1.4.0 sdist from PyPI compile on
 * CPython 3.11+.  It is force-included ahead of every C file of that build
 * (pyuv's unity file src/pyuv.c and the bundled libuv sources) through
 *     CPPFLAGS="-include /absolute/path/to/pyuv_compat.h"
 * by the Makefile.  CPPFLAGS, not CFLAGS: setuptools lets CFLAGS replace
 * the interpreter's default flags (-O3 -DNDEBUG ...), which would give an
 * unoptimised build with libuv's asserts switched on.
 */
#ifndef DGRAM_UV_PYUV_COMPAT_H
#define DGRAM_UV_PYUV_COMPAT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* 3.10+: Py_REFCNT() is an inline function, no longer an lvalue, but
 * pyuv's handle.c assigns to it (resurrection in tp_finalize). */
#undef Py_REFCNT
#define Py_REFCNT(ob) (((PyObject *)(ob))->ob_refcnt)

/* 3.11 removed PyUnicode_EncodeUTF8 (and 3.12 the Py_UNICODE accessors).
 * pyuv uses it once, as
 *     PyUnicode_EncodeUTF8(PyUnicode_AS_UNICODE(u), PyUnicode_GET_SIZE(u), errors)
 * so the accessors pass the object through and the encoder takes it whole. */
#undef PyUnicode_AS_UNICODE
#undef PyUnicode_GET_SIZE
#define PyUnicode_AS_UNICODE(u) (u)
#define PyUnicode_GET_SIZE(u) ((Py_ssize_t)0)
#define PyUnicode_EncodeUTF8(u, size, errors) \
    PyUnicode_AsEncodedString((PyObject *)(u), "utf-8", (errors))

/* pyuv frees request memory from libuv close callbacks, where the GIL is
 * not held; 3.12+ (per-interpreter obmalloc) may crash on that.  pyuv pairs
 * its own PyMem_* calls only with each other, so the raw allocator, which
 * needs no GIL, is a safe substitute everywhere. */
#define PyMem_Malloc PyMem_RawMalloc
#define PyMem_Realloc PyMem_RawRealloc
#define PyMem_Free PyMem_RawFree

#endif /* DGRAM_UV_PYUV_COMPAT_H */
