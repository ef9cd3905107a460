/* pool.c — max pooling, global average pooling and the fully connected
 * classifier, with their gradients to the input. */
#include "ops/ops.h"

#include <cblas.h>
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

void maxpool_forward(float *out, int32_t *argmax, const float *in, const gc_window *s)
{
    #pragma omp parallel for schedule(static)
    for (int p = 0; p < s->n * s->c; p++) {
        const float *x = in + (size_t)p * s->h * s->w;
        for (int oy = 0; oy < s->ho; oy++) {
            float *best = out + ((size_t)p * s->ho + oy) * s->wo;
            int32_t *where = argmax + ((size_t)p * s->ho + oy) * s->wo;
            for (int ox = 0; ox < s->wo; ox++)
                best[ox] = -INFINITY, where[ox] = -1;
            int ilo, ihi;
            valid_taps(oy, s->sh, s->ph, s->dh, s->kh, s->h, &ilo, &ihi);
            /* Taps in raster order, each over the whole output row: the
             * inner loop is branch-free and vectorises. */
            for (int i = ilo; i < ihi; i++) {
                const int row = (oy * s->sh - s->ph + i * s->dh) * s->w;
                for (int j = 0; j < s->kw; j++) {
                    const int off = row + j * s->dw - s->pw;
                    int lo = 0, hi = s->wo;
                    while (lo < hi && lo * s->sw + j * s->dw - s->pw < 0)
                        lo++;
                    while (hi > lo && (hi - 1) * s->sw + j * s->dw - s->pw >= s->w)
                        hi--;
                    for (int ox = lo; ox < hi; ox++) {
                        const int idx = off + ox * s->sw;
                        const float v = x[idx], b = best[ox];
                        /* Strictly greater keeps the first maximum; a NaN wins
                         * and stays, as in PyTorch. */
                        const int take = v > b || (v != v && b == b) || where[ox] < 0;
                        best[ox] = take ? v : b;
                        where[ox] = take ? idx : where[ox];
                    }
                }
            }
        }
    }
}

void maxpool_backward_input(float *din, const float *dout, const int32_t *argmax,
                            const gc_window *s)
{
    for (int p = 0; p < s->n * s->c; p++) {
        float *dx = din + (size_t)p * s->h * s->w;
        const float *dy = dout + (size_t)p * s->ho * s->wo;
        const int32_t *am = argmax + (size_t)p * s->ho * s->wo;
        for (int q = 0; q < s->ho * s->wo; q++)
            if (am[q] >= 0)
                dx[am[q]] += dy[q];
    }
}

void global_avgpool_forward(float *out, const float *in, int n, int c, int hw)
{
    for (int p = 0; p < n * c; p++) {
        const float *x = in + (size_t)p * hw;
        double sum = 0.0;
        for (int i = 0; i < hw; i++)
            sum += x[i];
        out[p] = (float)(sum / hw);
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

void linear_forward(float *out, const float *in, const float *weight, const float *bias,
                    int n, int in_features, int out_features)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out_features, in_features, 1.0f,
                in, in_features, weight, in_features, 0.0f, out, out_features);
    if (bias)
        for (int i = 0; i < n; i++)
            for (int o = 0; o < out_features; o++)
                out[(size_t)i * out_features + o] += bias[o];
}

void linear_backward_input(float *din, const float *dout, const float *weight, int n,
                           int in_features, int out_features)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in_features, out_features,
                1.0f, dout, out_features, weight, in_features, 1.0f, din, in_features);
}
