/* winograd4.c — Winograd F(4x4, 3x3), forward only: each 6x6 input tile
 * gives 4x4 outputs from 36 products instead of 144, against F(2x2, 3x3)'s
 * 16 for 4 (64 for 16 outputs). winograd.c's driver runs it; this file
 * holds the filter transform, the portable tile transforms and where it
 * pays; src/ops/x86/winograd4_avx512.c has the fast transforms.
 *
 * Points 0, 1, -1, 2, -1/2 and infinity. In NumPy, on a 256-channel layer,
 * its error is 1.0e-6 relative rms (largest 1.4e-6), against F(2x2)'s
 * 2.4e-7 and a plain float32 sum's 5.9e-7 (largest 1.4e-6); the common
 * points 0, +-1, +-2 give 1.5e-6 (largest 4.1e-6).
 *
 *   B^T = [ 1  3/2   -2  -3/2    1   0 ]     G = [     1     0     0 ]
 *         [ 0   -1 -5/2  -1/2    1   0 ]         [  -1/3  -1/3  -1/3 ]
 *         [ 0    1  1/2  -5/2    1   0 ]         [   1/3  -1/3   1/3 ]
 *         [ 0 -1/2   -1   1/2    1   0 ]         [  1/15  2/15  4/15 ]
 *         [ 0    2   -1    -2    1   0 ]         [-16/15  8/15 -4/15 ]
 *         [ 0    1  3/2    -2 -3/2   1 ]         [     0     0     1 ]
 *
 *   A^T = [ 1  1  1  1     1  0 ]
 *         [ 0  1 -1  2  -1/2  0 ]
 *         [ 0  1  1  4   1/4  0 ]
 *         [ 0  1 -1  8  -1/8  1 ]
 *
 * Where it is used: Score-CAM's masked passes, whose only output is one
 * class probability per mask (see src/cam/perturbation.c). Grad-CAM and
 * every pass whose activations or gradients are read stay on F(2x2, 3x3).
 * Deliberately not here: the backward pass (its flipped filters are not a
 * permutation of U for these points). */
#include "ops/cpu.h"
#include "ops/winograd_tiles.h"

#include <string.h>

/* G g G^T in double, rounded once. g is a 3x3 filter. */
static void filter_transform(float out[36], const double g[3][3])
{
    static const double G[6][3] = {
        {1, 0, 0},
        {-1.0 / 3, -1.0 / 3, -1.0 / 3},
        {1.0 / 3, -1.0 / 3, 1.0 / 3},
        {1.0 / 15, 2.0 / 15, 4.0 / 15},
        {-16.0 / 15, 8.0 / 15, -4.0 / 15},
        {0, 0, 1},
    };
    double t[6][3];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 3; j++)
            t[i][j] = G[i][0] * g[0][j] + G[i][1] * g[1][j] + G[i][2] * g[2][j];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)
            out[i * 6 + j] = (float)(t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2]);
}

/* The 3x3 filter back from its F(2x2, 3x3) transform u (4x4): rows and
 * columns 0 and 3 of G are the filter's first and last taps, and the
 * difference of rows 1 and 2 is the middle one. Exact but for the
 * rounding the F(2x2) transform itself did (about one unit in the last
 * place of a sum of three taps). */
static void filter_from_f2(double g[3][3], const float *U2, size_t kc, size_t q)
{
    double u[4][4], h[3][4];
    for (int xi = 0; xi < 16; xi++)
        u[xi / 4][xi % 4] = U2[(size_t)xi * kc + q];
    for (int b = 0; b < 4; b++)
        h[0][b] = u[0][b], h[1][b] = u[1][b] - u[2][b], h[2][b] = u[3][b];
    for (int i = 0; i < 3; i++)
        g[i][0] = h[i][0], g[i][1] = h[i][1] - h[i][2], g[i][2] = h[i][3];
}

/* The filters to transform: plain ones, or else F(2x2)'s transform U2. */
typedef struct filters {
    const float *w, *U2;
    size_t kc;
} filters;

static void f4_filters(float *out, size_t q0, size_t nq, const void *ctx)
{
    const filters *fs = ctx;
    for (size_t f = 0; f < nq; f++) {
        double g[3][3];
        float u[36];
        if (fs->w)
            for (int i = 0; i < 9; i++)
                g[i / 3][i % 3] = fs->w[(q0 + f) * 9 + i];
        else
            filter_from_f2(g, fs->U2, fs->kc, q0 + f);
        filter_transform(u, g);
        for (int xi = 0; xi < 36; xi++)
            out[xi * WINO_FILTERS + f] = u[xi];
    }
}

void winograd4_transform_weights(float *U, const float *w, const float *U2, int k, int c)
{
    const filters f = {w, U2, (size_t)k * c};
    wino_transform_filters(U, 36, f.kc, f4_filters, &f);
}

/* B^T a for six vectors a0..a5 at once, grouped to share terms (the
 * AVX-512 version groups them the same way). */
static void bt_six(float *restrict o0, float *restrict o1, float *restrict o2,
                   float *restrict o3, float *restrict o4, float *restrict o5,
                   const float *restrict a0, const float *restrict a1,
                   const float *restrict a2, const float *restrict a3,
                   const float *restrict a4, const float *restrict a5, int n)
{
    for (int q = 0; q < n; q++) {
        const float s13 = a1[q] - a3[q], w42 = a4[q] - a2[q];
        const float r0 = (a0[q] + a4[q]) + 1.5f * s13 - 2.0f * a2[q];
        const float r1 = (a4[q] - a1[q]) - 2.5f * a2[q] - 0.5f * a3[q];
        const float r2 = (a4[q] + a1[q]) + 0.5f * a2[q] - 2.5f * a3[q];
        const float r3 = w42 - 0.5f * s13, r4 = w42 + 2.0f * s13;
        const float r5 = (a5[q] + a1[q]) + 1.5f * (a2[q] - a4[q]) - 2.0f * a3[q];
        o0[q] = r0, o1[q] = r1, o2[q] = r2, o3[q] = r3, o4[q] = r4, o5[q] = r5;
    }
}

/* Tile k of a transformed row covers its columns 4k .. 4k + 5: phases
 * p0..p3 hold columns 4k + j, so the tile is p0[k] .. p3[k], p0[k+1],
 * p1[k+1]. Writes the tiles' (d B) into six rows of V, vs apart. */
static void bt_columns(float *v, size_t vs, const float *p0, const float *p1, const float *p2,
                       const float *p3, int len)
{
    bt_six(v, v + vs, v + 2 * vs, v + 3 * vs, v + 4 * vs, v + 5 * vs, p0, p1, p2, p3, p0 + 1,
           p1 + 1, len);
}

static void phases(float *restrict p, size_t ps, const float *restrict r, int n)
{
    for (int k = 0; k < n; k++)
        for (int j = 0; j < 4; j++)
            p[j * ps + k] = r[4 * k + j];
}

static size_t f4_scratch(int tb)
{
    return 12 * (size_t)(4 * tb + 4) + 4 * (size_t)(tb + 1); /* 2 x 6 padded rows, 4 phases */
}

/* V[xi][ch][col + k] = (B^T d B)[xi] for the 6x6 patch of tile (g.ty,
 * g.tx + k), zero outside the image: six padded input rows, B^T down the
 * columns, then each row split into phases and transformed across. */
static void f4_input(float *V, size_t ldv, int col, const float *in, const gc_window *s,
                     wino_segment g, float *scratch)
{
    const int padded = 4 * g.len + 4, x0 = 4 * g.tx - 1;
    const size_t plane = (size_t)s->h * s->w, xs = (size_t)s->c * ldv, ps = (size_t)g.len + 1;
    float *r[12], *p = scratch + 12 * (size_t)padded; /* rows in, then B^T times them */
    for (int i = 0; i < 12; i++)
        r[i] = scratch + (size_t)i * padded;
    const int lo = x0 < 0 ? -x0 : 0, hi = s->w - x0 < padded ? s->w - x0 : padded;
    for (int ch = 0; ch < s->c; ch++) {
        const float *src = in + ((size_t)g.n * s->c + ch) * plane;
        for (int i = 0; i < 6; i++) {
            const int y = 4 * g.ty - 1 + i;
            if (y < 0 || y >= s->h || hi <= lo) {
                memset(r[i], 0, sizeof(float) * padded);
                continue;
            }
            for (int q = 0; q < lo; q++)
                r[i][q] = 0.0f;
            memcpy(r[i] + lo, src + (size_t)y * s->w + x0 + lo, sizeof(float) * (hi - lo));
            for (int q = hi; q < padded; q++)
                r[i][q] = 0.0f;
        }
        bt_six(r[6], r[7], r[8], r[9], r[10], r[11], r[0], r[1], r[2], r[3], r[4], r[5], padded);
        for (int i = 0; i < 6; i++) {
            phases(p, ps, r[6 + i], g.len + 1);
            bt_columns(V + (size_t)(6 * i) * xs + (size_t)ch * ldv + col, xs, p, p + ps,
                       p + 2 * ps, p + 3 * ps, g.len);
        }
    }
}

/* A^T m for six values m0..m5 (rows or columns) of every tile. */
static void at_six(float *restrict t0, float *restrict t1, float *restrict t2,
                   float *restrict t3, const float *restrict m0, const float *restrict m1,
                   const float *restrict m2, const float *restrict m3, const float *restrict m4,
                   const float *restrict m5, int len)
{
    for (int k = 0; k < len; k++) {
        const float p = m1[k] + m2[k], q = m1[k] - m2[k];
        t0[k] = (m0[k] + p) + (m3[k] + m4[k]);
        t1[k] = (q + 2.0f * m3[k]) - 0.5f * m4[k];
        t2[k] = (p + 4.0f * m3[k]) + 0.25f * m4[k];
        t3[k] = ((q + m5[k]) + 8.0f * m3[k]) - 0.125f * m4[k];
    }
}

static void interleave4(float *restrict row, const float *restrict y0, const float *restrict y1,
                        const float *restrict y2, const float *restrict y3, int n, int add)
{
    for (int k = 0; k < n; k++) {
        row[4 * k + 0] = (add ? row[4 * k + 0] : 0.0f) + y0[k];
        row[4 * k + 1] = (add ? row[4 * k + 1] : 0.0f) + y1[k];
        row[4 * k + 2] = (add ? row[4 * k + 2] : 0.0f) + y2[k];
        row[4 * k + 3] = (add ? row[4 * k + 3] : 0.0f) + y3[k];
    }
}

/* out = epi(A^T m A + bias) (or out += A^T m A) for the tiles of one
 * segment and output channels [k0, k0 + kn), clipped at the bottom and
 * right edges; M holds 36 x kn x ldm products. */
static void f4_output(float *out, const float *M, size_t ldm, int col, const float *bias,
                      const gc_epilogue *epi, const gc_window *s, wino_segment g, int k0, int kn,
                      int accumulate)
{
    const size_t xs = (size_t)kn * ldm;
    float t[4][6][64], y[4][4][64]; /* A^T m (row a, column j); outputs (row a, column b) */
    const int len = g.len;          /* at most 64, the largest tile block */
    const int cols = s->wo - 4 * g.tx < 4 * len ? s->wo - 4 * g.tx : 4 * len;
    const int whole = cols / 4, rest = cols % 4;
    for (int r = 0; r < kn; r++) {
        const float *m = M + (size_t)r * ldm + col;
        const float b = bias ? bias[k0 + r] : 0.0f;
        for (int j = 0; j < 6; j++) {
            const float *mj = m + (size_t)j * xs;
            at_six(t[0][j], t[1][j], t[2][j], t[3][j], mj, mj + 6 * xs, mj + 12 * xs,
                   mj + 18 * xs, mj + 24 * xs, mj + 30 * xs, len);
        }
        for (int a = 0; a < 4; a++) {
            at_six(y[a][0], y[a][1], y[a][2], y[a][3], t[a][0], t[a][1], t[a][2], t[a][3],
                   t[a][4], t[a][5], len);
            for (int c = 0; c < 4; c++) {
                for (int k = 0; k < len; k++)
                    y[a][c][k] += b;
                epilogue_scale(y[a][c], (size_t)len, epi, k0 + r);
            }
        }
        float *plane = out + ((size_t)g.n * s->oc + k0 + r) * s->ho * s->wo;
        for (int a = 0; a < 4 && 4 * g.ty + a < s->ho; a++) {
            float *row = plane + (size_t)(4 * g.ty + a) * s->wo + 4 * g.tx;
            interleave4(row, y[a][0], y[a][1], y[a][2], y[a][3], whole, accumulate);
            for (int c = 0; c < rest; c++)
                row[4 * whole + c] = (accumulate ? row[4 * whole + c] : 0.0f) + y[a][c][whole];
            if (epi)
                epilogue_finish(row, epilogue_residual(epi, (size_t)(row - out)), (size_t)cols,
                                epi);
        }
    }
}

static const wino_kind f4 = {4, 36, f4_scratch, f4_input, f4_output, 0, NULL, NULL};

const wino_kind *winograd4_portable_kind(void) { return &f4; }

static const wino_kind *kind(void)
{
    const wino_kind *k = gc_kernels_active()->wino4;
    return k ? k : &f4;
}

/* Measured on ResNet-18's 3x3 layers (64 channels at 56x56 to 512 at 7x7)
 * with the AVX-512 transforms, against F(2x2): at batch 16, 1.3-1.4x with
 * one thread on all but 256 channels at 14x14 (1.0x, where F(4x4) pads 14
 * to 16), 1.1-1.5x with two; at batch 1, slower below 28x28 (0.5x at 7x7:
 * four tiles cannot fill a vector or feed two threads). The portable
 * transforms gain only at 512 channels (1.2x). The AVX2 ones take the
 * AVX-512 rule untuned: with it, Score-CAM on ResNet-18 at batch 1 (one
 * thread, GC_CPU=avx2) took 13.6 s against 15.8 s with F(2x2) alone. */
int winograd4_pays(const gc_window *s)
{
    const long tiles = (long)s->n * ((s->ho + 3) / 4) * ((s->wo + 3) / 4);
    if (!gc_kernels_active()->wino4)
        return s->c >= 512 && s->oc >= 512 && tiles >= 64;
    return tiles >= 64;
}

size_t winograd4_workspace(const gc_window *s)
{
    size_t a = wino_workspace(kind(), s), b = wino_workspace(&f4, s);
    return a > b ? a : b; /* either may run it */
}

void conv2d_winograd4_forward(float *out, const float *in, const float *U, const float *bias,
                              const gc_epilogue *epi, const gc_window *s, float *work)
{
    wino_forward(kind(), out, in, U, bias, epi, s, work);
}
