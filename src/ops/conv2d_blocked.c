/* conv2d_blocked.c — ungrouped 2-D convolution as im2col + GEMM, done block
 * by block inside one parallel region: each thread lays out the im2col
 * columns of its own block of output pixels (pixels of all images in a row,
 * so a 7x7 map at batch 16 is 784 columns, not 16 products of 49), multiplies
 * the whole weight matrix (or its share of the rows) by it with gemm_nn, and
 * copies the block into the NCHW output with the bias added.
 *
 * Compared with conv2d.c's plain path (im2col of a whole image, then one
 * GEMM), the columns stay in the thread's cache, the threads meet once per
 * convolution instead of twice per image, and small maps no longer waste
 * most of the last vector of every row. Used where gemm_nn runs our own
 * kernel (its per-call cost is small); deliberately not for groups, which
 * conv2d.c handles one group at a time. */
#include "ops/cpu.h"
#include "ops/gemm.h"
#include "ops/ops.h"

#include <omp.h>
#include <string.h>

#define BLOCK 64 /* output pixels per block: the GEMM kernel's column block */

int conv2d_blocked_applies(const gc_window *s)
{
    return s->groups == 1 && gemm_own_kernel();
}

size_t conv2d_blocked_workspace(const gc_window *s)
{
    const size_t k = (size_t)s->c * s->kh * s->kw;
    return (size_t)omp_get_max_threads() * (k + (size_t)s->oc) * BLOCK;
}

/* dst[q] = src[2q] for q in [0, len): the stride-2 gather of a stride-2
 * convolution, with the tier's vector form where it has one. */
static void gather2(const gc_kernels *kt, float *dst, const float *src, int len)
{
    if (kt->gather2) {
        kt->gather2(dst, src, len);
        return;
    }
    for (int q = 0; q < len; q++)
        dst[q] = src[2 * q];
}

/* The first q >= 0 with x0 + q * stride >= bound, for bound >= 0. */
static int first_at_or_past(int x0, int stride, int bound)
{
    return x0 >= bound ? 0 : (bound - x0 + stride - 1) / stride;
}

/* col[r][p - p0] for r = (channel, tap) and the output pixels p in [p0, p1)
 * counted across images: the input value that tap reads, 0 in the padding. */
static void im2col_block(float *col, const float *in, const gc_window *s, int p0, int p1)
{
    const int hw = s->ho * s->wo, nb = p1 - p0;
    const size_t plane = (size_t)s->h * s->w;
    const gc_kernels *kt = gc_kernels_active();
    for (int p = p0; p < p1;) { /* one run of pixels in one output row */
        const int img = p / hw, oy = p % hw / s->wo, ox0 = p % hw % s->wo;
        const int len = s->wo - ox0 < p1 - p ? s->wo - ox0 : p1 - p;
        float *dst = col + (p - p0);
        for (int ch = 0; ch < s->c; ch++) {
            const float *chan = in + ((size_t)img * s->c + ch) * plane;
            for (int i = 0; i < s->kh; i++) {
                const int y = oy * s->sh - s->ph + i * s->dh;
                for (int j = 0; j < s->kw; j++, dst += nb) {
                    if (y < 0 || y >= s->h) {
                        memset(dst, 0, sizeof(float) * len);
                        continue;
                    }
                    const float *row = chan + (size_t)y * s->w;
                    const int x0 = ox0 * s->sw - s->pw + j * s->dw;
                    /* [lo, hi): the run's pixels whose column is inside */
                    int lo = first_at_or_past(x0, s->sw, 0);
                    int hi = first_at_or_past(x0, s->sw, s->w);
                    lo = lo < len ? lo : len;
                    hi = hi < lo ? lo : hi < len ? hi : len;
                    for (int q = 0; q < lo; q++)
                        dst[q] = 0.0f;
                    if (s->sw == 1)
                        memcpy(dst + lo, row + x0 + lo, sizeof(float) * (hi - lo));
                    else if (s->sw == 2)
                        gather2(kt, dst + lo, row + x0 + 2 * lo, hi - lo);
                    else
                        for (int q = lo; q < hi; q++)
                            dst[q] = row[x0 + q * s->sw];
                    for (int q = hi; q < len; q++)
                        dst[q] = 0.0f;
                }
            }
        }
        p += len;
    }
}

/* Rows [m0, m1) of a product written in place (row o at y + (o - m0) ld,
 * nb long, y being element `at` of the output): plus the bias, then the
 * epilogue, while still in cache. */
static void finish_rows(float *y, size_t at, int ld, int nb, const float *bias,
                        const gc_epilogue *epi, int m0, int m1)
{
    for (int o = m0; o < m1; o++) {
        const size_t off = (size_t)(o - m0) * ld;
        epilogue_bias_apply(y + off, epilogue_residual(epi, at + off), (size_t)nb,
                            bias ? bias + o : NULL, epi, o);
    }
}

/* out[img][o][pixel] = prod[o - m0][p - p0] + bias[o], then the epilogue,
 * for the block's pixels and rows [m0, m1). */
static void scatter_block(float *out, const float *prod, const float *bias,
                          const gc_epilogue *epi, const gc_window *s, int p0, int p1, int m0,
                          int m1)
{
    const int hw = s->ho * s->wo, nb = p1 - p0;
    for (int p = p0; p < p1;) { /* one run of pixels in one image */
        const int img = p / hw, q0 = p % hw, len = hw - q0 < p1 - p ? hw - q0 : p1 - p;
        for (int o = m0; o < m1; o++) {
            const float *src = prod + (size_t)(o - m0) * nb + (p - p0);
            const size_t at = ((size_t)img * s->oc + o) * hw + q0;
            float *dst = out + at;
            memcpy(dst, src, sizeof(float) * len);
            epilogue_bias_apply(dst, epilogue_residual(epi, at), (size_t)len,
                                bias ? bias + o : NULL, epi, o);
        }
        p += len;
    }
}

void conv2d_blocked_forward(float *out, const float *in, const float *weight, const float *bias,
                            const gc_epilogue *epi, const gc_window *s, float *work)
{
    const int k = s->c * s->kh * s->kw, pixels = s->n * s->ho * s->wo;
    const int vectors = (pixels + 15) / 16, pointwise = conv2d_is_pointwise(s);
    #pragma omp parallel
    {
        const int nt = omp_get_num_threads(), me = omp_get_thread_num();
        float *col = work + (size_t)me * ((size_t)k + s->oc) * BLOCK;
        float *prod = col + (size_t)k * BLOCK;
        /* Enough pixels: each thread takes a share of them (in whole
         * vectors) and all output channels. Few pixels (a 7x7 map at
         * batch 1): each takes all pixels and a share of the channels. */
        int p0 = 0, p1 = pixels, m0 = 0, m1 = s->oc;
        if (vectors >= 4 * nt) {
            p0 = 16 * (int)((long)vectors * me / nt);
            p1 = 16 * (int)((long)vectors * (me + 1) / nt);
            p1 = p1 < pixels ? p1 : pixels;
        } else {
            const int rows6 = (s->oc + 5) / 6; /* in micro-kernel rows */
            m0 = 6 * (int)((long)rows6 * me / nt);
            m1 = 6 * (int)((long)rows6 * (me + 1) / nt);
            m1 = m1 < s->oc ? m1 : s->oc;
        }
        const int hw = s->ho * s->wo;
        for (int b0 = p0; b0 < p1 && m0 < m1; b0 += BLOCK) {
            const int b1 = p1 - b0 < BLOCK ? p1 : b0 + BLOCK, nb = b1 - b0;
            const float *w = weight + (size_t)m0 * k;
            const int one_image = b0 / hw == (b1 - 1) / hw;
            /* A pointwise convolution reads one image's block in place. */
            const float *b = col;
            int ldb = nb;
            if (one_image && pointwise) {
                b = in + (size_t)(b0 / hw) * s->c * hw + b0 % hw;
                ldb = hw;
            } else {
                im2col_block(col, in, s, b0, b1);
            }
            if (one_image) { /* the product goes straight out */
                const size_t at = ((size_t)(b0 / hw) * s->oc + m0) * hw + b0 % hw;
                gemm_nn(m1 - m0, nb, k, w, k, b, ldb, out + at, hw, 0);
                finish_rows(out + at, at, hw, nb, bias, epi, m0, m1);
            } else {
                gemm_nn(m1 - m0, nb, k, w, k, b, ldb, prod, nb, 0);
                scatter_block(out, prod, bias, epi, s, b0, b1, m0, m1);
            }
        }
    }
}
