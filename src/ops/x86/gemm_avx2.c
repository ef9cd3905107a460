/* x86/gemm_avx2.c — C = A B (or C += A B, or A^T B) for row-major float
 * matrices with AVX2 + FMA register blocking and no packing of either
 * operand: gemm_avx512.c's design (read it for why not BLAS) at half the
 * vector width, for CPUs without AVX-512. With 16 ymm registers a
 * micro-kernel keeps a 6 x 16 block of C (12 registers) plus two of B and
 * one broadcast of A.
 *
 * Compiled with -mavx2 -mfma (this folder's rule); cpu.c offers it only to
 * CPUs with both. Deliberately not here: a transposed B, alpha/beta other
 * than 0/1, or sharing code with the AVX-512 kernel (the two differ in
 * every line that touches a register). */
#include "ops/gemm_units.h"
#include "ops/x86/kernels.h"
#include "ops/x86/lanes_avx2.h"

#include <immintrin.h>
#include <string.h>

#define MR 6            /* rows of C per micro-kernel                      */
#define NV 2            /* 8-float vectors of C per row                    */
#define NR (NV * 8)     /* columns per block                               */
#define KC 512          /* inner-dimension slice kept hot between calls    */
#define MC 48           /* about this many rows per unit of work           */

/* Unrolled before register allocation, or acc[][] lives in memory. */
#define UNROLL _Pragma("GCC unroll 8")

/* One 8-float row piece of B: a masked load only where the block's last
 * vector is partial (masked, a constant at every call site). */
static inline __attribute__((always_inline)) __m256 load_b(const float *p, int masked,
                                                           __m256i last)
{
    return masked ? _mm256_maskload_ps(p, last) : _mm256_loadu_ps(p);
}

static inline float sum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)));
}

/* The register block for mr rows, nv vectors (constants at every call
 * site). masked: the last vector of each row is partial (lanes `last`).
 * ta: A is given transposed. dot: one more column after the nv vectors,
 * its kc values of B gathered in dot[], done as a dot product along k, 8
 * steps of k per FMA (a 7x7 map is 6 vectors and 1 column). */
static inline __attribute__((always_inline)) void
block(int ta, int mr, int nv, int masked, int kc, const float *a, int lda, const float *b,
      int ldb, float *c, int ldc, __m256i last, int accumulate, const float *dot)
{
    __m256 acc[MR][NV], dacc[MR];
    UNROLL for (int i = 0; i < mr; i++) {
        dacc[i] = _mm256_setzero_ps();
        UNROLL for (int v = 0; v < nv; v++) {
            const float *ci = c + (size_t)i * ldc + 8 * v;
            acc[i][v] = !accumulate ? _mm256_setzero_ps()
                        : masked && v == nv - 1 ? _mm256_maskload_ps(ci, last)
                                                : _mm256_loadu_ps(ci);
        }
    }
    for (int p = 0, next = 0; p < kc; p++) {
        if (dot && p == next) { /* every 8 steps of k (or at the end) */
            const __m256i km = lanes8_first(kc - p);
            const __m256 bc = _mm256_maskload_ps(dot + p, km);
            UNROLL for (int i = 0; i < mr; i++)
                dacc[i] = _mm256_fmadd_ps(_mm256_maskload_ps(a + (size_t)i * lda + p, km), bc,
                                          dacc[i]);
            next += 8;
        }
        if (!ta && (p & 15) == 0) /* the next block's rows of A, on their way from memory */
            UNROLL for (int i = 0; i < MR; i++)
                _mm_prefetch((const char *)(a + (size_t)(MR + i) * lda + p), _MM_HINT_T0);
        __m256 bv[NV];
        const float *bp = b + (size_t)p * ldb;
        UNROLL for (int v = 0; v < nv; v++)
            bv[v] = load_b(bp + 8 * v, masked && v == nv - 1, last);
        UNROLL for (int i = 0; i < mr; i++) {
            __m256 av = _mm256_broadcast_ss(ta ? a + (size_t)p * lda + i : a + (size_t)i * lda + p);
            UNROLL for (int v = 0; v < nv; v++)
                acc[i][v] = _mm256_fmadd_ps(av, bv[v], acc[i][v]);
        }
    }
    UNROLL for (int i = 0; i < mr; i++) {
        UNROLL for (int v = 0; v < nv; v++) {
            float *ci = c + (size_t)i * ldc + 8 * v;
            if (masked && v == nv - 1)
                _mm256_maskstore_ps(ci, last, acc[i][v]);
            else
                _mm256_storeu_ps(ci, acc[i][v]);
        }
        if (dot) {
            float *ci = c + (size_t)i * ldc + 8 * nv, sum = sum8(dacc[i]);
            *ci = accumulate ? *ci + sum : sum;
        }
    }
}

/* One instance of block() per (mr, nv, masked, with or without the dot
 * column): the switches turn the run-time sizes into compile-time ones. */
#define NV_CASES(t, mr, d)                                                                   \
    switch (2 * nv + masked) {                                                               \
    case 2: block(t, mr, 1, 0, kc, a, lda, b, ldb, c, ldc, last, accumulate, d); break;      \
    case 3: block(t, mr, 1, 1, kc, a, lda, b, ldb, c, ldc, last, accumulate, d); break;      \
    case 4: block(t, mr, 2, 0, kc, a, lda, b, ldb, c, ldc, last, accumulate, d); break;      \
    default: block(t, mr, 2, 1, kc, a, lda, b, ldb, c, ldc, last, accumulate, d); break;     \
    }
#define MR_CASES(t, d)                                                                       \
    switch (mr) {                                                                            \
    case 1: NV_CASES(t, 1, d) break;                                                         \
    case 2: NV_CASES(t, 2, d) break;                                                         \
    case 3: NV_CASES(t, 3, d) break;                                                         \
    case 4: NV_CASES(t, 4, d) break;                                                         \
    case 5: NV_CASES(t, 5, d) break;                                                         \
    default: NV_CASES(t, 6, d) break;                                                        \
    }

static void micro(int ta, int mr, int nv, int masked, int kc, const float *a, int lda,
                  const float *b, int ldb, float *c, int ldc, __m256i last, int accumulate,
                  const float *dot)
{
    if (ta)
        MR_CASES(1, NULL) /* the dot column reads rows of A: never transposed */
    else if (dot)
        MR_CASES(0, dot)
    else
        MR_CASES(0, NULL)
}

/* Rows [m0, m1) of columns [n0, n0 + nr) of C. */
static void unit(const gemm_args *g, int m0, int m1, int n0, int nr)
{
    const int ta = g->ta, k = g->k, lda = g->lda, ldb = g->ldb, ldc = g->ldc;
    const float *a = g->a, *b = g->b;
    float *c = g->c;
    const int accumulate = g->accumulate;
    int nv = (nr + 7) / 8, tail = nr - 8 * (nv - 1);
    /* A lone last column (a 7x7 map's 49 = 3 x 16 + 1) goes to the dot product. */
    const int lone = tail == 1 && nv > 1 && !ta;
    if (lone)
        nv--, tail = 8;
    const int masked = tail < 8;
    const __m256i last = lanes8_first(tail);
    float dot[KC];
    /* A transposed A is copied to pack[kc][MC] a slice at a time (rows lda
     * apart fight over a few cache sets when lda is a large power of 2). */
    float pack[KC * MC];
    for (int k0 = 0; k0 < k; k0 += KC) {
        const int kc = k - k0 < KC ? k - k0 : KC;
        const int acc = accumulate || k0 > 0;
        for (int p = 0; lone && p < kc; p++)
            dot[p] = b[(size_t)(k0 + p) * ldb + n0 + 8 * nv];
        for (int s0 = m0; s0 < m1; s0 += MC) {
            const int s1 = m1 - s0 < MC ? m1 : s0 + MC;
            for (int p = 0; ta && p < kc; p++)
                memcpy(pack + (size_t)p * MC, a + (size_t)(k0 + p) * lda + s0,
                       sizeof(float) * (s1 - s0));
            for (int m = s0; m < s1; m += MR) {
                const int mr = s1 - m < MR ? s1 - m : MR;
                const float *am = ta ? pack + (m - s0) : a + (size_t)m * lda + k0;
                micro(ta, mr, nv, masked, kc, am, ta ? MC : lda, b + (size_t)k0 * ldb + n0,
                      ldb, c + (size_t)m * ldc + n0, ldc, last, acc, lone ? dot : NULL);
            }
        }
    }
}

void gemm_nn_avx2(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                  float *c, int ldc, int accumulate)
{
    const gemm_args g = {0, m, n, k, a, b, c, lda, ldb, ldc, accumulate};
    gemm_units_run(&g, unit, MR, NR, MC);
}

void gemm_tn_avx2(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                  float *c, int ldc, int accumulate)
{
    const gemm_args g = {1, m, n, k, a, b, c, lda, ldb, ldc, accumulate};
    gemm_units_run(&g, unit, MR, NR, MC);
}
