/* x86/epilogue_avx512.c — epilogue_loops.h's loop compiled for AVX512
 * (this folder's rule sets the flags by file name), so the compiler
 * vectorises it at that width. cpu.c offers it only to CPUs with it. */
#include "ops/x86/kernels.h"

#include "ops/epilogue_loops.h"

void epilogue_avx512(float *y, const float *res, size_t n, const float *bias,
                     const gc_epilogue *e, int c, int use_scale)
{
    epilogue_pass_body(y, res, n, bias, e, c, use_scale);
}
