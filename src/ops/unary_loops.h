/* unary_loops.h — the forward loops of the elementwise activations, as a
 * static inline body that each CPU tier's file compiles with its own flags
 * (unary.c for the portable tier, x86/unary_avx2.c and x86/unary_avx512.c),
 * so that the same C becomes vector code at the tier's width: the
 * sigmoid's exponential below is branch-free for that reason, and the
 * portable tier (SSE2 has no blend) runs it a lane at a time. Single
 * threaded: unary_forward splits the work. */
#ifndef GC_OPS_UNARY_LOOPS_H
#define GC_OPS_UNARY_LOOPS_H

#include "ops/ops.h"

#include <math.h>
#include <stdint.h>

static inline float unary_hsig(float x, float a, float b)
{
    float v = a * x + b;
    return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
}

/* Clip as two steps, max then min, each a single vector instruction (and
 * NaN passes through): for min > max everything becomes max, as in
 * PyTorch's clamp. */
static inline float unary_clip(float v, float lo, float hi)
{
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

/* e^x to within 2 ulp for |x| <= 87 (Cody-Waite reduction to
 * r in [-ln2/2, ln2/2], a degree-6 polynomial, 2^n put into the exponent),
 * branch-free so that the loops below vectorise; glibc's expf does not.
 * Beyond that range it saturates (e^-87 ~ 1.6e-38, e^87 ~ 6e37), which is
 * all the sigmoid needs. */
/* a b + c: one fused multiply-add on tiers that have it (the avx2 and
 * avx512 files are compiled with -mfma), else a product and a sum; so the
 * tiers may differ in the last bit, but each tier agrees with itself
 * wherever this header's loops are compiled for it. */
#ifdef __FMA__
#define UNARY_FMA(a, b, c) __builtin_fmaf((a), (b), (c))
#else
#define UNARY_FMA(a, b, c) ((a) * (b) + (c))
#endif

static inline float unary_exp(float x)
{
    x = x < -87.0f ? -87.0f : x > 87.0f ? 87.0f : x;
    /* round to nearest: adding 1.5 * 2^23 pushes the fraction out */
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    const float r = (x - n * 0.693145751953125f) - n * 1.428606765330187e-6f;
    float p = 1.0f / 720.0f;
    p = UNARY_FMA(p, r, 1.0f / 120.0f);
    p = UNARY_FMA(p, r, 1.0f / 24.0f);
    p = UNARY_FMA(p, r, 1.0f / 6.0f);
    p = UNARY_FMA(p, r, 0.5f);
    p = UNARY_FMA(p, r, 1.0f);
    p = UNARY_FMA(p, r, 1.0f);
    union { float f; int32_t i; } scale = {.i = ((int32_t)n + 127) << 23};
    return p * scale.f;
}

/* y[i] = expr(x[i]) for all i: one loop per kind, so the switch is outside
 * the loop and the loop vectorises. */
#define UNARY_MAP(expr)                                                                     \
    do {                                                                                    \
        for (size_t i = 0; i < count; i++) {                                                \
            const float v = x[i];                                                           \
            y[i] = (expr);                                                                  \
        }                                                                                   \
    } while (0)

static inline void unary_map_body(int kind, float alpha, float beta, float *y,
                                  const float *x, size_t count)
{
    switch (kind) {
    case GC_U_SIGMOID: UNARY_MAP(1.0f / (1.0f + unary_exp(-v))); break;
    case GC_U_CLIP: UNARY_MAP(unary_clip(v, alpha, beta)); break;
    case GC_U_LEAKY_RELU: UNARY_MAP(v >= 0.0f ? v : v * alpha); break;
    case GC_U_HARD_SIGMOID: UNARY_MAP(unary_hsig(v, alpha, beta)); break;
    case GC_U_HARD_SWISH: UNARY_MAP(v * unary_hsig(v, 1.0f / 6.0f, 0.5f)); break;
    case GC_U_SQRT: UNARY_MAP(sqrtf(v)); break;
    case GC_U_ERF: UNARY_MAP(erff(v)); break;
    case GC_U_POW: UNARY_MAP(alpha == 2.0f ? v * v : powf(v, alpha)); break;
    case GC_U_TANH: UNARY_MAP(tanhf(v)); break;
    case GC_U_EXP: UNARY_MAP(expf(v)); break;
    case GC_U_NEG: UNARY_MAP(-v); break;
    }
}

#endif
