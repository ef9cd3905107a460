/* test_render.c — the jet colour map against matplotlib's own bytes
 * (tests/fixtures/image/jet_*.npy), the overlay against those bytes, and the
 * cairo figure: a valid PNG of the expected size whose panels show what
 * they should. */
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
#include "render/colormap.h"

static const char *fx(const char *name)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/tests/fixtures/image/%s", GC_SOURCE_DIR, name);
    return buf;
}

typedef struct jet_ref {
    gc_array v, rgb;
} jet_ref;

static void jet_load(jet_ref *j)
{
    gc_error err;
    assert_int_equal(gc_npy_read(fx("jet_v.npy"), &j->v, &err), GC_OK);
    assert_int_equal(gc_npy_read(fx("jet_rgb.npy"), &j->rgb, &err), GC_OK);
    assert_int_equal(j->rgb.shape[0], j->v.shape[0]);
}

static void test_jet_matches_matplotlib(void **state)
{
    (void)state;
    jet_ref j;
    jet_load(&j);
    unsigned char lut[256][3]; /* the renderers' table, checked the same way */
    gc_colormap_jet_table(lut);
    for (int64_t i = 0; i < j.v.shape[0]; i++) {
        unsigned char c[3];
        gc_colormap_jet(j.v.data[i], c);
        const unsigned char *t = lut[gc_colormap_jet_index(j.v.data[i])];
        for (int k = 0; k < 3; k++)
            if (c[k] != j.rgb.data[3 * i + k] || t[k] != c[k])
                fail_msg("jet(%.7g)[%d] = %d (table %d), matplotlib says %g", j.v.data[i], k,
                         c[k], t[k], j.rgb.data[3 * i + k]);
    }
    gc_array_free(&j.v), gc_array_free(&j.rgb);

    /* By hand, from jet's definition: dark blue at 0, dark red at 1, pure
     * green between 0.375 and 0.64 with red rising from 0.35. */
    unsigned char c[3];
    gc_colormap_jet(0.0f, c);
    assert_true(c[0] == 0 && c[1] == 0 && c[2] == 127);
    gc_colormap_jet(1.0f, c);
    assert_true(c[0] == 127 && c[1] == 0 && c[2] == 0);
    gc_colormap_jet(0.5f, c);
    assert_true(c[1] == 255 && c[0] > 100 && c[0] < 140 && c[2] > 100 && c[2] < 140);
    gc_colormap_jet(NAN, c);
    assert_true(c[0] == 0 && c[1] == 0 && c[2] == 127);
}

static void test_overlay(void **state)
{
    (void)state;
    jet_ref j;
    jet_load(&j);
    int n = (int)j.v.shape[0];
    gc_image photo, out;
    gc_error err;
    assert_int_equal(gc_image_alloc(&photo, n, 1, &err), GC_OK);
    for (int i = 0; i < 3 * n; i++)
        photo.pixels[i] = (unsigned char)(i * 37 + 11);
    assert_int_equal(gc_render_overlay(&photo, j.v.data, &out, &err), GC_OK);
    for (int i = 0; i < 3 * n; i++) {
        /* 0.5 * photo + 0.5 * jet, halves rounded up */
        int want = (int)floor(0.5 * photo.pixels[i] + 0.5 * j.rgb.data[i] + 0.5);
        assert_int_equal(out.pixels[i], want);
    }
    gc_image_free(&photo), gc_image_free(&out);
    gc_array_free(&j.v), gc_array_free(&j.rgb);
}

static void px(const gc_image *img, int x, int y, unsigned char c[3])
{
    memcpy(c, img->pixels + ((size_t)y * img->width + x) * 3, 3);
}

static void test_figure_small(void **state)
{
    (void)state;
    /* 200 x 100 photo: drawn at scale 1. Layout by hand: margins 20, gaps
     * 20, title line 40 -> 20 + 3 * 200 + 2 * 20 + 20 = 680 wide,
     * 20 + 40 + 100 + 20 = 180 tall; panels at x = 20, 240, 460, y = 60. */
    const int W = 200, H = 100;
    gc_image photo, fig;
    gc_error err;
    assert_int_equal(gc_image_alloc(&photo, W, H, &err), GC_OK);
    float *heat = calloc((size_t)W * H, sizeof(float));
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            unsigned char *p = photo.pixels + ((size_t)y * W + x) * 3;
            p[0] = (unsigned char)(50 + x / 2), p[1] = (unsigned char)(200 - y), p[2] = 90;
            heat[y * W + x] = x < W / 2 ? 0.0f : 1.0f; /* cold left, hot right */
        }
    const char *path = GC_BINARY_DIR "/test_render_figure.png";
    remove(path);
    assert_int_equal(gc_render_figure(path, &photo, heat, "great white shark 0.93", 0.5f, &err),
                     GC_OK);
    assert_int_equal(gc_image_load(path, &fig, &err), GC_OK);
    assert_int_equal(fig.width, 680);
    assert_int_equal(fig.height, 180);
    unsigned char c[3], want[3];

    px(&fig, 3, 3, c); /* light background */
    assert_true(c[0] > 200 && c[1] > 200 && c[2] > 200);
    int dark = 0; /* some dark title text in the title line */
    for (int y = 20; y < 60; y++)
        for (int x = 0; x < 680; x++) {
            px(&fig, x, y, c);
            dark += c[0] < 100 && c[1] < 100 && c[2] < 100;
        }
    assert_true(dark > 20);

    /* Interior points of each panel, away from the heat edge at x = 100. */
    int xs[] = {10, 60, 150, 190}, ys[] = {10, 50, 90};
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 3; b++) {
            int x = xs[a], y = ys[b];
            const unsigned char *p = photo.pixels + ((size_t)y * W + x) * 3;
            px(&fig, 20 + x, 60 + y, c); /* photo */
            assert_memory_equal(c, p, 3);
            px(&fig, 240 + x, 60 + y, c); /* jet: matplotlib's jet(0) / jet(1) */
            want[0] = x < 100 ? 0 : 127, want[1] = 0, want[2] = x < 100 ? 127 : 0;
            assert_memory_equal(c, want, 3);
            px(&fig, 460 + x, 60 + y, c); /* masked: black where heat <= 0.5 */
            if (x < 100) {
                assert_true(c[0] == 0 && c[1] == 0 && c[2] == 0);
            } else {
                assert_memory_equal(c, p, 3);
            }
        }
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    assert_int_equal(access(tmp, F_OK), -1);
    gc_image_free(&fig);

    assert_int_equal(gc_render_figure(GC_BINARY_DIR "/no/such/dir/f.png", &photo, heat, "t",
                                      0.5f, &err),
                     GC_ERR_IO);
    assert_non_null(strstr(err.msg, "no/such/dir/f.png"));
    assert_int_equal(gc_render_figure(path, &photo, NULL, "t", 0.5f, &err), GC_ERR_USAGE);
    free(heat);
    gc_image_free(&photo);
}

static void test_figure_scaled(void **state)
{
    (void)state;
    /* 1000 x 800: panels shrink to 400 tall, 500 wide ->
     * 20 + 3 * 500 + 2 * 20 + 20 = 1580 by 20 + 40 + 400 + 20 = 480. */
    const int W = 1000, H = 800;
    gc_image photo, fig;
    gc_error err;
    assert_int_equal(gc_image_alloc(&photo, W, H, &err), GC_OK);
    memset(photo.pixels, 200, (size_t)W * H * 3);
    float *heat = calloc((size_t)W * H, sizeof(float));
    for (int y = 0; y < H; y++)
        for (int x = W / 2; x < W; x++)
            heat[y * W + x] = 0.9f;
    const char *path = GC_BINARY_DIR "/test_render_figure_big.png";
    assert_int_equal(gc_render_figure(path, &photo, heat, NULL, 0.2f, &err), GC_OK);
    assert_int_equal(gc_image_load(path, &fig, &err), GC_OK);
    assert_int_equal(fig.width, 1580);
    assert_int_equal(fig.height, 480);
    unsigned char c[3];
    px(&fig, 1060 + 100, 60 + 200, c); /* mask panel, cold half */
    assert_true(c[0] == 0 && c[1] == 0 && c[2] == 0);
    px(&fig, 1060 + 400, 60 + 200, c); /* mask panel, hot half */
    assert_true(c[0] == 200 && c[1] == 200 && c[2] == 200);
    gc_image_free(&fig);
    free(heat);
    gc_image_free(&photo);
}

/* Seven solid 100x50 tiles: five on the first row, two on the second, each
 * cell 200 px high (scale 4, so 400 px wide), 16 px margins, a 40 px title
 * line and a 28 px caption under each cell. */
static void test_grid(void **state)
{
    (void)state;
    gc_image tiles[7];
    const char *captions[7] = {"a", "b", "c", "d", "e", "f", "g"};
    gc_error err;
    for (int k = 0; k < 7; k++) {
        assert_int_equal(gc_image_alloc(&tiles[k], 100, 50, &err), GC_OK);
        for (int i = 0; i < 100 * 50; i++) {
            tiles[k].pixels[3 * i + 0] = (unsigned char)(30 * k);
            tiles[k].pixels[3 * i + 1] = 200;
            tiles[k].pixels[3 * i + 2] = (unsigned char)(255 - 30 * k);
        }
    }
    char path[] = GC_BINARY_DIR "/test_render_grid.png";
    assert_int_equal(gc_render_grid(path, tiles, captions, 7, "title", &err), GC_OK);
    gc_image out;
    assert_int_equal(gc_image_load(path, &out, &err), GC_OK);
    assert_int_equal(out.width, 16 + 5 * (400 + 16));
    assert_int_equal(out.height, 40 + 2 * (200 + 28 + 16) + 16);
    for (int k = 0; k < 7; k++) { /* the centre of each cell is its tile */
        int x = 16 + (k % 5) * 416 + 200, y = 40 + (k / 5) * 244 + 100;
        unsigned char c[3];
        px(&out, x, y, c);
        assert_int_equal(c[0], 30 * k);
        assert_int_equal(c[1], 200);
        assert_int_equal(c[2], 255 - 30 * k);
    }
    assert_int_equal(gc_render_grid(path, tiles, captions, 0, "title", &err), GC_ERR_USAGE);
    for (int k = 0; k < 7; k++)
        gc_image_free(&tiles[k]);
    gc_image_free(&out);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jet_matches_matplotlib),
        cmocka_unit_test(test_overlay),
        cmocka_unit_test(test_figure_small),
        cmocka_unit_test(test_figure_scaled),
        cmocka_unit_test(test_grid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
