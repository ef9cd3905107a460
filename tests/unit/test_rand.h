/* test_rand.h — the op tests' reproducible random numbers: a linear
 * congruential generator whose state a test may save and restore to draw
 * the same values twice. Each test program has its own state. */
#ifndef GC_TEST_RAND_H
#define GC_TEST_RAND_H

#include <stdlib.h>

static unsigned rng_state = 12345;

/* Uniform in [-1, 1), in steps of 2^-15. */
static inline float frand(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

/* n values of frand in a malloc'd array (at least one element). */
static inline float *randv(size_t n)
{
    float *v = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        v[i] = frand();
    return v;
}

#endif
