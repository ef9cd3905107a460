/* affine.c — per-channel maps: the BatchNorm affine map, and the epilogue
 * a convolution applies to its output channels (that map, a residual, a
 * ReLU), computed exactly as the separate kernels do. Forward and
 * gradient-to-input only. Memory-bound: both cores share the work only on
 * tensors large enough to pay for waking the second thread. */
#include "ops/cpu.h"
#include "ops/epilogue_loops.h"
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

/* Through the tier's compiled copy of the loop where it has one. */
static void epilogue_pass(float *y, const float *res, size_t n, const float *bias,
                          const gc_epilogue *e, int c, int use_scale)
{
    const gc_kernels *kt = gc_kernels_active();
    if (kt->epilogue)
        kt->epilogue(y, res, n, bias, e, c, use_scale);
    else
        epilogue_pass_body(y, res, n, bias, e, c, use_scale);
}

void epilogue_scale(float *y, size_t n, const gc_epilogue *e, int c)
{
    if (e && e->scale)
        epi_pass(y, NULL, n, 0.0f, e->scale[c], e->shift[c], 0.0f, 0.0f, 0, 1, 0, ACT_NONE);
}

void epilogue_finish(float *y, const float *res, size_t n, const gc_epilogue *e)
{
    epilogue_pass(y, res, n, NULL, e, 0, 0);
}

void epilogue_apply(float *y, const float *res, size_t n, const gc_epilogue *e, int c)
{
    epilogue_pass(y, res, n, NULL, e, c, 1);
}

void epilogue_bias_apply(float *y, const float *res, size_t n, const float *bias,
                         const gc_epilogue *e, int c)
{
    epilogue_pass(y, res, n, bias, e, c, 1);
}
