/* image_internal.h — helpers shared by the image and render code: decoders
 * behind gc_image_load, the PIL-style resampler behind the CROP preprocess,
 * and the write-to-temporary-then-rename pattern every writer uses. Not part
 * of the public API. */
#ifndef GC_IMAGE_INTERNAL_H
#define GC_IMAGE_INTERNAL_H

#include <stdio.h>

#include "gradcam.h"

/* Checks a decoded header's size against max_pixels (a resolved
 * gc_limits field). Decoders call it before any pixel buffer exists, so a
 * hostile header cannot make us allocate. */
gc_status gc_image_check_size(const char *path, long long w, long long h, int64_t max_pixels,
                              gc_error *err);

gc_status gc_jpeg_load(const char *path, FILE *f, int64_t max_pixels, gc_image *out,
                       gc_error *err);
gc_status gc_png_load(const char *path, FILE *f, int64_t max_pixels, gc_image *out,
                      gc_error *err);

/* PIL's Image.resize(..., BILINEAR) on RGB (antialiased when shrinking),
 * bit-exact with Pillow's 8-bit fixed-point resampler. */
gc_status gc_image_resize_pil(const gc_image *src, int dw, int dh, gc_image *dst,
                              gc_error *err);

/* Atomic replace: open "<path>.tmp.<pid>" for writing; after a successful
 * write, gc_atomic_commit renames it over path; gc_atomic_abort removes it. */
typedef struct gc_atomic_file {
    char tmp[4096];
    FILE *f;
} gc_atomic_file;

gc_status gc_atomic_open(gc_atomic_file *af, const char *path, gc_error *err);
/* Closes the stream (checking for write errors) and renames. */
gc_status gc_atomic_commit(gc_atomic_file *af, const char *path, gc_error *err);
void gc_atomic_abort(gc_atomic_file *af);
/* The temporary name alone, for writers that open the file themselves
 * (cairo). */
gc_status gc_atomic_tmp_name(const char *path, char *tmp, size_t cap, gc_error *err);
gc_status gc_atomic_rename(const char *tmp, const char *path, gc_error *err);

#endif
