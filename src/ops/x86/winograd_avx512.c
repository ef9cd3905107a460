/* winograd_avx512.c — the input and output transforms of the Winograd
 * convolution (winograd.c) for CPUs with AVX-512, 16 tiles per vector.
 *
 * Why a second version: the portable loops run along one tile row, and
 * ResNet's tile rows are short (4 to 28 tiles), so they spend their time in
 * loop set-up, scalar remainders and copies into padded buffers; here a
 * masked load reads a row with its padding (masked-off lanes read nothing
 * and are zero) and two permutes split it into the tiles' even and odd
 * columns. The arithmetic is the portable code's, operation for operation,
 * so the results are the same bits. Compiled for AVX-512 (this folder's
 * rule); cpu.c offers it only to CPUs that have it.
 * Deliberately not here: anything but the two transforms. */
#include "ops/x86/kernels.h"
#include "ops/x86/lanes_avx512.h"

#include <immintrin.h>

#define UNROLL _Pragma("GCC unroll 16")
/* Input rows are fetched this many channels ahead: each channel's rows sit
 * a plane apart, too far for the hardware prefetcher (about 1.5% faster). */
#define AHEAD 4


static void input(float *V, size_t ldv, int col, const float *in, const gc_window *s,
                  wino_segment g, float *scratch)
{
    (void)scratch;
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    const size_t plane = (size_t)s->h * s->w, xs = (size_t)s->c * ldv;
    for (int k0 = 0; k0 < g.len; k0 += 16) {
        const __mmask16 keep = lanes_first(g.len - k0);
        /* Tile k0 + l reads columns c0 + 2l .. c0 + 2l + 3. */
        const int c0 = 2 * (g.tx + k0) - 1;
        const __mmask16 m0 = lanes_inside(c0, s->w), m1 = lanes_inside(c0 + 16, s->w);
        const __mmask16 m2 = lanes_inside(c0 + 2, s->w), m3 = lanes_inside(c0 + 18, s->w);
        for (int ch = 0; ch < s->c; ch++) {
            const float *src = in + ((size_t)g.n * s->c + ch) * plane;
            __m512 d[4][4]; /* row i, column j of every tile */
            UNROLL for (int i = 0; i < 4; i++) {
                const int y = 2 * g.ty - 1 + i;
                if (y < 0 || y >= s->h) {
                    d[i][0] = d[i][1] = d[i][2] = d[i][3] = _mm512_setzero_ps();
                    continue;
                }
                /* Only lanes inside the row are read; c0 may be -1. */
                const float *row = src + (size_t)y * s->w;
                if (ch + AHEAD < s->c) { /* fetch the same row AHEAD channels on */
                    const char *next = (const char *)(row + AHEAD * plane + c0);
                    _mm_prefetch(next, _MM_HINT_T0);
                    _mm_prefetch(next + 64, _MM_HINT_T0);
                    _mm_prefetch(next + 128, _MM_HINT_T0);
                }
                __m512 l0 = _mm512_maskz_loadu_ps(m0, row + c0);
                __m512 l1 = _mm512_maskz_loadu_ps(m1, row + c0 + 16);
                __m512 l2 = _mm512_maskz_loadu_ps(m2, row + c0 + 2);
                __m512 l3 = _mm512_maskz_loadu_ps(m3, row + c0 + 18);
                d[i][0] = _mm512_permutex2var_ps(l0, even, l1);
                d[i][1] = _mm512_permutex2var_ps(l0, odd, l1);
                d[i][2] = _mm512_permutex2var_ps(l2, even, l3);
                d[i][3] = _mm512_permutex2var_ps(l2, odd, l3);
            }
            __m512 r[4][4]; /* B^T d, down each column */
            UNROLL for (int j = 0; j < 4; j++) {
                r[0][j] = _mm512_sub_ps(d[0][j], d[2][j]);
                r[1][j] = _mm512_add_ps(d[1][j], d[2][j]);
                r[2][j] = _mm512_sub_ps(d[2][j], d[1][j]);
                r[3][j] = _mm512_sub_ps(d[1][j], d[3][j]);
            }
            float *v = V + (size_t)ch * ldv + col + k0;
            UNROLL for (int i = 0; i < 4; i++) { /* (B^T d) B, along each row */
                float *vi = v + (size_t)(4 * i) * xs;
                _mm512_mask_storeu_ps(vi, keep, _mm512_sub_ps(r[i][0], r[i][2]));
                _mm512_mask_storeu_ps(vi + xs, keep, _mm512_add_ps(r[i][1], r[i][2]));
                _mm512_mask_storeu_ps(vi + 2 * xs, keep, _mm512_sub_ps(r[i][2], r[i][1]));
                _mm512_mask_storeu_ps(vi + 3 * xs, keep, _mm512_sub_ps(r[i][1], r[i][3]));
            }
        }
    }
}

/* One output row: even and odd columns interleaved, clipped to cnt
 * columns, written or added; with epi, its residual (res, at the same
 * positions) added and its ReLU applied first. */
static void put_row(float *dst, __m512 ev, __m512 od, int cnt, int accumulate,
                           const gc_epilogue *epi, const float *res)
{
    const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i hi = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    const __mmask16 ml = lanes_first(cnt), mh = lanes_first(cnt - 16);
    __m512 a = _mm512_permutex2var_ps(ev, lo, od), b = _mm512_permutex2var_ps(ev, hi, od);
    if (accumulate) {
        a = _mm512_add_ps(_mm512_maskz_loadu_ps(ml, dst), a);
        b = _mm512_add_ps(_mm512_maskz_loadu_ps(mh, dst + 16), b);
    }
    if (res) { /* y + residual, as add_forward */
        a = _mm512_add_ps(a, _mm512_maskz_loadu_ps(ml, res));
        b = _mm512_add_ps(b, _mm512_maskz_loadu_ps(mh, res + 16));
    }
    if (epi && epi->relu) { /* y > 0 ? y : 0, NaN included, as relu_forward */
        a = _mm512_max_ps(a, _mm512_setzero_ps());
        b = _mm512_max_ps(b, _mm512_setzero_ps());
    }
    _mm512_mask_storeu_ps(dst, ml, a);
    _mm512_mask_storeu_ps(dst + 16, mh, b);
}

/* The channel's map; the rest of the epilogue comes in put_row. */
static __m512 epilogue(__m512 y, const gc_epilogue *e, __m512 a, __m512 b)
{
    if (e && e->scale)
        y = _mm512_add_ps(_mm512_mul_ps(y, a), b);
    return y;
}

static void output(float *out, const float *M, size_t ldm, int col, const float *bias,
                   const gc_epilogue *epi, const gc_window *s, wino_segment g, int k0, int kn,
                   int accumulate)
{
    const size_t xs = (size_t)kn * ldm; /* from one xi to the next */
    for (int r = 0; r < kn; r++) {
        const out_channel ch = out_channel_of(out, M, ldm, col, bias, epi, s, g.n, k0, r);
        for (int t0 = 0; t0 < g.len; t0 += 16) {
            const __mmask16 keep = lanes_first(g.len - t0);
            const float *m = ch.m + t0;
            __m512 t[8]; /* A^T m: rows 0 and 1, columns 0..3 */
            UNROLL for (int j = 0; j < 4; j++) {
                __m512 m0 = _mm512_maskz_loadu_ps(keep, m + (size_t)j * xs);
                __m512 m1 = _mm512_maskz_loadu_ps(keep, m + (size_t)(4 + j) * xs);
                __m512 m2 = _mm512_maskz_loadu_ps(keep, m + (size_t)(8 + j) * xs);
                __m512 m3 = _mm512_maskz_loadu_ps(keep, m + (size_t)(12 + j) * xs);
                t[j] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
                t[4 + j] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
            }
            const int x = 2 * (g.tx + t0), cnt = s->wo - x < 2 * 16 ? s->wo - x : 2 * 16;
            const int width = cnt < 2 * (g.len - t0) ? cnt : 2 * (g.len - t0);
            const int rows = 2 * g.ty + 1 < s->ho ? 2 : 1; /* the bottom row may be outside */
            UNROLL for (int i = 0; i < 2; i++) { /* (A^T m) A */
                if (i == rows)
                    break;
                const __m512 *u = t + 4 * i;
                __m512 ev = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(u[0], u[1]), u[2]), ch.k.b);
                __m512 od = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(u[1], u[2]), u[3]), ch.k.b);
                ev = epilogue(ev, epi, ch.k.sa, ch.k.sb);
                od = epilogue(od, epi, ch.k.sa, ch.k.sb);
                float *row = ch.plane + (size_t)(2 * g.ty + i) * s->wo + x;
                put_row(row, ev, od, width, accumulate, epi,
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

const wino_kind winograd2_avx512 = {2, 16, no_scratch, input, output, 0, NULL, NULL};
