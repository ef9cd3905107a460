/* unary.c — elementwise activations and their gradients: ReLU (with its
 * guided form), and the others ONNX models use (sigmoid, clip/ReLU6,
 * leaky ReLU, hard sigmoid/swish, sqrt, erf for GELU, pow by a constant,
 * tanh, exp, neg). Derivatives follow PyTorch's
 * backward formulas where a model exported from PyTorch meets a kink
 * (hardtanh and hardsigmoid use strict bounds, hardswish its piecewise
 * form), so Grad-CAM matches autograd exactly. */
#include "ops/ops.h"

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


static float hsig(float x, float a, float b)
{
    float v = a * x + b;
    return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
}

void unary_forward(int kind, float alpha, float beta, float *y, const float *x, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        float v = x[i];
        switch (kind) {
        case GC_U_SIGMOID: v = 1.0f / (1.0f + expf(-v)); break;
        case GC_U_CLIP: v = v < alpha ? alpha : v > beta ? beta : v; break;
        case GC_U_LEAKY_RELU: v = v >= 0.0f ? v : v * alpha; break;
        case GC_U_HARD_SIGMOID: v = hsig(v, alpha, beta); break;
        case GC_U_HARD_SWISH: v = v * hsig(v, 1.0f / 6.0f, 0.5f); break;
        case GC_U_SQRT: v = sqrtf(v); break;
        case GC_U_ERF: v = erff(v); break;
        case GC_U_POW: v = alpha == 2.0f ? v * v : powf(v, alpha); break;
        case GC_U_TANH: v = tanhf(v); break;
        case GC_U_EXP: v = expf(v); break;
        case GC_U_NEG: v = -v; break;
        }
        y[i] = v;
    }
}

void unary_backward_input(int kind, float alpha, float beta, float *dx, const float *dy,
                          const float *x, const float *y, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        float g = dy[i], v = x[i], d = 0.0f;
        switch (kind) {
        case GC_U_SIGMOID: d = y[i] * (1.0f - y[i]); break;
        case GC_U_CLIP: d = (v > alpha && v < beta) ? 1.0f : 0.0f; break;
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
