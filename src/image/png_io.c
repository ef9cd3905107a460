/* png_io.c — PNG reading and writing through libpng. Reading applies the
 * transforms OpenCV's imread(IMREAD_COLOR) applies, so both give the same
 * RGB bytes: palette expanded, grey replicated to RGB, alpha dropped (not
 * composited), 16-bit samples reduced to their high byte. libpng errors
 * longjmp back here and become GC_ERR_FORMAT; warnings are ignored.
 * Writing is 8-bit RGB only, to a temporary file renamed into place. */
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "core/error.h"
#include "image/image_internal.h"

typedef struct pctx {
    char msg[256];
} pctx;

static void on_error(png_structp png, png_const_charp msg)
{
    pctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

gc_status gc_png_load(const char *path, FILE *f, int64_t max_pixels, gc_image *out,
                      gc_error *err)
{
    pctx ctx = {"unknown error"};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    /* Row pointers live in a struct we reach through a pointer, so their
     * value is well defined after a longjmp. */
    struct {
        png_bytep *rows;
    } st_rows = {NULL}, *r = &st_rows;
    out->pixels = NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return gc_fail(err, GC_ERR_NOMEM, "%s: out of memory starting libpng", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(r->rows);
        gc_image_free(out);
        return gc_fail(err, GC_ERR_FORMAT, "%s: corrupt PNG: %s", path, ctx.msg);
    }
    png_init_io(png, f);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int depth = png_get_bit_depth(png, info), type = png_get_color_type(png, info);
    gc_status st = gc_image_check_size(path, w, h, max_pixels, err);
    if (st) {
        png_destroy_read_struct(&png, &info, NULL);
        return st;
    }
    if (depth == 16)
        png_set_strip_16(png);
    png_set_strip_alpha(png);
    if (type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (!(type & PNG_COLOR_MASK_COLOR)) {
        if (depth < 8)
            png_set_expand_gray_1_2_4_to_8(png);
        png_set_gray_to_rgb(png);
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_channels(png, info) != 3 || png_get_rowbytes(png, info) != (size_t)w * 3) {
        png_destroy_read_struct(&png, &info, NULL);
        return gc_fail(err, GC_ERR_UNSUPPORTED, "%s: PNG layout not supported", path);
    }
    out->pixels = gc_calloc((size_t)w * h, 3, err);
    r->rows = out->pixels ? gc_calloc(h, sizeof(png_bytep), err) : NULL;
    if (!r->rows) {
        png_destroy_read_struct(&png, &info, NULL);
        gc_image_free(out);
        return GC_ERR_NOMEM;
    }
    for (png_uint_32 y = 0; y < h; y++)
        r->rows[y] = out->pixels + (size_t)y * w * 3;
    png_read_image(png, r->rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(r->rows);
    out->width = (int)w;
    out->height = (int)h;
    return GC_OK;
}

gc_status gc_image_write_png(const char *path, const gc_image *img, gc_error *err)
{
    if (!img || !img->pixels || img->width <= 0 || img->height <= 0)
        return gc_fail(err, GC_ERR_USAGE, "%s: no image to write", path);
    gc_atomic_file af;
    gc_status st = gc_atomic_open(&af, path, err);
    if (st)
        return st;
    pctx ctx = {"unknown error"};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        gc_atomic_abort(&af);
        return gc_fail(err, GC_ERR_NOMEM, "%s: out of memory starting libpng", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        gc_atomic_abort(&af);
        return gc_fail(err, GC_ERR_IO, "%s: PNG write failed: %s", path, ctx.msg);
    }
    png_init_io(png, af.f);
    png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
                 PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    /* Figures are written once per image on the hot path: zlib's fastest
     * level with the cheap SUB filter is several times quicker than the
     * default and the files stay within ~20% of its size. */
    png_set_compression_level(png, 1);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
    png_write_info(png, info);
    for (int y = 0; y < img->height; y++)
        png_write_row(png, img->pixels + (size_t)y * img->width * 3);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    st = gc_atomic_commit(&af, path, err);
    if (st == GC_OK)
        gc_ok(err);
    return st;
}
