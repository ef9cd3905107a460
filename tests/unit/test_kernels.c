/* test_kernels.c — the fast kernels against the straightforward ones:
 * depthwise, grouped and pointwise convolutions (forward, the fused
 * epilogue including Clip, backward) against a nested-loop reading of the
 * definition; each CPU tier's depthwise and activation loops against the
 * portable ones; broadcasting arithmetic and the global average pool
 * against loops over coordinates. Every case runs with one and with two
 * threads, sized so that the two-thread run really splits the work. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ops/cpu.h"
#include "ops/depthwise_rows.h"
#include "ops/ops.h"
#include "test_rand.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static void assert_close(const float *got, const float *want, size_t n, float tol)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(got[i] - want[i]) <= tol * (1.0f + fabsf(want[i]))))
            fail_msg("element %zu: %.9g, expected %.9g", i, got[i], want[i]);
}

/* ---- convolution: the definition, one output (or input) at a time ---- */

/* x coordinate of tap (i, j) of output (oy, ox), or -1 outside the input. */
static long tap_at(const gc_window *s, int oy, int ox, int i, int j)
{
    const int y = oy * s->sh - s->ph + i * s->dh, x = ox * s->sw - s->pw + j * s->dw;
    return y < 0 || y >= s->h || x < 0 || x >= s->w ? -1 : (long)y * s->w + x;
}

static void conv_reference(float *out, const float *in, const float *w, const float *bias,
                           const gc_window *s)
{
    const int cg = s->c / s->groups, og = s->oc / s->groups;
    for (int n = 0; n < s->n; n++)
        for (int o = 0; o < s->oc; o++)
            for (int oy = 0; oy < s->ho; oy++)
                for (int ox = 0; ox < s->wo; ox++) {
                    double acc = bias ? bias[o] : 0.0;
                    for (int c = 0; c < cg; c++)
                        for (int i = 0; i < s->kh; i++)
                            for (int j = 0; j < s->kw; j++) {
                                const long at = tap_at(s, oy, ox, i, j);
                                const int ch = o / og * cg + c;
                                if (at >= 0)
                                    acc += (double)w[((o * cg + c) * s->kh + i) * s->kw + j] *
                                           in[((size_t)n * s->c + ch) * s->h * s->w + at];
                            }
                    out[(((size_t)n * s->oc + o) * s->ho + oy) * s->wo + ox] = (float)acc;
                }
}

/* din += W^T dout, by scattering each output's gradient to its taps. */
static void conv_reference_backward(float *din, const float *dout, const float *w,
                                    const gc_window *s)
{
    const int cg = s->c / s->groups, og = s->oc / s->groups;
    const size_t plane = (size_t)s->h * s->w;
    double *acc = calloc((size_t)s->n * s->c * plane, sizeof(double));
    for (int n = 0; n < s->n; n++)
        for (int o = 0; o < s->oc; o++)
            for (int oy = 0; oy < s->ho; oy++)
                for (int ox = 0; ox < s->wo; ox++) {
                    const double g = dout[(((size_t)n * s->oc + o) * s->ho + oy) * s->wo + ox];
                    for (int c = 0; c < cg; c++)
                        for (int i = 0; i < s->kh; i++)
                            for (int j = 0; j < s->kw; j++) {
                                const long at = tap_at(s, oy, ox, i, j);
                                const int ch = o / og * cg + c;
                                if (at >= 0)
                                    acc[((size_t)n * s->c + ch) * plane + at] +=
                                        g * w[((o * cg + c) * s->kh + i) * s->kw + j];
                            }
                }
    for (size_t i = 0; i < (size_t)s->n * s->c * plane; i++)
        din[i] += (float)acc[i];
    free(acc);
}

/* What the epilogue e must equal: the separate passes, bit for bit. */
static void separate_passes(float *y, const float *res, const gc_epilogue *e, const gc_window *s)
{
    const size_t hw = (size_t)s->ho * s->wo, count = (size_t)s->n * s->oc * hw;
    if (e->scale)
        affine_forward(y, y, e->scale, e->shift, s->n, s->oc, (int)hw);
    if (res)
        add_forward(y, y, res, count);
    if (e->relu)
        relu_forward(y, y, count);
    if (e->clip)
        unary_forward(GC_U_CLIP, e->lo, e->hi, y, y, count);
    if (e->gate) { /* as exported: Sigmoid or HardSigmoid, then Mul */
        float *sig = malloc(sizeof(float) * count);
        unary_forward(e->gate == GC_GATE_SIGMOID ? GC_U_SIGMOID : GC_U_HARD_SIGMOID, e->ga,
                      e->gb, sig, y, count);
        for (size_t i = 0; i < count; i++)
            y[i] = y[i] * sig[i];
        free(sig);
    }
}

typedef struct conv_case {
    gc_window s;
    int pad_end_h, pad_end_w;
} conv_case;

/* The case's window with its output size filled in. */
static gc_window window_of(const conv_case *cc)
{
    gc_window s = cc->s;
    s.ho = gc_window_out(s.h, s.kh, s.sh, s.ph, cc->pad_end_h, s.dh, 0);
    s.wo = gc_window_out(s.w, s.kw, s.sw, s.pw, cc->pad_end_w, s.dw, 0);
    return s;
}

static void check_conv_case(conv_case cc, int threads)
{
    omp_set_num_threads(threads);
    const gc_window s = window_of(&cc);
    const size_t nin = (size_t)s.n * s.c * s.h * s.w, nout = (size_t)s.n * s.oc * s.ho * s.wo;
    const size_t nw = (size_t)s.oc * (s.c / s.groups) * s.kh * s.kw;
    float *x = randv(nin), *w = randv(nw), *b = randv(s.oc), *dy = randv(nout);
    float *scale = randv(s.oc), *shift = randv(s.oc), *res = randv(nout);
    float *y = malloc(sizeof(float) * nout), *ref = malloc(sizeof(float) * nout);
    float *fused = malloc(sizeof(float) * nout);
    float *dx = randv(nin), *dx_ref = malloc(sizeof(float) * nin);
    float *col = malloc(sizeof(float) * (conv2d_workspace(&s) + 1));

    conv2d_forward(y, x, w, b, NULL, &s, col);
    conv_reference(ref, x, w, b, &s);
    assert_close(y, ref, nout, 1e-4f);

    /* BatchNorm map [+ residual] then ReLU, a Clip that bites, SiLU or HardSwish */
    const gc_epilogue epis[] = {
        {.scale = scale, .shift = shift, .relu = 1},
        {.scale = scale, .shift = shift, .residual = res, .relu = 1},
        {.scale = scale, .shift = shift, .clip = 1, .lo = -0.25f, .hi = 0.5f},
        {.clip = 1, .lo = 0.0f, .hi = 6.0f},
        {.scale = scale, .shift = shift, .gate = GC_GATE_SIGMOID},
        {.scale = scale, .shift = shift, .gate = GC_GATE_HARD_SIGMOID, .ga = 1.0f / 6, .gb = 0.5f},
        {.residual = res},
    };
    for (size_t e = 0; e < sizeof epis / sizeof *epis; e++) {
        conv2d_forward(fused, x, w, b, &epis[e], &s, col);
        memcpy(ref, y, sizeof(float) * nout);
        separate_passes(ref, epis[e].residual, &epis[e], &s);
        assert_memory_equal(fused, ref, sizeof(float) * nout);
    }

    /* backward accumulates into dx's random contents */
    memcpy(dx_ref, dx, sizeof(float) * nin);
    conv2d_backward_input(dx, dy, w, &s, col);
    conv_reference_backward(dx_ref, dy, w, &s);
    assert_close(dx, dx_ref, nin, 1e-4f);

    free(x), free(w), free(b), free(dy), free(scale), free(shift), free(res);
    free(y), free(ref), free(fused), free(dx), free(dx_ref), free(col);
}

static void check_conv_cases(const conv_case *cases, size_t count)
{
    for (int threads = 1; threads <= 2; threads++)
        for (size_t i = 0; i < count; i++)
            check_conv_case(cases[i], threads);
    omp_set_num_threads(2);
}

/* n, c, h, w, oc, ho, wo (computed), kh, kw, sh, sw, ph, pw, dh, dw, groups;
 * then the bottom and right padding. */
static const conv_case depthwise_cases[] = {
    {{1, 5, 13, 11, 5, 0, 0, 3, 3, 1, 1, 1, 1, 1, 1, 5}, 1, 1},     /* MobileNet 3x3 */
    {{1, 6, 14, 15, 6, 0, 0, 3, 3, 2, 2, 1, 1, 1, 1, 6}, 1, 1},     /* stride 2 */
    {{1, 4, 14, 16, 4, 0, 0, 3, 3, 2, 2, 0, 0, 1, 1, 4}, 1, 1},     /* TF "same": pad after */
    {{2, 3, 17, 15, 3, 0, 0, 5, 5, 2, 2, 2, 2, 1, 1, 3}, 2, 2},     /* EfficientNet 5x5 */
    {{1, 3, 9, 12, 3, 0, 0, 5, 5, 1, 1, 2, 2, 1, 1, 3}, 2, 2},
    {{1, 4, 8, 9, 4, 0, 0, 1, 3, 1, 1, 0, 1, 1, 1, 4}, 0, 1},       /* 1x3 */
    {{1, 2, 19, 20, 2, 0, 0, 7, 7, 3, 3, 3, 3, 1, 1, 2}, 3, 3},     /* 7x7, stride 3 */
    {{1, 3, 12, 11, 3, 0, 0, 3, 3, 1, 1, 2, 2, 2, 2, 3}, 2, 2},     /* dilation 2 */
    {{1, 3, 12, 11, 3, 0, 0, 3, 3, 2, 1, 0, 2, 1, 1, 3}, 2, 1},     /* mixed strides, pads */
    {{1, 4, 10, 7, 8, 0, 0, 3, 3, 1, 1, 1, 1, 1, 1, 4}, 1, 1},      /* multiplier 2 */
    {{3, 5, 7, 9, 5, 0, 0, 3, 3, 1, 2, 1, 1, 1, 1, 5}, 1, 1},       /* batch 3 */
    {{1, 2, 3, 3, 2, 0, 0, 5, 5, 1, 1, 2, 2, 1, 1, 2}, 2, 2},       /* kernel > input */
    {{1, 24, 40, 41, 24, 0, 0, 3, 3, 1, 1, 1, 1, 1, 1, 24}, 1, 1},  /* planes past DW_CHUNK */
    {{2, 16, 33, 29, 16, 0, 0, 5, 5, 2, 2, 2, 2, 1, 1, 16}, 2, 2},
};

static const conv_case grouped_cases[] = {
    {{1, 8, 9, 10, 6, 0, 0, 3, 3, 1, 1, 1, 1, 1, 1, 2}, 1, 1},
    {{2, 16, 15, 13, 16, 0, 0, 3, 3, 2, 2, 1, 1, 1, 1, 4}, 1, 1},   /* ResNeXt-like */
    {{1, 12, 7, 8, 6, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 3}, 0, 0},      /* grouped 1x1 */
    {{3, 32, 14, 14, 32, 0, 0, 3, 3, 1, 1, 1, 1, 1, 1, 8}, 1, 1},
};

/* 1x1 convolutions that conv2d_blocked.c reads in place (no im2col), with
 * blocks inside one image and blocks that straddle two. */
static const conv_case pointwise_cases[] = {
    {{1, 24, 28, 28, 40, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1}, 0, 0},
    {{2, 17, 9, 11, 13, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1}, 0, 0},
    {{3, 40, 7, 7, 24, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1}, 0, 0},
    {{1, 8, 5, 3, 5, 0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 1}, 0, 0},       /* strided: im2col */
};

static void test_depthwise(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof depthwise_cases / sizeof *depthwise_cases; i++)
        assert_true(conv2d_depthwise_applies(&depthwise_cases[i].s));
    check_conv_cases(depthwise_cases, sizeof depthwise_cases / sizeof *depthwise_cases);
}

static void test_grouped(void **state)
{
    (void)state;
    check_conv_cases(grouped_cases, sizeof grouped_cases / sizeof *grouped_cases);
}

static void test_pointwise(void **state)
{
    (void)state;
    gc_window s[4];
    for (int i = 0; i < 4; i++)
        s[i] = window_of(&pointwise_cases[i]);
    for (int i = 0; i < 3; i++)
        assert_true(conv2d_is_pointwise(&s[i]));
    assert_false(conv2d_is_pointwise(&s[3]));
    check_conv_cases(pointwise_cases, sizeof pointwise_cases / sizeof *pointwise_cases);
}

/* Each tier's plane kernels against the portable body they are compiled
 * from: the same arithmetic in another width, so equal up to contraction
 * into fused multiply-adds. */
static void test_depthwise_tiers(void **state)
{
    (void)state;
    int compared = 0;
    for (gc_tier t = GC_TIER_AVX2; t < GC_TIERS; t++) {
        const gc_kernels *kt = gc_kernels_of(t);
        if (!kt)
            continue;
        assert_non_null(kt->depthwise_plane);
        assert_non_null(kt->depthwise_plane_back);
        for (size_t i = 0; i < sizeof depthwise_cases / sizeof *depthwise_cases; i++) {
            const gc_window s = window_of(&depthwise_cases[i]);
            const size_t nin = (size_t)s.h * s.w, nout = (size_t)s.ho * s.wo;
            float *x = randv(nin), *w = randv((size_t)s.kh * s.kw), *dy = randv(nout);
            float *y1 = malloc(sizeof(float) * nout), *y2 = malloc(sizeof(float) * nout);
            float *dx1 = randv(nin), *dx2 = malloc(sizeof(float) * nin);
            memcpy(dx2, dx1, sizeof(float) * nin);
            float *scratch = malloc(sizeof(float) * dw_scratch(&s));
            /* plain, then with a BatchNorm map and a Clip, then with a residual */
            float scale = 1.25f, shift = -0.125f, *res = randv(nout);
            const gc_epilogue clip = {.scale = &scale, .shift = &shift, .clip = 1,
                                      .lo = -0.5f, .hi = 0.75f};
            const gc_epilogue add = {.residual = res, .relu = 1};
            const gc_epilogue *epis[3] = {NULL, &clip, &add};
            for (int e = 0; e < 3; e++) {
                const float *r = e == 2 ? res : NULL;
                depthwise_plane_body(y1, x, w, 0.375f, epis[e], 0, r, &s, scratch);
                kt->depthwise_plane(y2, x, w, 0.375f, epis[e], 0, r, &s, scratch);
                assert_close(y2, y1, nout, 1e-5f);
            }
            free(res);
            depthwise_plane_back_body(dx1, dy, w, &s, scratch);
            kt->depthwise_plane_back(dx2, dy, w, &s, scratch);
            assert_close(dx2, dx1, nin, 1e-5f);
            free(x), free(w), free(dy), free(y1), free(y2), free(dx1), free(dx2), free(scratch);
            compared++;
        }
    }
    /* on a CPU without AVX2 there is nothing to compare; say so in the log */
    if (!compared)
        print_message("no vector tier on this CPU: portable depthwise only\n");
}

/* ---- activations ---- */

static double unary_reference(int kind, double a, double b, double v)
{
    switch (kind) {
    case GC_U_SIGMOID: return 1.0 / (1.0 + exp(-v));
    case GC_U_CLIP: return v < a ? a : v > b ? b : v;
    case GC_U_LEAKY_RELU: return v >= 0 ? v : v * a;
    case GC_U_HARD_SIGMOID: return fmax(0.0, fmin(1.0, a * v + b));
    case GC_U_HARD_SWISH: return v * fmax(0.0, fmin(1.0, v / 6.0 + 0.5));
    case GC_U_SQRT: return sqrt(v);
    case GC_U_ERF: return erf(v);
    case GC_U_POW: return pow(v, a);
    case GC_U_TANH: return tanh(v);
    case GC_U_EXP: return exp(v);
    default: return -v;
    }
}

/* Each kind on each tier (and through unary_forward, which splits the
 * work between threads) against the double-precision definition. The
 * sigmoid's own exponential is held to 4e-7 relative over [-20, 20] and
 * must saturate cleanly far outside it. */
static void test_unary_tiers(void **state)
{
    (void)state;
    const size_t count = 200003; /* odd, and past the threading threshold */
    float *x = malloc(sizeof(float) * count), *y = malloc(sizeof(float) * count);
    for (size_t i = 0; i < count; i++) /* [-20, 20], and a few far out */
        x[i] = -20.0f + 40.0f * (float)i / (float)(count - 1);
    x[0] = -200.0f, x[count - 1] = 200.0f;
    for (int kind = 0; kind < GC_U_COUNT; kind++) {
        const float a = kind == GC_U_POW ? 2.0f : kind == GC_U_CLIP ? -1.5f : 0.2f;
        const float b = kind == GC_U_CLIP ? 3.0f : 0.5f;
        const int positive = kind == GC_U_SQRT || kind == GC_U_POW;
        for (int t = -1; t < GC_TIERS; t++) { /* -1: unary_forward, 2 threads */
            const gc_kernels *kt = t < 0 ? NULL : gc_kernels_of((gc_tier)t);
            if (t >= 0 && !kt)
                continue;
            float *in = x;
            float *pos = NULL;
            if (positive) {
                pos = malloc(sizeof(float) * count);
                for (size_t i = 0; i < count; i++)
                    pos[i] = fabsf(x[i]) * 0.25f;
                in = pos;
            }
            omp_set_num_threads(2);
            if (t < 0)
                unary_forward(kind, a, b, y, in, count);
            else if (kt->unary_map)
                kt->unary_map(kind, a, b, y, in, count);
            else
                unary_map_portable(kind, a, b, y, in, count);
            for (size_t i = 0; i < count; i++) {
                const double want = unary_reference(kind, a, b, in[i]);
                double tol = kind == GC_U_SIGMOID ? 4e-7 : 2e-6;
                /* a x + b cancels near the kink: one rounding of b, absolute */
                const double floor = kind == GC_U_HARD_SIGMOID || kind == GC_U_HARD_SWISH
                                         ? 1e-7 * (1.0 + fabs(in[i])) : 1e-37;
                if (kind == GC_U_EXP && fabs(in[i]) > 87.0)
                    continue; /* outside float's range either way */
                if (kind == GC_U_SIGMOID && fabs(in[i]) > 87.0)
                    tol = 1e-30; /* saturated: 0 or 1 */
                if (!(fabs(y[i] - want) <= tol * (fabs(want) + 1e-30) + floor))
                    fail_msg("kind %d tier %d x=%.9g: %.9g, expected %.9g", kind, t, in[i],
                             y[i], want);
            }
            free(pos);
        }
    }
    free(x), free(y);
}

/* Clip's derivative read from its output alone, which is all a Clip fused
 * into a convolution keeps: x may be NULL. */
static void test_clip_backward_from_output(void **state)
{
    (void)state;
    const size_t n = 1000;
    float *x = randv(n), *y = malloc(sizeof(float) * n), *dy = randv(n);
    float *dx1 = calloc(n, sizeof(float)), *dx2 = calloc(n, sizeof(float));
    x[0] = -0.25f, x[1] = 0.5f; /* exactly on the bounds: no gradient */
    unary_forward(GC_U_CLIP, -0.25f, 0.5f, y, x, n);
    unary_backward_input(GC_U_CLIP, -0.25f, 0.5f, dx1, dy, NULL, y, n);
    for (size_t i = 0; i < n; i++)
        dx2[i] = x[i] > -0.25f && x[i] < 0.5f ? dy[i] : 0.0f;
    assert_memory_equal(dx1, dx2, sizeof(float) * n);
    assert_true(dx1[0] == 0.0f && dx1[1] == 0.0f);
    free(x), free(y), free(dy), free(dx1), free(dx2);
}

/* ---- broadcasting arithmetic ---- */

/* Index of out's element `flat` in an operand of shape op (dims 1 or out's). */
static size_t bcast_index(const gc_nd *out, const gc_nd *op, size_t flat)
{
    size_t idx = 0, stride = 1;
    for (int d = out->ndim - 1; d >= 0; d--) {
        const size_t coord = flat % (size_t)out->d[d];
        flat /= (size_t)out->d[d];
        if (op->d[d] != 1)
            idx += coord * stride;
        stride *= (size_t)op->d[d];
    }
    return idx;
}

static double binary_reference(int kind, double a, double b)
{
    return kind == GC_B_ADD ? a + b : kind == GC_B_SUB ? a - b : kind == GC_B_MUL ? a * b : a / b;
}

static void check_binary(gc_bcast s, int threads)
{
    omp_set_num_threads(threads);
    const size_t on = (size_t)gc_nd_numel(&s.out), an = (size_t)gc_nd_numel(&s.a),
                 bn = (size_t)gc_nd_numel(&s.b);
    const size_t na = an * (s.a_batch ? s.n : 1), nb = bn * (s.b_batch ? s.n : 1);
    float *a = randv(na), *b = randv(nb), *dy = randv(on * s.n);
    for (size_t i = 0; i < nb; i++) /* away from zero, for Div */
        b[i] = b[i] < 0 ? b[i] - 0.5f : b[i] + 0.5f;
    float *y = malloc(sizeof(float) * on * s.n), *ref = malloc(sizeof(float) * on * s.n);
    float *da = randv(na), *db = randv(nb);
    double *da_ref = malloc(sizeof(double) * na), *db_ref = malloc(sizeof(double) * nb);
    for (int kind = 0; kind < GC_B_COUNT; kind++) {
        for (size_t i = 0; i < na; i++)
            da_ref[i] = da[i];
        for (size_t i = 0; i < nb; i++)
            db_ref[i] = db[i];
        for (int n = 0; n < s.n; n++)
            for (size_t p = 0; p < on; p++) {
                const size_t ia = (s.a_batch ? n * an : 0) + bcast_index(&s.out, &s.a, p);
                const size_t ib = (s.b_batch ? n * bn : 0) + bcast_index(&s.out, &s.b, p);
                const double va = a[ia], vb = b[ib], g = dy[n * on + p];
                ref[n * on + p] = (float)binary_reference(kind, va, vb);
                da_ref[ia] += kind == GC_B_MUL ? g * vb : kind == GC_B_DIV ? g / vb : g;
                db_ref[ib] += kind == GC_B_ADD ? g : kind == GC_B_SUB ? -g
                            : kind == GC_B_MUL ? g * va : -g * va / (vb * vb);
            }
        binary_forward(kind, &s, y, a, b);
        assert_close(y, ref, on * s.n, 1e-6f);
        /* a constant operand gets no gradient (db NULL) */
        binary_backward_input(kind, &s, dy, a, b, da, s.b_batch ? db : NULL);
        for (size_t i = 0; i < na; i++)
            assert_true(fabs(da[i] - da_ref[i]) <= 1e-3 * (1.0 + fabs(da_ref[i])));
        for (size_t i = 0; s.b_batch && i < nb; i++)
            assert_true(fabs(db[i] - db_ref[i]) <= 1e-3 * (1.0 + fabs(db_ref[i])));
        for (size_t i = 0; i < na; i++) /* keep the accumulators comparable */
            da_ref[i] = da[i];
        for (size_t i = 0; s.b_batch && i < nb; i++)
            db_ref[i] = db[i];
    }
    free(a), free(b), free(dy), free(y), free(ref), free(da), free(db), free(da_ref), free(db_ref);
}

static void test_binary_broadcast(void **state)
{
    (void)state;
    /* n; out; a; b; a_batch, b_batch */
    const gc_bcast cases[] = {
        {2, {3, {4, 5, 6}}, {3, {4, 1, 6}}, {3, {1, 5, 1}}, 1, 1},
        {3, {3, {64, 30, 37}}, {3, {64, 30, 37}}, {3, {64, 1, 1}}, 1, 1},  /* SE gate */
        {2, {3, {96, 28, 28}}, {3, {96, 28, 28}}, {3, {96, 28, 28}}, 1, 1}, /* residual */
        {2, {3, {40, 33, 35}}, {3, {40, 33, 35}}, {3, {40, 1, 1}}, 1, 0},  /* constant */
        {1, {4, {2, 3, 50, 41}}, {4, {1, 3, 1, 41}}, {4, {2, 1, 50, 1}}, 1, 1},
        {2, {1, {7}}, {1, {1}}, {1, {7}}, 1, 1},
    };
    for (int threads = 1; threads <= 2; threads++)
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
            check_binary(cases[i], threads);
}

/* ---- global average pool ---- */

static void test_global_avgpool(void **state)
{
    (void)state;
    const int shapes[][3] = {{2, 1024, 64}, {3, 7, 13}, {1, 1280, 49}, {2, 5, 1}};
    for (int threads = 1; threads <= 2; threads++)
        for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
            omp_set_num_threads(threads);
            const int n = shapes[k][0], c = shapes[k][1], hw = shapes[k][2];
            const size_t nin = (size_t)n * c * hw, nout = (size_t)n * c;
            float *x = randv(nin), *y = malloc(sizeof(float) * nout), *ref = malloc(sizeof(float) * nout);
            float *dy = randv(nout), *dx = randv(nin), *dx_ref = malloc(sizeof(float) * nin);
            for (size_t p = 0; p < nout; p++) {
                double sum = 0;
                for (int i = 0; i < hw; i++)
                    sum += x[p * hw + i];
                ref[p] = (float)(sum / hw);
                for (int i = 0; i < hw; i++)
                    dx_ref[p * hw + i] = dx[p * hw + i] + dy[p] / (float)hw;
            }
            global_avgpool_forward(y, x, n, c, hw);
            assert_close(y, ref, nout, 1e-5f);
            global_avgpool_backward_input(dx, dy, n, c, hw);
            assert_close(dx, dx_ref, nin, 1e-6f);
            free(x), free(y), free(ref), free(dy), free(dx), free(dx_ref);
        }
}

/* ---- fully connected ---- */

/* One or two images take a matrix-vector product per image, more a matrix
 * product (matmul.c): both against the definition, the gradient
 * accumulating into dx's contents. */
static void test_linear_sizes(void **state)
{
    (void)state;
    const int in = 37, out = 29;
    for (int n = 1; n <= 4; n++) {
        float *x = randv((size_t)n * in), *w = randv((size_t)out * in), *b = randv(out);
        float *y = malloc(sizeof(float) * n * out), *dy = randv((size_t)n * out);
        float *dx = randv((size_t)n * in), *ref = malloc(sizeof(float) * n * out);
        float *dx_ref = malloc(sizeof(float) * n * in);
        for (int i = 0; i < n; i++) {
            for (int o = 0; o < out; o++) {
                double s = b[o];
                for (int k = 0; k < in; k++)
                    s += (double)x[i * in + k] * w[o * in + k];
                ref[i * out + o] = (float)s;
            }
            for (int k = 0; k < in; k++) {
                double s = dx[i * in + k];
                for (int o = 0; o < out; o++)
                    s += (double)dy[i * out + o] * w[o * in + k];
                dx_ref[i * in + k] = (float)s;
            }
        }
        linear_forward(y, x, w, b, n, in, out);
        assert_close(y, ref, (size_t)n * out, 1e-5f);
        linear_backward_input(dx, dy, w, n, in, out);
        assert_close(dx, dx_ref, (size_t)n * in, 1e-5f);
        free(x), free(w), free(b), free(y), free(dy), free(dx), free(ref), free(dx_ref);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depthwise),        cmocka_unit_test(test_grouped),
        cmocka_unit_test(test_pointwise),        cmocka_unit_test(test_depthwise_tiers),
        cmocka_unit_test(test_unary_tiers),      cmocka_unit_test(test_clip_backward_from_output),
        cmocka_unit_test(test_binary_broadcast), cmocka_unit_test(test_global_avgpool),
        cmocka_unit_test(test_linear_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
