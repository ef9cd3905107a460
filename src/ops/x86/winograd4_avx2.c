/* x86/winograd4_avx2.c — the input and output transforms of Winograd
 * F(4x4, 3x3) (winograd4.c) for CPUs with AVX2 and FMA, 8 tiles per
 * vector: winograd4_avx512.c's method at half the width, for tile rows
 * only (no gathers for short rows: AVX2's gather is slow and it has no
 * scatter). 8 tiles span 34 input columns: five masked loads read them
 * (lanes outside the image read nothing and are zero), a 4x4 transpose in
 * each 128-bit half and one permute give phase j = column 4l + j of tile
 * l; phases 4 and 5 are phases 0 and 1 moved down one tile. The
 * arithmetic is grouped as in winograd4_avx512.c, with the same fused
 * multiply-adds, so the two agree with each other and with the portable
 * code to rounding (test_ops bounds it); the epilogue is applied as the
 * portable code applies it. Compiled for AVX2 + FMA; cpu.c offers it only
 * to CPUs with both. Deliberately not here: anything but the two
 * transforms. */
#include "ops/x86/kernels.h"
#include "ops/x86/lanes_avx2.h"

#include <immintrin.h>

#define UNROLL _Pragma("GCC unroll 16")

/* B^T a for six vectors a0..a5 (see winograd4.c for the grouping). */
static inline void bt6(__m256 o[6], __m256 a0, __m256 a1, __m256 a2, __m256 a3, __m256 a4,
                       __m256 a5)
{
    const __m256 c05 = _mm256_set1_ps(0.5f), c15 = _mm256_set1_ps(1.5f);
    const __m256 c2 = _mm256_set1_ps(2.0f), c25 = _mm256_set1_ps(2.5f);
    const __m256 s13 = _mm256_sub_ps(a1, a3), w42 = _mm256_sub_ps(a4, a2);
    o[0] = _mm256_fnmadd_ps(c2, a2, _mm256_fmadd_ps(c15, s13, _mm256_add_ps(a0, a4)));
    o[1] = _mm256_fnmadd_ps(c05, a3, _mm256_fnmadd_ps(c25, a2, _mm256_sub_ps(a4, a1)));
    o[2] = _mm256_fnmadd_ps(c25, a3, _mm256_fmadd_ps(c05, a2, _mm256_add_ps(a4, a1)));
    o[3] = _mm256_fnmadd_ps(c05, s13, w42);
    o[4] = _mm256_fmadd_ps(c2, s13, w42);
    o[5] = _mm256_fnmadd_ps(c2, a3, _mm256_fmadd_ps(c15, _mm256_sub_ps(a2, a4),
                                                    _mm256_add_ps(a5, a1)));
}

/* A^T m for six vectors. */
static inline void at6(__m256 t[4], __m256 m0, __m256 m1, __m256 m2, __m256 m3, __m256 m4,
                       __m256 m5)
{
    const __m256 p = _mm256_add_ps(m1, m2), q = _mm256_sub_ps(m1, m2);
    t[0] = _mm256_add_ps(_mm256_add_ps(m0, p), _mm256_add_ps(m3, m4));
    t[1] = _mm256_fnmadd_ps(_mm256_set1_ps(0.5f), m4, _mm256_fmadd_ps(_mm256_set1_ps(2.0f), m3, q));
    t[2] = _mm256_fmadd_ps(_mm256_set1_ps(0.25f), m4, _mm256_fmadd_ps(_mm256_set1_ps(4.0f), m3, p));
    t[3] = _mm256_fnmadd_ps(_mm256_set1_ps(0.125f), m4,
                            _mm256_fmadd_ps(_mm256_set1_ps(8.0f), m3, _mm256_add_ps(q, m5)));
}

/* The six phases of one input row for 8 tiles starting at column c0:
 * lanes 0-3 of load i are tile 2i's first four columns, lanes 4-7 tile
 * 2i + 1's, so a 4x4 transpose per 128-bit half leaves phase j of tiles
 * 0, 2, 4, 6, 1, 3, 5, 7, which one permute puts in order. */
static inline void row_phases(__m256 p[6], const float *row, int c0, const __m256i m[5],
                              int inside)
{
    const __m256 l0 = load8(row + c0, m[0], inside), l1 = load8(row + c0 + 8, m[1], inside);
    const __m256 l2 = load8(row + c0 + 16, m[2], inside);
    const __m256 l3 = load8(row + c0 + 24, m[3], inside);
    const __m256 l4 = _mm256_maskload_ps(row + c0 + 32, m[4]); /* two floats: p4, p5 of tile 7 */
    const __m256 a = _mm256_unpacklo_ps(l0, l1), b = _mm256_unpacklo_ps(l2, l3);
    const __m256 c = _mm256_unpackhi_ps(l0, l1), d = _mm256_unpackhi_ps(l2, l3);
    const __m256 q[4] = {_mm256_shuffle_ps(a, b, _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 2, 3, 2)),
                         _mm256_shuffle_ps(c, d, _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm256_shuffle_ps(c, d, _MM_SHUFFLE(3, 2, 3, 2))};
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    const __m256i next = _mm256_setr_epi32(4, 1, 5, 2, 6, 3, 7, 0); /* tile l + 1 */
    UNROLL for (int j = 0; j < 4; j++)
        p[j] = _mm256_permutevar8x32_ps(q[j], order);
    p[4] = _mm256_blend_ps(_mm256_permutevar8x32_ps(q[0], next),
                           _mm256_permutevar8x32_ps(l4, _mm256_set1_epi32(0)), 0x80);
    p[5] = _mm256_blend_ps(_mm256_permutevar8x32_ps(q[1], next),
                           _mm256_permutevar8x32_ps(l4, _mm256_set1_epi32(1)), 0x80);
}

static void input(float *V, size_t ldv, int col, const float *in, const gc_window *s,
                  wino_segment g, float *scratch)
{
    (void)scratch;
    const size_t plane = (size_t)s->h * s->w, xs = (size_t)s->c * ldv;
    for (int k0 = 0; k0 < g.len; k0 += 8) {
        const __m256i keep = lanes8_first(g.len - k0);
        const int kall = g.len - k0 >= 8;
        const int c0 = 4 * (g.tx + k0) - 1; /* tile k0 + l starts at column c0 + 4l */
        const __m256i m[5] = {lanes8_inside(c0, s->w), lanes8_inside(c0 + 8, s->w),
                              lanes8_inside(c0 + 16, s->w), lanes8_inside(c0 + 24, s->w),
                              _mm256_and_si256(lanes8_inside(c0 + 32, s->w), lanes8_first(2))};
        const int inside = c0 >= 0 && c0 + 32 <= s->w;
        for (int ch = 0; ch < s->c; ch++) {
            const float *src = in + ((size_t)g.n * s->c + ch) * plane;
            __m256 e[6][6]; /* row i of each tile, times B */
            UNROLL for (int i = 0; i < 6; i++) {
                const int y = 4 * g.ty - 1 + i;
                if (y < 0 || y >= s->h) {
                    UNROLL for (int j = 0; j < 6; j++)
                        e[i][j] = _mm256_setzero_ps();
                    continue;
                }
                __m256 p[6];
                row_phases(p, src + (size_t)y * s->w, c0, m, inside);
                bt6(e[i], p[0], p[1], p[2], p[3], p[4], p[5]);
            }
            float *v = V + (size_t)ch * ldv + col + k0;
            UNROLL for (int j = 0; j < 6; j++) { /* B^T (d B), down each column */
                __m256 o[6];
                bt6(o, e[0][j], e[1][j], e[2][j], e[3][j], e[4][j], e[5][j]);
                UNROLL for (int r = 0; r < 6; r++)
                    store8(v + (size_t)(6 * r + j) * xs, keep, kall, o[r]);
            }
        }
    }
}

/* One output row of 8 tiles: phases y0..y3 (column 4l + b of tile l)
 * interleaved into 32 columns, clipped to cnt, written or added; with epi,
 * its residual (res, at the same positions) added and its ReLU applied.
 * The transpose of row_phases, backwards: halves hold tiles l and l + 4. */
static void put_row4(float *dst, const __m256 y[4], int cnt, int accumulate,
                     const gc_epilogue *epi, const float *res)
{
    const __m256 a = _mm256_unpacklo_ps(y[0], y[1]), b = _mm256_unpacklo_ps(y[2], y[3]);
    const __m256 c = _mm256_unpackhi_ps(y[0], y[1]), d = _mm256_unpackhi_ps(y[2], y[3]);
    const __m256 t0 = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(1, 0, 1, 0)); /* tiles 0, 4 */
    const __m256 t1 = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 2, 3, 2)); /* tiles 1, 5 */
    const __m256 t2 = _mm256_shuffle_ps(c, d, _MM_SHUFFLE(1, 0, 1, 0)); /* tiles 2, 6 */
    const __m256 t3 = _mm256_shuffle_ps(c, d, _MM_SHUFFLE(3, 2, 3, 2)); /* tiles 3, 7 */
    __m256 out[4] = {_mm256_permute2f128_ps(t0, t1, 0x20), _mm256_permute2f128_ps(t2, t3, 0x20),
                     _mm256_permute2f128_ps(t0, t1, 0x31), _mm256_permute2f128_ps(t2, t3, 0x31)};
    UNROLL for (int v = 0; v < 4; v++) {
        const int n = cnt - 8 * v, all = n >= 8;
        if (n <= 0)
            break;
        const __m256i mk = lanes8_first(n);
        if (accumulate)
            out[v] = _mm256_add_ps(load8(dst + 8 * v, mk, all), out[v]);
        if (res) /* y + residual, as add_forward */
            out[v] = _mm256_add_ps(out[v], load8(res + 8 * v, mk, all));
        if (epi && epi->relu) /* y > 0 ? y : 0, NaN included, as relu_forward */
            out[v] = _mm256_max_ps(out[v], _mm256_setzero_ps());
        store8(dst + 8 * v, mk, all, out[v]);
    }
}

static void output(float *out, const float *M, size_t ldm, int col, const float *bias,
                   const gc_epilogue *epi, const gc_window *s, wino_segment g, int k0, int kn,
                   int accumulate)
{
    const size_t xs = (size_t)kn * ldm; /* from one xi to the next */
    const int rows = s->ho - 4 * g.ty < 4 ? s->ho - 4 * g.ty : 4; /* the bottom may be outside */
    const int scaled = epi && epi->scale;
    for (int r = 0; r < kn; r++) {
        const channel_consts8 k = channel_consts8_of(bias, epi, k0 + r);
        float *plane = out + ((size_t)g.n * s->oc + k0 + r) * s->ho * s->wo;
        const float *mr = M + (size_t)r * ldm + col;
        for (int t0 = 0; t0 < g.len; t0 += 8) {
            const __m256i keep = lanes8_first(g.len - t0);
            const int kall = g.len - t0 >= 8;
            const float *m = mr + t0;
            __m256 t[4][6]; /* A^T m: row a, column j */
            UNROLL for (int j = 0; j < 6; j++) {
                __m256 c[4];
                at6(c, load8(m + (size_t)j * xs, keep, kall),
                    load8(m + (size_t)(6 + j) * xs, keep, kall),
                    load8(m + (size_t)(12 + j) * xs, keep, kall),
                    load8(m + (size_t)(18 + j) * xs, keep, kall),
                    load8(m + (size_t)(24 + j) * xs, keep, kall),
                    load8(m + (size_t)(30 + j) * xs, keep, kall));
                UNROLL for (int a = 0; a < 4; a++)
                    t[a][j] = c[a];
            }
            const int x = 4 * (g.tx + t0), cnt = s->wo - x < 32 ? s->wo - x : 32;
            const int width = cnt < 4 * (g.len - t0) ? cnt : 4 * (g.len - t0);
            for (int a = 0; a < rows; a++) { /* (A^T m) A */
                __m256 y[4];
                at6(y, t[a][0], t[a][1], t[a][2], t[a][3], t[a][4], t[a][5]);
                UNROLL for (int v = 0; v < 4; v++)
                    y[v] = _mm256_add_ps(y[v], k.b);
                if (scaled) /* the channel's map, as epilogue_scale: multiply, then add */
                    UNROLL for (int v = 0; v < 4; v++)
                        y[v] = _mm256_add_ps(_mm256_mul_ps(y[v], k.sa), k.sb);
                float *row = plane + (size_t)(4 * g.ty + a) * s->wo + x;
                put_row4(row, y, width, accumulate, epi, epilogue_residual(epi, (size_t)(row - out)));
            }
        }
    }
}

static size_t no_scratch(int tb)
{
    (void)tb;
    return 0;
}

const wino_kind winograd4_avx2 = {4, 36, no_scratch, input, output, 0, NULL, NULL};
