/* winograd4_avx512.c — the input and output transforms of Winograd
 * F(4x4, 3x3) (winograd4.c) for CPUs with AVX-512, 16 tiles per vector;
 * compiled for AVX-512 (this folder's rule), offered by cpu.c only to
 * CPUs that have it.
 *
 * A tile row of 16 tiles spans 66 input columns: five masked loads read
 * them (lanes outside the image read nothing and are zero), and permutes
 * gather every fourth column, so that lane l of phase j holds column
 * 4l + j of tile l; phases 4 and 5 are phases 0 and 1 moved down one tile.
 * The arithmetic is winograd4.c's, grouped the same way but with fused
 * multiply-adds, so the two agree to rounding, not to the bit (a unit test
 * bounds the difference); this path only serves passes that tolerate
 * F(4x4)'s rounding anyway. The epilogue is applied as the portable code
 * applies it, so folding it in changes no bits.
 * Deliberately not here: anything but the two transforms. */
#include "ops/x86/kernels.h"
#include "ops/x86/lanes_avx512.h"

#include <immintrin.h>

#define UNROLL _Pragma("GCC unroll 16")

/* B^T a for six vectors a0..a5 (see winograd4.c for the grouping). */
static inline void bt6(__m512 o[6], __m512 a0, __m512 a1, __m512 a2, __m512 a3,
                              __m512 a4, __m512 a5)
{
    const __m512 c05 = _mm512_set1_ps(0.5f), c15 = _mm512_set1_ps(1.5f);
    const __m512 c2 = _mm512_set1_ps(2.0f), c25 = _mm512_set1_ps(2.5f);
    const __m512 s13 = _mm512_sub_ps(a1, a3), w42 = _mm512_sub_ps(a4, a2);
    o[0] = _mm512_fnmadd_ps(c2, a2, _mm512_fmadd_ps(c15, s13, _mm512_add_ps(a0, a4)));
    o[1] = _mm512_fnmadd_ps(c05, a3, _mm512_fnmadd_ps(c25, a2, _mm512_sub_ps(a4, a1)));
    o[2] = _mm512_fnmadd_ps(c25, a3, _mm512_fmadd_ps(c05, a2, _mm512_add_ps(a4, a1)));
    o[3] = _mm512_fnmadd_ps(c05, s13, w42);
    o[4] = _mm512_fmadd_ps(c2, s13, w42);
    o[5] = _mm512_fnmadd_ps(c2, a3, _mm512_fmadd_ps(c15, _mm512_sub_ps(a2, a4),
                                                    _mm512_add_ps(a5, a1)));
}

/* A^T m for six vectors. */
static inline void at6(__m512 t[4], __m512 m0, __m512 m1, __m512 m2, __m512 m3,
                              __m512 m4, __m512 m5)
{
    const __m512 p = _mm512_add_ps(m1, m2), q = _mm512_sub_ps(m1, m2);
    t[0] = _mm512_add_ps(_mm512_add_ps(m0, p), _mm512_add_ps(m3, m4));
    t[1] = _mm512_fnmadd_ps(_mm512_set1_ps(0.5f), m4, _mm512_fmadd_ps(_mm512_set1_ps(2.0f), m3, q));
    t[2] = _mm512_fmadd_ps(_mm512_set1_ps(0.25f), m4, _mm512_fmadd_ps(_mm512_set1_ps(4.0f), m3, p));
    t[3] = _mm512_fnmadd_ps(_mm512_set1_ps(0.125f), m4,
                            _mm512_fmadd_ps(_mm512_set1_ps(8.0f), m3, _mm512_add_ps(q, m5)));
}

/* A^T m for the 36 products of 16 tiles, point xi at m + xi * xs: t[a][j]
 * is row a, column j. */
static inline void at_m(__m512 t[4][6], const float *m, size_t xs, __mmask16 keep)
{
    UNROLL for (int j = 0; j < 6; j++) {
        __m512 c[4];
        at6(c, _mm512_maskz_loadu_ps(keep, m + (size_t)j * xs),
            _mm512_maskz_loadu_ps(keep, m + (size_t)(6 + j) * xs),
            _mm512_maskz_loadu_ps(keep, m + (size_t)(12 + j) * xs),
            _mm512_maskz_loadu_ps(keep, m + (size_t)(18 + j) * xs),
            _mm512_maskz_loadu_ps(keep, m + (size_t)(24 + j) * xs),
            _mm512_maskz_loadu_ps(keep, m + (size_t)(30 + j) * xs));
        UNROLL for (int a = 0; a < 4; a++)
            t[a][j] = c[a];
    }
}

/* The six phases of one input row for 16 tiles starting at column c0. */
static inline void row_phases(__m512 p[6], const float *row, int c0, const __mmask16 m[5])
{
    const __m512i idx[4] = {
        _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 28, 24, 20, 16, 12, 8, 4, 0),
        _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 29, 25, 21, 17, 13, 9, 5, 1),
        _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 30, 26, 22, 18, 14, 10, 6, 2),
        _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 31, 27, 23, 19, 15, 11, 7, 3),
    };
    const __m512 l0 = _mm512_maskz_loadu_ps(m[0], row + c0);
    const __m512 l1 = _mm512_maskz_loadu_ps(m[1], row + c0 + 16);
    const __m512 l2 = _mm512_maskz_loadu_ps(m[2], row + c0 + 32);
    const __m512 l3 = _mm512_maskz_loadu_ps(m[3], row + c0 + 48);
    const __m512i l4 = _mm512_castps_si512(_mm512_maskz_loadu_ps(m[4], row + c0 + 64));
    UNROLL for (int j = 0; j < 4; j++) /* tiles 0..7 from l0, l1; 8..15 from l2, l3 */
        p[j] = _mm512_shuffle_f32x4(_mm512_permutex2var_ps(l0, idx[j], l1),
                                    _mm512_permutex2var_ps(l2, idx[j], l3), 0x44);
    p[4] = _mm512_castsi512_ps(_mm512_alignr_epi32(l4, _mm512_castps_si512(p[0]), 1));
    p[5] = _mm512_castsi512_ps(
        _mm512_alignr_epi32(_mm512_alignr_epi32(l4, l4, 1), _mm512_castps_si512(p[1]), 1));
}

static void f4_input_avx512(float *V, size_t ldv, int col, const float *in,
                                   const gc_window *s, wino_segment g, float *scratch)
{
    (void)scratch;
    const size_t plane = (size_t)s->h * s->w, xs = (size_t)s->c * ldv;
    for (int k0 = 0; k0 < g.len; k0 += 16) {
        const __mmask16 keep = lanes_first(g.len - k0);
        const int c0 = 4 * (g.tx + k0) - 1; /* tile k0 + l starts at column c0 + 4l */
        const __mmask16 m[5] = {lanes_inside(c0, s->w), lanes_inside(c0 + 16, s->w),
                                lanes_inside(c0 + 32, s->w), lanes_inside(c0 + 48, s->w),
                                (__mmask16)(lanes_inside(c0 + 64, s->w) & 3)};
        for (int ch = 0; ch < s->c; ch++) {
            const float *src = in + ((size_t)g.n * s->c + ch) * plane;
            __m512 e[6][6]; /* row i of each tile, times B */
            UNROLL for (int i = 0; i < 6; i++) {
                const int y = 4 * g.ty - 1 + i;
                if (y < 0 || y >= s->h) {
                    UNROLL for (int j = 0; j < 6; j++)
                        e[i][j] = _mm512_setzero_ps();
                    continue;
                }
                __m512 p[6];
                row_phases(p, src + (size_t)y * s->w, c0, m);
                bt6(e[i], p[0], p[1], p[2], p[3], p[4], p[5]);
            }
            float *v = V + (size_t)ch * ldv + col + k0;
            UNROLL for (int j = 0; j < 6; j++) { /* B^T (d B), down each column */
                __m512 o[6];
                bt6(o, e[0][j], e[1][j], e[2][j], e[3][j], e[4][j], e[5][j]);
                UNROLL for (int r = 0; r < 6; r++)
                    _mm512_mask_storeu_ps(v + (size_t)(6 * r + j) * xs, keep, o[r]);
            }
        }
    }
}

/* One output row of 16 tiles: phases y0..y3 (column 4l + b of tile l)
 * interleaved into 64 columns, clipped to cnt, written or added; with epi,
 * its residual (res, at the same positions) added and its ReLU applied. */
static void put_row4(float *dst, const __m512 y[4], int cnt, int accumulate,
                            const gc_epilogue *epi, const float *res)
{
    const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i hi = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    const __m512i q0 = _mm512_set_epi32(23, 22, 7, 6, 21, 20, 5, 4, 19, 18, 3, 2, 17, 16, 1, 0);
    const __m512i q1 = _mm512_set_epi32(31, 30, 15, 14, 29, 28, 13, 12, 27, 26, 11, 10, 25, 24, 9, 8);
    const __m512 a = _mm512_permutex2var_ps(y[0], lo, y[1]), b = _mm512_permutex2var_ps(y[2], lo, y[3]);
    const __m512 c = _mm512_permutex2var_ps(y[0], hi, y[1]), d = _mm512_permutex2var_ps(y[2], hi, y[3]);
    __m512 out[4] = {_mm512_permutex2var_ps(a, q0, b), _mm512_permutex2var_ps(a, q1, b),
                     _mm512_permutex2var_ps(c, q0, d), _mm512_permutex2var_ps(c, q1, d)};
    UNROLL for (int v = 0; v < 4; v++) {
        const __mmask16 mk = lanes_first(cnt - 16 * v);
        if (!mk)
            break;
        if (accumulate)
            out[v] = _mm512_add_ps(_mm512_maskz_loadu_ps(mk, dst + 16 * v), out[v]);
        if (res) /* y + residual, as add_forward */
            out[v] = _mm512_add_ps(out[v], _mm512_maskz_loadu_ps(mk, res + 16 * v));
        if (epi && epi->relu) /* y > 0 ? y : 0, NaN included, as relu_forward */
            out[v] = _mm512_max_ps(out[v], _mm512_setzero_ps());
        _mm512_mask_storeu_ps(dst + 16 * v, mk, out[v]);
    }
}

static void f4_output_avx512(float *out, const float *M, size_t ldm, int col,
                                    const float *bias, const gc_epilogue *epi,
                                    const gc_window *s, wino_segment g, int k0, int kn,
                                    int accumulate)
{
    const size_t xs = (size_t)kn * ldm; /* from one xi to the next */
    const int rows = s->ho - 4 * g.ty < 4 ? s->ho - 4 * g.ty : 4; /* the bottom may be outside */
    const int scaled = epi && epi->scale;
    for (int r = 0; r < kn; r++) {
        const out_channel ch = out_channel_of(out, M, ldm, col, bias, epi, s, g.n, k0, r);
        for (int t0 = 0; t0 < g.len; t0 += 16) {
            const __mmask16 keep = lanes_first(g.len - t0);
            const float *m = ch.m + t0;
            __m512 t[4][6]; /* A^T m: row a, column j */
            at_m(t, m, xs, keep);
            const int x = 4 * (g.tx + t0), cnt = s->wo - x < 64 ? s->wo - x : 64;
            const int width = cnt < 4 * (g.len - t0) ? cnt : 4 * (g.len - t0);
            for (int a = 0; a < rows; a++) { /* (A^T m) A */
                __m512 y[4];
                at6(y, t[a][0], t[a][1], t[a][2], t[a][3], t[a][4], t[a][5]);
                UNROLL for (int v = 0; v < 4; v++)
                    y[v] = _mm512_add_ps(y[v], ch.k.b);
                if (scaled) /* the channel's map, as epilogue_scale: multiply, then add */
                    UNROLL for (int v = 0; v < 4; v++)
                        y[v] = _mm512_add_ps(_mm512_mul_ps(y[v], ch.k.sa), ch.k.sb);
                float *row = ch.plane + (size_t)(4 * g.ty + a) * s->wo + x;
                put_row4(row, y, width, accumulate, epi,
                         epilogue_residual(epi, (size_t)(row - out)));
            }
        }
    }
}

/* Where count tiles from tile t on sit: lane l's offset in the batch's
 * tensor of the point (row, column) = (4 ty + y0, 4 tx + x0) of its tile,
 * and, per row and column of the tile, the lanes inside the map (rows
 * and cols may be NULL). Lanes past count are in no mask. */
typedef struct lanes_of_tiles {
    __m512i at;
    __mmask16 rows[6], cols[6];
} lanes_of_tiles;

static lanes_of_tiles locate(int t, int count, int th, int tw, int channels, int h,
                                    int w, int y0, int x0, int nrows)
{
    lanes_of_tiles L;
    int at[16] = {0};
    for (int i = 0; i < nrows; i++)
        L.rows[i] = L.cols[i] = 0;
    for (int l = 0; l < count; l++) {
        const int tx = (t + l) % tw, ty = (t + l) / tw % th, n = (t + l) / (tw * th);
        const int y = 4 * ty + y0, x = 4 * tx + x0;
        at[l] = (n * channels * h + y) * w + x;
        for (int i = 0; i < nrows; i++) {
            L.rows[i] |= (__mmask16)((y + i >= 0 && y + i < h) << l);
            L.cols[i] |= (__mmask16)((x + i >= 0 && x + i < w) << l);
        }
    }
    L.at = _mm512_loadu_si512(at);
    return L;
}

/* Tiles [t, end) of the batch as far as they run along one tile row. */
static wino_segment segment_of(int t, int end, int th, int tw)
{
    wino_segment g = {t / (tw * th), t / tw % th, t % tw, 0};
    g.len = tw - g.tx < end - t ? tw - g.tx : end - t;
    return g;
}

/* Offsets are int32 lanes: true where the whole tensor fits. */
static int fits_int32(const gc_window *s)
{
    return (size_t)s->n * s->c * s->h * s->w < ((size_t)1 << 31) &&
           (size_t)s->n * s->oc * s->ho * s->wo < ((size_t)1 << 31);
}

/* The input transform for count tiles anywhere in the batch: each of the
 * 36 points of every tile's 6x6 patch is gathered (zero outside). */
static void f4_input_any(float *V, size_t ldv, int col, const float *in,
                                const gc_window *s, int t, int count, int th, int tw)
{
    if (!fits_int32(s)) { /* a tile row at a time, as for wide maps */
        for (int u = t; u < t + count;) {
            const wino_segment g = segment_of(u, t + count, th, tw);
            f4_input_avx512(V, ldv, col + (u - t), in, s, g, NULL);
            u += g.len;
        }
        return;
    }
    const size_t plane = (size_t)s->h * s->w, xs = (size_t)s->c * ldv;
    const lanes_of_tiles L = locate(t, count, th, tw, s->c, s->h, s->w, -1, -1, 6);
    const __mmask16 keep = lanes_first(count);
    for (int ch = 0; ch < s->c; ch++) {
        const float *src = in + (size_t)ch * plane;
        __m512 e[6][6];
        UNROLL for (int i = 0; i < 6; i++) {
            __m512 d[6];
            UNROLL for (int j = 0; j < 6; j++)
                d[j] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), L.rows[i] & L.cols[j],
                                                L.at, src + (size_t)i * s->w + j, 4);
            bt6(e[i], d[0], d[1], d[2], d[3], d[4], d[5]);
        }
        float *v = V + (size_t)ch * ldv + col;
        UNROLL for (int j = 0; j < 6; j++) {
            __m512 o[6];
            bt6(o, e[0][j], e[1][j], e[2][j], e[3][j], e[4][j], e[5][j]);
            UNROLL for (int r = 0; r < 6; r++)
                _mm512_mask_storeu_ps(v + (size_t)(6 * r + j) * xs, keep, o[r]);
        }
    }
}

/* The output transform for count tiles anywhere in the batch: each of
 * the 16 outputs of every tile is scattered to its place, with the
 * epilogue as put_row4 applies it. */
static void f4_output_any(float *out, const float *M, size_t ldm, int col,
                                 const float *bias, const gc_epilogue *epi, const gc_window *s,
                                 int t, int count, int th, int tw, int k0, int kn,
                                 int accumulate)
{
    if (!fits_int32(s)) {
        for (int u = t; u < t + count;) {
            const wino_segment g = segment_of(u, t + count, th, tw);
            f4_output_avx512(out, M, ldm, col + (u - t), bias, epi, s, g, k0, kn, accumulate);
            u += g.len;
        }
        return;
    }
    const size_t xs = (size_t)kn * ldm, plane = (size_t)s->ho * s->wo;
    const lanes_of_tiles L = locate(t, count, th, tw, s->oc, s->ho, s->wo, 0, 0, 4);
    const __mmask16 keep = lanes_first(count);
    const int scaled = epi && epi->scale, relu = epi && epi->relu;
    for (int r = 0; r < kn; r++) {
        const int oc = k0 + r;
        const channel_consts k = channel_consts_of(bias, epi, oc);
        float *dst = out + (size_t)oc * plane;
        const float *res = epi && epi->residual ? epi->residual + (size_t)oc * plane : NULL;
        const float *m = M + (size_t)r * ldm + col;
        __m512 tt[4][6]; /* A^T m: row a, column j */
        at_m(tt, m, xs, keep);
        for (int a = 0; a < 4; a++) {
            if (!L.rows[a])
                break;
            __m512 y[4];
            at6(y, tt[a][0], tt[a][1], tt[a][2], tt[a][3], tt[a][4], tt[a][5]);
            UNROLL for (int c = 0; c < 4; c++) {
                const __mmask16 mk = L.rows[a] & L.cols[c];
                const size_t at = (size_t)a * s->wo + c;
                __m512 v = _mm512_add_ps(y[c], k.b);
                if (scaled) /* as epilogue_scale: multiply, then add */
                    v = _mm512_add_ps(_mm512_mul_ps(v, k.sa), k.sb);
                if (accumulate)
                    v = _mm512_add_ps(_mm512_mask_i32gather_ps(v, mk, L.at, dst + at, 4), v);
                if (res) /* y + residual, as add_forward */
                    v = _mm512_add_ps(v, _mm512_mask_i32gather_ps(v, mk, L.at, res + at, 4));
                if (relu) /* y > 0 ? y : 0, NaN included, as relu_forward */
                    v = _mm512_max_ps(v, _mm512_setzero_ps());
                _mm512_mask_i32scatter_ps(dst + at, mk, L.at, v, 4);
            }
        }
    }
}

static size_t no_scratch(int tb)
{
    (void)tb;
    return 0;
}

/* Maps of at most 4 tiles (16 columns) a row take the gathers: ResNet-18's
 * convolutions at batch 16, one thread, 512 channels at 7x7 (2 tiles a
 * row) and 256 at 14x14 (4), went from 1.41x to 1.65x and from 1.00x to
 * 1.08x F(2x2)'s speed; at 28x28 (7) they were slower (1.38x to 1.1x):
 * a gather costs about 20 cycles here. */
const wino_kind winograd4_avx512 = {4, 36, no_scratch, f4_input_avx512, f4_output_avx512,
                                    5, f4_input_any, f4_output_any};
