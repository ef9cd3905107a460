/* resize_pil.c — Pillow's Image.resize(size, BILINEAR) on 8-bit RGB, as
 * torchvision's Resize uses it on PIL images.
 *
 * Pillow's resampler (libImaging/Resample.c) is separable and antialiased:
 * when shrinking, the triangle filter's support is widened by the scale, so
 * every source pixel contributes. Facts reproduced: output pixel x is centred
 * on source coordinate c = (x + 0.5) * scale; the taps span
 * [(int)(c - support + 0.5), (int)(c + support + 0.5)) clipped to the image;
 * weights triangle((i - c + 0.5) / filterscale), normalised to sum 1, then
 * turned into 22-bit fixed point (rounded half away from zero); accumulation
 * starts at 2^21 and the result is >> 22 and clipped to 0..255. The
 * horizontal pass runs first, on only the rows the vertical pass needs, and
 * its output is rounded to 8 bits before the vertical pass.
 * Not reproduced: other filters, boxes, reducing_gap. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "image/image_internal.h"

#define PREC 22

typedef struct taps {
    int ksize;
    int *bounds; /* per output: first source index, count */
    int *k;      /* per output: ksize fixed-point weights */
} taps;

static double triangle(double x)
{
    if (x < 0.0)
        x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

static void taps_free(taps *t)
{
    free(t->bounds);
    free(t->k);
}

static gc_status make_taps(int in_size, int out_size, taps *t, gc_error *err)
{
    double scale = (double)in_size / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 1.0 * filterscale;
    t->ksize = (int)ceil(support) * 2 + 1;
    t->bounds = gc_calloc((size_t)out_size * 2, sizeof(int), err);
    t->k = t->bounds ? gc_calloc((size_t)out_size * t->ksize, sizeof(int), err) : NULL;
    double *w = t->k ? gc_calloc((size_t)t->ksize, sizeof(double), err) : NULL;
    if (!w) {
        taps_free(t);
        return GC_ERR_NOMEM;
    }
    for (int o = 0; o < out_size; o++) {
        double center = (o + 0.5) * scale, sum = 0.0;
        int lo = (int)(center - support + 0.5), hi = (int)(center + support + 0.5);
        if (lo < 0)
            lo = 0;
        if (hi > in_size)
            hi = in_size;
        int n = hi - lo;
        for (int i = 0; i < n; i++) {
            w[i] = triangle((i + lo - center + 0.5) / filterscale);
            sum += w[i];
        }
        int *k = t->k + (size_t)o * t->ksize;
        for (int i = 0; i < n; i++) {
            double v = sum != 0.0 ? w[i] / sum : w[i];
            k[i] = v < 0 ? (int)(-0.5 + v * (1 << PREC)) : (int)(0.5 + v * (1 << PREC));
        }
        t->bounds[2 * o] = lo;
        t->bounds[2 * o + 1] = n;
    }
    free(w);
    return GC_OK;
}

static unsigned char clip8(int v)
{
    v >>= PREC;
    return (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Filters along one axis. The source is addressed as src[i * step_in + j *
 * pitch_in] for tap index i and orthogonal index j (0 <= j < n_other). */
static void pass(const unsigned char *src, size_t step_in, size_t pitch_in, unsigned char *dst,
                 size_t step_out, size_t pitch_out, int out_size, int n_other, const taps *t)
{
    for (int j = 0; j < n_other; j++)
        for (int o = 0; o < out_size; o++) {
            const int *k = t->k + (size_t)o * t->ksize;
            int lo = t->bounds[2 * o], n = t->bounds[2 * o + 1];
            for (int c = 0; c < 3; c++) {
                int acc = 1 << (PREC - 1);
                for (int i = 0; i < n; i++)
                    acc += src[(size_t)(lo + i) * step_in + (size_t)j * pitch_in + c] * k[i];
                dst[(size_t)o * step_out + (size_t)j * pitch_out + c] = clip8(acc);
            }
        }
}

gc_status gc_image_resize_pil(const gc_image *src, int dw, int dh, gc_image *dst, gc_error *err)
{
    if (!src || !src->pixels || src->width <= 0 || src->height <= 0)
        return gc_fail(err, GC_ERR_USAGE, "resize: empty source image");
    gc_status st = gc_image_alloc(dst, dw, dh, err);
    if (st)
        return st;
    const int sw = src->width, sh = src->height;
    taps tx = {0}, ty = {0};
    gc_image tmp = {0};
    if ((st = make_taps(sw, dw, &tx, err)) || (st = make_taps(sh, dh, &ty, err)))
        goto done;

    /* Horizontal pass on rows [y0, y1), the only ones the vertical pass reads;
     * skipped (like Pillow) when the width does not change. */
    int y0 = ty.bounds[0], y1 = ty.bounds[2 * dh - 2] + ty.bounds[2 * dh - 1];
    const unsigned char *mid = src->pixels + (size_t)y0 * sw * 3;
    int mid_w = sw;
    if (dw != sw) {
        if ((st = gc_image_alloc(&tmp, dw, y1 - y0, err)))
            goto done;
        pass(src->pixels + (size_t)y0 * sw * 3, 3, (size_t)sw * 3, tmp.pixels, 3,
             (size_t)dw * 3, dw, y1 - y0, &tx);
        mid = tmp.pixels;
        mid_w = dw;
    }
    if (dh != sh) {
        for (int o = 0; o < dh; o++)
            ty.bounds[2 * o] -= y0;
        pass(mid, (size_t)mid_w * 3, 3, dst->pixels, (size_t)dw * 3, 3, dh, dw, &ty);
    } else {
        memcpy(dst->pixels, mid, (size_t)dw * dh * 3);
    }

done:
    taps_free(&tx);
    taps_free(&ty);
    gc_image_free(&tmp);
    if (st)
        gc_image_free(dst);
    return st;
}
