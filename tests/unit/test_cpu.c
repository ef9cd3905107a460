/* test_cpu.c — the CPU tier choice (src/ops/cpu.h): what each GC_CPU value
 * selects on CPUs of each best tier, the errors for a tier the CPU lacks
 * and for an unknown name, and that the tables this process gets agree
 * with the probe and with the GC_CPU it runs under (ctest runs it plain;
 * the tier tests, tests/cmake/cpu_tiers.cmake, run the kernels). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ops/cpu.h"

#include <stdlib.h>
#include <string.h>

static void test_choose_auto(void **state)
{
    (void)state;
    const char *autos[] = {NULL, "", "auto"};
    for (int b = 0; b < GC_TIERS; b++)
        for (size_t i = 0; i < sizeof autos / sizeof *autos; i++) {
            gc_tier t = GC_TIERS;
            assert_int_equal(gc_cpu_choose(autos[i], (gc_tier)b, &t, NULL), GC_OK);
            assert_int_equal(t, b);
        }
}

static void test_choose_forced(void **state)
{
    (void)state;
    const char *names[GC_TIERS] = {"portable", "avx2", "avx512"};
    for (int best = 0; best < GC_TIERS; best++)
        for (int want = 0; want < GC_TIERS; want++) {
            gc_error err = {GC_OK, ""};
            gc_tier t = GC_TIERS;
            gc_status st = gc_cpu_choose(names[want], (gc_tier)best, &t, &err);
            if (want <= best) {
                assert_int_equal(st, GC_OK);
                assert_int_equal(t, want);
                continue;
            }
            /* A tier above the CPU's: refused, with both names in the message. */
            assert_int_equal(st, GC_ERR_UNSUPPORTED);
            assert_int_equal(err.status, GC_ERR_UNSUPPORTED);
            assert_int_equal(t, GC_TIER_PORTABLE);
            assert_non_null(strstr(err.msg, "cannot run"));
            assert_non_null(strstr(err.msg, names[want]));
            assert_non_null(strstr(err.msg, names[best]));
        }
}

static void test_choose_unknown(void **state)
{
    (void)state;
    const char *bad[] = {"bogus", "AVX2", "avx", "avx512f", " portable", "sse2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        gc_error err = {GC_OK, ""};
        gc_tier t = GC_TIERS;
        assert_int_equal(gc_cpu_choose(bad[i], GC_TIER_AVX512, &t, &err), GC_ERR_USAGE);
        assert_int_equal(t, GC_TIER_PORTABLE);
        assert_non_null(strstr(err.msg, "unknown tier"));
        assert_non_null(strstr(err.msg, bad[i]));
    }
}

/* This process: the active table is GC_CPU's tier (or the best), tables
 * exist exactly up to the best tier, and the portable one is all NULLs. */
static void test_tables(void **state)
{
    (void)state;
    const gc_tier best = gc_cpu_best();
    for (int t = 0; t < GC_TIERS; t++) {
        const gc_kernels *k = gc_kernels_of((gc_tier)t);
        if (t > (int)best) {
            assert_null(k);
            continue;
        }
        assert_non_null(k);
        assert_int_equal(k->tier, t);
        const int own = t != GC_TIER_PORTABLE; /* every vector tier has these */
        assert_int_equal(k->gemm_nn != NULL, own);
        assert_int_equal(k->gemm_tn != NULL, own);
        assert_int_equal(k->wino2 != NULL, own);
        assert_int_equal(k->wino4 != NULL, own);
        assert_int_equal(k->maxpool_stem != NULL, own);
        assert_int_equal(k->gather2 != NULL, own);
    }
    gc_tier want = GC_TIERS;
    gc_status st = gc_cpu_choose(getenv("GC_CPU"), best, &want, NULL);
    gc_error err = {GC_OK, ""};
    assert_int_equal(gc_cpu_check(&err), st);
    assert_int_equal(gc_kernels_active()->tier, want);
    assert_string_equal(gc_cpu_tier(), gc_kernels_active()->name);
    print_message("best tier %s, running %s\n", gc_kernels_of(best)->name, gc_cpu_tier());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_choose_auto),
        cmocka_unit_test(test_choose_forced),
        cmocka_unit_test(test_choose_unknown),
        cmocka_unit_test(test_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
