/* test_eval.c — the model-free parts of the evaluation API: gc_spearman
 * against the textbook formula 1 - 6 sum d^2 / (n (n^2 - 1)) (no ties) and
 * properties that hold with ties, gc_pointing_game against direct sums,
 * and the argument checks of gc_evaluate_map and gc_model_randomise. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gradcam.h"

static void test_spearman_no_ties(void **state)
{
    (void)state;
    enum { N = 40 };
    float a[N], b[N];
    int ra[N], rb[N];
    uint32_t z = 12345;
    for (int i = 0; i < N; i++) { /* distinct values: a permutation, scaled */
        a[i] = (float)((i * 17) % N) + 0.5f;
        z = z * 1664525u + 1013904223u;
        b[i] = (float)(z >> 8);
    }
    for (int i = 0; i < N; i++) { /* ranks by counting */
        ra[i] = rb[i] = 1;
        for (int j = 0; j < N; j++)
            ra[i] += a[j] < a[i], rb[i] += b[j] < b[i];
    }
    double d2 = 0;
    for (int i = 0; i < N; i++)
        d2 += (double)(ra[i] - rb[i]) * (ra[i] - rb[i]);
    const double want = 1 - 6 * d2 / ((double)N * (N * N - 1));
    assert_true(fabs(gc_spearman(a, b, N) - want) < 1e-12);
    assert_true(fabs(gc_spearman(a, a, N) - 1) < 1e-12);
    float neg[N];
    for (int i = 0; i < N; i++)
        neg[i] = -a[i];
    assert_true(fabs(gc_spearman(a, neg, N) + 1) < 1e-12);
}

static void test_spearman_ties(void **state)
{
    (void)state;
    /* A monotone transform with ties on both sides keeps rho = 1; a
     * constant input gives 0. */
    const float a[8] = {0, 0, 0, 1, 2, 2, 5, 9}, b[8] = {-3, -3, -3, 4, 7, 7, 8, 100};
    const float c[8] = {2, 2, 2, 2, 2, 2, 2, 2};
    assert_true(fabs(gc_spearman(a, b, 8) - 1) < 1e-12);
    assert_true(gc_spearman(a, c, 8) == 0.0);
}

static void test_pointing(void **state)
{
    (void)state;
    enum { H = 6, W = 7 };
    float map[H * W];
    unsigned char in[H * W] = {0};
    double all = 0, inside = 0;
    for (int q = 0; q < H * W; q++) {
        map[q] = (float)((q * 5) % 11) - 3.0f; /* some negative values */
        in[q] = (q / W >= 2 && q / W <= 4 && q % W >= 1 && q % W <= 3);
    }
    map[3 * W + 2] = 50; /* the maximum, inside */
    for (int q = 0; q < H * W; q++) {
        const double v = map[q] > 0 ? map[q] : 0;
        all += v, inside += in[q] ? v : 0;
    }
    int hit;
    double energy;
    gc_pointing_game(map, H, W, in, &hit, &energy);
    assert_int_equal(hit, 1);
    assert_true(fabs(energy - inside / all) < 1e-12);
    map[0] = 60; /* now outside */
    gc_pointing_game(map, H, W, in, &hit, &energy);
    assert_int_equal(hit, 0);
    float zero[H * W] = {0};
    gc_pointing_game(zero, H, W, in, &hit, &energy);
    assert_true(energy == 0.0);
}

static void test_refusals(void **state)
{
    (void)state;
    gc_error err = {0};
    gc_eval e;
    float x[3 * 4 * 4] = {0}, s[16] = {0};
    gc_eval_options o = gc_eval_defaults(NULL);
    assert_int_equal(o.steps, 50);
    assert_int_equal(o.nroad, 9);
    assert_int_equal(gc_evaluate_map(NULL, x, 4, 4, 0, s, &o, &e, &err), GC_ERR_USAGE);
    assert_int_equal(gc_model_randomise(NULL, "fc", 1, &err), GC_ERR_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spearman_no_ties),
        cmocka_unit_test(test_spearman_ties),
        cmocka_unit_test(test_pointing),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
