/* pool.c — max pooling, global average pooling and the fully connected
 * classifier, with their gradients to the input. */
#include "ops/ops.h"

#include <cblas.h>
#include <math.h>

void maxpool_forward(float *out, int32_t *argmax, const float *in, const gc_window *s)
{
    for (int p = 0; p < s->n * s->c; p++) {
        const float *x = in + (size_t)p * s->h * s->w;
        float *y = out + (size_t)p * s->ho * s->wo;
        int32_t *am = argmax + (size_t)p * s->ho * s->wo;
        for (int oy = 0; oy < s->ho; oy++)
            for (int ox = 0; ox < s->wo; ox++) {
                float best = -INFINITY;
                int32_t where = -1;
                for (int i = 0; i < s->kh; i++) {
                    int yy = oy * s->sh - s->ph + i * s->dh;
                    if (yy < 0 || yy >= s->h)
                        continue;
                    for (int j = 0; j < s->kw; j++) {
                        int xx = ox * s->sw - s->pw + j * s->dw;
                        if (xx < 0 || xx >= s->w)
                            continue;
                        float v = x[yy * s->w + xx];
                        /* Strictly greater keeps the first maximum; NaN wins,
                         * as in PyTorch. */
                        if (v > best || isnan(v) || where < 0) {
                            best = v;
                            where = yy * s->w + xx;
                            if (isnan(v))
                                goto done;
                        }
                    }
                }
            done:
                y[oy * s->wo + ox] = best;
                am[oy * s->wo + ox] = where;
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
