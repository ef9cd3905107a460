/* test_util.h — helpers the unit tests share. Include after <cmocka.h>;
 * every function is static inline: each test is its own program and uses
 * only some of them. */
#ifndef GC_TEST_UTIL_H
#define GC_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcam.h"

/* The whole file, in a malloc'd buffer (one spare byte); fails the test if
 * it cannot be read. */
static inline unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* An error message is one line and starts with the label (the file). */
static inline void assert_clean_message(const gc_error *err, const char *label)
{
    assert_true(strlen(err->msg) > strlen(label));
    assert_memory_equal(err->msg, label, strlen(label));
    assert_null(strchr(err->msg, '\n'));
}

/* The committed reduced-width ResNet-18 parity fixture; fails the test if
 * it does not load. */
static inline gc_model *load_parity_fixture(void)
{
    gc_error err;
    gc_model *m = NULL;
    if (gc_model_load(GC_SOURCE_DIR "/tests/fixtures/parity/resnet18_w8.pth", &m, &err))
        fail_msg("%s", err.msg);
    return m;
}

#endif
