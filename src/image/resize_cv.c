/* resize_cv.c — bilinear resizing that reproduces OpenCV 4.6's
 * cv2.resize(..., INTER_LINEAR) exactly: 8-bit RGB bit for bit, and float
 * maps to rounding error.
 *
 * The facts reproduced (from OpenCV's modules/imgproc/src/resize.cpp):
 *   - scale = 1 / (dst/src) in double; source coordinate of a destination
 *     pixel is f = (float)((d + 0.5) * scale - 0.5), s = floor(f), t = f - s,
 *     weights (1 - t, t) computed in float;
 *   - columns: s < 0 becomes s = 0, t = 0; s >= w - 1 becomes s = w - 1, t = 0.
 *     Rows keep their weights; the two source rows are clamped into the image;
 *   - 8-bit: weights become shorts w = round_half_even(weight * 2048); the
 *     horizontal pass gives ints h = w0 * p0 + w1 * p1 (scale 2^11), the
 *     vertical pass rounds as ((b0 * (h0 >> 4)) >> 16) + ((b1 * (h1 >> 4)) >> 16)
 *     then (+ 2) >> 2 — not the textbook (sum + 2^21) >> 22, which differs;
 *   - an exact 2x downscale on both axes is done as INTER_AREA instead:
 *     8-bit: (a + b + c + d + 2) >> 2; float: (a + b + c + d) * 0.25.
 * Not reproduced: other interpolations, and OpenCV's parallel/SIMD paths,
 * which compute the same integers. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define COEF_BITS 11
#define COEF_ONE (1 << COEF_BITS)

typedef struct axis {
    int s0, s1; /* the two source indices, already clamped */
    float w0, w1;
} axis;

/* The taps of destination index d on one axis. clamp_weights: columns zero
 * the fraction at the borders, rows only clamp the indices (OpenCV treats
 * the two differently). */
static axis tap(int ssize, int d, double scale, int clamp_weights)
{
    axis a;
    float f = (float)((d + 0.5) * scale - 0.5);
    int s = (int)floorf(f);
    f -= (float)s;
    if (clamp_weights) {
        if (s < 0)
            s = 0, f = 0.f;
        if (s >= ssize - 1)
            s = ssize - 1, f = 0.f;
    }
    int s1 = s + 1;
    a.s0 = s < 0 ? 0 : s >= ssize ? ssize - 1 : s;
    a.s1 = s1 < 0 ? 0 : s1 >= ssize ? ssize - 1 : s1;
    a.w0 = 1.f - f;
    a.w1 = f;
    return a;
}

static int is_exact_half(int ssize, int dsize, double *scale)
{
    *scale = 1.0 / ((double)dsize / ssize);
    return fabs(*scale - 2.0) < DBL_EPSILON;
}

gc_status gc_image_resize_cv(const gc_image *src, int dw, int dh, gc_image *dst, gc_error *err)
{
    if (!src || !src->pixels || src->width <= 0 || src->height <= 0)
        return gc_fail(err, GC_ERR_USAGE, "resize: empty source image");
    gc_status st = gc_image_alloc(dst, dw, dh, err);
    if (st)
        return st;
    const int sw = src->width, sh = src->height;
    const unsigned char *S = src->pixels;
    unsigned char *D = dst->pixels;

    if (sw == dw && sh == dh) { /* cv2.resize copies */
        memcpy(D, S, (size_t)sw * sh * 3);
        return GC_OK;
    }
    double scale_x, scale_y;
    int half_x = is_exact_half(sw, dw, &scale_x), half_y = is_exact_half(sh, dh, &scale_y);
    if (half_x && half_y) {
        for (int y = 0; y < dh; y++) {
            const unsigned char *r0 = S + (size_t)(2 * y) * sw * 3, *r1 = r0 + (size_t)sw * 3;
            unsigned char *o = D + (size_t)y * dw * 3;
            for (int x = 0; x < dw; x++)
                for (int c = 0; c < 3; c++) {
                    int i = 6 * x + c;
                    o[3 * x + c] = (unsigned char)((r0[i] + r0[i + 3] + r1[i] + r1[i + 3] + 2) >> 2);
                }
        }
        return GC_OK;
    }

    axis *ax = gc_calloc((size_t)dw, sizeof *ax, err);
    axis *ay = ax ? gc_calloc((size_t)dh, sizeof *ay, err) : NULL;
    int *h0 = ay ? gc_calloc((size_t)dw * 3 * 2, sizeof(int), err) : NULL;
    short *alpha = h0 ? gc_calloc((size_t)dw * 2, sizeof(short), err) : NULL;
    if (!alpha) {
        free(ax), free(ay), free(h0);
        gc_image_free(dst);
        return GC_ERR_NOMEM;
    }
    int *h1 = h0 + (size_t)dw * 3;
    for (int x = 0; x < dw; x++)
        ax[x] = tap(sw, x, scale_x, 1);
    for (int y = 0; y < dh; y++)
        ay[y] = tap(sh, y, scale_y, 0);
    for (int x = 0; x < dw; x++) {
        alpha[2 * x] = (short)lrintf(ax[x].w0 * COEF_ONE);
        alpha[2 * x + 1] = (short)lrintf(ax[x].w1 * COEF_ONE);
    }

    for (int y = 0; y < dh; y++) {
        const unsigned char *rows[2] = {S + (size_t)ay[y].s0 * sw * 3,
                                        S + (size_t)ay[y].s1 * sw * 3};
        int *hb[2] = {h0, h1};
        for (int k = 0; k < 2; k++)
            for (int x = 0; x < dw; x++) {
                const unsigned char *p0 = rows[k] + 3 * ax[x].s0, *p1 = rows[k] + 3 * ax[x].s1;
                for (int c = 0; c < 3; c++)
                    hb[k][3 * x + c] = p0[c] * alpha[2 * x] + p1[c] * alpha[2 * x + 1];
            }
        int b0 = (short)lrintf(ay[y].w0 * COEF_ONE), b1 = (short)lrintf(ay[y].w1 * COEF_ONE);
        unsigned char *o = D + (size_t)y * dw * 3;
        for (int i = 0; i < dw * 3; i++) {
            int v = (((b0 * (h0[i] >> 4)) >> 16) + ((b1 * (h1[i] >> 4)) >> 16) + 2) >> 2;
            o[i] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
    free(ax), free(ay), free(h0), free(alpha);
    return GC_OK;
}

void gc_resize_bilinear_f32(const float *src, int sw, int sh, float *dst, int dw, int dh)
{
    if (!src || !dst || sw <= 0 || sh <= 0 || dw <= 0 || dh <= 0)
        return;
    if (sw == dw && sh == dh) {
        memcpy(dst, src, sizeof(float) * (size_t)sw * sh);
        return;
    }
    double scale_x, scale_y;
    int half_x = is_exact_half(sw, dw, &scale_x), half_y = is_exact_half(sh, dh, &scale_y);
    if (half_x && half_y) {
        for (int y = 0; y < dh; y++)
            for (int x = 0; x < dw; x++) {
                const float *a = src + (size_t)(2 * y) * sw + 2 * x, *b = a + sw;
                dst[(size_t)y * dw + x] = (a[0] + a[1] + b[0] + b[1]) * 0.25f;
            }
        return;
    }
    /* Taps are recomputed per pixel rather than tabulated: cheap for
     * CAM-sized maps, and it keeps this function free of allocation. */
    for (int y = 0; y < dh; y++) {
        axis ty = tap(sh, y, scale_y, 0);
        const float *r0 = src + (size_t)ty.s0 * sw, *r1 = src + (size_t)ty.s1 * sw;
        for (int x = 0; x < dw; x++) {
            axis tx = tap(sw, x, scale_x, 1);
            float h0 = r0[tx.s0] * tx.w0 + r0[tx.s1] * tx.w1;
            float h1 = r1[tx.s0] * tx.w0 + r1[tx.s1] * tx.w1;
            dst[(size_t)y * dw + x] = h0 * ty.w0 + h1 * ty.w1;
        }
    }
}
