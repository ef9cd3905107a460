/* gemm_avx512.c — C = A B (or C += A B) for row-major float matrices, with
 * AVX-512 register blocking, A read in place and B copied per column block.
 *
 * Why not BLAS here: the convolutions multiply a weight matrix (A, fixed for
 * the model's life) by an activation matrix (B) whose width is often small
 * (a 7x7 map has 49 columns, a Winograd tile batch 16). OpenBLAS copies A
 * into its panel layout on every call, which at those widths costs about as
 * much as the arithmetic (one thread, 512x512 times 512x16: OpenBLAS 37
 * GFLOP/s, this kernel 60). This kernel reads A in place instead: an MR-row block
 * of A is MR sequential streams, each element broadcast once per column
 * block, which the hardware prefetchers follow well. Each unit copies its
 * panel of B (see unit()) once and reads it for all its rows.
 *
 * Each micro-kernel call keeps an MR x (NV*16) block of C in registers for
 * a KC-long slice of the inner dimension. The columns are split into blocks
 * of NR, the rows into chunks of MC; (column block, row chunk) pairs are the
 * units the OpenMP threads share (gemm_units.c).
 *
 * Compiled with -mavx512f -mfma (this folder's rule); cpu.c offers it
 * only to CPUs with AVX-512F and FMA.
 * A may also be given transposed (gemm_tn, the Winograd backward pass).
 * Deliberately not here: a transposed B, alpha/beta other than 0/1. */
#include "ops/gemm_units.h"
#include "ops/x86/kernels.h"

#include <immintrin.h>

#define MR 6            /* rows of C per micro-kernel                      */
#define NV 4            /* 16-float vectors of C per row                   */
#define NR (NV * 16)    /* columns per block                               */
#define KC 512          /* inner-dimension slice kept hot between calls    */
/* (512: a Winograd product of up to 512 channels reads each row of A in
 * one piece; at batch 1 those rows stream from memory, and slices of 128
 * made the whole forward pass 4% slower.) */
#define PACK_LDB 1024 /* B rows at least this far apart are copied (unit()) */
#define MC 48           /* about this many rows per unit of work           */

/* The loops over rows and vectors must be unrolled before the compiler
 * decides where acc[][] lives, or it keeps the array in memory and stores
 * every accumulator on every step of k. */
#define UNROLL _Pragma("GCC unroll 8")

/* The register block for mr rows, nv vectors; mr and nv are constants at
 * every call site, so the compiler unrolls both loops and keeps acc in
 * zmm registers. last masks the final vector of each row. ta: A is given
 * transposed, element (i, p) at a[p * lda + i].
 *
 * With dot set, there is one more column after the nv vectors, whose kc
 * values of B are gathered in dot[]: rather than a 16-lane vector holding
 * one useful lane (a 7x7 map is 3 vectors and 1 column), it is computed as
 * a dot product along k, 16 steps of k per FMA. */
static inline __attribute__((always_inline)) void
block(int ta, int mr, int nv, int kc, const float *a, int lda, const float *b, int ldb, float *c,
      int ldc, __mmask16 last, int accumulate, const float *dot)
{
    __m512 acc[MR][NV], dacc[MR];
    UNROLL for (int i = 0; i < mr; i++) {
        dacc[i] = _mm512_setzero_ps();
        UNROLL for (int v = 0; v < nv; v++) {
            __mmask16 mk = v == nv - 1 ? last : (__mmask16)0xFFFF;
            acc[i][v] = accumulate ? _mm512_maskz_loadu_ps(mk, c + (size_t)i * ldc + 16 * v)
                                   : _mm512_setzero_ps();
        }
    }
    /* Every 16 steps of k (or at the end), the dot column's share. */
    for (int p = 0, next = 0; p < kc; p++) {
        if (dot && p == next) {
            const int len = kc - p < 16 ? kc - p : 16;
            const __mmask16 km = (__mmask16)(len == 16 ? 0xFFFF : (1u << len) - 1);
            const __m512 bc = _mm512_maskz_loadu_ps(km, dot + p);
            UNROLL for (int i = 0; i < mr; i++)
                dacc[i] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(km, a + (size_t)i * lda + p), bc,
                                          dacc[i]);
            next += 16;
        }
        if (!ta && (p & 15) == 0) /* the next block's rows of A, on their way from memory */
            UNROLL for (int i = 0; i < MR; i++)
                _mm_prefetch((const char *)(a + (size_t)(MR + i) * lda + p), _MM_HINT_T0);
        __m512 bv[NV];
        const float *bp = b + (size_t)p * ldb;
        UNROLL for (int v = 0; v < nv; v++)
            bv[v] = v == nv - 1 ? _mm512_maskz_loadu_ps(last, bp + 16 * v)
                                : _mm512_loadu_ps(bp + 16 * v);
        UNROLL for (int i = 0; i < mr; i++) {
            __m512 av = _mm512_set1_ps(ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p]);
            UNROLL for (int v = 0; v < nv; v++)
                acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
        }
    }
    UNROLL for (int i = 0; i < mr; i++) {
        UNROLL for (int v = 0; v < nv; v++) {
            __mmask16 mk = v == nv - 1 ? last : (__mmask16)0xFFFF;
            _mm512_mask_storeu_ps(c + (size_t)i * ldc + 16 * v, mk, acc[i][v]);
        }
        if (dot) {
            float *ci = c + (size_t)i * ldc + 16 * nv, sum = _mm512_reduce_add_ps(dacc[i]);
            *ci = accumulate ? *ci + sum : sum;
        }
    }
}

/* One instance of block() per (mr, nv, with or without the dot column):
 * the switches turn the run-time sizes into compile-time ones. */
#define NV_CASES(t, mr, d)                                                                \
    switch (nv) {                                                                         \
    case 1: block(t, mr, 1, kc, a, lda, b, ldb, c, ldc, last, accumulate, d); break;      \
    case 2: block(t, mr, 2, kc, a, lda, b, ldb, c, ldc, last, accumulate, d); break;      \
    case 3: block(t, mr, 3, kc, a, lda, b, ldb, c, ldc, last, accumulate, d); break;      \
    default: block(t, mr, 4, kc, a, lda, b, ldb, c, ldc, last, accumulate, d); break;     \
    }
#define MR_CASES(t, d)                                                                    \
    switch (mr) {                                                                         \
    case 1: NV_CASES(t, 1, d) break;                                                      \
    case 2: NV_CASES(t, 2, d) break;                                                      \
    case 3: NV_CASES(t, 3, d) break;                                                      \
    case 4: NV_CASES(t, 4, d) break;                                                      \
    case 5: NV_CASES(t, 5, d) break;                                                      \
    default: NV_CASES(t, 6, d) break;                                                     \
    }

static void micro(int ta, int mr, int nv, int kc, const float *a, int lda,
                         const float *b, int ldb, float *c, int ldc, __mmask16 last,
                         int accumulate, const float *dot)
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
    int nv = (nr + 15) / 16;
    const int tail = nr - 16 * (nv - 1);
    __mmask16 last = (__mmask16)(tail == 16 ? 0xFFFF : (1u << tail) - 1);
    /* A lone last column (49 = 3 x 16 + 1) goes to the dot product. */
    const int lone = tail == 1 && nv > 1 && !ta;
    if (lone)
        nv--, last = 0xFFFF;
    float dot[KC];
    /* A transposed A would be read a few floats from each of kc rows lda
     * apart, rows that fight over a few cache sets when lda is a multiple
     * of a large power of two: each MC-row slice is copied to pack[kc][MC]
     * first. */
    float pack[KC * MC];
    /* Where B's rows lie far apart (PACK_LDB floats or more: a 1x1
     * convolution reads a 56x56 map in place, rows 12 KiB apart), the
     * unit's kc x nr panel of B, which every row block reads, is first
     * copied into one contiguous stream (the masked right edge filled with
     * zeros). Measured, one thread: 128 x 3136 x 64, 80 -> 95 GFLOP/s; for
     * the narrow B of im2col blocks and Winograd tiles the copy did not pay
     * (ResNet-50's forward 3% slower with every panel copied). */
    float bpack[KC * NR] __attribute__((aligned(64)));
    const int packed = ldb >= PACK_LDB;
    for (int k0 = 0; k0 < k; k0 += KC) {
        const int kc = k - k0 < KC ? k - k0 : KC;
        const int acc = accumulate || k0 > 0;
        for (int p = 0; lone && p < kc; p++)
            dot[p] = b[(size_t)(k0 + p) * ldb + n0 + 16 * nv];
        for (int p = 0; packed && p < kc; p++) {
            const float *src = b + (size_t)(k0 + p) * ldb + n0;
            for (int v = 0; v < nv; v++)
                _mm512_store_ps(bpack + (size_t)p * NR + 16 * v,
                                _mm512_maskz_loadu_ps(v == nv - 1 ? last : 0xFFFF, src + 16 * v));
        }
        for (int s0 = m0; s0 < m1; s0 += MC) {
            const int s1 = m1 - s0 < MC ? m1 : s0 + MC;
            for (int p = 0; ta && p < kc; p++) {
                const float *src = a + (size_t)(k0 + p) * lda + s0;
                for (int q = 0; q < s1 - s0; q += 16) {
                    const int n = s1 - s0 - q < 16 ? s1 - s0 - q : 16;
                    const __mmask16 mk = (__mmask16)(n == 16 ? 0xFFFF : (1u << n) - 1);
                    _mm512_mask_storeu_ps(pack + (size_t)p * MC + q, mk,
                                          _mm512_maskz_loadu_ps(mk, src + q));
                }
            }
            for (int m = s0; m < s1; m += MR) {
                const int mr = s1 - m < MR ? s1 - m : MR;
                const float *am = ta ? pack + (m - s0) : a + (size_t)m * lda + k0;
                micro(ta, mr, nv, kc, am, ta ? MC : lda,
                      packed ? bpack : b + (size_t)k0 * ldb + n0, packed ? NR : ldb,
                      c + (size_t)m * ldc + n0, ldc, last, acc, lone ? dot : NULL);
            }
        }
    }
}

void gemm_nn_avx512(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                    float *c, int ldc, int accumulate)
{
    const gemm_args g = {0, m, n, k, a, b, c, lda, ldb, ldc, accumulate};
    gemm_units_run(&g, unit, MR, NR, MC);
}

void gemm_tn_avx512(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                    float *c, int ldc, int accumulate)
{
    const gemm_args g = {1, m, n, k, a, b, c, lda, ldb, ldc, accumulate};
    gemm_units_run(&g, unit, MR, NR, MC);
}
