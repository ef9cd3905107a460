/* x86/gather_avx2.c — the stride-2 gather of conv2d_blocked.c's im2col,
 * 8 outputs from two 8-float loads at a time, for CPUs with AVX2 (compiled
 * for it; cpu.c offers it only to them): gather_avx512.c at half the
 * width. The masks keep every load inside [src, src + 2 len - 1).
 * Deliberately not here: other strides. */
#include "ops/x86/kernels.h"
#include "ops/x86/lanes_avx2.h"

#include <immintrin.h>

void gather2_avx2(float *dst, const float *src, int len)
{
    for (int q = 0; q < len; q += 8) {
        const int n = len - q < 8 ? len - q : 8, span = 2 * n - 1; /* floats read */
        const __m256 a = _mm256_maskload_ps(src + 2 * q, lanes8_first(span));
        const __m256 b = _mm256_maskload_ps(src + 2 * q + 8, lanes8_first(span - 8));
        _mm256_maskstore_ps(dst + q, lanes8_first(n), evens(a, b));
    }
}
