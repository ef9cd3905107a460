/* test_ops.c — each kernel against a direct, loop-by-loop reading of its
 * definition, and each backward against its forward: for a linear op L,
 * <L x, dy> must equal <x, L^T dy> (the adjoint identity), which is exactly
 * what backward_input computes. Random shapes cover strides, padding,
 * dilation, groups and asymmetric windows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ops/cpu.h"
#include "ops/ops.h"
#include "test_rand.h"
#include "ops/winograd_tiles.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

/* The definition of convolution, one output at a time. */
static void conv_direct(float *out, const float *in, const float *w, const float *bias,
                        const gc_window *s)
{
    int cg = s->c / s->groups, og = s->oc / s->groups;
    for (int n = 0; n < s->n; n++)
        for (int o = 0; o < s->oc; o++)
            for (int oy = 0; oy < s->ho; oy++)
                for (int ox = 0; ox < s->wo; ox++) {
                    double acc = bias ? bias[o] : 0.0;
                    int g = o / og;
                    for (int c = 0; c < cg; c++)
                        for (int i = 0; i < s->kh; i++)
                            for (int j = 0; j < s->kw; j++) {
                                int y = oy * s->sh - s->ph + i * s->dh;
                                int x = ox * s->sw - s->pw + j * s->dw;
                                if (y < 0 || y >= s->h || x < 0 || x >= s->w)
                                    continue;
                                acc += (double)w[((o * cg + c) * s->kh + i) * s->kw + j] *
                                       in[((n * s->c + g * cg + c) * s->h + y) * s->w + x];
                            }
                    out[((n * s->oc + o) * s->ho + oy) * s->wo + ox] = (float)acc;
                }
}

/* The folded epilogue (BatchNorm map, the residual res when not NULL,
 * ReLU) must give exactly what the separate passes give, bit for bit: y
 * holds the plain convolution's output of channels oc, hw each, y2 the same
 * convolution with the epilogue. */
static void check_epilogue(const float *y, const float *y2, const float *res, int n, int oc,
                           size_t hw)
{
    float *scale = randv(oc), *shift = randv(oc);
    size_t count = (size_t)n * oc * hw;
    float *ref = malloc(sizeof(float) * count);
    affine_forward(ref, y, scale, shift, n, oc, (int)hw);
    if (res)
        add_forward(ref, ref, res, count);
    relu_forward(ref, ref, count);
    assert_memory_equal(ref, y2, sizeof(float) * count);
    free(scale), free(shift), free(ref);
}

static void check_conv(gc_window s, int pad_end_h, int pad_end_w)
{
    s.ho = gc_window_out(s.h, s.kh, s.sh, s.ph, pad_end_h, s.dh, 0);
    s.wo = gc_window_out(s.w, s.kw, s.sw, s.pw, pad_end_w, s.dw, 0);
    size_t nin = (size_t)s.n * s.c * s.h * s.w, nout = (size_t)s.n * s.oc * s.ho * s.wo;
    size_t nw = (size_t)s.oc * (s.c / s.groups) * s.kh * s.kw;
    float *x = randv(nin), *w = randv(nw), *b = randv(s.oc), *dy = randv(nout);
    float *y = calloc(nout, sizeof(float)), *ref = calloc(nout, sizeof(float));
    float *dx = calloc(nin, sizeof(float));
    float *col = malloc(sizeof(float) * (conv2d_workspace(&s) + 1));
    conv2d_forward(y, x, w, b, NULL, &s, col);
    conv_direct(ref, x, w, b, &s);
    for (size_t i = 0; i < nout; i++)
        assert_true(fabsf(y[i] - ref[i]) <= 1e-4f * (1.0f + fabsf(ref[i])));
    for (int with_res = 0; with_res < 2; with_res++) {
        float *res = with_res ? randv(nout) : NULL;
        unsigned saved = rng_state; /* the same scale and shift twice */
        float *scale = randv(s.oc), *shift = randv(s.oc);
        rng_state = saved;
        gc_epilogue epi = {.scale = scale, .shift = shift, .relu = 1, .residual = res};
        conv2d_forward(ref, x, w, b, &epi, &s, col);
        check_epilogue(y, ref, res, s.n, s.oc, (size_t)s.ho * s.wo);
        free(scale), free(shift), free(res);
    }
    /* Adjoint identity on the bias-free map. */
    conv2d_forward(y, x, w, NULL, NULL, &s, col);
    conv2d_backward_input(dx, dy, w, &s, col);
    double lhs = dot(y, dy, nout), rhs = dot(x, dx, nin);
    assert_true(fabs(lhs - rhs) <= 1e-4 * (1.0 + fabs(lhs)));
    /* Backward accumulates: a second call doubles the result. */
    float *dx2 = malloc(sizeof(float) * nin);
    memcpy(dx2, dx, sizeof(float) * nin);
    conv2d_backward_input(dx2, dy, w, &s, col);
    for (size_t i = 0; i < nin; i++)
        assert_true(fabsf(dx2[i] - 2 * dx[i]) <= 1e-4f * (1.0f + fabsf(dx[i])));
    free(x), free(w), free(b), free(dy), free(y), free(ref), free(dx), free(dx2), free(col);
}

static void test_conv_shapes(void **state)
{
    (void)state;
    /* n, c, h, w, oc, ho, wo, kh, kw, sh, sw, ph, pw, dh, dw, groups */
    check_conv((gc_window){2, 3, 11, 9, 4, 0, 0, 7, 7, 2, 2, 3, 3, 1, 1, 1}, 3, 3);
    check_conv((gc_window){1, 4, 8, 8, 6, 0, 0, 3, 3, 1, 1, 1, 1, 1, 1, 2}, 1, 1);
    check_conv((gc_window){1, 6, 7, 10, 6, 0, 0, 3, 3, 2, 1, 1, 1, 1, 1, 6}, 1, 1);
    check_conv((gc_window){2, 5, 9, 9, 3, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1}, 0, 0);
    check_conv((gc_window){1, 5, 9, 9, 3, 0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 1}, 0, 0);
    check_conv((gc_window){1, 2, 12, 13, 3, 0, 0, 3, 2, 2, 3, 0, 1, 2, 1, 1}, 2, 0);
    check_conv((gc_window){1, 3, 5, 6, 2, 0, 0, 3, 3, 1, 1, 2, 0, 1, 1, 1}, 0, 2);
    /* Enough pixels that conv2d_blocked.c splits them among threads, in
     * blocks that straddle rows and images; and few pixels, many channels. */
    check_conv((gc_window){3, 5, 21, 26, 70, 0, 0, 3, 3, 2, 1, 1, 0, 1, 2, 1}, 1, 2);
    check_conv((gc_window){2, 9, 7, 7, 100, 0, 0, 3, 3, 1, 1, 1, 1, 1, 1, 1}, 1, 1);
}

/* The Winograd convolution of x with the BatchNorm map, a residual (or
 * none) and the ReLU folded in must give the passes applied to y, its
 * plain output, bit for bit. kind NULL: F(2x2) as the library runs it. */
static void check_wino_epilogue(const wino_kind *kind, const float *y, const float *x,
                                const float *U, const float *b, const gc_window *s, float *work)
{
    const size_t nout = (size_t)s->n * s->oc * s->ho * s->wo;
    float *y2 = malloc(sizeof(float) * nout);
    for (int with_res = 0; with_res < 2; with_res++) {
        float *res = with_res ? randv(nout) : NULL;
        unsigned saved = rng_state; /* the same scale and shift twice */
        float *scale = randv(s->oc), *shift = randv(s->oc);
        rng_state = saved;
        gc_epilogue epi = {.scale = scale, .shift = shift, .relu = 1, .residual = res};
        if (kind)
            wino_forward(kind, y2, x, U, b, &epi, s, work);
        else
            conv2d_winograd_forward(y2, x, U, b, &epi, s, work);
        check_epilogue(y, y2, res, s->n, s->oc, (size_t)s->ho * s->wo);
        free(scale), free(shift), free(res);
    }
    free(y2);
}

static void check_winograd(int n, int c, int oc, int h, int w)
{
    gc_window s = {n, c, h, w, oc, h, w, 3, 3, 1, 1, 1, 1, 1, 1, 1};
    assert_true(winograd_applies(&s));
    size_t nin = (size_t)n * c * h * w, nout = (size_t)n * oc * h * w;
    float *x = randv(nin), *wt = randv((size_t)oc * c * 9), *b = randv(oc);
    float *U = malloc(sizeof(float) * 16 * oc * c);
    float *work = malloc(sizeof(float) * winograd_workspace(&s));
    float *y = malloc(sizeof(float) * nout), *ref = malloc(sizeof(float) * nout);
    winograd_transform_weights(U, wt, oc, c);
    conv2d_winograd_forward(y, x, U, b, NULL, &s, work);
    conv_direct(ref, x, wt, b, &s);
    for (size_t i = 0; i < nout; i++)
        assert_true(fabsf(y[i] - ref[i]) <= 1e-5f * (1.0f + fabsf(ref[i])) * c);
    check_wino_epilogue(NULL, y, x, U, b, &s, work);
    /* The backward pass from the same U against the im2col one (which the
     * adjoint identity checks in test_conv_shapes); both accumulate. */
    float *dy = randv(nout), *dx = malloc(sizeof(float) * nin), *dref = malloc(sizeof(float) * nin);
    float *col = malloc(sizeof(float) * (conv2d_workspace(&s) + 1));
    for (size_t i = 0; i < nin; i++)
        dx[i] = dref[i] = x[i]; /* something to add to */
    conv2d_winograd_backward_input(dx, dy, U, &s, work);
    conv2d_backward_input(dref, dy, wt, &s, col);
    for (size_t i = 0; i < nin; i++)
        assert_true(fabsf(dx[i] - dref[i]) <= 1e-5f * (1.0f + fabsf(dref[i])) * oc);
    free(dy), free(dx), free(dref), free(col);
    free(x), free(wt), free(b), free(U), free(work), free(y), free(ref);
}

static void test_winograd(void **state)
{
    (void)state;
    check_winograd(1, 3, 4, 8, 8);
    check_winograd(2, 5, 3, 7, 9);  /* odd sizes: partial tiles */
    check_winograd(1, 16, 8, 1, 5);
    check_winograd(3, 8, 16, 14, 13);
    check_winograd(2, 64, 100, 23, 30); /* many tile blocks, two images */
    check_winograd(1, 256, 130, 7, 7);  /* one block, channels split in chunks */
    check_winograd(1, 300, 20, 9, 40);  /* smallest blocks, a segment per row */
    gc_window strided = {1, 3, 8, 8, 4, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1};
    assert_false(winograd_applies(&strided));
}

/* How the driver cuts a convolution into units depends on the thread
 * count: blocks of whole vectors (784 tiles), channel chunks shared as
 * whole micro-kernel rows (one block of 49 tiles, 16 of 4), a unit count
 * that 3 threads do not divide. */
static void test_winograd_threads(void **state)
{
    (void)state;
    const int was = omp_get_max_threads();
    for (int t = 1; t <= 3; t++) {
        omp_set_num_threads(t);
        check_winograd(1, 16, 24, 56, 56);
        check_winograd(1, 96, 200, 14, 14);
        check_winograd(1, 64, 250, 7, 7);
        check_winograd(3, 20, 30, 28, 28);
    }
    omp_set_num_threads(was);
}

/* Root-mean-square of (y - ref) over that of ref. */
static double rms_error(const float *y, const float *ref, size_t count)
{
    double e = 0.0, r = 0.0;
    for (size_t i = 0; i < count; i++)
        e += ((double)y[i] - ref[i]) * ((double)y[i] - ref[i]), r += (double)ref[i] * ref[i];
    return sqrt(e / (r > 0.0 ? r : 1.0));
}

/* F(4x4, 3x3) against the direct convolution in double, with filters
 * transformed from the plain ones and from F(2x2)'s; its rounding error
 * against F(2x2)'s; and the folded epilogue, bit for bit. Returns the
 * relative rms errors: F(4x4)'s portable and AVX-512 transforms (0 where
 * the CPU lacks it), F(2x2)'s. */
static void check_winograd4(int n, int c, int oc, int h, int w, double e4[2], double *e2)
{
    gc_window s = {n, c, h, w, oc, h, w, 3, 3, 1, 1, 1, 1, 1, 1, 1};
    size_t nin = (size_t)n * c * h * w, nout = (size_t)n * oc * h * w;
    float *x = randv(nin), *wt = randv((size_t)oc * c * 9), *b = randv(oc);
    for (size_t i = 0; i < nin; i++) /* post-ReLU activations, as in a network */
        x[i] = x[i] > 0.0f ? x[i] : 0.0f;
    float *U2 = malloc(sizeof(float) * 16 * oc * c), *U4 = malloc(sizeof(float) * 36 * oc * c);
    float *U4b = malloc(sizeof(float) * 36 * oc * c);
    size_t ws = winograd4_workspace(&s), ws2 = winograd_workspace(&s);
    float *work = malloc(sizeof(float) * (ws > ws2 ? ws : ws2));
    float *y = malloc(sizeof(float) * nout), *y2 = malloc(sizeof(float) * nout);
    float *ref = malloc(sizeof(float) * nout);
    winograd_transform_weights(U2, wt, oc, c);
    winograd4_transform_weights(U4, wt, NULL, oc, c);
    winograd4_transform_weights(U4b, NULL, U2, oc, c);
    conv_direct(ref, x, wt, b, &s);
    conv2d_winograd_forward(y2, x, U2, b, NULL, &s, work);
    *e2 = rms_error(y2, ref, nout);
    /* Every set of transforms: the portable ones and each tier's that this
     * CPU runs (e4[t] is tier t's error, 0 where it has none of its own). */
    const wino_kind *kinds[GC_TIERS] = {winograd4_portable_kind()};
    for (int t = 1; t < GC_TIERS; t++)
        kinds[t] = gc_kernels_of((gc_tier)t) ? gc_kernels_of((gc_tier)t)->wino4 : NULL;
    for (int kd = 0; kd < GC_TIERS; kd++) {
        if (!kinds[kd])
            continue;
        wino_forward(kinds[kd], y, x, U4, b, NULL, &s, work);
        for (size_t i = 0; i < nout; i++) /* a wrong coefficient is off by O(1) */
            assert_true(fabsf(y[i] - ref[i]) <= 1e-5f * (1.0f + fabsf(ref[i])) * c);
        e4[kd] = rms_error(y, ref, nout);
    }
    /* conv2d_winograd4_forward runs the active tier's (or the portable) ones. */
    const wino_kind *active = gc_kernels_active()->wino4;
    wino_forward(active ? active : kinds[0], y, x, U4, b, NULL, &s, work);
    conv2d_winograd4_forward(y2, x, U4, b, NULL, &s, work);
    assert_memory_equal(y, y2, sizeof(float) * nout);
    /* From F(2x2)'s transform: the same filters but for a rounding. */
    for (size_t i = 0; i < 36 * (size_t)oc * c; i++)
        assert_true(fabsf(U4b[i] - U4[i]) <= 1e-6f * (1.0f + fabsf(U4[i])));
    for (int kd = 0; kd < GC_TIERS; kd++) {
        if (!kinds[kd])
            continue;
        wino_forward(kinds[kd], y, x, U4, b, NULL, &s, work);
        check_wino_epilogue(kinds[kd], y, x, U4, b, &s, work);
    }
    free(x), free(wt), free(b), free(U2), free(U4), free(U4b), free(work), free(y), free(y2);
    free(ref);
}

static void test_winograd4(void **state)
{
    (void)state;
    double e4[GC_TIERS] = {0}, e2;
    check_winograd4(1, 3, 4, 8, 8, e4, &e2);
    check_winograd4(2, 5, 3, 7, 9, e4, &e2); /* partial tiles both ways */
    check_winograd4(1, 16, 8, 1, 5, e4, &e2);
    check_winograd4(3, 8, 16, 14, 13, e4, &e2);
    check_winograd4(1, 4, 4, 70, 75, e4, &e2);     /* 19 tiles a row: two vectors of them */
    check_winograd4(2, 64, 100, 23, 30, e4, &e2); /* many tile blocks, two images */
    check_winograd4(1, 300, 20, 9, 41, e4, &e2);  /* smallest blocks, a segment per row */
    /* The rounding error that winograd4.c states, on a ResNet-sized layer:
     * here 1.5e-6 relative rms against F(2x2)'s 4.1e-7, 3.7 times as much
     * (points +-2 instead of 2, -1/2 give about 6 times, in NumPy). */
    check_winograd4(1, 256, 64, 14, 14, e4, &e2);
    for (int kd = 0; kd < GC_TIERS; kd++) {
        if (e4[kd] == 0.0)
            continue;
        print_message("F(4x4) (%s) rms error %.2e, F(2x2) %.2e\n",
                      gc_kernels_of((gc_tier)kd)->name, e4[kd], e2);
        assert_true(e4[kd] <= 5.0 * e2);
        assert_true(e4[kd] >= e2); /* else the reference is not telling them apart */
    }
}

/* a against b: the same bits where tol is 0, else within tol (1 +
 * |b|) each. */
static void assert_close(const float *a, const float *b, size_t n, float tol)
{
    if (tol == 0.0f) {
        assert_memory_equal(a, b, sizeof(float) * n);
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(a[i] - b[i]) <= tol * (1.0f + fabsf(b[i]))))
            fail_msg("element %zu: %.9g, want %.9g", i, a[i], b[i]);
}

/* Tier kind k's transforms against the portable ones (ref) of the same
 * algorithm, to the bit or within tol, on every tile row of maps whose
 * edges cut tiles in each way, and on runs that start inside a row; the
 * buffers around what they write must stay as they were. */
static void check_transforms(const wino_kind *k, const wino_kind *ref, float tol, int c, int h,
                             int w)
{
    gc_window s = {2, c, h, w, c, h, w, 3, 3, 1, 1, 1, 1, 1, 1, 1};
    const int th = (h + k->m - 1) / k->m, tw = (w + k->m - 1) / k->m, col = 3;
    float *in = randv((size_t)s.n * c * h * w), *scale = randv(c), *shift = randv(c);
    float *bias = randv(c);
    float *scratch = malloc(sizeof(float) * (k->scratch(64) + 1));
    float *ref_scratch = malloc(sizeof(float) * (ref->scratch(64) + 1));
    for (int n = 0; n < s.n; n++)
        for (int ty = 0; ty < th; ty++)
            for (int tx = 0; tx < tw; tx += ty % 2 ? 64 : 5) {
                wino_segment g = {n, ty, tx, tw - tx < 64 ? tw - tx : 64};
                const size_t ldv = (size_t)g.len + 7, nv = (size_t)k->points * c * ldv;
                float *v1 = randv(nv), *v2 = malloc(sizeof(float) * nv);
                memcpy(v2, v1, sizeof(float) * nv);
                ref->input(v1, ldv, col, in, &s, g, ref_scratch);
                k->input(v2, ldv, col, in, &s, g, scratch);
                assert_close(v2, v1, nv, tol);
                /* Products for channels [1, c): each epilogue, then adding. */
                const int k0 = c > 1 ? 1 : 0, kn = c - k0;
                const size_t nout = (size_t)s.n * c * h * w;
                float *m = randv((size_t)k->points * kn * ldv), *o1 = randv(nout);
                float *o2 = malloc(sizeof(float) * nout);
                const gc_epilogue relu = {.relu = 1}, bn = {.scale = scale, .shift = shift, .relu = 1};
                const gc_epilogue res = {.scale = scale, .shift = shift, .relu = 1, .residual = in}; /* in has the output's shape */
                const gc_epilogue *epis[4] = {NULL, &relu, &bn, &res};
                for (int e = 0; e < 5; e++) {
                    memcpy(o2, o1, sizeof(float) * nout);
                    const int acc = e == 4;
                    const float *b = acc ? NULL : bias;
                    const gc_epilogue *ep = acc ? NULL : epis[e];
                    ref->output(o1, m, ldv, col, b, ep, &s, g, k0, kn, acc);
                    k->output(o2, m, ldv, col, b, ep, &s, g, k0, kn, acc);
                    assert_close(o2, o1, nout, tol);
                    memcpy(o1, o2, sizeof(float) * nout); /* the next round starts equal */
                }
                free(v1), free(v2), free(m), free(o1), free(o2);
            }
    free(in), free(scale), free(shift), free(bias), free(scratch), free(ref_scratch);
}

/* Maps whose edges cut tiles of either size each way, rows longer than
 * one run of 64 tiles, and runs one tile past a vector of 8 or 16. */
static void check_transforms_sizes(const wino_kind *k, const wino_kind *ref, float tol)
{
    static const int sizes[][3] = {{3, 7, 7},  {2, 8, 8},   {5, 5, 9},   {1, 1, 1},   {2, 14, 13},
                                   {1, 3, 130}, {1, 5, 270}, {2, 40, 57}, {2, 19, 17}, {2, 9, 35},
                                   {1, 6, 66}};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        check_transforms(k, ref, tol, sizes[i][0], sizes[i][1], sizes[i][2]);
}

/* Every tier this CPU runs that has Winograd transforms of its own: F(2x2)
 * to the bit, F(4x4) (fused multiply-adds) to rounding. */
static void test_winograd_tiers(void **state)
{
    (void)state;
    int tested = 0;
    for (int t = 0; t < GC_TIERS; t++) {
        const gc_kernels *kt = gc_kernels_of((gc_tier)t);
        if (kt && kt->wino2) {
            print_message("F(2x2) transforms: %s\n", kt->name);
            check_transforms_sizes(kt->wino2, winograd2_portable_kind(), 0.0f);
            tested++;
        }
        if (kt && kt->wino4) {
            print_message("F(4x4) transforms: %s\n", kt->name);
            check_transforms_sizes(kt->wino4, winograd4_portable_kind(), 2e-6f);
            tested++;
        }
    }
    if (!tested)
        skip(); /* cmocka reports it as skipped */
}

static void test_window_out(void **state)
{
    (void)state;
    assert_int_equal(gc_window_out(224, 7, 2, 3, 3, 1, 0), 112);
    assert_int_equal(gc_window_out(112, 3, 2, 1, 1, 1, 0), 56);
    assert_int_equal(gc_window_out(193, 3, 2, 1, 1, 1, 0), 97);
    /* ceil mode: 6 -> (6-3+1)/2 rounded up + 1 = 3, floor gives 2 */
    assert_int_equal(gc_window_out(6, 3, 2, 0, 0, 1, 1), 3);
    assert_int_equal(gc_window_out(6, 3, 2, 0, 0, 1, 0), 2);
    /* ceil mode never starts a window in the end padding */
    assert_int_equal(gc_window_out(5, 2, 2, 0, 1, 1, 1), 3);
    assert_int_equal(gc_window_out(2, 3, 1, 0, 0, 1, 0), 0);
}

static void test_maxpool(void **state)
{
    (void)state;
    gc_window s = {2, 3, 9, 8, 3, 0, 0, 3, 3, 2, 2, 1, 1, 1, 1, 1};
    s.ho = gc_window_out(s.h, 3, 2, 1, 1, 1, 0);
    s.wo = gc_window_out(s.w, 3, 2, 1, 1, 1, 0);
    size_t nin = (size_t)s.n * s.c * s.h * s.w, nout = (size_t)s.n * s.c * s.ho * s.wo;
    float *x = randv(nin), *y = malloc(sizeof(float) * nout), *dy = randv(nout);
    float *dx = calloc(nin, sizeof(float)), *expect = calloc(nin, sizeof(float));
    /* Ties, as after a ReLU: a zeroed stretch where windows hold equal
     * maxima; the gradient must go to the first in raster order. */
    for (int i = 0; i < 20; i++)
        x[i] = 0.0f;
    maxpool_forward(y, x, &s);
    for (int p = 0; p < s.n * s.c; p++)
        for (int oy = 0; oy < s.ho; oy++)
            for (int ox = 0; ox < s.wo; ox++) {
                float best = -INFINITY;
                int where = -1;
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++) {
                        int yy = oy * 2 - 1 + i, xx = ox * 2 - 1 + j;
                        if (yy < 0 || yy >= s.h || xx < 0 || xx >= s.w)
                            continue;
                        float v = x[(p * s.h + yy) * s.w + xx];
                        if (where < 0 || v > best)
                            best = v, where = yy * s.w + xx;
                    }
                size_t q = ((size_t)p * s.ho + oy) * s.wo + ox;
                assert_true(y[q] == best);
                expect[(size_t)p * s.h * s.w + where] += dy[q];
            }
    maxpool_backward_input(dx, dy, x, y, &s);
    for (size_t i = 0; i < nin; i++)
        assert_true(fabsf(dx[i] - expect[i]) <= 1e-6f);
    free(x), free(y), free(dy), free(dx), free(expect);
    /* A NaN wins its windows and takes their gradient. */
    gc_window t = {1, 1, 2, 2, 1, 1, 1, 2, 2, 1, 1, 0, 0, 1, 1, 1};
    float a[4] = {1.0f, NAN, 5.0f, NAN}, b, g = 2.0f, da[4] = {0};
    maxpool_forward(&b, a, &t);
    assert_true(isnan(b));
    maxpool_backward_input(da, &g, a, &b, &t);
    assert_true(da[0] == 0.0f && da[1] == 2.0f && da[2] == 0.0f && da[3] == 0.0f);
}

/* Each tier's stem pooling against the portable loop, to the bit: maps
 * whose edges cut windows each way (ceil mode too), with ties of +0 and -0
 * and a NaN, which must come out where and as the portable loop leaves
 * them. */
static void check_maxpool_stem(gc_pool_fn *stem)
{
    const int sizes[][3] = {{112, 112, 0}, {9, 8, 0}, {7, 37, 1}, {1, 1, 0}, {2, 33, 1}, {16, 17, 0}};
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        gc_window s = {2, 3, sizes[t][0], sizes[t][1], 3, 0, 0, 3, 3, 2, 2, 1, 1, 1, 1, 1};
        s.ho = gc_window_out(s.h, 3, 2, 1, 1, 1, sizes[t][2]);
        s.wo = gc_window_out(s.w, 3, 2, 1, 1, 1, sizes[t][2]);
        size_t nin = (size_t)s.n * s.c * s.h * s.w, nout = (size_t)s.n * s.c * s.ho * s.wo;
        float *x = randv(nin), *a = malloc(sizeof(float) * nout), *b = malloc(sizeof(float) * nout);
        for (size_t i = 0; i < nin; i += 3)
            x[i] = i % 2 ? 0.0f : -0.0f;
        x[nin / 2] = NAN;
        assert_true(maxpool_is_stem(&s));
        maxpool_portable(a, x, &s);
        stem(b, x, &s);
        assert_memory_equal(a, b, sizeof(float) * nout);
        free(x), free(a), free(b);
    }
}

static void test_maxpool_tiers(void **state)
{
    (void)state;
    int tested = 0;
    for (int t = 0; t < GC_TIERS; t++) {
        const gc_kernels *kt = gc_kernels_of((gc_tier)t);
        if (!kt || !kt->maxpool_stem)
            continue;
        print_message("stem max pooling: %s\n", kt->name);
        check_maxpool_stem(kt->maxpool_stem);
        tested++;
    }
    if (!tested)
        skip(); /* cmocka reports it as skipped */
}

/* Each tier's stride-2 gather (conv2d_blocked.c's im2col) against the
 * plain loop, for every length across two vectors of either width; what
 * lies past dst[len - 1] must stay as it was. */
static void test_gather2_tiers(void **state)
{
    (void)state;
    int tested = 0;
    for (int t = 0; t < GC_TIERS; t++) {
        const gc_kernels *kt = gc_kernels_of((gc_tier)t);
        if (!kt || !kt->gather2)
            continue;
        print_message("stride-2 gather: %s\n", kt->name);
        for (int len = 0; len <= 40; len++) {
            float *src = randv((size_t)2 * len + 1), dst[48], want[48];
            for (int q = 0; q < 48; q++)
                dst[q] = want[q] = (float)-q;
            for (int q = 0; q < len; q++)
                want[q] = src[2 * q];
            kt->gather2(dst, src, len);
            assert_memory_equal(dst, want, sizeof dst);
            free(src);
        }
        tested++;
    }
    if (!tested)
        skip(); /* cmocka reports it as skipped */
}

static void test_linear_and_pool(void **state)
{
    (void)state;
    int n = 3, in = 7, out = 5, c = 4, hw = 6;
    float *x = randv((size_t)n * in), *w = randv((size_t)out * in), *b = randv(out);
    float *y = malloc(sizeof(float) * n * out), *dy = randv((size_t)n * out);
    float *dx = calloc((size_t)n * in, sizeof(float));
    linear_forward(y, x, w, b, n, in, out);
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) {
            double s = b[o];
            for (int k = 0; k < in; k++)
                s += (double)x[i * in + k] * w[o * in + k];
            assert_true(fabs(y[i * out + o] - s) < 1e-5);
        }
    linear_forward(y, x, w, NULL, n, in, out);
    linear_backward_input(dx, dy, w, n, in, out);
    assert_true(fabs(dot(y, dy, (size_t)n * out) - dot(x, dx, (size_t)n * in)) < 1e-4);

    float *a = randv((size_t)n * c * hw), *g = malloc(sizeof(float) * n * c);
    float *dg = randv((size_t)n * c), *da = calloc((size_t)n * c * hw, sizeof(float));
    global_avgpool_forward(g, a, n, c, hw);
    global_avgpool_backward_input(da, dg, n, c, hw);
    assert_true(fabs(dot(g, dg, (size_t)n * c) - dot(a, da, (size_t)n * c * hw)) < 1e-5);
    free(x), free(w), free(b), free(y), free(dy), free(dx), free(a), free(g), free(dg), free(da);
}

static void test_elementwise(void **state)
{
    (void)state;
    float x[6] = {-1.0f, 0.0f, 2.0f, -3.0f, 4.0f, 0.5f}, y[6], dy[6] = {1, 2, 3, 4, 5, 6};
    float dx[6] = {0};
    relu_forward(y, x, 6);
    relu_backward_input(dx, dy, y, 6);
    float ey[6] = {0, 0, 2, 0, 4, 0.5f}, edx[6] = {0, 0, 3, 0, 5, 6};
    for (int i = 0; i < 6; i++) {
        assert_true(y[i] == ey[i]);
        assert_true(dx[i] == edx[i]);
    }
    /* affine: 2 images x 3 channels x 1 position */
    float scale[3] = {2, -1, 0.5f}, shift[3] = {1, 0, -1}, out[6], d[6] = {0};
    affine_forward(out, x, scale, shift, 2, 3, 1);
    float eo[6] = {-1, 0, 0, -5, -4, -0.75f};
    for (int i = 0; i < 6; i++)
        assert_true(fabsf(out[i] - eo[i]) < 1e-6f);
    affine_backward_input(d, dy, scale, 2, 3, 1);
    float ed[6] = {2, -2, 1.5f, 8, -5, 3};
    for (int i = 0; i < 6; i++)
        assert_true(fabsf(d[i] - ed[i]) < 1e-6f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_out),   cmocka_unit_test(test_conv_shapes),
        cmocka_unit_test(test_maxpool),      cmocka_unit_test(test_linear_and_pool),
        cmocka_unit_test(test_elementwise),  cmocka_unit_test(test_winograd),
        cmocka_unit_test(test_winograd4),    cmocka_unit_test(test_winograd_threads),
        cmocka_unit_test(test_winograd_tiers), cmocka_unit_test(test_maxpool_tiers),
        cmocka_unit_test(test_gather2_tiers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
