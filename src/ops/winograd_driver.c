/* winograd_driver.c — what every Winograd algorithm here shares (F(2x2,
 * 3x3) in winograd.c, F(4x4, 3x3) in winograd4.c): the filter transform's
 * loop, and one convolution's cut into units of work, the threads that
 * share them, and the products in between the kind's input and output
 * transforms. The transforms themselves are the kinds' own. */
#include "ops/gemm.h"
#include "ops/winograd_tiles.h"

#include <omp.h>
#include <string.h>

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
    const wino_plan p = plan_of(s->n * tiles(s, k->m, &th, &tw), s->c, s->oc, threads,
                                FORWARD_GRAIN);
    return (size_t)threads * thread_scratch(k, s, &p);
}

/* The window of the backward pass: the same geometry, channels swapped. */
static gc_window mirrored(const gc_window *s)
{
    gc_window m = *s;
    m.c = s->oc, m.oc = s->c;
    return m;
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
 * so the product is formed transposed (tiles x channels), reading them in
 * vectors along U's rows, then turned, rather than reading U as a
 * transposed A, a few floats from each of its rows. */
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
 * backward (F(2x2, 3x3) only: flipped() is its permutation), out +=
 * conv^T(in) (s is still the forward window; in has oc channels, out c). */
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

size_t wino_backward_workspace(const wino_kind *k, const gc_window *fwd)
{
    int th, tw;
    const gc_window m = mirrored(fwd), *s = &m;
    const int threads = omp_get_max_threads(), T = s->n * tiles(s, k->m, &th, &tw);
    const wino_plan p = plan_of(T, s->c, s->oc, threads, BACKWARD_GRAIN);
    const size_t chunks = (size_t)threads * thread_scratch(k, s, &p);
    const size_t points = p.blocks == 1 ? by_points_workspace(k, s, T, threads) : 0;
    return chunks > points ? chunks : points;
}

void wino_backward(const wino_kind *k, float *din, const float *dout, const float *U,
                   const gc_window *s, float *work)
{
    run(k, din, dout, U, NULL, NULL, s, 1, work);
}

