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
 * The blocks of tiles, the products and the threads are the driver's
 * (winograd_driver.c), which F(4x4, 3x3) shares. Deliberately not here:
 * strides, groups. */
#include "ops/cpu.h"
#include "ops/winograd_tiles.h"

#include <string.h>

int winograd_applies(const gc_window *s)
{
    return s->kh == 3 && s->kw == 3 && s->sh == 1 && s->sw == 1 && s->dh == 1 &&
           s->dw == 1 && s->groups == 1 && s->ph == 1 && s->pw == 1 && s->ho == s->h &&
           s->wo == s->w;
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

/* F(2x2, 3x3): the transforms below, or the CPU tier's (cpu.h). */
static size_t f2_scratch(int tb)
{
    return 4 * (size_t)(2 * tb + 2) + 16 * (size_t)tb; /* 4 padded rows, 8 x (tb + 1) columns */
}

static void f2_input_portable(float *V, size_t ldv, int col, const float *in,
                              const gc_window *s, wino_segment g, float *scratch)
{
    winograd_input_portable(V, ldv, col, in, s, g, scratch, scratch + 4 * (2 * g.len + 2));
}

static const wino_kind f2_portable = {2, 16, f2_scratch, f2_input_portable,
                                      winograd_output_portable, 0, NULL, NULL};

const wino_kind *winograd2_portable_kind(void) { return &f2_portable; }

static const wino_kind *f2(void)
{
    const wino_kind *k = gc_kernels_active()->wino2;
    return k ? k : &f2_portable;
}

size_t winograd_workspace(const gc_window *s)
{
    const wino_kind *k = f2();
    size_t f = wino_workspace(k, s), b = wino_backward_workspace(k, s);
    return f > b ? f : b;
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
                             wino_segment g, float *rows, float *eo)
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
                              const gc_epilogue *epi, const gc_window *s, wino_segment g, int k0,
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

void conv2d_winograd_forward(float *out, const float *in, const float *U, const float *bias,
                             const gc_epilogue *epi, const gc_window *s, float *work)
{
    wino_forward(f2(), out, in, U, bias, epi, s, work);
}

void conv2d_winograd_backward_input(float *din, const float *dout, const float *U,
                                    const gc_window *s, float *work)
{
    wino_backward(f2(), din, dout, U, s, work);
}
