/* test_gemm.c — gemm_nn(), gemm_tn(), OpenBLAS's forms and each CPU
 * tier's own kernels (cpu.h) against the sum written out in double
 * precision, on shapes that cross every blocking edge of the AVX-512 and
 * AVX2 kernels (6-row micro-kernels, 16- and 8-float vectors, 64- and
 * 16-column blocks, 512-long inner slices, 48-row work units, a lone last
 * column done as a dot product), with leading dimensions wider than the
 * matrices and with C += A B. A tier runs only on CPUs that have it; with
 * none, the test is reported as skipped, not counted as passed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ops/cpu.h"
#include "ops/gemm.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

typedef void (*gemm_fn)(int, int, int, const float *, int, const float *, int, float *, int,
                        int);

static unsigned rng = 99;
static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

/* Returns the largest error relative to sum |a||b| of each entry. ta: the
 * function computes A^T B from A stored k x m (gemm_tn). */
static double check_ld(gemm_fn f, int ta, int m, int n, int k, int accumulate, int pad_b)
{
    const int lda = (ta ? m : k) + 3, ldb = n + pad_b, ldc = n + 2;
    float *a = malloc(sizeof(float) * (ta ? k : m) * lda), *b = malloc(sizeof(float) * k * ldb);
    float *c = malloc(sizeof(float) * m * ldc), *c0 = malloc(sizeof(float) * m * ldc);
    for (int i = 0; i < (ta ? k : m) * lda; i++)
        a[i] = frand();
    for (int i = 0; i < k * ldb; i++)
        b[i] = frand();
    for (int i = 0; i < m * ldc; i++)
        c[i] = c0[i] = frand();
    f(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
    double worst = 0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < ldc; j++) {
            if (j >= n) { /* padding between rows is left alone */
                assert_true(c[i * ldc + j] == c0[i * ldc + j]);
                continue;
            }
            double s = accumulate ? c0[i * ldc + j] : 0, mag = fabs(s) + 1e-30;
            for (int p = 0; p < k; p++) {
                double aip = ta ? a[p * lda + i] : a[i * lda + p];
                s += aip * b[p * ldb + j];
                mag += fabs(aip * b[p * ldb + j]);
            }
            double e = fabs(c[i * ldc + j] - s) / mag;
            if (e > worst)
                worst = e;
        }
    free(a), free(b), free(c), free(c0);
    return worst;
}

static double check(gemm_fn f, int ta, int m, int n, int k, int accumulate)
{
    return check_ld(f, ta, m, n, k, accumulate, 5);
}

static void sweep(gemm_fn f, int ta)
{
    static const int ms[] = {1, 5, 6, 7, 47, 48, 49, 100};
    static const int ns[] = {1, 9, 15, 16, 17, 25, 49, 63, 64, 65, 130, 305};
    static const int ks[] = {1, 3, 255, 256, 257, 600};
    for (size_t i = 0; i < sizeof ms / sizeof *ms; i++)
        for (size_t j = 0; j < sizeof ns / sizeof *ns; j++)
            for (size_t q = 0; q < sizeof ks / sizeof *ks; q++)
                for (int acc = 0; acc < 2; acc++) {
                    double e = check(f, ta, ms[i], ns[j], ks[q], acc);
                    if (e > 1e-6)
                        fail_msg("ta=%d m=%d n=%d k=%d acc=%d: relative error %g", ta, ms[i],
                                 ns[j], ks[q], acc, e);
                }
}

static void test_gemm_nn(void **state)
{
    sweep(gemm_nn, 0), sweep(gemm_tn, 1);
    /* B's rows far apart, as a 1x1 convolution reads a large map in place
     * (the AVX-512 kernel copies such panels first). */
    static const int wm[] = {5, 6, 49}, wn[] = {1, 17, 64, 65, 130}, wk[] = {3, 257, 600};
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 5; j++)
            for (size_t q = 0; q < 3; q++)
                for (int acc = 0; acc < 2; acc++) {
                    double e = check_ld(gemm_nn, 0, wm[i], wn[j], wk[q], acc, 1100);
                    if (e > 1e-6)
                        fail_msg("wide ldb m=%d n=%d k=%d acc=%d: relative error %g", wm[i],
                                 wn[j], wk[q], acc, e);
                }
    /* Wide transposed A (the Winograd backward pass's filters are up to
     * 512 x 512) with few columns of B, on one thread (serial parts) and
     * two. */
    static const int ms[] = {510, 512, 530, 1024, 1100}, ns[] = {16, 17, 49};
    const int was = omp_get_max_threads();
    for (int t = 1; t <= 2; t++) {
        omp_set_num_threads(t);
        for (size_t i = 0; i < sizeof ms / sizeof *ms; i++)
            for (size_t j = 0; j < sizeof ns / sizeof *ns; j++)
                for (int acc = 0; acc < 2; acc++) {
                    double e = check(gemm_tn, 1, ms[i], ns[j], 37, acc);
                    if (e > 1e-6)
                        fail_msg("wide ta m=%d n=%d acc=%d threads=%d: relative error %g", ms[i],
                                 ns[j], acc, t, e);
                }
    }
    omp_set_num_threads(was);
}
static void test_gemm_blas(void **state) { sweep(gemm_nn_blas, 0), sweep(gemm_tn_blas, 1); }

static void test_gemm_tiers(void **state)
{
    int tested = 0;
    for (int t = 0; t < GC_TIERS; t++) {
        const gc_kernels *kt = gc_kernels_of((gc_tier)t);
        if (!kt || !kt->gemm_nn)
            continue;
        print_message("GEMM kernels: %s\n", kt->name);
        sweep(kt->gemm_nn, 0), sweep(kt->gemm_tn, 1);
        tested++;
    }
    if (!tested)
        skip(); /* cmocka reports it as skipped */
}

static void test_gemm_empty(void **state)
{
    float a[4] = {1, 2, 3, 4}, b[4] = {1, 1, 1, 1}, c[4] = {7, 7, 7, 7};
    gemm_nn(2, 2, 0, a, 2, b, 2, c, 2, 1); /* += an empty sum */
    for (int i = 0; i < 4; i++)
        assert_true(c[i] == 7.0f);
    gemm_nn(2, 2, 0, a, 2, b, 2, c, 2, 0); /* = an empty sum */
    for (int i = 0; i < 4; i++)
        assert_true(c[i] == 0.0f);
    gemm_nn(0, 2, 2, a, 2, b, 2, c, 2, 0); /* nothing to write */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_nn),
        cmocka_unit_test(test_gemm_blas),
        cmocka_unit_test(test_gemm_tiers),
        cmocka_unit_test(test_gemm_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
