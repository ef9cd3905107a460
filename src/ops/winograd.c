/* winograd.c — 3x3, stride-1, pad-1 convolution by Winograd's minimal
 * filtering F(2x2, 3x3) (Lavin & Gray 2016): each 4x4 input tile and 3x3
 * filter are moved to a 16-point transform domain where the convolution is
 * 16 independent matrix products, done by BLAS with all tiles of all images
 * as the columns. 16 multiplies per 2x2 outputs instead of 36.
 *
 * Transforms (B^T d B, G g G^T, A^T m A):
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1]
 * The gradient with respect to the input is the same computation with the
 * filters flipped and their channels swapped, which in the transform domain
 * is a permutation of U's tiles: no second set of transformed filters.
 * This file also holds the driver that F(4x4, 3x3) (winograd4.c) shares:
 * blocks of tiles, the products, the threads. Deliberately not here:
 * strides, groups. */
#include "ops/gemm.h"
#include "ops/winograd_tiles.h"

#include <omp.h>
#include <string.h>

int winograd_applies(const gc_window *s)
{
    return s->kh == 3 && s->kw == 3 && s->sh == 1 && s->sw == 1 && s->dh == 1 &&
           s->dw == 1 && s->groups == 1 && s->ph == 1 && s->pw == 1 && s->ho == s->h &&
           s->wo == s->w;
}

/* Filters are transformed WINO_FILTERS at a time into a small buffer and
 * copied out as contiguous runs, one per point: writing each filter's
 * values straight to places a plane apart was a third of loading
 * ResNet-18. */
void wino_transform_filters(float *U, int points, size_t kc,
                            void (*block)(float *out, size_t q0, size_t nq, const void *ctx),
                            const void *ctx)
{
    const long blocks = (long)((kc + WINO_FILTERS - 1) / WINO_FILTERS);
    #pragma omp parallel for schedule(static)
    for (long blk = 0; blk < blocks; blk++) {
        const size_t q0 = (size_t)blk * WINO_FILTERS;
        const size_t nq = kc - q0 < WINO_FILTERS ? kc - q0 : WINO_FILTERS;
        float out[WINO_MAX_POINTS * WINO_FILTERS];
        block(out, q0, nq, ctx);
        for (int xi = 0; xi < points; xi++)
            memcpy(U + (size_t)xi * kc + q0, out + xi * WINO_FILTERS, sizeof(float) * nq);
    }
}

/* G g G^T for filters q0 .. q0 + nq of the plain filters ctx, first
 * turned so that each tap is a row over the filters: then every step is
 * a loop over filters, which vectorises (a filter at a time was 15% of
 * loading ResNet-18). */
static void f2_filters(float *out, size_t q0, size_t nq, const void *ctx)
{
    const float *w = (const float *)ctx + q0 * 9;
    float g[9][WINO_FILTERS], t[4][3][WINO_FILTERS]; /* taps; G g */
    for (size_t f = 0; f < nq; f++)
        for (int i = 0; i < 9; i++)
            g[i][f] = w[f * 9 + i];
    for (int j = 0; j < 3; j++)
        for (size_t f = 0; f < nq; f++) {
            const float g0 = g[j][f], g1 = g[3 + j][f], g2 = g[6 + j][f];
            t[0][j][f] = g0;
            t[1][j][f] = 0.5f * (g0 + g1 + g2);
            t[2][j][f] = 0.5f * (g0 - g1 + g2);
            t[3][j][f] = g2;
        }
    for (int i = 0; i < 4; i++) { /* (G g) G^T */
        float *o = out + (size_t)(i * 4) * WINO_FILTERS;
        for (size_t f = 0; f < nq; f++) {
            const float a = t[i][0][f], b = t[i][1][f], d = t[i][2][f];
            o[f] = a;
            o[WINO_FILTERS + f] = 0.5f * (a + b + d);
            o[2 * WINO_FILTERS + f] = 0.5f * (a - b + d);
            o[3 * WINO_FILTERS + f] = d;
        }
    }
}

void winograd_transform_weights(float *U, const float *w, int k, int c)
{
    wino_transform_filters(U, 16, (size_t)k * c, f2_filters, w);
}

static int tiles(const gc_window *s, int m, int *th, int *tw)
{
    *th = (s->ho + m - 1) / m;
    *tw = (s->wo + m - 1) / m;
    return *th * *tw;
}

/* Chunk boundaries: see chunk_row. */
#define FORWARD_GRAIN 6
#define BACKWARD_GRAIN 16

/* Tiles per block: each of the 16 products reads one c x tb slice of the
 * transformed inputs for every row of filters, so a slice (at most 128 KB)
 * must stay in the 1 MB L2 cache; wider blocks keep the product's vector
 * lanes full (at 16 tiles, 512 channels ran at two thirds of the speed). */
static int tile_block(int c)
{
    int tb = 32768 / (c > 0 ? c : 1);
    tb -= tb % 16;
    return tb < 16 ? 16 : tb > 64 ? 64 : tb;
}

/* How a convolution's work is cut into units: T tiles in blocks of tb
 * (the last may be shorter), the output channels in `chunks` row ranges
 * (chunk_row), units = blocks x chunks, block-major, each thread taking
 * a contiguous run of units. rows is the most rows a unit has. */
typedef struct wino_plan {
    int tb, blocks, chunks, rows, grain;
} wino_plan;

/* First row of chunk q: the rows shared as evenly as whole multiples of
 * grain allow: micro-kernel rows (6) forward, vectors (16) backward,
 * where the chunk's channels are the columns of the product. (Chunks of
 * 48 rows had given one thread 144 of 256 rows and the other 112.) */
static int chunk_row(int oc, int chunks, int q, int grain)
{
    if (q >= chunks)
        return oc;
    const long g = grain;
    const int r = (int)(((long)oc * q + g / 2 * chunks) / (g * chunks) * g);
    return r < oc ? r : oc;
}

/* Chunks of output channels: one when there are enough tile blocks to
 * share among the threads; otherwise enough for about four units a
 * thread, each of at least 48 rows (so the repeated input transform stays
 * a small part of a unit), and a unit count that the threads divide. */
static int channel_chunks(int oc, int blocks, int threads)
{
    if (blocks >= 4 * threads)
        return 1;
    int chunks = (4 * threads + blocks - 1) / blocks;
    const int most = oc / 48 > 1 ? oc / 48 : 1;
    chunks = chunks < most ? chunks : most;
    while (chunks > 1 && (blocks * chunks) % threads)
        chunks--;
    return chunks;
}

/* What a block of nb tiles costs the product, in vector lanes: whole
 * 16-lane vectors, except that a lone last column is a cheap dot product
 * (gemm_avx512.c). */
static long block_cost(int nb)
{
    return nb % 16 == 1 && nb > 16 ? nb + 3 : (nb + 15) / 16 * 16L;
}

/* The busiest thread's share of the products under plan p. */
static long busiest(const wino_plan *p, int T, int oc, int threads)
{
    const int units = p->blocks * p->chunks;
    long most = 0;
    for (int me = 0; me < threads; me++) {
        long sum = 0;
        for (int u = (int)((long)units * me / threads); u < (long)units * (me + 1) / threads; u++) {
            const int blk = u / p->chunks, q = u % p->chunks;
            const int nb = T - blk * p->tb < p->tb ? T - blk * p->tb : p->tb;
            sum += block_cost(nb) * (chunk_row(oc, p->chunks, q + 1, p->grain) -
                                     chunk_row(oc, p->chunks, q, p->grain));
        }
        most = sum > most ? sum : most;
    }
    return most;
}

static wino_plan plan_with(int T, int tb, int oc, int threads, int grain)
{
    wino_plan p;
    p.grain = grain;
    p.tb = tb > 0 ? tb : 1;
    p.blocks = T > 0 ? (T + p.tb - 1) / p.tb : 1;
    p.chunks = channel_chunks(oc, p.blocks, threads);
    p.rows = 0;
    for (int q = 0; q < p.chunks; q++) {
        const int r = chunk_row(oc, p.chunks, q + 1, grain) - chunk_row(oc, p.chunks, q, grain);
        p.rows = r > p.rows ? r : p.rows;
    }
    return p;
}

/* The plan whose busiest thread has the least to do. Candidates: blocks
 * of equal size, at most tile_block(c) and a multiple of the thread count
 * where there are enough (196 tiles as 4 x 49, not 3 x 64 + 4), and
 * blocks of whole vectors (784 tiles as 12 x 64 + 16: 6% faster than
 * 14 x 56, whose last vector is half empty). Ties go to
 * fewer blocks: each is transformed once per thread that uses it. */
static wino_plan plan_of(int T, int c, int oc, int threads, int grain)
{
    const int most = tile_block(c);
    int b = (T + most - 1) / most;
    if (b >= threads)
        b = (b + threads - 1) / threads * threads;
    b = b < T ? b : T > 0 ? T : 1;
    wino_plan best = plan_with(T, (T + b - 1) / b, oc, threads, grain);
    long best_cost = busiest(&best, T, oc, threads);
    for (int tb = 16; tb <= most && tb < T; tb += 16) {
        const wino_plan p = plan_with(T, tb, oc, threads, grain);
        const long cost = busiest(&p, T, oc, threads);
        if (cost < best_cost || (cost == best_cost && p.blocks < best.blocks))
            best = p, best_cost = cost;
    }
    return best;
}

/* The row length for a block of nb tiles in V or M, whose `planes`
 * planes of `rows` rows each the transforms write or read together: at
 * least nb, and chosen so that the planes' starts fall in as many
 * different sets of the L1 cache (64 sets of 64 bytes, 8 ways) as can
 * be. With rows of exactly nb, 64 channels and 48 or 64 tiles put all 16
 * planes in one set: the convolution took 13% longer. */
#define ROW_PAD 15
static int row_length(int nb, int rows, int planes)
{
    int best = nb, best_most = planes + 1;
    for (int ld = nb; ld <= nb + ROW_PAD; ld++) {
        int count[64] = {0}, most = 0;
        for (int i = 0; i < planes; i++) {
            const int set = (int)(((size_t)i * rows * ld * sizeof(float) / 64) % 64);
            most = ++count[set] > most ? count[set] : most;
        }
        if (most < best_most)
            best = ld, best_most = most;
    }
    return best;
}

/* Per thread: V (points x c x ldv), M (points x rows x ldm), the
 * backward pass's transposed product (tb x rows) and the transforms' own
 * scratch. */
static size_t thread_scratch(const wino_kind *k, const gc_window *s, const wino_plan *p)
{
    const size_t ld = (size_t)p->tb + ROW_PAD;
    return (size_t)k->points * ld * ((size_t)s->c + p->rows) + (size_t)p->tb * p->rows +
           k->scratch(p->tb);
}

static size_t by_points_workspace(const wino_kind *k, const gc_window *s, int T, int threads);

size_t wino_workspace(const wino_kind *k, const gc_window *s)
{
    int th, tw;
    const int threads = omp_get_max_threads();
    const int T = s->n * tiles(s, k->m, &th, &tw);
    const wino_plan f = plan_of(T, s->c, s->oc, threads, FORWARD_GRAIN);
    const wino_plan b = plan_of(T, s->c, s->oc, threads, BACKWARD_GRAIN);
    const size_t sf = thread_scratch(k, s, &f), sb = thread_scratch(k, s, &b);
    const size_t most = (size_t)threads * (sf > sb ? sf : sb);
    const size_t points = b.blocks == 1 ? by_points_workspace(k, s, T, threads) : 0;
    return most > points ? most : points;
}

/* The window of the backward pass: the same geometry, channels swapped. */
static gc_window mirrored(const gc_window *s)
{
    gc_window m = *s;
    m.c = s->oc, m.oc = s->c;
    return m;
}

/* F(2x2, 3x3): the transforms below, AVX-512 where the CPU has it. */
static size_t f2_scratch(int tb)
{
    return 4 * (size_t)(2 * tb + 2) + 16 * (size_t)tb; /* 4 padded rows, 8 x (tb + 1) columns */
}

static void f2_input_avx512(float *V, size_t ldv, int col, const float *in, const gc_window *s,
                            wino_segment g, float *scratch)
{
    (void)scratch;
    winograd_input_avx512(V, ldv, col, in, s, g);
}

static void f2_input_portable(float *V, size_t ldv, int col, const float *in,
                              const gc_window *s, wino_segment g, float *scratch)
{
    winograd_input_portable(V, ldv, col, in, s, g, scratch, scratch + 4 * (2 * g.len + 2));
}

static wino_kind f2(void)
{
    const int avx = winograd_avx512_available();
    return (wino_kind){2, 16, f2_scratch, avx ? f2_input_avx512 : f2_input_portable,
                       avx ? winograd_output_avx512 : winograd_output_portable, 0, NULL, NULL};
}

size_t winograd_workspace(const gc_window *s)
{
    const wino_kind k = f2();
    gc_window m = mirrored(s);
    size_t f = wino_workspace(&k, s), b = wino_workspace(&k, &m);
    return f > b ? f : b;
}

typedef wino_segment segment;

static segment segment_at(int t, int t_end, int th, int tw)
{
    segment g;
    g.tx = t % tw;
    g.ty = (t / tw) % th;
    g.n = t / (tw * th);
    g.len = tw - g.tx < t_end - t ? tw - g.tx : t_end - t;
    return g;
}

/* The transforms' inner loops, each over contiguous arrays, as functions
 * with restrict parameters: that is what tells the compiler the arrays do
 * not overlap, so it vectorises them. */
static void row_transform(float *restrict r0, float *restrict r1, float *restrict r2,
                          float *restrict r3, int n)
{
    for (int q = 0; q < n; q++) { /* B^T d down every column at once */
        float d0 = r0[q], d1 = r1[q], d2 = r2[q], d3 = r3[q];
        r0[q] = d0 - d2;
        r1[q] = d1 + d2;
        r2[q] = d2 - d1;
        r3[q] = d1 - d3;
    }
}

static void split_even_odd(float *restrict e, float *restrict o, const float *restrict r, int n)
{
    for (int q = 0; q < n; q++) {
        e[q] = r[2 * q];
        o[q] = r[2 * q + 1];
    }
}

/* (B^T d) B for tiles whose four columns are e[k], o[k], e[k+1], o[k+1]. */
static void column_transform(float *restrict v0, float *restrict v1, float *restrict v2,
                             float *restrict v3, const float *restrict e,
                             const float *restrict o, int len)
{
    for (int k = 0; k < len; k++) {
        v0[k] = e[k] - e[k + 1];
        v1[k] = o[k] + e[k + 1];
        v2[k] = e[k + 1] - o[k];
        v3[k] = o[k] - o[k + 1];
    }
}

/* A^T m for one column of every tile: rows m0..m3 in, two rows out. */
static void at_m(float *restrict t0, float *restrict t1, const float *restrict m0,
                 const float *restrict m1, const float *restrict m2, const float *restrict m3,
                 int len)
{
    for (int k = 0; k < len; k++) {
        t0[k] = m0[k] + m1[k] + m2[k];
        t1[k] = m1[k] - m2[k] - m3[k];
    }
}

/* (A^T m) A plus the bias: one row of A^T m (columns t0..t3) in, the two
 * outputs of that row out. */
static void at_m_a(float *restrict y0, float *restrict y1, const float *restrict t0,
                   const float *restrict t1, const float *restrict t2, const float *restrict t3,
                   float b, int len)
{
    for (int k = 0; k < len; k++) {
        y0[k] = t0[k] + t1[k] + t2[k] + b;
        y1[k] = t1[k] - t2[k] - t3[k] + b;
    }
}

static void interleave(float *restrict row, const float *restrict even,
                       const float *restrict odd, int pairs)
{
    for (int k = 0; k < pairs; k++) {
        row[2 * k] = even[k];
        row[2 * k + 1] = odd[k];
    }
}

static void interleave_add(float *restrict row, const float *restrict even,
                           const float *restrict odd, int pairs)
{
    for (int k = 0; k < pairs; k++) {
        row[2 * k] += even[k];
        row[2 * k + 1] += odd[k];
    }
}

/* V[xi][ch][col + k] = (B^T d B)[xi] for the 4x4 patch of tile (g.ty,
 * g.tx + k), zero outside the image. Written so every loop runs over
 * contiguous arrays and vectorises: the four input rows are copied into
 * zero-padded buffers, combined down the columns (B^T d) in place, then
 * split into even and odd columns E, O; tile k's four columns are then
 * E[k], O[k], E[k+1], O[k+1]. ldv is the row length of V (the block's tile
 * count). rows holds 4 x (2 len + 2) floats, eo 8 x (len + 1). */
void winograd_input_portable(float *V, size_t ldv, int col, const float *in, const gc_window *s,
                             segment g, float *rows, float *eo)
{
    const int padded = 2 * g.len + 2, half = g.len + 1, x0 = 2 * g.tx - 1;
    const size_t plane = (size_t)s->h * s->w, xi_stride = (size_t)s->c * ldv;
    float *r0 = rows, *r1 = rows + padded, *r2 = r1 + padded, *r3 = r2 + padded;
    for (int ch = 0; ch < s->c; ch++) {
        const float *src = in + ((size_t)g.n * s->c + ch) * plane;
        for (int i = 0; i < 4; i++) {
            float *r = rows + (size_t)i * padded;
            int y = 2 * g.ty - 1 + i;
            if (y < 0 || y >= s->h) {
                memset(r, 0, sizeof(float) * padded);
                continue;
            }
            const float *row = src + (size_t)y * s->w;
            int lo = x0 < 0 ? -x0 : 0, hi = s->w - x0 < padded ? s->w - x0 : padded;
            for (int q = 0; q < lo; q++)
                r[q] = 0.0f;
            memcpy(r + lo, row + x0 + lo, sizeof(float) * (hi - lo));
            for (int q = hi; q < padded; q++)
                r[q] = 0.0f;
        }
        row_transform(r0, r1, r2, r3, padded);
        for (int i = 0; i < 4; i++) {
            const float *r = rows + (size_t)i * padded;
            float *e = eo + (size_t)(2 * i) * half, *o = e + half;
            split_even_odd(e, o, r, half);
            float *v = V + (size_t)ch * ldv + col + (size_t)(4 * i) * xi_stride;
            column_transform(v, v + xi_stride, v + 2 * xi_stride, v + 3 * xi_stride, e, o, g.len);
        }
    }
}

/* out = A^T m A + bias for the tiles of one segment and output channels
 * [k0, k0 + kn), clipped at the image's bottom and right edges (added to
 * what out holds when accumulate is set). M holds
 * 16 x kn x ldm products; its row r is channel k0 + r. Like the input
 * transform, every loop runs over contiguous tiles. */
void winograd_output_portable(float *out, const float *M, size_t ldm, int col, const float *bias,
                              const gc_epilogue *epi, const gc_window *s, segment g, int k0,
                              int kn, int accumulate)
{
    const size_t xs = (size_t)kn * ldm; /* from one xi to the next */
    float t[8][64], y[4][64]; /* A^T m (rows 0, 1 x columns 0..3); outputs */
    const int len = g.len;    /* at most 64, the largest tile block */
    for (int r = 0; r < kn; r++) {
        const float *m = M + (size_t)r * ldm + col;
        const float b = bias ? bias[k0 + r] : 0.0f;
        for (int j = 0; j < 4; j++) {
            const float *m0 = m + (size_t)j * xs;
            at_m(t[j], t[4 + j], m0, m0 + 4 * xs, m0 + 8 * xs, m0 + 12 * xs, len);
        }
        for (int i = 0; i < 2; i++) /* (A^T m) A, two columns of outputs */
            at_m_a(y[2 * i], y[2 * i + 1], t[4 * i], t[4 * i + 1], t[4 * i + 2], t[4 * i + 3], b, len);
        for (int i = 0; i < 4; i++) /* the residual and ReLU come once in place */
            epilogue_scale(y[i], (size_t)len, epi, k0 + r);
        float *plane = out + ((size_t)g.n * s->oc + k0 + r) * s->ho * s->wo;
        const int full = 2 * (g.tx + len) <= s->wo; /* else the last column is outside */
        for (int i = 0; i < 2 && 2 * g.ty + i < s->ho; i++) {
            float *row = plane + (size_t)(2 * g.ty + i) * s->wo + 2 * g.tx;
            const int pairs = full ? len : len - 1;
            (accumulate ? interleave_add : interleave)(row, y[2 * i], y[2 * i + 1], pairs);
            if (!full)
                row[2 * pairs] = (accumulate ? row[2 * pairs] : 0.0f) + y[2 * i][pairs];
            if (epi)
                epilogue_finish(row, epilogue_residual(epi, (size_t)(row - out)),
                                (size_t)(2 * pairs + !full), epi);
        }
    }
}

/* Tiles of U in the backward pass: the gradient of a correlation with g is
 * a correlation with g flipped, and G J = P G for the reversal J and the
 * permutation P that swaps rows 0 and 3, so the flipped filter's transform
 * is U with both indices permuted; and its channels are U's transposed. */
static int flipped(int xi)
{
    static const int p[4] = {3, 1, 2, 0};
    return p[xi / 4] * 4 + p[xi % 4];
}

/* dst[j][i] = src[i][j] for i < rows, j < cols. */
static void transpose(float *restrict dst, size_t ldd, const float *restrict src, size_t lds,
                      int rows, int cols)
{
    for (int j = 0; j < cols; j++)
        for (int i = 0; i < rows; i++)
            dst[(size_t)j * ldd + i] = src[(size_t)i * lds + j];
}

/* Tiles [t0, t1) of the batch into V (row length ldv), their columns
 * counted from t0: along tile rows, or for short rows 16 at a time. */
static void transform_tiles(const wino_kind *k, float *V, size_t ldv, const float *in,
                            const gc_window *s, int t0, int t1, int th, int tw, float *scratch)
{
    const int any = tw < k->short_rows;
    for (int t = t0, len; t < t1; t += len) {
        segment g = segment_at(t, t1, th, tw);
        len = any ? (t1 - t < 16 ? t1 - t : 16) : g.len;
        if (any)
            k->input_any(V, ldv, t - t0, in, s, t, len, th, tw);
        else
            k->input(V, ldv, t - t0, in, s, g, scratch);
    }
}

/* The outputs of tiles [t0, t1) for channels [k0, k0 + kn), from M
 * (row length ldm) whose column 0 is tile `first`. */
static void output_tiles(const wino_kind *k, float *out, const float *M, size_t ldm, int first,
                         const float *bias, const gc_epilogue *epi, const gc_window *s, int t0,
                         int t1, int th, int tw, int k0, int kn, int backward)
{
    const int any = tw < k->short_rows;
    for (int t = t0, len; t < t1; t += len) {
        segment g = segment_at(t, t1, th, tw);
        len = any ? (t1 - t < 16 ? t1 - t : 16) : g.len;
        if (any)
            k->output_any(out, M, ldm, t - first, bias, epi, s, t, len, th, tw, k0, kn,
                          backward);
        else
            k->output(out, M, ldm, t - first, bias, epi, s, g, k0, kn, backward);
    }
}

/* Product xi of the backward pass for nb tiles and channels [k0, k0 +
 * kn): U[flipped(xi)] is fwd->oc x fwd->c and we need its columns k0..,
 * so the product is formed transposed (tiles x channels) with those rows
 * read whole, then turned: reading A transposed in place had gathered a
 * few floats from each of its rows, and took twice as long. */
static void backward_product(float *mx, size_t ldm, const float *v, size_t ldv, const float *U,
                             int xi, const gc_window *s, int nb, int k0, int kn, float *MT)
{
    gemm_tn(nb, kn, s->c, v, (int)ldv, U + (size_t)flipped(xi) * s->c * s->oc + k0, s->oc,
            MT, kn, 0);
    transpose(mx, ldm, MT, (size_t)kn, nb, kn);
}

/* The backward pass when all tiles make one block (a small map at batch
 * 1): every thread transforms the block into its own V; the threads
 * share the products by point, each for all channels, so that each reads
 * whole planes of U, one after another; then, after a barrier, share the
 * outputs by tile. Splitting by channels instead, each thread had read
 * a narrow column of every plane. Workspace: by_points_workspace. */
static size_t by_points_thread(const wino_kind *k, const gc_window *s, int T)
{
    return (size_t)k->points * (T + ROW_PAD) * s->c + (size_t)T * s->oc + k->scratch(T);
}

static size_t by_points_workspace(const wino_kind *k, const gc_window *s, int T, int threads)
{
    return (size_t)k->points * (T + ROW_PAD) * s->oc + (size_t)threads * by_points_thread(k, s, T);
}

static void backward_by_points(const wino_kind *k, float *out, const float *in, const float *U,
                               const gc_window *s, int T, int th, int tw, float *work)
{
    const int P = k->points;
    const size_t ldv = (size_t)row_length(T, s->c, P), ldm = (size_t)row_length(T, s->oc, P);
    float *M = work; /* shared: P x oc x ldm */
    #pragma omp parallel
    {
        const int nt = omp_get_num_threads(), me = omp_get_thread_num();
        float *V = work + (size_t)P * (T + ROW_PAD) * s->oc + (size_t)me * by_points_thread(k, s, T);
        float *MT = V + (size_t)P * (T + ROW_PAD) * s->c, *scratch = MT + (size_t)T * s->oc;
        transform_tiles(k, V, ldv, in, s, 0, T, th, tw, scratch);
        for (int xi = P * me / nt; xi < P * (me + 1) / nt; xi++)
            backward_product(M + (size_t)xi * s->oc * ldm, ldm, V + (size_t)xi * s->c * ldv, ldv,
                             U, xi, s, T, 0, s->oc, MT);
        #pragma omp barrier
        output_tiles(k, out, M, ldm, 0, NULL, NULL, s, T * me / nt, T * (me + 1) / nt, th, tw,
                     0, s->oc, 1);
    }
}

/* One convolution either way: forward, out = conv(in) + bias, then epi;
 * backward (F(2x2, 3x3) only), out += conv^T(in) (s is still the forward
 * window; in has oc channels, out c). */
static void run(const wino_kind *k, float *out, const float *in, const float *U,
                const float *bias, const gc_epilogue *epi, const gc_window *fwd, int backward,
                float *work)
{
    const gc_window sw = backward ? mirrored(fwd) : *fwd, *s = &sw;
    int th, tw;
    const int T = s->n * tiles(s, k->m, &th, &tw), P = k->points;
    const int threads = omp_get_max_threads();
    const wino_plan p = plan_of(T, s->c, s->oc, threads, backward ? BACKWARD_GRAIN : FORWARD_GRAIN);
    if (backward && p.blocks == 1 && threads > 1) {
        backward_by_points(k, out, in, U, s, T, th, tw, work);
        return;
    }
    const int tb = p.tb, units = p.blocks * p.chunks;
    /* One parallel region per convolution: each unit transforms a block of
     * tiles, multiplies it by one chunk of output channels' filters and
     * writes those channels' outputs, all within the thread's own scratch.
     * Units are block-major, so a thread whose consecutive units share a
     * block transforms it once. */
    #pragma omp parallel
    {
        const int nt = omp_get_num_threads(), me = omp_get_thread_num();
        const int first = (int)((long)units * me / nt), end = (int)((long)units * (me + 1) / nt);
        float *V = work + (size_t)me * thread_scratch(k, s, &p);
        float *M = V + (size_t)P * (tb + ROW_PAD) * s->c;
        float *MT = M + (size_t)P * (tb + ROW_PAD) * p.rows;
        float *scratch = MT + (size_t)tb * p.rows;
        int have = -1; /* the block now in V */
        for (int u = first; u < end; u++) {
            const int blk = u / p.chunks, q = u % p.chunks;
            const int k0 = chunk_row(s->oc, p.chunks, q, p.grain);
            const int kn = chunk_row(s->oc, p.chunks, q + 1, p.grain) - k0;
            const int t0 = blk * tb, t1 = T - t0 < tb ? T : t0 + tb, nb = t1 - t0;
            const size_t ldv = (size_t)row_length(nb, s->c, P), ldm = (size_t)row_length(nb, kn, P);
            if (have != blk)
                transform_tiles(k, V, ldv, in, s, t0, t1, th, tw, scratch);
            have = blk;
            for (int xi = 0; xi < P; xi++) {
                const float *v = V + (size_t)xi * s->c * ldv;
                float *mx = M + (size_t)xi * kn * ldm;
                if (backward)
                    backward_product(mx, ldm, v, ldv, U, xi, s, nb, k0, kn, MT);
                else
                    gemm_nn(kn, nb, s->c, U + ((size_t)xi * s->oc + k0) * s->c, s->c, v,
                            (int)ldv, mx, (int)ldm, 0);
            }
            output_tiles(k, out, M, ldm, t0, backward ? NULL : bias, backward ? NULL : epi, s,
                         t0, t1, th, tw, k0, kn, backward);
        }
    }
}

void wino_forward(const wino_kind *k, float *out, const float *in, const float *U,
                  const float *bias, const gc_epilogue *epi, const gc_window *s, float *work)
{
    run(k, out, in, U, bias, epi, s, 0, work);
}

void conv2d_winograd_forward(float *out, const float *in, const float *U, const float *bias,
                             const gc_epilogue *epi, const gc_window *s, float *work)
{
    const wino_kind k = f2();
    run(&k, out, in, U, bias, epi, s, 0, work);
}

void conv2d_winograd_backward_input(float *din, const float *dout, const float *U,
                                    const gc_window *s, float *work)
{
    const wino_kind k = f2();
    run(&k, din, dout, U, NULL, NULL, s, 1, work);
}
