/* x86/pool_avx2.c — the max pooling of ResNet's stem (3x3 windows, stride
 * 2, padding 1) for CPUs with AVX2, 8 outputs per vector: pool_avx512.c's
 * method at half the width. Masked loads read a row with its padding
 * (masked-off lanes read nothing and are then set to -inf, which no fold
 * takes); a shuffle and a permute split it into each window's three
 * columns. The taps are folded in the portable loop's order with its
 * comparison, so ties and NaNs come out the same, bit for bit. Compiled
 * for AVX2; cpu.c offers it only to CPUs with it. Deliberately not here:
 * other windows, the backward pass. */
#include "ops/x86/kernels.h"
#include "ops/x86/lanes_avx2.h"

#include <immintrin.h>
#include <math.h>

/* b = (v > b || v != v) ? v : b, lane by lane: the portable fold. */
static inline __m256 fold(__m256 b, __m256 v)
{
    const __m256 take = _mm256_or_ps(_mm256_cmp_ps(v, b, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    return _mm256_blendv_ps(b, v, take);
}

/* 8 floats from p, -inf in the lanes outside m. */
static inline __m256 load_or_none(const float *p, __m256i m)
{
    return _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_maskload_ps(p, m),
                            _mm256_castsi256_ps(m));
}

void maxpool_stem_avx2(float *out, const float *in, const gc_window *s)
{
    #pragma omp parallel for schedule(static)
    for (int p = 0; p < s->n * s->c; p++) {
        const float *x = in + (size_t)p * s->h * s->w;
        for (int oy = 0; oy < s->ho; oy++) {
            float *o = out + ((size_t)p * s->ho + oy) * s->wo;
            for (int ox0 = 0; ox0 < s->wo; ox0 += 8) {
                /* Output ox0 + l reads columns c0 + 2l, c0 + 2l + 1, c0 + 2l + 2. */
                const int c0 = 2 * ox0 - 1;
                const __m256i m0 = lanes8_inside(c0, s->w), m1 = lanes8_inside(c0 + 8, s->w);
                const __m256i m2 = lanes8_inside(c0 + 2, s->w), m3 = lanes8_inside(c0 + 10, s->w);
                __m256 best = _mm256_set1_ps(-INFINITY);
                for (int i = 0; i < 3; i++) {
                    const int y = 2 * oy - 1 + i;
                    if (y < 0 || y >= s->h)
                        continue;
                    const float *row = x + (size_t)y * s->w; /* c0 may be -1 */
                    const __m256 l0 = load_or_none(row + c0, m0), l1 = load_or_none(row + c0 + 8, m1);
                    const __m256 l2 = load_or_none(row + c0 + 2, m2);
                    const __m256 l3 = load_or_none(row + c0 + 10, m3);
                    best = fold(best, evens(l0, l1));
                    best = fold(best, odds(l0, l1));
                    best = fold(best, evens(l2, l3));
                }
                _mm256_maskstore_ps(o + ox0, lanes8_first(s->wo - ox0), best);
            }
        }
    }
}
