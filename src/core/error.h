/* error.h — filling a caller's gc_error. Every failing path in the library
 * goes through gc_fail(), so messages share one shape: "what: why". */
#ifndef GC_CORE_ERROR_H
#define GC_CORE_ERROR_H

#include "gradcam.h"

/* Sets err (if not NULL) and returns code, so callers can write
 *     return gc_fail(err, GC_ERR_FORMAT, "%s: truncated header", path);   */
gc_status gc_fail(gc_error *err, gc_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Marks err as success. */
void gc_ok(gc_error *err);

/* calloc that reports failure through err. */
void *gc_calloc(size_t n, size_t size, gc_error *err);

#endif
