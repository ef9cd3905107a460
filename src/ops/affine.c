/* affine.c — per-channel maps: the BatchNorm affine map, and the epilogue
 * a convolution applies to its output channels (that map, a residual, a
 * ReLU), computed exactly as the separate kernels do. Forward and
 * gradient-to-input only. Memory-bound: both cores share the work only on
 * tensors large enough to pay for waking the second thread. */
#include "ops/ops.h"


void affine_forward(float *out, const float *in, const float *scale, const float *shift,
                    int n, int c, int hw)
{
    #pragma omp parallel for schedule(static) if ((size_t)n * c * hw >= OPS_PARALLEL_MIN)
    for (int nc = 0; nc < n * c; nc++) {
        const float a = scale[nc % c], b = shift[nc % c];
        const float *x = in + (size_t)nc * hw;
        float *y = out + (size_t)nc * hw;
        for (int p = 0; p < hw; p++)
            y[p] = x[p] * a + b;
    }
}

void affine_backward_input(float *din, const float *dout, const float *scale, int n,
                           int c, int hw)
{
    #pragma omp parallel for schedule(static) if ((size_t)n * c * hw >= OPS_PARALLEL_MIN)
    for (int nc = 0; nc < n * c; nc++) {
        const float a = scale[nc % c];
        const float *dy = dout + (size_t)nc * hw;
        float *dx = din + (size_t)nc * hw;
        for (int p = 0; p < hw; p++)
            dx[p] += dy[p] * a;
    }
}

void epilogue_scale(float *y, size_t n, const gc_epilogue *e, int c)
{
    if (e && e->scale) {
        const float a = e->scale[c], b = e->shift[c];
        for (size_t p = 0; p < n; p++)
            y[p] = y[p] * a + b;
    }
}

void epilogue_finish(float *y, const float *res, size_t n, const gc_epilogue *e)
{
    if (e && res)
        for (size_t p = 0; p < n; p++)
            y[p] = y[p] + res[p];
    if (e && e->relu)
        for (size_t p = 0; p < n; p++)
            y[p] = y[p] > 0.0f ? y[p] : 0.0f;
    if (e && e->clip) /* as unary_forward's Clip */
        for (size_t p = 0; p < n; p++)
            y[p] = y[p] < e->lo ? e->lo : y[p] > e->hi ? e->hi : y[p];
}

void epilogue_apply(float *y, const float *res, size_t n, const gc_epilogue *e, int c)
{
    epilogue_scale(y, n, e, c);
    epilogue_finish(y, res, n, e);
}
