/* test_limits.c — gc_limits at their edges: each limit set exactly at what a
 * fixture needs loads it, one below fails with GC_ERR_LIMIT and a message
 * naming the limit. The sizes come from outside the loaders: an image's
 * from the array OpenCV decoded it to (the *_cv.npy beside it), a
 * state_dict's float32 bytes from PyTorch (see each test). Not here: the
 * CLI options (tests/python/test_bad_inputs.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"

#include "gradcam.h"
#include "loaders/pth.h"
#include "loaders/safetensors.h"
#include "loaders/state_dict.h"

#define IMG GC_SOURCE_DIR "/tests/fixtures/image/"
#define W1_PTH GC_SOURCE_DIR "/fuzz/corpus/pth/resnet_w1.pth"
#define W1_ST GC_SOURCE_DIR "/tests/fixtures/safetensors/resnet_w1.safetensors"
#define W1_ONNX GC_SOURCE_DIR "/fuzz/corpus/onnx/resnet_w1.onnx"
#define TINY_PTH GC_SOURCE_DIR "/tests/fixtures/pth/tiny.pth"

/* sum(v.numel() * 4 for v in torch.load(path).values()), as PyTorch 1.13
 * printed it. resnet_w1.safetensors holds the same state_dict (its header's
 * shapes give 6240 too; test_safetensors.c checks the tensors match). */
#define W1_FLOAT32_BYTES 6240
/* tiny.pth: every dtype, float64 and int64 among them, so its raw storage
 * (890 bytes) is not its float32 size. */
#define TINY_FLOAT32_BYTES 908

static void expect_limit(gc_status st, const gc_error *err, const char *label,
                         const char *phrase)
{
    if (st != GC_ERR_LIMIT)
        fail_msg("expected GC_ERR_LIMIT, got %s: %s", gc_status_name(st), err->msg);
    assert_clean_message(err, label);
    if (!strstr(err->msg, phrase))
        fail_msg("message '%s' lacks '%s'", err->msg, phrase);
}

/* The limit exactly at the image's pixel count decodes it; one less fails
 * before decoding, with the message spelled out. */
static void check_image_edge(const char *name, const char *cv_npy)
{
    char path[1024], npy[1024], want[1200];
    snprintf(path, sizeof path, IMG "%s", name);
    snprintf(npy, sizeof npy, IMG "%s", cv_npy);
    gc_array a;
    gc_error err;
    assert_int_equal(gc_npy_read(npy, &a, &err), GC_OK);
    int64_t h = a.shape[0], w = a.shape[1];
    gc_array_free(&a);

    gc_limits lim = {.max_image_pixels = w * h};
    gc_image img;
    assert_int_equal(gc_image_load_limited(path, &lim, &img, &err), GC_OK);
    assert_int_equal(img.width, w);
    assert_int_equal(img.height, h);
    gc_image_free(&img);

    lim.max_image_pixels = w * h - 1;
    gc_status st = gc_image_load_limited(path, &lim, &img, &err);
    snprintf(want, sizeof want, "%s: image is %lldx%lld, above the limit of %lld pixels", path,
             (long long)w, (long long)h, (long long)(w * h - 1));
    expect_limit(st, &err, path, "above the limit");
    assert_string_equal(err.msg, want);
    assert_null(img.pixels);
}

static void test_image_pixels(void **state)
{
    (void)state;
    check_image_edge("photo.jpg", "photo_jpg_cv.npy");
    check_image_edge("rgb.png", "rgb_png_cv.npy");
}

/* 0 means the default (100 M pixels), and NULL all defaults. */
static void test_image_defaults(void **state)
{
    (void)state;
    gc_limits zero = {0};
    gc_image img;
    gc_error err;
    assert_int_equal(gc_image_load_limited(IMG "photo.jpg", &zero, &img, &err), GC_OK);
    gc_image_free(&img);
    assert_int_equal(gc_image_load_limited(IMG "photo.jpg", NULL, &img, &err), GC_OK);
    gc_image_free(&img);
    gc_status st = gc_image_load_limited(IMG "huge.jpg", &zero, &img, &err);
    expect_limit(st, &err, IMG "huge.jpg", "above the limit of 100000000 pixels");
    /* past the ceiling, the ceiling is what applies */
    gc_limits big = {.max_image_pixels = INT64_MAX};
    st = gc_image_load_limited(IMG "huge.jpg", &big, &img, &err);
    expect_limit(st, &err, IMG "huge.jpg", "above the limit of 715827882 pixels");
}

static void test_negative_is_usage(void **state)
{
    (void)state;
    gc_image img;
    gc_model *m; /* left uninitialised: the load must set it to NULL */
    gc_error err;
    gc_limits lim = {.max_image_pixels = -1};
    assert_int_equal(gc_image_load_limited(IMG "photo.jpg", &lim, &img, &err), GC_ERR_USAGE);
    assert_null(img.pixels);
    lim = (gc_limits){.max_weight_bytes = -5};
    assert_int_equal(gc_model_load_limited(W1_PTH, &lim, &m, &err), GC_ERR_USAGE);
    assert_null(m);
    assert_non_null(strstr(err.msg, "negative"));
    lim = (gc_limits){.max_graph_nodes = -1};
    assert_int_equal(gc_model_load_limited(W1_ONNX, &lim, &m, &err), GC_ERR_USAGE);
}

/* A model file's float32 total exactly at max_weight_bytes loads, one byte
 * less does not. */
static void check_weight_edge(const char *path, int64_t bytes)
{
    gc_limits lim = {.max_weight_bytes = bytes};
    gc_model *m;
    gc_error err;
    gc_status st = gc_model_load_limited(path, &lim, &m, &err);
    if (st)
        fail_msg("%s at its own size: %s", path, err.msg);
    gc_model_free(m);
    lim.max_weight_bytes = bytes - 1;
    st = gc_model_load_limited(path, &lim, &m, &err);
    char want[64];
    snprintf(want, sizeof want, "more than %lld bytes as float32", (long long)(bytes - 1));
    expect_limit(st, &err, path, want);
    assert_non_null(strstr(err.msg, "(the weight limit)"));
    assert_null(m);
}

static void test_pth_weights(void **state)
{
    (void)state;
    check_weight_edge(W1_PTH, W1_FLOAT32_BYTES);
}

static void test_safetensors_weights(void **state)
{
    (void)state;
    check_weight_edge(W1_ST, W1_FLOAT32_BYTES);
    /* the in-memory entry point (the fuzz target's) takes the limits too */
    size_t len;
    unsigned char *buf = slurp(W1_ST, &len);
    gc_state_dict sd;
    gc_error err;
    gc_limits lim = {.max_weight_bytes = W1_FLOAT32_BYTES - 1};
    expect_limit(gc_safetensors_load_memory(buf, len, "mem", &lim, 0, &sd, &err), &err, "mem",
                 "tensors total more than 6239 bytes as float32");
    lim.max_weight_bytes = W1_FLOAT32_BYTES;
    assert_int_equal(gc_safetensors_load_memory(buf, len, "mem", &lim, 0, &sd, &err), GC_OK);
    gc_sd_free(&sd);
    free(buf);
}

/* Not a ResNet, so through the state_dict loader: float64 storage is read
 * under twice the weight limit, so an exact limit still loads. */
static void test_pth_wider_dtypes(void **state)
{
    (void)state;
    gc_state_dict sd;
    gc_error err;
    gc_limits lim = {.max_weight_bytes = TINY_FLOAT32_BYTES};
    gc_status st = gc_pth_load(TINY_PTH, &lim, &sd, &err);
    if (st)
        fail_msg("%s", err.msg);
    int64_t total = 0;
    for (int i = 0; i < sd.count; i++)
        total += sd.tensors[i].numel * 4;
    assert_int_equal(total, TINY_FLOAT32_BYTES);
    gc_sd_free(&sd);
    lim.max_weight_bytes = TINY_FLOAT32_BYTES - 1;
    expect_limit(gc_pth_load(TINY_PTH, &lim, &sd, &err), &err, TINY_PTH,
                 "tensors total more than 907 bytes as float32");
    assert_int_equal(sd.count, 0);
}

/* Node limit: the file's node count, then the converted graph's (one more:
 * the input). The converted count is the one gc_model_arch reports. */
static void test_onnx_nodes(void **state)
{
    (void)state;
    gc_model *m;
    gc_error err;
    assert_int_equal(gc_model_load_limited(W1_ONNX, NULL, &m, &err), GC_OK);
    int nodes = -1;
    const char *at = strstr(gc_model_arch(m), "opset 13, ");
    assert_non_null(at);
    assert_int_equal(sscanf(at, "opset 13, %d nodes", &nodes), 1);
    gc_model_free(m);
    assert_true(nodes > 10);

    gc_limits lim = {.max_graph_nodes = nodes};
    assert_int_equal(gc_model_load_limited(W1_ONNX, &lim, &m, &err), GC_OK);
    gc_model_free(m);
    lim.max_graph_nodes = nodes - 1;
    expect_limit(gc_model_load_limited(W1_ONNX, &lim, &m, &err), &err, W1_ONNX,
                 "(the node limit)");
    assert_null(m);
    lim.max_graph_nodes = 3;
    gc_status st = gc_model_load_limited(W1_ONNX, &lim, &m, &err);
    char want[1200];
    snprintf(want, sizeof want, "%s: the graph has %d nodes, more than 3 (the node limit)",
             W1_ONNX, nodes - 1);
    expect_limit(st, &err, W1_ONNX, "more than 3");
    assert_string_equal(err.msg, want);
}

/* ONNX weights: every float the model keeps counts, checked before it is
 * allocated. */
static void test_onnx_weights(void **state)
{
    (void)state;
    gc_model *m;
    gc_error err;
    gc_limits lim = {.max_weight_bytes = 1024};
    expect_limit(gc_model_load_limited(W1_ONNX, &lim, &m, &err), &err, W1_ONNX,
                 "weights total more than 1024 bytes as float32");
    assert_null(m);
    gc_limits zero = {0};
    assert_int_equal(gc_model_load_limited(W1_ONNX, &zero, &m, &err), GC_OK);
    gc_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_image_pixels),
        cmocka_unit_test(test_image_defaults),
        cmocka_unit_test(test_negative_is_usage),
        cmocka_unit_test(test_pth_weights),
        cmocka_unit_test(test_safetensors_weights),
        cmocka_unit_test(test_pth_wider_dtypes),
        cmocka_unit_test(test_onnx_nodes),
        cmocka_unit_test(test_onnx_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
