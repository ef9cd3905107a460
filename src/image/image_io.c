/* image_io.c — gc_image allocation, and gc_image_load choosing a decoder by
 * the file's first bytes (never by its extension). The decoders themselves
 * live in jpeg_read.c and png_io.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "image/image_internal.h"

gc_status gc_image_check_size(const char *path, long long w, long long h, gc_error *err)
{
    if (w <= 0 || h <= 0)
        return gc_fail(err, GC_ERR_FORMAT, "%s: image has no pixels (%lldx%lld)", path, w, h);
    if (w > GC_IMAGE_MAX_PIXELS || h > GC_IMAGE_MAX_PIXELS ||
        w * h > GC_IMAGE_MAX_PIXELS)
        return gc_fail(err, GC_ERR_LIMIT, "%s: image is %lldx%lld, above the limit of %lld pixels",
                       path, w, h, (long long)GC_IMAGE_MAX_PIXELS);
    return GC_OK;
}

gc_status gc_image_alloc(gc_image *img, int width, int height, gc_error *err)
{
    img->width = img->height = 0;
    img->pixels = NULL;
    gc_status st = gc_image_check_size("image", width, height, err);
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
    out->width = out->height = 0;
    out->pixels = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return gc_fail(err, GC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char magic[8] = {0};
    size_t n = fread(magic, 1, sizeof magic, f);
    rewind(f);
    gc_status st;
    if (n >= 3 && magic[0] == 0xFF && magic[1] == 0xD8 && magic[2] == 0xFF)
        st = gc_jpeg_load(path, f, out, err);
    else if (n == 8 && !memcmp(magic, "\x89PNG\r\n\x1a\n", 8))
        st = gc_png_load(path, f, out, err);
    else
        st = gc_fail(err, GC_ERR_UNSUPPORTED, "%s: not a JPEG or PNG file", path);
    fclose(f);
    if (st == GC_OK)
        gc_ok(err);
    return st;
}
