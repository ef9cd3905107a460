/* cpu_tiers.c — prints the CPU kernel tiers this machine can run, one name
 * a line ("portable", then "avx2", "avx512"), for the test suite's
 * configure step (tests/cmake/cpu_tiers.cmake), which registers the
 * per-tier tests only for those. It asks the CPU what src/ops/cpu.c asks;
 * test_cpu checks at run time that the library agrees. Deliberately not a
 * part of the library or its tests' logic. */
#include <stdio.h>

int main(void)
{
    puts("portable");
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (avx2)
        puts("avx2");
    if (avx2 && __builtin_cpu_supports("avx512f"))
        puts("avx512");
#endif
    return 0;
}
