/* test_dtype.c — the shared element conversions (src/loaders/dtype.c):
 * every one of the 65,536 half-precision bit patterns against the
 * format's definition evaluated in double (ldexp), bfloat16 as the top
 * half of a float32, and each integer type at its extremes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "loaders/dtype.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static void test_half(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 65536; h++) {
        const int sign = h >> 15, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
        double mag = exp == 0    ? ldexp(man, -24) /* subnormal */
                     : exp == 31 ? (man ? NAN : INFINITY)
                                 : ldexp(1024 + man, exp - 25);
        const float want = (float)(sign ? -mag : mag), got = gc_half_to_float((uint16_t)h);
        if (isnan(want)) {
            assert_true(isnan(got));
            continue;
        }
        if (memcmp(&want, &got, sizeof got)) /* bit for bit: -0 and subnormals too */
            fail_msg("half 0x%04x: %a, want %a", h, (double)got, (double)want);
    }
}

static void test_bf16_and_elements(void **state)
{
    (void)state;
    const float v = -1.5f;
    uint32_t b32;
    memcpy(&b32, &v, 4);
    assert_true(gc_bf16_to_float((uint16_t)(b32 >> 16)) == v);
    const uint8_t bytes_i64[8] = {0, 0, 0, 0, 0, 0, 0, 0x80}; /* INT64_MIN, little-endian */
    assert_true(gc_dtype_element(GC_DT_I64, bytes_i64) == -9223372036854775808.0f);
    const uint8_t bytes_i16[2] = {0xff, 0x7f}, bytes_i8[1] = {0x80}, bytes_u8[1] = {0xff};
    assert_true(gc_dtype_element(GC_DT_I16, bytes_i16) == 32767.0f);
    assert_true(gc_dtype_element(GC_DT_I8, bytes_i8) == -128.0f);
    assert_true(gc_dtype_element(GC_DT_U8, bytes_u8) == 255.0f);
    assert_true(gc_dtype_element(GC_DT_BOOL, bytes_u8) == 1.0f);
    const double d = 0.1;
    uint8_t bytes_f64[8];
    memcpy(bytes_f64, &d, 8);
    assert_true(gc_dtype_element(GC_DT_F64, bytes_f64) == 0.1f);
    for (int dt = 0; dt < GC_DT_COUNT; dt++)
        assert_true(gc_dtype_size((gc_dtype)dt) > 0);
    assert_int_equal(gc_dtype_size(GC_DT_COUNT), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_half),
        cmocka_unit_test(test_bf16_and_elements),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
