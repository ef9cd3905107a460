/* test_onnx_ops.c — the kernels ONNX models add (ops/ops.h): each forward
 * against a direct definition written out here, each backward against
 * central finite differences of that forward (the directional derivative
 * <dy, (f(x + e v) - f(x - e v)) / 2e> must equal <dx, v>). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "ops/ops.h"

static unsigned rng_state = 12345;
static float frand(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return ((rng_state >> 8) & 0xffff) / 32768.0f - 1.0f;
}
static float *rvec(size_t n, float scale)
{
    float *v = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++)
        v[i] = scale * frand();
    return v;
}

/* f maps x (nx floats) to y (ny floats); b accumulates dx for dy. */
typedef void (*fwd_fn)(const void *ctx, float *y, const float *x);
typedef void (*bwd_fn)(const void *ctx, float *dx, const float *dy, const float *x,
                       const float *y);

static void check_grad(const void *ctx, fwd_fn f, bwd_fn b, size_t nx, size_t ny, float *x,
                       double tol)
{
    float *y = calloc(ny, sizeof(float)), *dy = rvec(ny, 1.0f), *dx = calloc(nx, sizeof(float));
    float *v = rvec(nx, 1.0f), *xp = malloc(sizeof(float) * nx), *yp = calloc(ny, sizeof(float)),
          *ym = calloc(ny, sizeof(float));
    f(ctx, y, x);
    b(ctx, dx, dy, x, y);
    const float e = 1e-3f;
    for (size_t i = 0; i < nx; i++)
        xp[i] = x[i] + e * v[i];
    f(ctx, yp, xp);
    for (size_t i = 0; i < nx; i++)
        xp[i] = x[i] - e * v[i];
    f(ctx, ym, xp);
    double fd = 0, an = 0, scale = 0;
    for (size_t i = 0; i < ny; i++)
        fd += (double)dy[i] * ((double)yp[i] - ym[i]) / (2.0 * e);
    for (size_t i = 0; i < nx; i++) {
        an += (double)dx[i] * v[i];
        scale += fabs((double)dx[i] * v[i]);
    }
    if (fabs(fd - an) > tol * (scale + 1e-6))
        fail_msg("gradient: finite differences %.6g, backward %.6g", fd, an);
    free(y), free(dy), free(dx), free(v), free(xp), free(yp), free(ym);
}

/* ---- unary ---- */
typedef struct { int kind; float a, b; size_t n; } un_ctx;
static void un_f(const void *c, float *y, const float *x)
{
    const un_ctx *u = c;
    unary_forward(u->kind, u->a, u->b, y, x, u->n);
}
static void un_b(const void *c, float *dx, const float *dy, const float *x, const float *y)
{
    const un_ctx *u = c;
    unary_backward_input(u->kind, u->a, u->b, dx, dy, x, y, u->n);
}

static double direct(int kind, double x, double a, double b)
{
    switch (kind) {
    case GC_U_SIGMOID: return 1 / (1 + exp(-x));
    case GC_U_CLIP: return fmin(fmax(x, a), b);
    case GC_U_LEAKY_RELU: return x >= 0 ? x : a * x;
    case GC_U_HARD_SIGMOID: return fmax(0, fmin(1, a * x + b));
    case GC_U_HARD_SWISH: return x * fmax(0, fmin(6, x + 3)) / 6;
    case GC_U_SQRT: return sqrt(x);
    case GC_U_ERF: return erf(x);
    case GC_U_POW: return pow(x, a);
    case GC_U_TANH: return tanh(x);
    case GC_U_EXP: return exp(x);
    default: return -x;
    }
}

static void test_unary(void **state)
{
    (void)state;
    const size_t n = 200;
    for (int kind = 0; kind < GC_U_COUNT; kind++) {
        un_ctx c = {kind, 0, 0, n};
        if (kind == GC_U_CLIP)
            c.a = -0.5f, c.b = 1.0f;
        if (kind == GC_U_LEAKY_RELU)
            c.a = 0.1f;
        if (kind == GC_U_HARD_SIGMOID)
            c.a = 1.0f / 6, c.b = 0.5f;
        if (kind == GC_U_POW)
            c.a = 3.0f;
        float *x = rvec(n, 4.0f);
        if (kind == GC_U_SQRT || kind == GC_U_POW)
            for (size_t i = 0; i < n; i++)
                x[i] = fabsf(x[i]) + 0.5f;
        /* keep finite differences away from kinks */
        for (size_t i = 0; i < n; i++) {
            float k[] = {0.0f, -0.5f, 1.0f, -3.0f, 3.0f};
            for (int j = 0; j < 5; j++)
                if (fabsf(x[i] - k[j]) < 0.01f)
                    x[i] = k[j] + 0.05f;
        }
        float *y = malloc(sizeof(float) * n);
        un_f(&c, y, x);
        for (size_t i = 0; i < n; i++)
            if (fabs(y[i] - direct(kind, x[i], c.a, c.b)) > 1e-5 * (1 + fabs(y[i])))
                fail_msg("unary %d at x=%g: %g vs %g", kind, x[i], y[i],
                         direct(kind, x[i], c.a, c.b));
        check_grad(&c, un_f, un_b, n, n, x, 2e-3);
        free(x), free(y);
    }
}

/* ---- broadcast arithmetic: [3,4,5] (op) [3,1,1], both computed ---- */
typedef struct { int kind; gc_bcast s; size_t na; } bin_ctx;
static void bin_f(const void *c, float *y, const float *x)
{
    const bin_ctx *b = c;
    binary_forward(b->kind, &b->s, y, x, x + b->na);
}
static void bin_b(const void *c, float *dx, const float *dy, const float *x, const float *y)
{
    const bin_ctx *b = c;
    (void)y;
    binary_backward_input(b->kind, &b->s, dy, x, x + b->na, dx, dx + b->na);
}

static void test_binary(void **state)
{
    (void)state;
    for (int kind = 0; kind < GC_B_COUNT; kind++) {
        bin_ctx c = {.kind = kind, .na = 2 * 60};
        c.s.n = 2, c.s.a_batch = c.s.b_batch = 1;
        c.s.out = (gc_nd){3, {3, 4, 5}};
        c.s.a = (gc_nd){3, {3, 4, 5}};
        c.s.b = (gc_nd){3, {3, 1, 1}};
        float *x = rvec(2 * 60 + 2 * 3, 1.0f);
        for (int i = 0; i < 6; i++) /* keep the divisor away from 0 */
            x[120 + i] = 1.0f + fabsf(x[120 + i]);
        float *y = malloc(sizeof(float) * 120);
        bin_f(&c, y, x);
        for (int n = 0; n < 2; n++)
            for (int ch = 0; ch < 3; ch++)
                for (int p = 0; p < 20; p++) {
                    float a = x[n * 60 + ch * 20 + p], b = x[120 + n * 3 + ch];
                    float want = kind == GC_B_ADD ? a + b : kind == GC_B_SUB ? a - b
                                 : kind == GC_B_MUL ? a * b : a / b;
                    assert_float_equal(y[n * 60 + ch * 20 + p], want, 1e-6);
                }
        check_grad(&c, bin_f, bin_b, 126, 120, x, 2e-3);
        free(x), free(y);
    }
    /* A constant [4,1] left operand shared by the batch: 6 - x style. */
    gc_bcast s = {.n = 2, .a_batch = 0, .b_batch = 1};
    s.out = (gc_nd){2, {4, 3}}, s.a = (gc_nd){2, {4, 1}}, s.b = (gc_nd){2, {4, 3}};
    float k[4] = {1, 2, 3, 4}, x[24], y[24];
    for (int i = 0; i < 24; i++)
        x[i] = (float)i;
    binary_forward(GC_B_SUB, &s, y, k, x);
    for (int i = 0; i < 24; i++)
        assert_float_equal(y[i], k[(i % 12) / 3] - x[i], 0);
}

/* ---- average pooling: PyTorch's divisor rules ---- */
static void test_avgpool_values(void **state)
{
    (void)state;
    /* 1x1x3x3 of ones, k=2, s=2, pad 1, ceil mode: 2x2 output. With
     * count_include_pad the divisor is the window clipped to the padded
     * input: 4 everywhere, so the corner (one real cell) gives 1/4, the
     * edges 2/4 and the last window (rows and columns 1..2) 4/4.
     * F.avg_pool2d(torch.ones(1,1,3,3), 2, 2, 1, ceil_mode=True) prints
     * [[0.25, 0.5], [0.5, 1.0]]. */
    float in[9], out[4];
    for (int i = 0; i < 9; i++)
        in[i] = 1.0f;
    gc_window w = {.n = 1, .c = 1, .h = 3, .w = 3, .oc = 1, .ho = 2, .wo = 2, .kh = 2, .kw = 2,
                   .sh = 2, .sw = 2, .ph = 1, .pw = 1, .dh = 1, .dw = 1, .groups = 1};
    avgpool_forward(out, in, &w, 1, 1, 1);
    const float want[4] = {0.25f, 0.5f, 0.5f, 1.0f};
    for (int i = 0; i < 4; i++)
        assert_float_equal(out[i], want[i], 1e-7);
    avgpool_forward(out, in, &w, 1, 1, 0);
    assert_float_equal(out[0], 1.0f, 1e-7); /* padding not counted */
    assert_float_equal(out[3], 1.0f, 1e-7);
    /* A ceil-mode window hanging past the input with no padding: 4x4, k 3,
     * s 2: the last window covers rows and columns 2..3 only, divisor 4 even
     * with count_include_pad (PyTorch: [[5, 6.5], [11, 12.5]]). */
    float in2[16], out2[4];
    for (int i = 0; i < 16; i++)
        in2[i] = (float)i;
    gc_window w2 = {.n = 1, .c = 1, .h = 4, .w = 4, .oc = 1, .ho = 2, .wo = 2, .kh = 3, .kw = 3,
                    .sh = 2, .sw = 2, .dh = 1, .dw = 1, .groups = 1};
    avgpool_forward(out2, in2, &w2, 0, 0, 1);
    assert_float_equal(out2[3], (10 + 11 + 14 + 15) / 4.0f, 1e-6);
    assert_float_equal(out2[0], (0 + 1 + 2 + 4 + 5 + 6 + 8 + 9 + 10) / 9.0f, 1e-6);
}

typedef struct { gc_window w; int pb, pr, cip; } pool_ctx;
static void pool_f(const void *c, float *y, const float *x)
{
    const pool_ctx *p = c;
    avgpool_forward(y, x, &p->w, p->pb, p->pr, p->cip);
}
static void pool_b(const void *c, float *dx, const float *dy, const float *x, const float *y)
{
    const pool_ctx *p = c;
    (void)x, (void)y;
    avgpool_backward_input(dx, dy, &p->w, p->pb, p->pr, p->cip);
}

static void test_avgpool_grad(void **state)
{
    (void)state;
    pool_ctx c = {.w = {.n = 2, .c = 3, .h = 7, .w = 6, .oc = 3, .kh = 3, .kw = 2, .sh = 2,
                        .sw = 2, .ph = 1, .pw = 0, .dh = 1, .dw = 1, .groups = 1},
                  .pb = 1, .pr = 0, .cip = 0};
    c.w.ho = gc_window_out(7, 3, 2, 1, 1, 1, 1);
    c.w.wo = gc_window_out(6, 2, 2, 0, 0, 1, 1);
    float *x = rvec(2 * 3 * 42, 1.0f);
    check_grad(&c, pool_f, pool_b, 2 * 3 * 42, (size_t)2 * 3 * c.w.ho * c.w.wo, x, 1e-3);
    free(x);
}

/* ---- reduce mean and softmax ---- */
typedef struct { gc_nd s; int mask, n; size_t ny; } red_ctx;
static void red_f(const void *c, float *y, const float *x)
{
    const red_ctx *r = c;
    reduce_mean_forward(y, x, r->n, &r->s, r->mask);
}
static void red_b(const void *c, float *dx, const float *dy, const float *x, const float *y)
{
    const red_ctx *r = c;
    (void)x, (void)y;
    reduce_mean_backward_input(dx, dy, r->n, &r->s, r->mask);
}

static void test_reduce_mean(void **state)
{
    (void)state;
    red_ctx c = {.s = {3, {2, 3, 4}}, .mask = 1 | 4, .n = 2, .ny = 2 * 3};
    float *x = rvec(48, 1.0f), y[6];
    red_f(&c, y, x);
    for (int n = 0; n < 2; n++)
        for (int j = 0; j < 3; j++) {
            double s = 0;
            for (int i = 0; i < 2; i++)
                for (int k = 0; k < 4; k++)
                    s += x[n * 24 + i * 12 + j * 4 + k];
            assert_float_equal(y[n * 3 + j], s / 8, 1e-6);
        }
    check_grad(&c, red_f, red_b, 48, 6, x, 1e-3);
    free(x);
}

typedef struct { size_t outer, inner; int len; } sm_ctx;
static void sm_f(const void *c, float *y, const float *x)
{
    const sm_ctx *s = c;
    softmax_forward(y, x, s->outer, s->len, s->inner);
}
static void sm_b(const void *c, float *dx, const float *dy, const float *x, const float *y)
{
    const sm_ctx *s = c;
    (void)x;
    softmax_backward_input(dx, dy, y, s->outer, s->len, s->inner);
}

static void test_softmax(void **state)
{
    (void)state;
    sm_ctx c = {2, 3, 5};
    float *x = rvec(30, 2.0f), y[30];
    sm_f(&c, y, x);
    for (int o = 0; o < 2; o++)
        for (int i = 0; i < 3; i++) {
            double z = 0;
            for (int j = 0; j < 5; j++)
                z += exp(x[o * 15 + j * 3 + i]);
            for (int j = 0; j < 5; j++)
                assert_float_equal(y[o * 15 + j * 3 + i], exp(x[o * 15 + j * 3 + i]) / z, 1e-6);
        }
    check_grad(&c, sm_f, sm_b, 30, 30, x, 1e-3);
    free(x);
}

/* ---- layer normalisation ---- */
typedef struct { size_t rows; int len; const float *g, *b; float eps; } ln_ctx;
static void ln_f(const void *c, float *y, const float *x)
{
    const ln_ctx *s = c;
    layernorm_forward(y, x, s->g, s->b, s->rows, s->len, s->eps);
}
static void ln_b(const void *c, float *dx, const float *dy, const float *x, const float *y)
{
    const ln_ctx *s = c;
    (void)y;
    layernorm_backward_input(dx, dy, x, s->g, s->rows, s->len, s->eps);
}

static void test_layernorm(void **state)
{
    (void)state;
    /* rows of odd length, with and without scale and shift; one row long
     * enough that the rows split between threads */
    const size_t rows[] = {5, 3, 2};
    const int lens[] = {7, 1, 40000};
    for (int k = 0; k < 3; k++)
        for (int affine = 0; affine < 2; affine++) {
            const size_t n = rows[k] * (size_t)lens[k];
            float *x = rvec(n, 2.0f), *y = malloc(sizeof(float) * n);
            float *g = rvec((size_t)lens[k], 1.0f), *b = rvec((size_t)lens[k], 1.0f);
            ln_ctx c = {rows[k], lens[k], affine ? g : NULL, affine ? b : NULL, 1e-5f};
            ln_f(&c, y, x);
            for (size_t r = 0; r < rows[k]; r++) {
                const float *px = x + r * lens[k];
                double mu = 0, var = 0;
                for (int j = 0; j < lens[k]; j++)
                    mu += px[j];
                mu /= lens[k];
                for (int j = 0; j < lens[k]; j++)
                    var += (px[j] - mu) * (px[j] - mu);
                var /= lens[k];
                for (int j = 0; j < lens[k]; j++) {
                    double want = (px[j] - mu) / sqrt(var + 1e-5);
                    if (affine)
                        want = want * g[j] + b[j];
                    assert_float_equal(y[r * lens[k] + j], want, 1e-5 * (1 + fabs(want)));
                }
            }
            if (lens[k] < 1000) /* the finite differences need a short row */
                check_grad(&c, ln_f, ln_b, n, n, x, 2e-3);
            free(x), free(y), free(g), free(b);
        }
}

/* ---- resizing ---- */
typedef struct { size_t planes; int ih, iw, oh, ow; gc_resize r; } rs_ctx;
static void rs_f(const void *c, float *y, const float *x)
{
    const rs_ctx *s = c;
    resize_forward(y, x, s->planes, s->ih, s->iw, s->oh, s->ow, &s->r);
}
static void rs_b(const void *c, float *dx, const float *dy, const float *x, const float *y)
{
    const rs_ctx *s = c;
    (void)x, (void)y;
    resize_backward_input(dx, dy, s->planes, s->ih, s->iw, s->oh, s->ow, &s->r);
}

/* The definition along one axis: the source coordinate of output d. */
static double rs_src(int d, int in, int out, int coord)
{
    if (coord == GC_RESIZE_ALIGN_CORNERS)
        return out > 1 ? (double)d * (in - 1) / (out - 1) : 0;
    if (coord == GC_RESIZE_ASYMMETRIC)
        return (double)d * in / out;
    return fmax(0.0, (d + 0.5) * in / out - 0.5);
}

static void test_resize(void **state)
{
    (void)state;
    /* up, down, odd ratios, a single row, every coordinate transform */
    const int sizes[][4] = {{5, 7, 11, 9}, {8, 8, 3, 5}, {1, 6, 4, 13}, {7, 3, 7, 3}};
    for (size_t q = 0; q < 4; q++)
        for (int coord = 0; coord < 3; coord++)
            for (int nearest = 0; nearest < 2; nearest++) {
                rs_ctx c = {2, sizes[q][0], sizes[q][1], sizes[q][2], sizes[q][3],
                            {.nearest = nearest, .coord = coord}};
                const size_t nx = c.planes * c.ih * c.iw, ny = c.planes * c.oh * c.ow;
                float *x = rvec(nx, 1.0f), *y = malloc(sizeof(float) * ny);
                rs_f(&c, y, x);
                for (size_t p = 0; p < c.planes; p++)
                    for (int oy = 0; oy < c.oh; oy++)
                        for (int ox = 0; ox < c.ow; ox++) {
                            const double sy = rs_src(oy, c.ih, c.oh, coord);
                            const double sx = rs_src(ox, c.iw, c.ow, coord);
                            const float *pl = x + p * c.ih * c.iw;
                            double want;
                            if (nearest) {
                                int yy = (int)floor(sy), xx = (int)floor(sx);
                                yy = yy > c.ih - 1 ? c.ih - 1 : yy, xx = xx > c.iw - 1 ? c.iw - 1 : xx;
                                want = pl[yy * c.iw + xx];
                            } else {
                                int y0 = (int)sy, x0 = (int)sx;
                                y0 = y0 > c.ih - 1 ? c.ih - 1 : y0, x0 = x0 > c.iw - 1 ? c.iw - 1 : x0;
                                const int y1 = y0 + 1 < c.ih ? y0 + 1 : y0;
                                const int x1 = x0 + 1 < c.iw ? x0 + 1 : x0;
                                const double ty = y1 == y0 ? 0 : sy - y0, tx = x1 == x0 ? 0 : sx - x0;
                                want = (1 - ty) * ((1 - tx) * pl[y0 * c.iw + x0] + tx * pl[y0 * c.iw + x1]) +
                                       ty * ((1 - tx) * pl[y1 * c.iw + x0] + tx * pl[y1 * c.iw + x1]);
                            }
                            assert_float_equal(y[(p * c.oh + oy) * c.ow + ox], want, 1e-5);
                        }
                /* the adjoint: resizing is linear, so the check is exact */
                check_grad(&c, rs_f, rs_b, nx, ny, x, 1e-3);
                free(x), free(y);
            }
}

/* ---- layout ---- */
typedef struct { gc_nd in, out; int perm[GC_ND]; int64_t a[GC_ND], b[GC_ND]; int n; } lay_ctx;
static void tr_f(const void *c, float *y, const float *x)
{
    const lay_ctx *l = c;
    transpose_forward(y, x, l->n, &l->in, l->perm);
}
static void tr_b(const void *c, float *dx, const float *dy, const float *x, const float *y)
{
    const lay_ctx *l = c;
    (void)x, (void)y;
    transpose_backward_input(dx, dy, l->n, &l->in, l->perm);
}
static void sl_f(const void *c, float *y, const float *x)
{
    const lay_ctx *l = c;
    slice_forward(y, x, l->n, &l->in, &l->out, l->a, l->b);
}
static void sl_b(const void *c, float *dx, const float *dy, const float *x, const float *y)
{
    const lay_ctx *l = c;
    (void)x, (void)y;
    slice_backward_input(dx, dy, l->n, &l->in, &l->out, l->a, l->b);
}
static void pad_f(const void *c, float *y, const float *x)
{
    const lay_ctx *l = c;
    pad_forward(y, x, l->n, &l->in, &l->out, l->a, 0.5f);
}
static void pad_b(const void *c, float *dx, const float *dy, const float *x, const float *y)
{
    const lay_ctx *l = c;
    (void)x, (void)y;
    pad_backward_input(dx, dy, l->n, &l->in, &l->out, l->a);
}

static void test_layout(void **state)
{
    (void)state;
    /* transpose [2,3,4] by (2,0,1): y[k][i][j] = x[i][j][k] */
    lay_ctx t = {.in = {3, {2, 3, 4}}, .perm = {2, 0, 1}, .n = 2};
    float *x = rvec(48, 1.0f), y[48];
    tr_f(&t, y, x);
    for (int n = 0; n < 2; n++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 4; k++)
                    assert_float_equal(y[n * 24 + k * 6 + i * 3 + j], x[n * 24 + i * 12 + j * 4 + k], 0);
    check_grad(&t, tr_f, tr_b, 48, 48, x, 1e-3);
    /* slice [2,3,4]: axis 1 from 2 down by -2 (rows 2, 0), axis 2 from 1 by 2 */
    lay_ctx s = {.in = {3, {2, 3, 4}}, .out = {3, {2, 2, 2}}, .a = {0, 2, 1}, .b = {1, -2, 2}, .n = 2};
    float ys[16];
    sl_f(&s, ys, x);
    for (int n = 0; n < 2; n++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++)
                for (int k = 0; k < 2; k++)
                    assert_float_equal(ys[n * 8 + i * 4 + j * 2 + k],
                                       x[n * 24 + i * 12 + (2 - 2 * j) * 4 + 1 + 2 * k], 0);
    check_grad(&s, sl_f, sl_b, 48, 16, x, 1e-3);
    /* pad [2,3,4] by begin (0,1,2), end (1,0,1) with 0.5 */
    lay_ctx p = {.in = {3, {2, 3, 4}}, .out = {3, {3, 4, 7}}, .a = {0, 1, 2}, .n = 2};
    float yp[2 * 84];
    pad_f(&p, yp, x);
    for (int n = 0; n < 2; n++)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++)
                for (int k = 0; k < 7; k++) {
                    int si = i, sj = j - 1, sk = k - 2;
                    float want = (si < 2 && sj >= 0 && sj < 3 && sk >= 0 && sk < 4)
                                     ? x[n * 24 + si * 12 + sj * 4 + sk] : 0.5f;
                    assert_float_equal(yp[n * 84 + i * 28 + j * 7 + k], want, 0);
                }
    check_grad(&p, pad_f, pad_b, 48, 168, x, 1e-3);
    /* concat along the middle of [2, *, 3]: lengths 1 and 2 */
    float a[2 * 2 * 1 * 3], b[2 * 2 * 2 * 3], yc[2 * 2 * 3 * 3];
    for (int i = 0; i < 12; i++)
        a[i] = (float)i;
    for (int i = 0; i < 24; i++)
        b[i] = 100.0f + i;
    const float *ins[2] = {a, b};
    int lens[2] = {1, 2};
    concat_forward(yc, ins, lens, 2, 4, 3);
    for (int o = 0; o < 4; o++)
        for (int j = 0; j < 3; j++)
            for (int i = 0; i < 3; i++)
                assert_float_equal(yc[(o * 3 + j) * 3 + i],
                                   j == 0 ? a[o * 3 + i] : b[(o * 2 + j - 1) * 3 + i], 0);
    float da[12] = {0}, db[24] = {0};
    float *dins[2] = {da, db};
    concat_backward_input(dins, yc, lens, 2, 4, 3);
    assert_memory_equal(da, a, sizeof a);
    assert_memory_equal(db, b, sizeof b);
    /* gather indices {2, -1, 0} along an axis of 4 */
    int64_t idx[3] = {2, -1, 0};
    float g[2 * 3 * 5], gi[2 * 4 * 5], dg[2 * 4 * 5] = {0};
    for (int i = 0; i < 40; i++)
        gi[i] = (float)i;
    gather_forward(g, gi, 2, 4, 5, idx, 3);
    for (int o = 0; o < 2; o++)
        for (int j = 0; j < 3; j++)
            for (int i = 0; i < 5; i++)
                assert_float_equal(g[(o * 3 + j) * 5 + i],
                                   gi[(o * 4 + (j == 0 ? 2 : j == 1 ? 3 : 0)) * 5 + i], 0);
    gather_backward_input(dg, g, 2, 4, 5, idx, 3);
    for (int o = 0; o < 2; o++)
        for (int i = 0; i < 5; i++) {
            assert_float_equal(dg[(o * 4 + 1) * 5 + i], 0, 0);
            assert_float_equal(dg[(o * 4 + 3) * 5 + i], gi[(o * 4 + 3) * 5 + i], 0);
        }
    free(x);
}

/* ---- matmul ---- */
typedef struct { size_t rows; int k, m; const float *w; } mm_ctx;
static void mm_f(const void *c, float *y, const float *x)
{
    const mm_ctx *q = c;
    matmul_const_forward(y, x, q->w, q->rows, q->k, q->m);
}
static void mm_b(const void *c, float *dx, const float *dy, const float *x, const float *y)
{
    const mm_ctx *q = c;
    (void)x, (void)y;
    matmul_const_backward_input(dx, dy, q->w, q->rows, q->k, q->m);
}
typedef struct { size_t batch; int r, k, m; } bm_ctx;
static void bm_f(const void *c, float *y, const float *x)
{
    const bm_ctx *q = c;
    matmul_forward(y, x, x + q->batch * q->r * q->k, q->batch, q->r, q->k, q->m);
}
static void bm_b(const void *c, float *dx, const float *dy, const float *x, const float *y)
{
    const bm_ctx *q = c;
    (void)y;
    size_t na = q->batch * q->r * q->k;
    matmul_backward_input(dx, dx + na, dy, x, x + na, q->batch, q->r, q->k, q->m);
}

static void test_matmul(void **state)
{
    (void)state;
    float *w = rvec(4 * 3, 1.0f), *x = rvec(5 * 4, 1.0f), y[15];
    mm_ctx c = {5, 4, 3, w};
    mm_f(&c, y, x);
    for (int r = 0; r < 5; r++)
        for (int j = 0; j < 3; j++) {
            double s = 0;
            for (int k = 0; k < 4; k++)
                s += x[r * 4 + k] * w[k * 3 + j];
            assert_float_equal(y[r * 3 + j], s, 1e-5);
        }
    check_grad(&c, mm_f, mm_b, 20, 15, x, 1e-3);
    bm_ctx b = {2, 3, 4, 5};
    float *xb = rvec(2 * 12 + 2 * 20, 1.0f);
    check_grad(&b, bm_f, bm_b, 64, 30, xb, 1e-3);
    free(w), free(x), free(xb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unary),          cmocka_unit_test(test_binary),
        cmocka_unit_test(test_avgpool_values), cmocka_unit_test(test_avgpool_grad),
        cmocka_unit_test(test_reduce_mean),    cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_layernorm),      cmocka_unit_test(test_resize),
        cmocka_unit_test(test_layout),         cmocka_unit_test(test_matmul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
