/* elementwise.c — per-element and per-channel layers: the BatchNorm affine
 * map, ReLU and residual addition. Forward and gradient-to-input only. */
#include "ops/ops.h"

void affine_forward(float *out, const float *in, const float *scale, const float *shift,
                    int n, int c, int hw)
{
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++) {
            const float a = scale[ch], b = shift[ch];
            const float *x = in + ((size_t)i * c + ch) * hw;
            float *y = out + ((size_t)i * c + ch) * hw;
            for (int p = 0; p < hw; p++)
                y[p] = x[p] * a + b;
        }
}

void affine_backward_input(float *din, const float *dout, const float *scale, int n,
                           int c, int hw)
{
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++) {
            const float a = scale[ch];
            const float *dy = dout + ((size_t)i * c + ch) * hw;
            float *dx = din + ((size_t)i * c + ch) * hw;
            for (int p = 0; p < hw; p++)
                dx[p] += dy[p] * a;
        }
}

void relu_forward(float *out, const float *in, size_t count)
{
    for (size_t i = 0; i < count; i++)
        out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void relu_backward_input(float *din, const float *dout, const float *out, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (out[i] > 0.0f)
            din[i] += dout[i];
}

void relu_backward_input_guided(float *din, const float *dout, const float *out,
                                size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (out[i] > 0.0f && dout[i] > 0.0f)
            din[i] += dout[i];
}

void add_forward(float *out, const float *a, const float *b, size_t count)
{
    for (size_t i = 0; i < count; i++)
        out[i] = a[i] + b[i];
}

void add_backward_input(float *din, const float *dout, size_t count)
{
    for (size_t i = 0; i < count; i++)
        din[i] += dout[i];
}
