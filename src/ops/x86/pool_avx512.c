/* pool_avx512.c — the max pooling of ResNet's stem (3x3 windows, stride 2,
 * padding 1) for CPUs with AVX-512, 16 outputs per vector: a masked load
 * reads a row with its padding (masked-off lanes are -inf, which no fold
 * takes) and permutes split it into each window's three columns. The taps
 * are folded in the portable loop's order with its comparison, so ties and
 * NaNs come out the same, bit for bit (pool.c calls this only where it
 * applies; compiled for AVX-512, offered by cpu.c only to CPUs with it).
 * Deliberately not here: other windows, the backward pass. */
#include "ops/x86/kernels.h"
#include "ops/x86/lanes_avx512.h"

#include <immintrin.h>
#include <math.h>


/* b = (v > b || v != v) ? v : b, lane by lane: the portable fold. */
static inline __m512 fold(__m512 b, __m512 v)
{
    const __mmask16 take =
        _mm512_cmp_ps_mask(v, b, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    return _mm512_mask_mov_ps(b, take, v);
}

void maxpool_stem_avx512(float *out, const float *in, const gc_window *s)
{
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    const __m512 none = _mm512_set1_ps(-INFINITY);
    #pragma omp parallel for schedule(static)
    for (int p = 0; p < s->n * s->c; p++) {
        const float *x = in + (size_t)p * s->h * s->w;
        for (int oy = 0; oy < s->ho; oy++) {
            float *o = out + ((size_t)p * s->ho + oy) * s->wo;
            for (int ox0 = 0; ox0 < s->wo; ox0 += 16) {
                /* Output ox0 + l reads columns c0 + 2l, c0 + 2l + 1, c0 + 2l + 2. */
                const int c0 = 2 * ox0 - 1;
                const __mmask16 m0 = lanes_inside(c0, s->w), m1 = lanes_inside(c0 + 16, s->w);
                const __mmask16 m2 = lanes_inside(c0 + 2, s->w), m3 = lanes_inside(c0 + 18, s->w);
                __m512 best = none;
                for (int i = 0; i < 3; i++) {
                    const int y = 2 * oy - 1 + i;
                    if (y < 0 || y >= s->h)
                        continue;
                    const float *row = x + (size_t)y * s->w; /* c0 may be -1 */
                    const __m512 l0 = _mm512_mask_loadu_ps(none, m0, row + c0);
                    const __m512 l1 = _mm512_mask_loadu_ps(none, m1, row + c0 + 16);
                    const __m512 l2 = _mm512_mask_loadu_ps(none, m2, row + c0 + 2);
                    const __m512 l3 = _mm512_mask_loadu_ps(none, m3, row + c0 + 18);
                    best = fold(best, _mm512_permutex2var_ps(l0, even, l1));
                    best = fold(best, _mm512_permutex2var_ps(l0, odd, l1));
                    best = fold(best, _mm512_permutex2var_ps(l2, even, l3));
                }
                _mm512_mask_storeu_ps(o + ox0, lanes_first(s->wo - ox0), best);
            }
        }
    }
}
