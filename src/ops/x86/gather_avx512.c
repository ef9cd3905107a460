/* x86/gather_avx512.c — the stride-2 gather of conv2d_blocked.c's im2col
 * (a stride-2 convolution reads every other input column), 16 outputs
 * from two 16-float loads at a time, for CPUs with AVX-512 (compiled for
 * it; cpu.c offers it only to them). The masks keep every load inside
 * [src, src + 2 len - 1), so nothing past the row's last float is read.
 * Deliberately not here: other strides (conv2d_blocked.c copies those). */
#include "ops/x86/kernels.h"

#include <immintrin.h>

void gather2_avx512(float *dst, const float *src, int len)
{
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    for (int q = 0; q < len; q += 16) {
        const int n = len - q < 16 ? len - q : 16, span = 2 * n - 1; /* floats read */
        const __mmask16 m0 = (__mmask16)(span >= 16 ? 0xFFFF : (1u << span) - 1);
        const __mmask16 m1 = (__mmask16)(span > 16 ? (1u << (span - 16)) - 1 : 0);
        __m512 a = _mm512_maskz_loadu_ps(m0, src + 2 * q);
        __m512 b = _mm512_maskz_loadu_ps(m1, src + 2 * q + 16);
        _mm512_mask_storeu_ps(dst + q, (__mmask16)((1u << n) - 1),
                              _mm512_permutex2var_ps(a, even, b));
    }
}
