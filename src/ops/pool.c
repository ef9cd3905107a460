/* pool.c — max pooling and global average pooling, with their gradients
 * to the input. */
#include "ops/cpu.h"
#include "ops/ops.h"

#include <math.h>

/* The kernel taps [*lo, *hi) whose input coordinate o*stride - pad + t*dil
 * lies in [0, size): computed once per output row or column instead of
 * testing every tap. */
static void valid_taps(int o, int stride, int pad, int dil, int k, int size, int *lo, int *hi)
{
    int start = o * stride - pad;
    *lo = 0;
    while (*lo < k && start + *lo * dil < 0)
        (*lo)++;
    *hi = k;
    while (*hi > *lo && start + (*hi - 1) * dil >= size)
        (*hi)--;
}

/* valid_taps for the columns of kernel column j, over the whole output row. */
static void valid_taps_columns(const gc_window *s, int j, int *lo, int *hi)
{
    const int off = j * s->dw - s->pw;
    *lo = 0;
    while (*lo < s->wo && *lo * s->sw + off < 0)
        (*lo)++;
    *hi = s->wo;
    while (*hi > *lo && (*hi - 1) * s->sw + off >= s->w)
        (*hi)--;
}

int maxpool_is_stem(const gc_window *s)
{
    return s->kh == 3 && s->kw == 3 && s->sh == 2 && s->sw == 2 && s->ph == 1 && s->pw == 1 &&
           s->dh == 1 && s->dw == 1;
}

void maxpool_forward(float *out, const float *in, const gc_window *s)
{
    gc_pool_fn *stem = gc_kernels_active()->maxpool_stem;
    if (stem && maxpool_is_stem(s))
        stem(out, in, s);
    else
        maxpool_portable(out, in, s);
}

void maxpool_portable(float *out, const float *in, const gc_window *s)
{
    #pragma omp parallel for schedule(static)
    for (int p = 0; p < s->n * s->c; p++) {
        const float *x = in + (size_t)p * s->h * s->w;
        for (int oy = 0; oy < s->ho; oy++) {
            float *best = out + ((size_t)p * s->ho + oy) * s->wo;
            for (int ox = 0; ox < s->wo; ox++)
                best[ox] = -INFINITY;
            int ilo, ihi;
            valid_taps(oy, s->sh, s->ph, s->dh, s->kh, s->h, &ilo, &ihi);
            /* Taps outside, the output row inside: a branch-free loop the
             * compiler vectorises. Once a NaN is in, it stays. */
            for (int i = ilo; i < ihi; i++) {
                const float *row = x + (size_t)(oy * s->sh - s->ph + i * s->dh) * s->w;
                for (int j = 0; j < s->kw; j++) {
                    int lo, hi;
                    valid_taps_columns(s, j, &lo, &hi);
                    const float *src = row + j * s->dw - s->pw;
                    for (int ox = lo; ox < hi; ox++) {
                        const float v = src[ox * s->sw], b = best[ox];
                        best[ox] = (v > b || v != v) ? v : b;
                    }
                }
            }
        }
    }
}

void maxpool_backward_input(float *din, const float *dout, const float *in, const float *out,
                            const gc_window *s)
{
    for (int p = 0; p < s->n * s->c; p++) {
        const float *x = in + (size_t)p * s->h * s->w;
        float *dx = din + (size_t)p * s->h * s->w;
        for (int oy = 0; oy < s->ho; oy++) {
            int ilo, ihi;
            valid_taps(oy, s->sh, s->ph, s->dh, s->kh, s->h, &ilo, &ihi);
            for (int ox = 0; ox < s->wo; ox++) {
                const size_t q = ((size_t)p * s->ho + oy) * s->wo + ox;
                const float m = out[q];
                int jlo, jhi, found = 0;
                valid_taps(ox, s->sw, s->pw, s->dw, s->kw, s->w, &jlo, &jhi);
                for (int i = ilo; i < ihi && !found; i++)
                    for (int j = jlo; j < jhi && !found; j++) {
                        const int idx = (oy * s->sh - s->ph + i * s->dh) * s->w +
                                        ox * s->sw - s->pw + j * s->dw;
                        if (x[idx] == m || (m != m && x[idx] != x[idx])) {
                            dx[idx] += dout[q];
                            found = 1;
                        }
                    }
            }
        }
    }
}

void global_avgpool_forward(float *out, const float *in, int n, int c, int hw)
{
    /* A double sum (exact enough to match PyTorch on large maps) in four
     * independent lanes, which the compiler turns into vector adds. */
    #pragma omp parallel for schedule(static) if ((size_t)n * c * hw >= OPS_PARALLEL_MIN)
    for (int p = 0; p < n * c; p++) {
        const float *x = in + (size_t)p * hw;
        double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
        int i = 0;
        for (; i + 4 <= hw; i += 4) {
            s0 += x[i];
            s1 += x[i + 1];
            s2 += x[i + 2];
            s3 += x[i + 3];
        }
        for (; i < hw; i++)
            s0 += x[i];
        out[p] = (float)(((s0 + s1) + (s2 + s3)) / hw);
    }
}

void global_avgpool_backward_input(float *din, const float *dout, int n, int c, int hw)
{
    for (int p = 0; p < n * c; p++) {
        const float g = dout[p] / (float)hw;
        float *dx = din + (size_t)p * hw;
        for (int i = 0; i < hw; i++)
            dx[i] += g;
    }
}
