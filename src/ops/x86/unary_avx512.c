/* x86/unary_avx512.c — unary_loops.h's activation loops compiled for
 * AVX512 (this folder's rule sets the flags by file name), so the
 * compiler vectorises them at that width. cpu.c offers them only to CPUs
 * with it. */
#include "ops/x86/kernels.h"

#include "ops/unary_loops.h"

void unary_map_avx512(int kind, float alpha, float beta, float *y, const float *x, size_t count)
{
    unary_map_body(kind, alpha, beta, y, x, count);
}
