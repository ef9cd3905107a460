/* x86/lanes_avx512.h — what the AVX-512 kernels share: lane masks (which
 * of 16 lanes fall inside a row, the first n lanes), one output channel's
 * bias and BatchNorm map, broadcast, and where that channel's products
 * and outputs lie in a Winograd output transform. Include only from the
 * *_avx512.c files of this folder, which are compiled for AVX-512. */
#ifndef GC_OPS_X86_LANES_AVX512_H
#define GC_OPS_X86_LANES_AVX512_H

#include "ops/ops.h"

#include <immintrin.h>

/* Lanes l of a 16-float load at column c0 that fall inside [0, w). */
static inline __mmask16 lanes_inside(int c0, int w)
{
    int lo = c0 < 0 ? -c0 : 0, hi = w - c0 < 16 ? w - c0 : 16;
    if (hi <= lo)
        return 0;
    return (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

/* The first n lanes. */
static inline __mmask16 lanes_first(int n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

/* Output channel oc's bias b (0 without one) and, where epi has a
 * BatchNorm map, its scale sa and shift sb (else 1 and 0). */
typedef struct channel_consts {
    __m512 b, sa, sb;
} channel_consts;

static inline channel_consts
channel_consts_of(const float *bias, const gc_epilogue *epi, int oc)
{
    const int scaled = epi && epi->scale;
    return (channel_consts){_mm512_set1_ps(bias ? bias[oc] : 0.0f),
                            _mm512_set1_ps(scaled ? epi->scale[oc] : 1.0f),
                            _mm512_set1_ps(scaled ? epi->shift[oc] : 0.0f)};
}

/* Output channel k0 + r of a Winograd output transform: its constants,
 * its plane of image n, and its row of the products M (ldm a row, the
 * block's tiles from column col). */
typedef struct out_channel {
    channel_consts k;
    float *plane;
    const float *m;
} out_channel;

static inline out_channel
out_channel_of(float *out, const float *M, size_t ldm, int col, const float *bias,
               const gc_epilogue *epi, const gc_window *s, int n, int k0, int r)
{
    return (out_channel){channel_consts_of(bias, epi, k0 + r),
                         out + ((size_t)n * s->oc + k0 + r) * s->ho * s->wo,
                         M + (size_t)r * ldm + col};
}

#endif
