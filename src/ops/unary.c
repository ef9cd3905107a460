/* unary.c — elementwise activations and their gradients: ReLU (with its
 * guided form), and the others ONNX models use (sigmoid, clip/ReLU6,
 * leaky ReLU, hard sigmoid/swish, sqrt, erf for GELU, pow by a constant,
 * tanh, exp, neg). Derivatives follow PyTorch's
 * backward formulas where a model exported from PyTorch meets a kink
 * (hardtanh and hardsigmoid use strict bounds, hardswish its piecewise
 * form), so Grad-CAM matches autograd exactly. */
#include "ops/ops.h"
#include "ops/cpu.h"
#include "ops/unary_loops.h"

#include <omp.h>

#include <math.h>


void relu_forward(float *out, const float *in, size_t count)
{
    #pragma omp parallel for schedule(static) if (count >= OPS_PARALLEL_MIN)
    for (size_t i = 0; i < count; i++)
        out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void relu_backward_input(float *din, const float *dout, const float *out, size_t count)
{
    #pragma omp parallel for schedule(static) if (count >= OPS_PARALLEL_MIN)
    for (size_t i = 0; i < count; i++)
        if (out[i] > 0.0f)
            din[i] += dout[i];
}

void relu_backward_input_guided(float *din, const float *dout, const float *out,
                                size_t count)
{
    #pragma omp parallel for schedule(static) if (count >= OPS_PARALLEL_MIN)
    for (size_t i = 0; i < count; i++)
        if (out[i] > 0.0f && dout[i] > 0.0f)
            din[i] += dout[i];
}


/* Splits the map between threads on big tensors, each thread calling the
 * tier's compiled form of unary_loops.h on its own share. */
void unary_forward(int kind, float alpha, float beta, float *y, const float *x, size_t count)
{
    gc_unary_fn *map = gc_kernels_active()->unary_map;
    if (!map)
        map = unary_map_portable;
    #pragma omp parallel if (count >= OPS_PARALLEL_MIN)
    {
        const size_t nt = (size_t)omp_get_num_threads(), me = (size_t)omp_get_thread_num();
        const size_t lo = count * me / nt, hi = count * (me + 1) / nt;
        map(kind, alpha, beta, y + lo, x + lo, hi - lo);
    }
}

void unary_map_portable(int kind, float alpha, float beta, float *y, const float *x,
                        size_t count)
{
    unary_map_body(kind, alpha, beta, y, x, count);
}

void unary_backward_input(int kind, float alpha, float beta, float *dx, const float *dy,
                          const float *x, const float *y, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        /* x is NULL where the input was not kept (a Clip fused into its
         * convolution): only kinds that need no x come here then */
        float g = dy[i], v = x ? x[i] : 0.0f, d = 0.0f;
        switch (kind) {
        case GC_U_SIGMOID: d = y[i] * (1.0f - y[i]); break;
        /* from the output, which is all a Clip fused into a convolution keeps:
         * alpha < y < beta exactly where alpha < x < beta */
        case GC_U_CLIP: d = (y[i] > alpha && y[i] < beta) ? 1.0f : 0.0f; break;
        case GC_U_LEAKY_RELU: d = v > 0.0f ? 1.0f : alpha; break;
        case GC_U_HARD_SIGMOID: {
            float t = alpha * v + beta;
            d = (t > 0.0f && t < 1.0f) ? alpha : 0.0f;
            break;
        }
        case GC_U_HARD_SWISH:
            d = v < -3.0f ? 0.0f : v <= 3.0f ? v / 3.0f + 0.5f : 1.0f;
            break;
        case GC_U_SQRT: d = 0.5f / y[i]; break;
        case GC_U_ERF: d = 1.12837916709551257f * expf(-v * v); break;
        case GC_U_POW: d = alpha == 2.0f ? 2.0f * v : alpha * powf(v, alpha - 1.0f); break;
        case GC_U_TANH: d = 1.0f - y[i] * y[i]; break;
        case GC_U_EXP: d = y[i]; break;
        case GC_U_NEG: d = -1.0f; break;
        }
        dx[i] += g * d;
    }
}
