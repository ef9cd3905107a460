/* test_util.h — helpers the unit tests share. Include after <cmocka.h>;
 * every function is static inline: each test is its own program and uses
 * only some of them. */
#ifndef GC_TEST_UTIL_H
#define GC_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcam.h"
#include "loaders/state_dict.h"

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

/* Writes len bytes of buf to path; fails the test if it cannot. */
static inline void spill(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* path loaded twice: by file (a loader's public entry point, which maps
 * and lends) into *mapped, and from a copy of its bytes by memory,
 * copying, into *copied. Returns that copy (len bytes), for the caller to
 * free; fails the test if either load fails. */
typedef gc_status (*file_loader)(const char *path, const gc_limits *lim, gc_state_dict *out,
                                 gc_error *err);
static inline unsigned char *load_mapped_and_copied(const char *path, file_loader file,
                                                    gc_from_memory memory, gc_state_dict *mapped,
                                                    gc_state_dict *copied, size_t *len)
{
    gc_error err;
    unsigned char *buf = slurp(path, len);
    if (file(path, NULL, mapped, &err) || memory(buf, *len, "copy", NULL, 0, copied, &err))
        fail_msg("%s", err.msg);
    return buf;
}

/* A dict loaded from a mapped file against the same file loaded by
 * copying: the same tensors and bits, none of the copy's borrowed, and
 * every borrowed one inside the mapping. Returns how many were borrowed. */
static inline int count_lent(const gc_state_dict *mapped, const gc_state_dict *copied)
{
    assert_null(copied->map);
    assert_int_equal(mapped->count, copied->count);
    int borrowed = 0;
    for (int i = 0; i < mapped->count; i++) {
        const gc_sd_tensor *a = &mapped->tensors[i], *b = gc_sd_find(copied, a->name);
        assert_non_null(b);
        assert_false(b->borrowed);
        assert_int_equal(a->numel, b->numel);
        if (a->numel)
            assert_memory_equal(a->data, b->data, sizeof(float) * (size_t)a->numel);
        if (a->borrowed) {
            borrowed++;
            assert_non_null(mapped->map);
            assert_true((const unsigned char *)a->data >= (const unsigned char *)mapped->map &&
                        (const unsigned char *)(a->data + a->numel) <=
                            (const unsigned char *)mapped->map + mapped->map_len);
        }
    }
    return borrowed;
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
