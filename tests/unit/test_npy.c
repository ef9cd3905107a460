/* test_npy.c — .npy reading of files NumPy wrote, writing (read back here and
 * by NumPy in tests/cmake/image.cmake), and hostile headers: every malformed
 * file must give a clean error naming it, never a crash or a huge
 * allocation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gradcam.h"

static const char *fx(const char *name)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/tests/fixtures/image/%s", GC_SOURCE_DIR, name);
    return buf;
}

static gc_status read_status(const char *path, gc_error *err)
{
    gc_array a;
    gc_status st = gc_npy_read(path, &a, err);
    if (st == GC_OK)
        gc_array_free(&a);
    else
        assert_null(a.data);
    return st;
}

/* (i - 7.25) / 3 for the 2x3x4 fixtures, computed here independently. */
static void check_ramp(const gc_array *a)
{
    assert_int_equal(a->ndim, 3);
    assert_int_equal(a->shape[0], 2);
    assert_int_equal(a->shape[1], 3);
    assert_int_equal(a->shape[2], 4);
    assert_int_equal(gc_array_numel(a), 24);
    for (int i = 0; i < 24; i++)
        assert_true(a->data[i] == (float)((i - 7.25) / 3));
}

static void test_read_numpy_files(void **state)
{
    (void)state;
    const char *ramps[] = {"npy_f4.npy", "npy_f8.npy", "npy_v2.npy", "npy_v3.npy"};
    gc_array a;
    gc_error err;
    for (int i = 0; i < 4; i++) {
        if (gc_npy_read(fx(ramps[i]), &a, &err) != GC_OK)
            fail_msg("%s", err.msg);
        check_ramp(&a);
        gc_array_free(&a);
    }
    assert_int_equal(gc_npy_read(fx("npy_f2.npy"), &a, &err), GC_OK);
    assert_int_equal(a.ndim, 1);
    assert_int_equal(a.shape[0], 7);
    float want[] = {0, 1, -2.5f, 65504, 6.103515625e-05f, 5.9604644775390625e-08f, INFINITY};
    for (int i = 0; i < 7; i++)
        assert_true(a.data[i] == want[i]);
    gc_array_free(&a);

    assert_int_equal(gc_npy_read(fx("npy_scalar.npy"), &a, &err), GC_OK);
    assert_int_equal(a.ndim, 0);
    assert_int_equal(gc_array_numel(&a), 1);
    assert_true(a.data[0] == 3.5f);
    gc_array_free(&a);

    assert_int_equal(gc_npy_read(fx("npy_empty.npy"), &a, &err), GC_OK);
    assert_int_equal(a.ndim, 2);
    assert_int_equal(gc_array_numel(&a), 0);
    gc_array_free(&a);
}

static void test_refuses_what_it_does_not_handle(void **state)
{
    (void)state;
    gc_error err;
    assert_int_equal(read_status(fx("npy_fortran.npy"), &err), GC_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "Fortran"));
    assert_non_null(strstr(err.msg, "npy_fortran.npy"));
    assert_int_equal(read_status(fx("npy_bigendian.npy"), &err), GC_ERR_UNSUPPORTED);
    assert_int_equal(read_status(fx("npy_int32.npy"), &err), GC_ERR_UNSUPPORTED);
    assert_int_equal(read_status(fx("missing.npy"), &err), GC_ERR_IO);
}

static void test_write_roundtrip(void **state)
{
    (void)state;
    gc_error err;
    gc_array a;
    const char *path = GC_BINARY_DIR "/test_npy_rt.npy";
    float d[2 * 3 * 4];
    for (int i = 0; i < 24; i++)
        d[i] = (float)((i - 7.25) / 3);
    int64_t shapes[][8] = {{2, 3, 4}, {24}, {1, 1, 1, 1, 1, 2, 3, 4}, {0}};
    int ndims[] = {3, 1, 8, 0};
    for (int k = 0; k < 4; k++) {
        assert_int_equal(gc_npy_write(path, d, ndims[k], shapes[k], &err), GC_OK);
        assert_int_equal(gc_npy_read(path, &a, &err), GC_OK);
        assert_int_equal(a.ndim, ndims[k]);
        for (int i = 0; i < ndims[k]; i++)
            assert_int_equal(a.shape[i], shapes[k][i]);
        for (int64_t i = 0; i < gc_array_numel(&a); i++)
            assert_true(a.data[i] == d[i]);
        gc_array_free(&a);
        /* NumPy's layout: 64-byte-aligned data, header ending in '\n'. */
        FILE *f = fopen(path, "rb");
        fseek(f, 0, SEEK_END);
        long numel = 1;
        for (int i = 0; i < ndims[k]; i++)
            numel *= (long)shapes[k][i];
        assert_int_equal((ftell(f) - 4 * numel) % 64, 0);
        fclose(f);
    }
    /* For the NumPy check in tests/cmake/image.cmake. */
    assert_int_equal(gc_npy_write(GC_BINARY_DIR "/test_npy_for_numpy.npy", d, 3, shapes[0], &err),
                     GC_OK);
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(gc_npy_write(GC_BINARY_DIR "/no/such/dir/a.npy", d, 1, shapes[1], &err),
                     GC_ERR_IO);
}

/* Writes header (a dict literal) as a v1.0 file with nbytes of data. */
static const char *write_raw(const char *dict, size_t nbytes, int major)
{
    static const char *path = GC_BINARY_DIR "/test_npy_hostile.npy";
    FILE *f = fopen(path, "wb");
    size_t hl = strlen(dict);
    fwrite("\x93NUMPY", 1, 6, f);
    fputc(major, f);
    fputc(0, f);
    fputc((int)(hl & 0xff), f);
    fputc((int)(hl >> 8), f);
    if (major >= 2) {
        fputc(0, f);
        fputc(0, f);
    }
    fwrite(dict, 1, hl, f);
    for (size_t i = 0; i < nbytes; i++)
        fputc(0, f);
    fclose(f);
    return path;
}

static void expect(const char *dict, size_t nbytes, gc_status want)
{
    gc_error err;
    const char *path = write_raw(dict, nbytes, 1);
    gc_status st = read_status(path, &err);
    if (st != want)
        fail_msg("header %s: got %s (%s), expected %s", dict, gc_status_name(st),
                 st ? err.msg : "", gc_status_name(want));
    if (st != GC_OK)
        assert_non_null(strstr(err.msg, "test_npy_hostile.npy"));
}

static void test_hostile_headers(void **state)
{
    (void)state;
    const char *ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n";
    expect(ok, 24, GC_OK);
    expect(ok, 20, GC_ERR_FORMAT); /* data too short */
    expect(ok, 28, GC_ERR_FORMAT); /* trailing bytes */
    expect("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }",
           16, GC_ERR_FORMAT); /* numel * 4 overflows */
    expect("{'descr': '<f4', 'fortran_order': False, 'shape': (3037000500, 3037000500), }",
           16, GC_ERR_FORMAT);
    expect("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 4,
           GC_ERR_FORMAT);
    expect("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 4, GC_ERR_FORMAT);
    expect("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4,
           GC_ERR_UNSUPPORTED);
    expect("{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }", 24, GC_ERR_FORMAT);
    expect("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3", 24, GC_ERR_FORMAT);
    expect("{'descr': '<f4', 'fortran_order': False, }", 4, GC_ERR_FORMAT);
    expect("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 4,
           GC_ERR_FORMAT);
    expect("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4,
           GC_ERR_FORMAT);
    expect("{'descr': '<f4, 'fortran_order': False, 'shape': (1,), }", 4, GC_ERR_FORMAT);
    expect("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }", 4, GC_ERR_FORMAT);
    expect("['descr', '<f4']", 4, GC_ERR_FORMAT);
    expect("", 4, GC_ERR_FORMAT);
    expect("{'descr': 'O', 'fortran_order': False, 'shape': (1,), }", 8, GC_ERR_UNSUPPORTED);

    gc_error err;
    assert_int_equal(read_status(write_raw(ok, 24, 9), &err), GC_ERR_UNSUPPORTED);
    /* A header length pointing past the end of the file. */
    FILE *f = fopen(GC_BINARY_DIR "/test_npy_hostile.npy", "wb");
    fwrite("\x93NUMPY\x01\x00\xff\xff{", 1, 11, f);
    fclose(f);
    assert_int_equal(read_status(GC_BINARY_DIR "/test_npy_hostile.npy", &err), GC_ERR_FORMAT);
    f = fopen(GC_BINARY_DIR "/test_npy_hostile.npy", "wb");
    fwrite("\x93NUMPX\x01\x00\x00\x00", 1, 10, f);
    fclose(f);
    assert_int_equal(read_status(GC_BINARY_DIR "/test_npy_hostile.npy", &err), GC_ERR_FORMAT);
}

/* Every truncation, and seeded random byte damage, of a valid file: an error
 * or a well-formed array, never a crash (run under ASan to mean more). */
static void test_damaged_files(void **state)
{
    (void)state;
    FILE *f = fopen(fx("npy_f4.npy"), "rb");
    unsigned char good[512];
    size_t n = fread(good, 1, sizeof good, f);
    fclose(f);
    const char *path = GC_BINARY_DIR "/test_npy_damaged.npy";
    gc_error err;
    for (size_t len = 0; len < n; len++) {
        f = fopen(path, "wb");
        fwrite(good, 1, len, f);
        fclose(f);
        assert_int_not_equal(read_status(path, &err), GC_OK);
    }
    uint32_t seed = 12345;
    for (int trial = 0; trial < 2000; trial++) {
        unsigned char bad[512];
        memcpy(bad, good, n);
        for (int k = 0; k < 3; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % 128; /* the header */
            seed = seed * 1103515245u + 12345u;
            bad[at] = (unsigned char)(seed >> 16);
        }
        f = fopen(path, "wb");
        fwrite(bad, 1, n, f);
        fclose(f);
        gc_array a;
        if (gc_npy_read(path, &a, &err) == GC_OK) {
            assert_true(gc_array_numel(&a) * 4 <= (int64_t)n);
            gc_array_free(&a);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_numpy_files),
        cmocka_unit_test(test_refuses_what_it_does_not_handle),
        cmocka_unit_test(test_write_roundtrip),
        cmocka_unit_test(test_hostile_headers),
        cmocka_unit_test(test_damaged_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
