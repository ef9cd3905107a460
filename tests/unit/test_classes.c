/* test_classes.c — gc_imagenet_class_name / _index against torchvision's list.
 *
 * The spot values (0 "tench", 3 "tiger shark", 999 "toilet tissue") are
 * asserted against torchvision by tools/gen_imagenet_classes.py, and the
 * download.cmake fragment checks the whole generated table against it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gradcam.h"

static void test_known_indices(void **state)
{
    assert_string_equal(gc_imagenet_class_name(0), "tench");
    assert_string_equal(gc_imagenet_class_name(3), "tiger shark");
    assert_string_equal(gc_imagenet_class_name(999), "toilet tissue");
    assert_int_equal(gc_imagenet_class_index("tench"), 0);
    assert_int_equal(gc_imagenet_class_index("tiger shark"), 3);
    assert_int_equal(gc_imagenet_class_index("toilet tissue"), 999);
}

static void test_out_of_range(void **state)
{
    assert_null(gc_imagenet_class_name(-1));
    assert_null(gc_imagenet_class_name(1000));
    assert_null(gc_imagenet_class_name(INT32_MIN));
    assert_int_equal(gc_imagenet_class_index(NULL), -1);
    assert_int_equal(gc_imagenet_class_index(""), -1);
    assert_int_equal(gc_imagenet_class_index("no such class"), -1);
    /* Exact match only: no case folding, no prefix match. */
    assert_int_equal(gc_imagenet_class_index("Tench"), -1);
    assert_int_equal(gc_imagenet_class_index("tiger"), 292); /* per torchvision */
    assert_int_equal(gc_imagenet_class_index("tige"), -1);
}

/* torchvision 0.14 renamed the classic duplicates ("crane" the bird and the
 * machine, two "maillot"s), so every name maps back to its own index; the
 * lookup returns the first match, which is then the only one. */
static void test_round_trip(void **state)
{
    for (int i = 0; i < 1000; i++) {
        const char *name = gc_imagenet_class_name(i);
        assert_non_null(name);
        assert_true(name[0] != '\0');
        assert_int_equal(gc_imagenet_class_index(name), i);
    }
    assert_int_equal(gc_imagenet_class_index("crane bird"), 134);
    assert_int_equal(gc_imagenet_class_index("crane"), 517);
    assert_int_equal(gc_imagenet_class_index("maillot"), 638);
    assert_int_equal(gc_imagenet_class_index("maillot tank suit"), 639);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_indices),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
