/* conv2d_depthwise.c — convolutions with one input channel per group
 * (MobileNet's and EfficientNet's depthwise layers, any kernel size,
 * stride, padding, dilation and channel multiplier), computed directly:
 * no im2col, no GEMM, which for a single input channel would be a matrix
 * product with one row. Each output plane is one task, so every thread has
 * whole planes; its bias and the fused epilogue (BatchNorm map, residual,
 * ReLU or Clip) are applied while the plane is still in cache. Each thread has
 * its own slice of the workspace for the plane's phase planes. The row loops live
 * in depthwise_rows.h, compiled once per CPU tier. Deliberately not here:
 * groups with more than one input channel (conv2d.c). */
#include "ops/cpu.h"
#include "ops/depthwise_rows.h"
#include "ops/ops.h"

#include <omp.h>

int conv2d_depthwise_applies(const gc_window *s)
{
    return s->groups > 1 && s->groups == s->c;
}

size_t conv2d_depthwise_workspace(const gc_window *s)
{
    return (size_t)omp_get_max_threads() * dw_scratch(s);
}

/* Whether the work is big enough to wake the other threads for. */
static int worth_threads(const gc_window *s)
{
    return (size_t)s->n * s->oc * s->ho * s->wo * s->kh * s->kw >= OPS_PARALLEL_MIN / 16;
}

void conv2d_depthwise_forward(float *out, const float *in, const float *weight,
                              const float *bias, const gc_epilogue *epi, const gc_window *s,
                              float *work)
{
    const gc_kernels *kt = gc_kernels_active();
    const int mult = s->oc / s->c, taps = s->kh * s->kw;
    const size_t plane_in = (size_t)s->h * s->w, plane_out = (size_t)s->ho * s->wo;
    #pragma omp parallel for schedule(static) if (worth_threads(s))
    for (int p = 0; p < s->n * s->oc; p++) {
        const int n = p / s->oc, o = p % s->oc;
        const float *x = in + ((size_t)n * s->c + o / mult) * plane_in;
        float *y = out + (size_t)p * plane_out;
        const float *w = weight + (size_t)o * taps;
        const float b = bias ? bias[o] : 0.0f;
        float *scratch = work + dw_scratch(s) * omp_get_thread_num();
        const float *res = epilogue_residual(epi, (size_t)p * plane_out);
        if (kt->depthwise_plane)
            kt->depthwise_plane(y, x, w, b, epi, o, res, s, scratch);
        else
            depthwise_plane_body(y, x, w, b, epi, o, res, s, scratch);
    }
}

void conv2d_depthwise_backward_input(float *din, const float *dout, const float *weight,
                                     const gc_window *s, float *work)
{
    const gc_kernels *kt = gc_kernels_active();
    const int mult = s->oc / s->c, taps = s->kh * s->kw;
    const size_t plane_in = (size_t)s->h * s->w, plane_out = (size_t)s->ho * s->wo;
    /* One task per input plane: it alone gathers from its `mult` outputs. */
    #pragma omp parallel for schedule(static) if (worth_threads(s))
    for (int p = 0; p < s->n * s->c; p++) {
        const int n = p / s->c, c = p % s->c;
        float *dx = din + (size_t)p * plane_in;
        float *scratch = work + dw_scratch(s) * omp_get_thread_num();
        for (int q = 0; q < mult; q++) {
            const int o = c * mult + q;
            const float *dy = dout + ((size_t)n * s->oc + o) * plane_out;
            const float *w = weight + (size_t)o * taps;
            if (kt->depthwise_plane_back)
                kt->depthwise_plane_back(dx, dy, w, s, scratch);
            else
                depthwise_plane_back_body(dx, dy, w, s, scratch);
        }
    }
}
