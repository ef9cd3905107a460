/* x86/winograd_avx2.c — the input and output transforms of the Winograd
 * convolution F(2x2, 3x3) (winograd.c) for CPUs with AVX2, 8 tiles per
 * vector: winograd_avx512.c's method at half the width. A row with its
 * padding is read by masked loads (masked-off lanes read nothing and are
 * zero; rows wholly inside take plain loads) and split into the tiles'
 * even and odd columns by a shuffle and a cross-lane permute. The
 * arithmetic is the portable code's, operation for operation, without
 * fused multiply-adds, so the results are the same bits. Compiled for
 * AVX2 (this folder's rule); cpu.c offers it only to CPUs that have it.
 * Deliberately not here: anything but the two transforms. */
#include "ops/x86/kernels.h"
#include "ops/x86/lanes_avx2.h"

#include <immintrin.h>

#define UNROLL _Pragma("GCC unroll 16")
/* Input rows are fetched this many channels ahead (as winograd_avx512.c). */
#define AHEAD 4

static void input(float *V, size_t ldv, int col, const float *in, const gc_window *s,
                  wino_segment g, float *scratch)
{
    (void)scratch;
    const size_t plane = (size_t)s->h * s->w, xs = (size_t)s->c * ldv;
    for (int k0 = 0; k0 < g.len; k0 += 8) {
        const __m256i keep = lanes8_first(g.len - k0);
        const int kall = g.len - k0 >= 8;
        /* Tile k0 + l reads columns c0 + 2l .. c0 + 2l + 3, c0 >= -1. */
        const int c0 = 2 * (g.tx + k0) - 1;
        const __m256i m0 = lanes8_inside(c0, s->w), m1 = lanes8_inside(c0 + 8, s->w);
        const __m256i m2 = lanes8_inside(c0 + 2, s->w), m3 = lanes8_inside(c0 + 10, s->w);
        const int inside = c0 >= 0 && c0 + 18 <= s->w;
        for (int ch = 0; ch < s->c; ch++) {
            const float *src = in + ((size_t)g.n * s->c + ch) * plane;
            __m256 d[4][4]; /* row i, column j of every tile */
            UNROLL for (int i = 0; i < 4; i++) {
                const int y = 2 * g.ty - 1 + i;
                if (y < 0 || y >= s->h) {
                    d[i][0] = d[i][1] = d[i][2] = d[i][3] = _mm256_setzero_ps();
                    continue;
                }
                const float *row = src + (size_t)y * s->w;
                if (ch + AHEAD < s->c) {
                    const char *next = (const char *)(row + AHEAD * plane + c0);
                    _mm_prefetch(next, _MM_HINT_T0);
                    _mm_prefetch(next + 64, _MM_HINT_T0);
                }
                const __m256 l0 = load8(row + c0, m0, inside), l1 = load8(row + c0 + 8, m1, inside);
                const __m256 l2 = load8(row + c0 + 2, m2, inside);
                const __m256 l3 = load8(row + c0 + 10, m3, inside);
                d[i][0] = evens(l0, l1);
                d[i][1] = odds(l0, l1);
                d[i][2] = evens(l2, l3);
                d[i][3] = odds(l2, l3);
            }
            __m256 r[4][4]; /* B^T d, down each column */
            UNROLL for (int j = 0; j < 4; j++) {
                r[0][j] = _mm256_sub_ps(d[0][j], d[2][j]);
                r[1][j] = _mm256_add_ps(d[1][j], d[2][j]);
                r[2][j] = _mm256_sub_ps(d[2][j], d[1][j]);
                r[3][j] = _mm256_sub_ps(d[1][j], d[3][j]);
            }
            float *v = V + (size_t)ch * ldv + col + k0;
            UNROLL for (int i = 0; i < 4; i++) { /* (B^T d) B, along each row */
                float *vi = v + (size_t)(4 * i) * xs;
                store8(vi, keep, kall, _mm256_sub_ps(r[i][0], r[i][2]));
                store8(vi + xs, keep, kall, _mm256_add_ps(r[i][1], r[i][2]));
                store8(vi + 2 * xs, keep, kall, _mm256_sub_ps(r[i][2], r[i][1]));
                store8(vi + 3 * xs, keep, kall, _mm256_sub_ps(r[i][1], r[i][3]));
            }
        }
    }
}

/* One output row: even and odd columns interleaved, clipped to cnt
 * columns, written or added; with epi, its residual (res, at the same
 * positions) added and its ReLU applied first. */
static void put_row(float *dst, __m256 ev, __m256 od, int cnt, int accumulate,
                    const gc_epilogue *epi, const float *res)
{
    const __m256 lo = _mm256_unpacklo_ps(ev, od), hi = _mm256_unpackhi_ps(ev, od);
    __m256 a = _mm256_permute2f128_ps(lo, hi, 0x20), b = _mm256_permute2f128_ps(lo, hi, 0x31);
    const __m256i ml = lanes8_first(cnt), mh = lanes8_first(cnt - 8);
    const int all = cnt >= 16;
    if (accumulate) {
        a = _mm256_add_ps(load8(dst, ml, all), a);
        b = _mm256_add_ps(load8(dst + 8, mh, all), b);
    }
    if (res) { /* y + residual, as add_forward */
        a = _mm256_add_ps(a, load8(res, ml, all));
        b = _mm256_add_ps(b, load8(res + 8, mh, all));
    }
    if (epi && epi->relu) { /* y > 0 ? y : 0, NaN included, as relu_forward */
        a = _mm256_max_ps(a, _mm256_setzero_ps());
        b = _mm256_max_ps(b, _mm256_setzero_ps());
    }
    store8(dst, ml, all, a);
    store8(dst + 8, mh, all, b);
}

/* The channel's map, as epilogue_scale: multiply, then add. */
static __m256 scale(__m256 y, const gc_epilogue *e, channel_consts8 k)
{
    return e && e->scale ? _mm256_add_ps(_mm256_mul_ps(y, k.sa), k.sb) : y;
}

static void output(float *out, const float *M, size_t ldm, int col, const float *bias,
                   const gc_epilogue *epi, const gc_window *s, wino_segment g, int k0, int kn,
                   int accumulate)
{
    const size_t xs = (size_t)kn * ldm; /* from one xi to the next */
    const int rows = 2 * g.ty + 1 < s->ho ? 2 : 1; /* the bottom row may be outside */
    for (int r = 0; r < kn; r++) {
        const channel_consts8 k = channel_consts8_of(bias, epi, k0 + r);
        float *plane = out + ((size_t)g.n * s->oc + k0 + r) * s->ho * s->wo;
        const float *mr = M + (size_t)r * ldm + col;
        for (int t0 = 0; t0 < g.len; t0 += 8) {
            const __m256i keep = lanes8_first(g.len - t0);
            const int kall = g.len - t0 >= 8;
            const float *m = mr + t0;
            __m256 t[8]; /* A^T m: rows 0 and 1, columns 0..3 */
            UNROLL for (int j = 0; j < 4; j++) {
                const __m256 m0 = load8(m + (size_t)j * xs, keep, kall);
                const __m256 m1 = load8(m + (size_t)(4 + j) * xs, keep, kall);
                const __m256 m2 = load8(m + (size_t)(8 + j) * xs, keep, kall);
                const __m256 m3 = load8(m + (size_t)(12 + j) * xs, keep, kall);
                t[j] = _mm256_add_ps(_mm256_add_ps(m0, m1), m2);
                t[4 + j] = _mm256_sub_ps(_mm256_sub_ps(m1, m2), m3);
            }
            const int x = 2 * (g.tx + t0), cnt = s->wo - x < 16 ? s->wo - x : 16;
            const int width = cnt < 2 * (g.len - t0) ? cnt : 2 * (g.len - t0);
            for (int i = 0; i < rows; i++) { /* (A^T m) A */
                const __m256 *u = t + 4 * i;
                __m256 ev = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(u[0], u[1]), u[2]), k.b);
                __m256 od = _mm256_add_ps(_mm256_sub_ps(_mm256_sub_ps(u[1], u[2]), u[3]), k.b);
                float *row = plane + (size_t)(2 * g.ty + i) * s->wo + x;
                put_row(row, scale(ev, epi, k), scale(od, epi, k), width, accumulate, epi,
                        epilogue_residual(epi, (size_t)(row - out)));
            }
        }
    }
}

static size_t no_scratch(int tb)
{
    (void)tb;
    return 0;
}

const wino_kind winograd2_avx2 = {2, 16, no_scratch, input, output, 0, NULL, NULL};
