/* avx512_lanes.h — lane masks shared by the AVX-512 kernels: which of 16
 * lanes fall inside a row, and the first n lanes. Include only from files
 * built with the AVX-512 target attribute (see winograd_avx512.c). */
#ifndef GC_OPS_AVX512_LANES_H
#define GC_OPS_AVX512_LANES_H

#include <immintrin.h>

/* Lanes l of a 16-float load at column c0 that fall inside [0, w). */
__attribute__((target("avx512f"))) static inline __mmask16 lanes_inside(int c0, int w)
{
    int lo = c0 < 0 ? -c0 : 0, hi = w - c0 < 16 ? w - c0 : 16;
    if (hi <= lo)
        return 0;
    return (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

/* The first n lanes. */
__attribute__((target("avx512f"))) static inline __mmask16 lanes_first(int n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

#endif
