/* error.c — status names and the one function that writes error messages. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

gc_status gc_fail(gc_error *err, gc_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->status = code;
    }
    return code;
}

void gc_ok(gc_error *err)
{
    if (err) {
        err->status = GC_OK;
        err->msg[0] = '\0';
    }
}

void *gc_calloc(size_t n, size_t size, gc_error *err)
{
    void *p = (n && size) ? calloc(n, size) : calloc(1, 1);
    if (!p)
        gc_fail(err, GC_ERR_NOMEM, "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

const char *gc_status_name(gc_status s)
{
    switch (s) {
    case GC_OK: return "ok";
    case GC_ERR_USAGE: return "usage error";
    case GC_ERR_IO: return "I/O error";
    case GC_ERR_FORMAT: return "bad file";
    case GC_ERR_UNSUPPORTED: return "unsupported";
    case GC_ERR_LIMIT: return "limit exceeded";
    case GC_ERR_NOMEM: return "out of memory";
    case GC_ERR_NETWORK: return "network error";
    case GC_ERR_INTERNAL: return "internal error";
    }
    return "unknown error";
}

#ifndef GC_VERSION
#define GC_VERSION "0.0.0"
#endif
const char *gc_version(void) { return GC_VERSION; }
