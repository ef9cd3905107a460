/* limits.h — turning a caller's gc_limits (NULL, or fields left 0) into the
 * numbers the loaders check, and the caps that follow from them. The
 * defaults live in limits.c alone. Not here: the checks themselves, which
 * each decoder and loader makes where it knows a size. */
#ifndef GC_CORE_LIMITS_H
#define GC_CORE_LIMITS_H

#include "gradcam.h"

/* The most pixels any image may have, whatever the limits say: w * h * 3
 * bytes must fit an int, which pixel loops index with. */
#define GC_IMAGE_CEILING_PIXELS ((int64_t)0x7fffffff / 3)

/* Copies lim into *out with every 0 field replaced by its default and
 * max_image_pixels clamped to the ceiling. NULL lim is all defaults. A
 * negative field is GC_ERR_USAGE ("what" starts the message). */
gc_status gc_limits_resolve(const gc_limits *lim, const char *what, gc_limits *out,
                            gc_error *err);

/* Raw tensor bytes a file may store (and a .pth loader read) to produce
 * max_weight_bytes of float32: twice that, as float64 halves. */
uint64_t gc_limits_storage_bytes(const gc_limits *resolved);
/* The size a whole model file may have: its storage plus room for the
 * pickle, JSON header or zip directory around it. */
uint64_t gc_limits_file_bytes(const gc_limits *resolved);

#endif
