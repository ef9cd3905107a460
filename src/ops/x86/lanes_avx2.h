/* x86/lanes_avx2.h — what the AVX2 kernels share: lane masks for 8-float
 * masked loads and stores (AVX2 masks are vectors whose lanes have the top
 * bit set) and the loads and stores under them, the even and odd lanes of
 * two vectors, one output channel's bias and BatchNorm map, broadcast.
 * Include only from the *_avx2.c files of this folder, which are compiled
 * for AVX2 and FMA. Deliberately not here: anything a kernel uses alone. */
#ifndef GC_OPS_X86_LANES_AVX2_H
#define GC_OPS_X86_LANES_AVX2_H

#include "ops/ops.h"

#include <immintrin.h>

/* Lanes l of an 8-float load at column c0 that fall inside [0, w). */
static inline __m256i lanes8_inside(int c0, int w)
{
    const __m256i col = _mm256_add_epi32(_mm256_set1_epi32(c0),
                                         _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256i below = _mm256_cmpgt_epi32(_mm256_setzero_si256(), col);
    const __m256i inside = _mm256_cmpgt_epi32(_mm256_set1_epi32(w), col);
    return _mm256_andnot_si256(below, inside);
}

/* The first n lanes. */
static inline __m256i lanes8_first(int n) { return lanes8_inside(0, n); }

/* 8 floats at p, plain where all is set, else only lanes m (the others
 * are read from nowhere and are 0); and the store to match. */
static inline __m256 load8(const float *p, __m256i m, int all)
{
    return all ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, m);
}

static inline void store8(float *p, __m256i m, int all, __m256 v)
{
    if (all)
        _mm256_storeu_ps(p, v);
    else
        _mm256_maskstore_ps(p, m, v);
}

/* Lanes 0, 2, .., 14 (odd: 1, 3, .., 15) of the 16 floats a then b. */
static inline __m256 evens(__m256 a, __m256 b)
{
    const __m256 t = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)); /* a0 a2 b0 b2 a4 a6 b4 b6 */
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
}

static inline __m256 odds(__m256 a, __m256 b)
{
    const __m256 t = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
}

/* Output channel oc's bias b (0 without one) and, where epi has a
 * BatchNorm map, its scale sa and shift sb (else 1 and 0). */
typedef struct channel_consts8 {
    __m256 b, sa, sb;
} channel_consts8;

static inline channel_consts8 channel_consts8_of(const float *bias, const gc_epilogue *epi, int oc)
{
    const int scaled = epi && epi->scale;
    return (channel_consts8){_mm256_set1_ps(bias ? bias[oc] : 0.0f),
                             _mm256_set1_ps(scaled ? epi->scale[oc] : 1.0f),
                             _mm256_set1_ps(scaled ? epi->shift[oc] : 0.0f)};
}

#endif
