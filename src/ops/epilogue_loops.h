/* epilogue_loops.h — the convolution epilogue's loop (ops.h, gc_epilogue)
 * as a static inline body that each CPU tier's file compiles with its own
 * flags (affine.c for the portable tier, x86/epilogue_avx2.c and
 * x86/epilogue_avx512.c), so that the same C becomes vector code at the
 * tier's width. Every tier gives the same bits: each step is one IEEE
 * operation in the separate kernels' order, and this project compiles
 * without contraction into fused multiply-adds. */
#ifndef GC_OPS_EPILOGUE_LOOPS_H
#define GC_OPS_EPILOGUE_LOOPS_H

#include "ops/ops.h"
#include "ops/unary_loops.h"

/* One pass over n values: y (+ bias) (* a + b) (+ res) then ReLU or clip.
 * The flags are constants in every call below, so each combination is its
 * own loop with no test inside (and vectorises). Per element the steps are
 * those of the separate kernels, in their order: the same bits. */
enum { ACT_NONE, ACT_RELU, ACT_CLIP, ACT_SILU, ACT_HSWISH };
static inline __attribute__((always_inline)) void
epi_pass(float *restrict y, const float *restrict res, size_t n, float bias, float a, float b,
         float lo, float hi, const int has_bias, const int has_scale, const int has_res,
         const int act)
{
    for (size_t p = 0; p < n; p++) {
        float v = y[p];
        if (has_bias)
            v = v + bias;
        if (has_scale)
            v = v * a + b;
        if (has_res)
            v = v + res[p];
        if (act == ACT_RELU)
            v = v > 0.0f ? v : 0.0f;
        if (act == ACT_CLIP) /* as unary_forward's Clip (unary_loops.h) */
            v = unary_clip(v, lo, hi);
        if (act == ACT_SILU) /* as unary_forward's Sigmoid, then the product */
            v = v * (1.0f / (1.0f + unary_exp(-v)));
        if (act == ACT_HSWISH) /* as unary_forward's HardSigmoid, then the product */
            v = v * unary_hsig(v, lo, hi);
        y[p] = v;
    }
}

#define EPI_CASE(B, S, R, A)                                                                \
    case (B) | (S) << 1 | (R) << 2 | (A) << 3:                                              \
        epi_pass(y, res, n, bv, a, b, lo, hi, B, S, R, A);                                  \
        return;
#define EPI_ACTS(B, S, R) EPI_CASE(B, S, R, ACT_NONE) EPI_CASE(B, S, R, ACT_RELU)          \
    EPI_CASE(B, S, R, ACT_CLIP) EPI_CASE(B, S, R, ACT_SILU) EPI_CASE(B, S, R, ACT_HSWISH)
#define EPI_RES(B, S) EPI_ACTS(B, S, 0) EPI_ACTS(B, S, 1)
#define EPI_SCALE(B) EPI_RES(B, 0) EPI_RES(B, 1)

/* bias: the channel's bias or NULL; use_scale: whether e's map applies. */
static inline void epilogue_pass_body(float *y, const float *res, size_t n, const float *bias,
                          const gc_epilogue *e, int c, int use_scale)
{
    const int has_scale = use_scale && e && e->scale, has_res = e && res;
    const int act = !e          ? ACT_NONE
                    : e->relu   ? ACT_RELU
                    : e->clip   ? ACT_CLIP
                    : e->gate == GC_GATE_SIGMOID      ? ACT_SILU
                    : e->gate == GC_GATE_HARD_SIGMOID ? ACT_HSWISH
                                                   : ACT_NONE;
    const float bv = bias ? *bias : 0.0f, a = has_scale ? e->scale[c] : 1.0f;
    const float b = has_scale ? e->shift[c] : 0.0f;
    /* the two constants of the activation: Clip's bounds, HardSigmoid's slope and offset */
    const float lo = act == ACT_CLIP ? e->lo : act == ACT_HSWISH ? e->ga : 0.0f;
    const float hi = act == ACT_CLIP ? e->hi : act == ACT_HSWISH ? e->gb : 0.0f;
    switch ((bias != NULL) | has_scale << 1 | has_res << 2 | act << 3) {
        EPI_SCALE(0)
        EPI_SCALE(1)
    }
}

#endif
