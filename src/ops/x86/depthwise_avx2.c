/* x86/depthwise_avx2.c — depthwise_rows.h's plane loops compiled for
 * AVX2 (this folder's rule sets the flags by file name), so the compiler
 * vectorises them at that width. cpu.c offers them only to CPUs with it. */
#include "ops/x86/kernels.h"

#include "ops/depthwise_rows.h"

void depthwise_plane_avx2(float *y, const float *x, const float *w, float b,
                            const gc_epilogue *e, int c, const float *res, const gc_window *s,
                            float *scratch)
{
    depthwise_plane_body(y, x, w, b, e, c, res, s, scratch);
}

void depthwise_plane_back_avx2(float *dx, const float *dy, const float *w, const gc_window *s,
                             float *scratch)
{
    depthwise_plane_back_body(dx, dy, w, s, scratch);
}
