/* limits.c — the default resource limits, and the caps derived from them.
 * Every loader resolves its gc_limits here so a default is written once. */
#include "core/limits.h"

#include "core/error.h"

#define DEFAULT_IMAGE_PIXELS ((int64_t)100 * 1000 * 1000)
#define DEFAULT_WEIGHT_BYTES ((int64_t)4 << 30)
#define DEFAULT_GRAPH_NODES ((int64_t)200 * 1000)
/* Room for what surrounds the tensors: a .pth pickle may be 256 MiB, a
 * safetensors header 100 MiB; zip directories are small beside them. */
#define FILE_OVERHEAD ((uint64_t)512 << 20)

gc_status gc_limits_resolve(const gc_limits *lim, const char *what, gc_limits *out,
                            gc_error *err)
{
    gc_limits l = lim ? *lim : (gc_limits){0};
    if (l.max_image_pixels < 0 || l.max_weight_bytes < 0 || l.max_graph_nodes < 0)
        return gc_fail(err, GC_ERR_USAGE, "%s: a resource limit is negative", what);
    if (!l.max_image_pixels)
        l.max_image_pixels = DEFAULT_IMAGE_PIXELS;
    if (l.max_image_pixels > GC_IMAGE_CEILING_PIXELS)
        l.max_image_pixels = GC_IMAGE_CEILING_PIXELS;
    if (!l.max_weight_bytes)
        l.max_weight_bytes = DEFAULT_WEIGHT_BYTES;
    if (!l.max_graph_nodes)
        l.max_graph_nodes = DEFAULT_GRAPH_NODES;
    *out = l;
    return GC_OK;
}

uint64_t gc_limits_storage_bytes(const gc_limits *r)
{
    return 2 * (uint64_t)r->max_weight_bytes; /* < 2^64: the field is below 2^63 */
}

/* Saturates: a limit near INT64_MAX means "no limit", not a wrapped-around
 * small one. */
uint64_t gc_limits_file_bytes(const gc_limits *r)
{
    uint64_t s = gc_limits_storage_bytes(r);
    return s > UINT64_MAX - FILE_OVERHEAD ? UINT64_MAX : s + FILE_OVERHEAD;
}
