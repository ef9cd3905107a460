/* test_image.c — image decoding, resizing and preprocessing against what
 * OpenCV 4.6, Pillow 9.4 and torchvision 0.14 produce for the same inputs
 * (tests/fixtures/image, made by tests/python/make_image_fixtures.py). */
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
#include "image/image_internal.h"

static const char *fx(const char *name)
{
    static char buf[8][1024];
    static int slot;
    char *p = buf[slot++ % 8];
    snprintf(p, 1024, "%s/tests/fixtures/image/%s", GC_SOURCE_DIR, name);
    return p;
}

static void load_ok(const char *name, gc_image *img)
{
    gc_error err;
    gc_status st = gc_image_load(fx(name), img, &err);
    if (st != GC_OK)
        fail_msg("%s", err.msg);
}

/* Asserts img equals the H x W x 3 array stored (as uint8) in npy. */
static void assert_equals_npy(const gc_image *img, const char *npy)
{
    gc_array a;
    gc_error err;
    if (gc_npy_read(fx(npy), &a, &err) != GC_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(a.ndim, 3);
    assert_int_equal(a.shape[0], img->height);
    assert_int_equal(a.shape[1], img->width);
    assert_int_equal(a.shape[2], 3);
    for (int64_t i = 0; i < gc_array_numel(&a); i++)
        if (a.data[i] != img->pixels[i])
            fail_msg("%s: byte %lld is %d, expected %g", npy, (long long)i, img->pixels[i],
                     a.data[i]);
    gc_array_free(&a);
}

static void assert_same_image(const gc_image *got, const gc_image *want, const char *what)
{
    assert_int_equal(got->width, want->width);
    assert_int_equal(got->height, want->height);
    size_t n = (size_t)got->width * got->height * 3;
    for (size_t i = 0; i < n; i++)
        if (got->pixels[i] != want->pixels[i])
            fail_msg("%s: pixel %zu channel %zu is %d, expected %d", what, i / 3 / got->width,
                     i % (got->width * 3) / 3, got->pixels[i], want->pixels[i]);
}

/* ---- decoding ------------------------------------------------------------ */

static void test_jpeg_matches_opencv(void **state)
{
    (void)state;
    const char *cases[][2] = {{"photo.jpg", "photo_jpg_cv.npy"},
                              {"progressive444.jpg", "progressive444_cv.npy"},
                              {"grey.jpg", "grey_jpg_cv.npy"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gc_image img;
        load_ok(cases[i][0], &img);
        assert_equals_npy(&img, cases[i][1]);
        gc_image_free(&img);
    }
}

static void test_png_matches_opencv(void **state)
{
    (void)state;
    const char *names[] = {"rgb", "rgba", "grey", "grey_alpha", "bilevel",
                           "palette", "rgb16", "grey16", "rgba16"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char png[64], npy[64];
        snprintf(png, sizeof png, "%s.png", names[i]);
        snprintf(npy, sizeof npy, "%s_png_cv.npy", names[i]);
        gc_image img;
        load_ok(png, &img);
        assert_equals_npy(&img, npy);
        gc_image_free(&img);
    }
}

static void expect_error(const char *name, gc_status want, const char *text)
{
    gc_image img = {1, 1, (unsigned char *)"x"};
    gc_error err;
    gc_status st = gc_image_load(fx(name), &img, &err);
    if (st != want)
        fail_msg("%s: status %s (%s), expected %s", name, gc_status_name(st), err.msg,
                 gc_status_name(want));
    assert_int_equal(err.status, want);
    assert_null(img.pixels);
    assert_non_null(strstr(err.msg, name)); /* the message names the file */
    if (text && !strstr(err.msg, text))
        fail_msg("%s: message '%s' lacks '%s'", name, err.msg, text);
}

static void test_decode_errors(void **state)
{
    (void)state;
    expect_error("truncated.jpg", GC_ERR_FORMAT, "corrupt JPEG");
    expect_error("corrupt.jpg", GC_ERR_FORMAT, "corrupt JPEG");
    expect_error("header_only.jpg", GC_ERR_FORMAT, "corrupt JPEG");
    expect_error("cmyk.jpg", GC_ERR_UNSUPPORTED, "CMYK");
    expect_error("truncated.png", GC_ERR_FORMAT, "corrupt PNG");
    expect_error("badcrc.png", GC_ERR_FORMAT, "corrupt PNG");
    expect_error("not_an_image.png", GC_ERR_UNSUPPORTED, NULL);
    expect_error("no_such_file.png", GC_ERR_IO, NULL);
    expect_error("huge.png", GC_ERR_LIMIT, "limit");
    expect_error("huge.jpg", GC_ERR_LIMIT, "limit");
}

static void test_png_write_roundtrip(void **state)
{
    (void)state;
    gc_image a, b;
    gc_error err;
    load_ok("photo.jpg", &a);
    const char *out = GC_BINARY_DIR "/test_image_roundtrip.png";
    remove(out);
    assert_int_equal(gc_image_write_png(out, &a, &err), GC_OK);
    assert_int_equal(gc_image_load(out, &b, &err), GC_OK);
    assert_same_image(&b, &a, "roundtrip");
    gc_image_free(&b);
    /* The temporary file is gone after the rename. */
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out, (long)getpid());
    assert_null(fopen(tmp, "rb"));
    /* A directory that does not exist: an I/O error naming the path. */
    assert_int_equal(gc_image_write_png(GC_BINARY_DIR "/no/such/dir/x.png", &a, &err),
                     GC_ERR_IO);
    assert_non_null(strstr(err.msg, "no/such/dir/x.png"));
    gc_image_free(&a);
}

static void test_alloc_limits(void **state)
{
    (void)state;
    gc_image img;
    gc_error err;
    assert_int_equal(gc_image_alloc(&img, 0, 5, &err), GC_ERR_USAGE);
    /* only the ceiling applies here: 3 bytes a pixel must fit an int */
    assert_int_equal(gc_image_alloc(&img, 30000, 30000, &err), GC_ERR_LIMIT);
    assert_int_equal(gc_image_alloc(&img, 3, 2, &err), GC_OK);
    assert_int_equal(img.pixels[17], 0);
    gc_image_free(&img);
    assert_null(img.pixels);
}

/* ---- resizing ------------------------------------------------------------ */

static void test_resize_matches_cv2(void **state)
{
    (void)state;
    FILE *f = fopen(fx("resize_cases.txt"), "r");
    assert_non_null(f);
    char src[256], want[256];
    int dw, dh, n = 0;
    while (fscanf(f, "%255s %d %d %255s", src, &dw, &dh, want) == 4) {
        gc_image s, w, got;
        gc_error err;
        load_ok(src, &s);
        load_ok(want, &w);
        assert_int_equal(gc_image_resize_cv(&s, dw, dh, &got, &err), GC_OK);
        char what[600];
        snprintf(what, sizeof what, "%s -> %dx%d", src, dw, dh);
        assert_same_image(&got, &w, what);
        gc_image_free(&s), gc_image_free(&w), gc_image_free(&got);
        n++;
    }
    fclose(f);
    assert_true(n >= 15);
}

static void test_resize_f32_matches_cv2(void **state)
{
    (void)state;
    FILE *f = fopen(fx("resize_f32_cases.txt"), "r");
    assert_non_null(f);
    char src[256], want[256];
    int dw, dh, n = 0;
    while (fscanf(f, "%255s %d %d %255s", src, &dw, &dh, want) == 4) {
        gc_array s, w;
        gc_error err;
        assert_int_equal(gc_npy_read(fx(src), &s, &err), GC_OK);
        assert_int_equal(gc_npy_read(fx(want), &w, &err), GC_OK);
        float *got = malloc(sizeof(float) * dw * dh);
        gc_resize_bilinear_f32(s.data, (int)s.shape[1], (int)s.shape[0], got, dw, dh);
        double worst = 0;
        for (int i = 0; i < dw * dh; i++)
            worst = fmax(worst, fabs(got[i] - w.data[i]));
        if (worst > 1e-5)
            fail_msg("%s: max abs diff %g", src, worst);
        free(got);
        gc_array_free(&s), gc_array_free(&w);
        n++;
    }
    fclose(f);
    assert_true(n >= 5);
}

/* ---- preprocessing ------------------------------------------------------- */

static double max_diff_npy(const float *x, const char *npy, int64_t n)
{
    gc_array a;
    gc_error err;
    if (gc_npy_read(fx(npy), &a, &err) != GC_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(gc_array_numel(&a), n);
    double worst = 0;
    for (int64_t i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)x[i] - a.data[i]));
    gc_array_free(&a);
    return worst;
}

static void test_imagenet_defaults(void **state)
{
    (void)state;
    gc_preprocess p = gc_preprocess_imagenet();
    assert_int_equal(p.size, 224);
    assert_int_equal(p.mode, GC_PREPROCESS_STRETCH);
    assert_true(p.mean[0] == 0.485f && p.mean[1] == 0.456f && p.mean[2] == 0.406f);
    assert_true(p.std[0] == 0.229f && p.std[1] == 0.224f && p.std[2] == 0.225f);
}

static void test_stretch_matches_seed(void **state)
{
    (void)state;
    gc_image img;
    gc_error err;
    load_ok("photo.jpg", &img);
    gc_preprocess p = gc_preprocess_imagenet();
    p.size = 64;
    float *x = malloc(sizeof(float) * 3 * 64 * 64);
    assert_int_equal(gc_image_to_tensor(&img, &p, x, &err), GC_OK);
    double d = max_diff_npy(x, "tensor_stretch_64.npy", 3 * 64 * 64);
    printf("STRETCH 64 vs cv2 + torch Normalize: max abs diff %g\n", d);
    assert_true(d <= 1e-6);
    free(x);
    gc_image_free(&img);
}

static void test_crop_matches_torchvision(void **state)
{
    (void)state;
    gc_image land, port;
    gc_error err;
    load_ok("photo.jpg", &land);
    load_ok("src_portrait_120x161.png", &port);
    gc_preprocess p = gc_preprocess_imagenet();
    p.mode = GC_PREPROCESS_CROP;
    p.size = 96;
    float *x = malloc(sizeof(float) * 3 * 224 * 224);
    assert_int_equal(gc_image_to_tensor(&land, &p, x, &err), GC_OK);
    double d1 = max_diff_npy(x, "tensor_crop_96.npy", 3 * 96 * 96);
    assert_int_equal(gc_image_to_tensor(&port, &p, x, &err), GC_OK);
    double d2 = max_diff_npy(x, "tensor_crop_96_portrait.npy", 3 * 96 * 96);
    printf("CROP 96 vs torchvision: max abs diff %g (landscape), %g (portrait)\n", d1, d2);
    assert_true(d1 <= 1e-6 && d2 <= 1e-6);

    /* At 224, against PIL's 8-bit output, normalised here the way
     * torchvision's ToTensor + Normalize do it (float32). */
    const char *cases[][2] = {{"photo.jpg", "crop_u8_224.png"},
                              {"src_portrait_120x161.png", "crop_u8_224_portrait.png"},
                              {"src_smooth_333x250.png", "crop_u8_64_big.png"}};
    for (int c = 0; c < 3; c++) {
        gc_image src, want;
        load_ok(cases[c][0], &src);
        load_ok(cases[c][1], &want);
        p.size = want.width;
        assert_int_equal(gc_image_to_tensor(&src, &p, x, &err), GC_OK);
        size_t plane = (size_t)p.size * p.size;
        int mismatches = 0;
        for (size_t i = 0; i < plane; i++)
            for (int ch = 0; ch < 3; ch++) {
                float v = ((float)want.pixels[3 * i + ch] / 255.0f - p.mean[ch]) / p.std[ch];
                mismatches += x[ch * plane + i] != v;
            }
        if (mismatches)
            fail_msg("%s: %d values differ from PIL/torchvision", cases[c][1], mismatches);
        gc_image_free(&src), gc_image_free(&want);
    }
    free(x);
    gc_image_free(&land), gc_image_free(&port);
}

static void test_preprocess_usage_errors(void **state)
{
    (void)state;
    gc_image img;
    gc_error err;
    float x[3 * 4 * 4];
    assert_int_equal(gc_image_alloc(&img, 4, 4, &err), GC_OK);
    gc_preprocess p = gc_preprocess_imagenet();
    p.size = 0;
    assert_int_equal(gc_image_to_tensor(&img, &p, x, &err), GC_ERR_USAGE);
    p = gc_preprocess_imagenet();
    p.size = 4;
    p.std[1] = 0;
    assert_int_equal(gc_image_to_tensor(&img, &p, x, &err), GC_ERR_USAGE);
    gc_image_free(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jpeg_matches_opencv),
        cmocka_unit_test(test_png_matches_opencv),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_png_write_roundtrip),
        cmocka_unit_test(test_alloc_limits),
        cmocka_unit_test(test_resize_matches_cv2),
        cmocka_unit_test(test_resize_f32_matches_cv2),
        cmocka_unit_test(test_imagenet_defaults),
        cmocka_unit_test(test_stretch_matches_seed),
        cmocka_unit_test(test_crop_matches_torchvision),
        cmocka_unit_test(test_preprocess_usage_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
