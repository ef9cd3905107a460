/* cpu.c — the one CPU probe and the tier tables (see cpu.h). The probe and
 * the GC_CPU choice run once per process (pthread_once); the result is the
 * library's only global state, written once and read-only after.
 *
 * The feature bits come from __builtin_cpu_supports, which (GCC's libgcc
 * and LLVM's compiler-rt alike) reports AVX, AVX2, FMA and AVX-512 only
 * where XGETBV says the operating system saves the YMM / ZMM state, so a
 * kernel is never chosen that the OS would fault on (or that Valgrind,
 * which hides AVX-512, cannot run). Deliberately not here: the kernels
 * themselves, or probing anything they do not use. */
#include "ops/cpu.h"

#include "core/error.h"
#include "ops/x86/kernels.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char *const tier_names[GC_TIERS] = {"portable", "avx2", "avx512"};

/* What each tier runs; entries left out are NULL, the portable code. */
static const gc_kernels tables[GC_TIERS] = {
    [GC_TIER_PORTABLE] = {.tier = GC_TIER_PORTABLE, .name = "portable"},
#ifdef GC_X86_KERNELS
    [GC_TIER_AVX2] = {.tier = GC_TIER_AVX2, .name = "avx2",
                      .gemm_nn = gemm_nn_avx2, .gemm_tn = gemm_tn_avx2,
                      .wino2 = &winograd2_avx2, .wino4 = &winograd4_avx2,
                      .maxpool_stem = maxpool_stem_avx2, .gather2 = gather2_avx2,
                      .depthwise_plane = depthwise_plane_avx2,
                      .depthwise_plane_back = depthwise_plane_back_avx2,
                      .unary_map = unary_map_avx2, .epilogue = epilogue_avx2},
    [GC_TIER_AVX512] = {.tier = GC_TIER_AVX512, .name = "avx512",
                        .gemm_nn = gemm_nn_avx512, .gemm_tn = gemm_tn_avx512,
                        .wino2 = &winograd2_avx512, .wino4 = &winograd4_avx512,
                        .maxpool_stem = maxpool_stem_avx512, .gather2 = gather2_avx512,
                        .depthwise_plane = depthwise_plane_avx512,
                        .depthwise_plane_back = depthwise_plane_back_avx512,
                        .unary_map = unary_map_avx512, .epilogue = epilogue_avx512},
#endif
};

static gc_tier probe(void)
{
#ifdef GC_X86_KERNELS
    __builtin_cpu_init();
    const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (avx2 && __builtin_cpu_supports("avx512f"))
        return GC_TIER_AVX512;
    if (avx2)
        return GC_TIER_AVX2;
#endif
    return GC_TIER_PORTABLE;
}

gc_status gc_cpu_choose(const char *value, gc_tier best, gc_tier *out, gc_error *err)
{
    *out = GC_TIER_PORTABLE;
    if (!value || !*value || strcmp(value, "auto") == 0) {
        *out = best;
        return GC_OK;
    }
    for (int t = 0; t < GC_TIERS; t++) {
        if (strcmp(value, tier_names[t]) != 0)
            continue;
        if (t > (int)best)
            return gc_fail(err, GC_ERR_UNSUPPORTED,
                           "GC_CPU=%s: this CPU cannot run the %s kernels (its best tier is %s)",
                           value, value, tier_names[best]);
        *out = (gc_tier)t;
        return GC_OK;
    }
    return gc_fail(err, GC_ERR_USAGE,
                   "GC_CPU=%.64s: unknown tier (expected portable, avx2, avx512 or auto)",
                   value);
}

/* Written once by decide(), under pthread_once. */
static struct {
    gc_tier best, chosen;
    gc_status status;
    gc_error err;
} state;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void decide(void)
{
    state.best = probe();
    state.status = gc_cpu_choose(getenv("GC_CPU"), state.best, &state.chosen, &state.err);
}

const gc_kernels *gc_kernels_active(void)
{
    pthread_once(&once, decide);
    return &tables[state.chosen];
}

gc_tier gc_cpu_best(void)
{
    pthread_once(&once, decide);
    return state.best;
}

const gc_kernels *gc_kernels_of(gc_tier t)
{
    return t >= 0 && t <= gc_cpu_best() ? &tables[t] : NULL;
}

gc_status gc_cpu_check(gc_error *err)
{
    pthread_once(&once, decide);
    if (state.status && err)
        *err = state.err;
    return state.status;
}

const char *gc_cpu_tier(void) { return gc_kernels_active()->name; }
