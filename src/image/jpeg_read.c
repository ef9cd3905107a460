/* jpeg_read.c — JPEG decoding through libjpeg(-turbo), set up the way
 * OpenCV's imread sets it up (library defaults: islow DCT, fancy upsampling),
 * so the pixels are the ones the Python seed saw. libjpeg reports fatal
 * errors by calling error_exit, which we turn into a longjmp back here and a
 * GC_ERR_FORMAT; it never prints and never exits.
 *
 * Deliberately not done: EXIF orientation. OpenCV's imread rotates images
 * that carry an EXIF Orientation tag; we return the pixels as stored. CMYK
 * and YCCK JPEGs are refused (GC_ERR_UNSUPPORTED) rather than converted. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h>
#include <jerror.h>

#include "core/error.h"
#include "image/image_internal.h"

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
} jerr;

static void on_error(j_common_ptr c)
{
    jerr *e = (jerr *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jb, 1);
}

/* Warnings are silent, except a truncated file: libjpeg would pad the
 * missing rows with grey and call it a success. */
static void on_message(j_common_ptr c, int level)
{
    if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF)
        on_error(c);
}

static void no_output(j_common_ptr c) { (void)c; }

gc_status gc_jpeg_load(const char *path, FILE *f, int64_t max_pixels, gc_image *out,
                       gc_error *err)
{
    struct jpeg_decompress_struct ci;
    jerr je;
    JSAMPROW row;
    ci.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = on_error;
    je.pub.emit_message = on_message;
    je.pub.output_message = no_output;
    out->pixels = NULL; /* written through a pointer: still valid after longjmp */

    if (setjmp(je.jb)) {
        jpeg_destroy_decompress(&ci);
        gc_image_free(out);
        return gc_fail(err, GC_ERR_FORMAT, "%s: corrupt JPEG: %s", path, je.msg);
    }
    jpeg_create_decompress(&ci);
    jpeg_stdio_src(&ci, f);
    if (jpeg_read_header(&ci, TRUE) != JPEG_HEADER_OK) {
        jpeg_destroy_decompress(&ci);
        return gc_fail(err, GC_ERR_FORMAT, "%s: JPEG has no image", path);
    }
    if (ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&ci);
        return gc_fail(err, GC_ERR_UNSUPPORTED, "%s: CMYK JPEGs are not supported", path);
    }
    gc_status st = gc_image_check_size(path, ci.image_width, ci.image_height, max_pixels, err);
    if (st) {
        jpeg_destroy_decompress(&ci);
        return st;
    }
    ci.out_color_space = JCS_RGB; /* libjpeg expands greyscale by replication */
    jpeg_start_decompress(&ci);
    if (ci.output_components != 3) {
        jpeg_destroy_decompress(&ci);
        return gc_fail(err, GC_ERR_UNSUPPORTED, "%s: JPEG decodes to %d components", path,
                       ci.output_components);
    }
    out->pixels = gc_calloc((size_t)ci.output_width * ci.output_height, 3, err);
    if (!out->pixels) {
        jpeg_destroy_decompress(&ci);
        return GC_ERR_NOMEM;
    }
    out->width = (int)ci.output_width;
    out->height = (int)ci.output_height;
    while (ci.output_scanline < ci.output_height) {
        row = out->pixels + (size_t)ci.output_scanline * ci.output_width * 3;
        jpeg_read_scanlines(&ci, &row, 1);
    }
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    return GC_OK;
}
