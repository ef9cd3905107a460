/* surface.c — between cairo surfaces and gc_images: what the figure and
 * the method grid share. */
#include "render/surface.h"

#include <stdint.h>

#include "image/image_internal.h"

cairo_surface_t *gc_surface_from_image(const gc_image *img)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, img->width, img->height);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        return s;
    cairo_surface_flush(s);
    unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int y = 0; y < img->height; y++) {
        uint32_t *row = (uint32_t *)(void *)(data + (size_t)y * stride);
        const unsigned char *p = img->pixels + (size_t)y * img->width * 3;
        for (int x = 0; x < img->width; x++)
            row[x] = (uint32_t)p[3 * x] << 16 | (uint32_t)p[3 * x + 1] << 8 | p[3 * x + 2];
    }
    cairo_surface_mark_dirty(s);
    return s;
}

/* The opaque figure as RGB through our own PNG writer (fast compression,
 * atomic rename) rather than cairo's. */
gc_status gc_surface_write_png(const char *path, cairo_surface_t *fig, gc_error *err)
{
    cairo_surface_flush(fig);
    int w = cairo_image_surface_get_width(fig), h = cairo_image_surface_get_height(fig);
    int stride = cairo_image_surface_get_stride(fig);
    const unsigned char *data = cairo_image_surface_get_data(fig);
    gc_image img;
    gc_status st = gc_image_alloc(&img, w, h, err);
    if (st)
        return st;
    for (int y = 0; y < h; y++) {
        const uint32_t *row = (const uint32_t *)(const void *)(data + (size_t)y * stride);
        unsigned char *out = img.pixels + (size_t)y * w * 3;
        for (int x = 0; x < w; x++) { /* CAIRO_FORMAT_RGB24: 0x00RRGGBB */
            out[3 * x + 0] = (unsigned char)(row[x] >> 16);
            out[3 * x + 1] = (unsigned char)(row[x] >> 8);
            out[3 * x + 2] = (unsigned char)row[x];
        }
    }
    st = gc_image_write_png(path, &img, err);
    gc_image_free(&img);
    return st;
}

