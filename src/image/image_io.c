/* image_io.c — gc_image allocation, and gc_image_load choosing a decoder by
 * the file's first bytes (never by its extension). The decoders themselves
 * live in jpeg_read.c and png_io.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/limits.h"
#include "image/image_internal.h"

gc_status gc_image_check_size(const char *path, long long w, long long h, int64_t max_pixels,
                              gc_error *err)
{
    if (w <= 0 || h <= 0)
        return gc_fail(err, GC_ERR_FORMAT, "%s: image has no pixels (%lldx%lld)", path, w, h);
    /* each side first, so w * h cannot overflow */
    if (w > max_pixels || h > max_pixels || w * h > max_pixels)
        return gc_fail(err, GC_ERR_LIMIT, "%s: image is %lldx%lld, above the limit of %lld pixels",
                       path, w, h, (long long)max_pixels);
    return GC_OK;
}

gc_status gc_image_alloc(gc_image *img, int width, int height, gc_error *err)
{
    img->width = img->height = 0;
    img->pixels = NULL;
    /* the caller chose the size: only the ceiling applies, so an image
     * loaded under a raised limit can still be drawn on */
    gc_status st = gc_image_check_size("image", width, height, GC_IMAGE_CEILING_PIXELS, err);
    if (st)
        return st == GC_ERR_FORMAT ? gc_fail(err, GC_ERR_USAGE, "image size %dx%d is not positive",
                                             width, height)
                                   : st;
    img->pixels = gc_calloc((size_t)width * (size_t)height, 3, err);
    if (!img->pixels)
        return GC_ERR_NOMEM;
    img->width = width;
    img->height = height;
    return GC_OK;
}

void gc_image_free(gc_image *img)
{
    if (!img)
        return;
    free(img->pixels);
    img->pixels = NULL;
    img->width = img->height = 0;
}

gc_status gc_image_load(const char *path, gc_image *out, gc_error *err)
{
    return gc_image_load_limited(path, NULL, out, err);
}

gc_status gc_image_load_limited(const char *path, const gc_limits *lim, gc_image *out,
                                gc_error *err)
{
    out->width = out->height = 0;
    out->pixels = NULL;
    gc_limits l;
    gc_status st = gc_limits_resolve(lim, path, &l, err);
    if (st)
        return st;
    FILE *f = fopen(path, "rb");
    if (!f)
        return gc_fail(err, GC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char magic[8] = {0};
    size_t n = fread(magic, 1, sizeof magic, f);
    rewind(f);
    if (n >= 3 && magic[0] == 0xFF && magic[1] == 0xD8 && magic[2] == 0xFF)
        st = gc_jpeg_load(path, f, l.max_image_pixels, out, err);
    else if (n == 8 && !memcmp(magic, "\x89PNG\r\n\x1a\n", 8))
        st = gc_png_load(path, f, l.max_image_pixels, out, err);
    else
        st = gc_fail(err, GC_ERR_UNSUPPORTED, "%s: not a JPEG or PNG file", path);
    fclose(f);
    if (st == GC_OK)
        gc_ok(err);
    return st;
}
