/* test_safetensors.c — the safetensors loader against files written by
 * tests/python/make_safetensors_fixtures.py: a tiny ResNet converted from
 * the .pth fuzz seed (must load bit-identical to what the .pth loader gives),
 * every dtype beside numpy's float32 of it, and hostile files that must
 * each fail with a given status and message. A truncation sweep runs every
 * prefix of a real file (run under -DGC_SANITIZE=ON too). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_util.h"

#include "gradcam.h"
#include "loaders/pth.h"
#include "loaders/safetensors.h"
#include "loaders/state_dict.h"

#define FIX GC_SOURCE_DIR "/tests/fixtures/safetensors/"
#define W1_PTH GC_SOURCE_DIR "/fuzz/corpus/pth/resnet_w1.pth"

/* Same names, shapes and bits (the order may differ). */
static void assert_same_sd(const gc_state_dict *a, const gc_state_dict *b)
{
    assert_int_equal(a->count, b->count);
    for (int i = 0; i < a->count; i++) {
        const gc_sd_tensor *x = &a->tensors[i], *y = gc_sd_find(b, x->name);
        if (!y)
            fail_msg("tensor '%s' missing", x->name);
        assert_int_equal(x->ndim, y->ndim);
        assert_int_equal(x->numel, y->numel);
        assert_memory_equal(x->shape, y->shape, sizeof(int64_t) * (size_t)x->ndim);
        assert_memory_equal(x->data, y->data, sizeof(float) * (size_t)x->numel);
    }
}

static void test_resnet_matches_pth(void **state)
{
    (void)state;
    gc_state_dict pth, st, mod;
    gc_error err;
    assert_int_equal(gc_pth_load(W1_PTH, NULL, &pth, &err), GC_OK);
    assert_int_equal(gc_safetensors_load(FIX "resnet_w1.safetensors", NULL, &st, &err), GC_OK);
    assert_int_equal(gc_safetensors_load(FIX "resnet_w1_module.safetensors", NULL, &mod, &err), GC_OK);
    assert_true(pth.count > 50);
    assert_same_sd(&pth, &st);
    assert_same_sd(&pth, &mod); /* "module." stripped, __metadata__ ignored */
    const gc_sd_tensor *nbt = gc_sd_find(&st, "bn1.num_batches_tracked");
    assert_non_null(nbt); /* an I64 scalar */
    assert_int_equal(nbt->ndim, 0);
    assert_int_equal(nbt->numel, 1);
    gc_sd_free(&pth);
    gc_sd_free(&st);
    gc_sd_free(&mod);
}

static void test_dtypes(void **state)
{
    (void)state;
    static const char *const dts[] = {"F32", "F64", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"};
    gc_state_dict sd;
    gc_error err;
    assert_int_equal(gc_safetensors_load(FIX "dtypes.safetensors", NULL, &sd, &err), GC_OK);
    for (size_t i = 0; i < sizeof dts / sizeof *dts; i++) {
        char name[64], exp[64];
        snprintf(name, sizeof name, "x_%s", dts[i]);
        snprintf(exp, sizeof exp, "x_%s.expected", dts[i]);
        const gc_sd_tensor *x = gc_sd_find(&sd, name), *e = gc_sd_find(&sd, exp);
        assert_non_null(x);
        assert_non_null(e);
        assert_int_equal(x->ndim, e->ndim);
        assert_int_equal(x->numel, e->numel);
        assert_memory_equal(x->shape, e->shape, sizeof(int64_t) * (size_t)x->ndim);
        for (int64_t k = 0; k < x->numel; k++)
            if (memcmp(&x->data[k], &e->data[k], sizeof(float)))
                fail_msg("%s[%lld] = %.9g, numpy says %.9g", name, (long long)k, x->data[k], e->data[k]);
    }
    const gc_sd_tensor *s = gc_sd_find(&sd, "scalar"), *z = gc_sd_find(&sd, "empty");
    assert_non_null(s);
    assert_int_equal(s->ndim, 0);
    assert_int_equal(s->numel, 1);
    assert_true(s->data[0] == 1.5f);
    assert_non_null(z);
    assert_int_equal(z->ndim, 2);
    assert_int_equal(z->numel, 0);
    assert_int_equal(z->shape[0], 0);
    assert_int_equal(z->shape[1], 3);
    gc_sd_free(&sd);
}

static const struct {
    const char *file;
    gc_status st;
    const char *needle;
} hostile[] = {
    {"truncated_header", GC_ERR_FORMAT, "too short"},
    {"header_past_eof", GC_ERR_FORMAT, "past the end"},
    {"header_too_big", GC_ERR_LIMIT, "header of 209715200 bytes"},
    {"empty", GC_ERR_FORMAT, "empty file"},
    {"offsets_out_of_range", GC_ERR_FORMAT, "outside the 16 data bytes"},
    {"offsets_reversed", GC_ERR_FORMAT, "data_offsets [16, 8]"},
    {"overlap", GC_ERR_FORMAT, "'a' and 'b' overlap"},
    {"size_mismatch", GC_ERR_FORMAT, "16 data bytes, but shape and dtype F32 need 12"},
    {"bad_dtype", GC_ERR_UNSUPPORTED, "dtype 'F8_E4M3'"},
    {"not_object", GC_ERR_FORMAT, "not a JSON object"},
    {"string_header", GC_ERR_FORMAT, "tensor 'a' is not a JSON object"},
    {"bad_json", GC_ERR_FORMAT, "not valid JSON"},
    {"trailing_bytes", GC_ERR_FORMAT, "after its JSON object"},
    {"nul_in_header", GC_ERR_FORMAT, "NUL byte"},
    {"duplicate_keys", GC_ERR_FORMAT, "two tensors are named 'a'"},
    {"duplicate_after_module", GC_ERR_FORMAT, "two tensors are named 'a'"},
    {"shape_fraction", GC_ERR_FORMAT, "shape entry 0"},
    {"shape_negative", GC_ERR_FORMAT, "shape entry 0"},
    {"shape_overflow", GC_ERR_FORMAT, "more bytes than the file holds"},
    {"shape_huge_number", GC_ERR_FORMAT, "shape entry 0"},
    {"too_many_dims", GC_ERR_UNSUPPORTED, "10 dimensions"},
    {"missing_offsets", GC_ERR_FORMAT, "\"data_offsets\""},
    {"three_offsets", GC_ERR_FORMAT, "not two non-negative integers"},
    {"no_tensors", GC_ERR_FORMAT, "no tensors"},
    {"newline_name", GC_ERR_UNSUPPORTED, "tensor 'a?b' has dtype 'F9'"},
};

static void test_hostile(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++) {
        char path[512];
        snprintf(path, sizeof path, FIX "%s.safetensors", hostile[i].file);
        gc_state_dict sd;
        gc_error err = {0};
        gc_status st = gc_safetensors_load(path, NULL, &sd, &err);
        if (st != hostile[i].st || !strstr(err.msg, hostile[i].needle))
            fail_msg("%s: status %d (want %d), message: %s", hostile[i].file, st, hostile[i].st, err.msg);
        assert_int_equal(err.status, st);
        assert_clean_message(&err, path);
        assert_int_equal(sd.count, 0);
        assert_null(sd.tensors);
    }
}

static void test_io_errors(void **state)
{
    (void)state;
    gc_state_dict sd;
    gc_error err;
    assert_int_equal(gc_safetensors_load(FIX "no_such_file.safetensors", NULL, &sd, &err), GC_ERR_IO);
    assert_clean_message(&err, FIX "no_such_file.safetensors");
    assert_int_equal(gc_safetensors_load(FIX, NULL, &sd, &err), GC_ERR_IO);
    assert_int_equal(gc_safetensors_load_memory("x", 1, "mem", NULL, 0, NULL, &err), GC_ERR_USAGE);
}

/* A mapped file lends its aligned float32 tensors in place: the same
 * values as a copying load, the dict holding the mapping. With the header
 * one byte longer the data is misaligned and every tensor is copied. */
static void test_mapped_borrows(void **state)
{
    (void)state;
    gc_state_dict mapped, copied;
    gc_error err;
    size_t len;
    unsigned char *buf = load_mapped_and_copied(FIX "resnet_w1.safetensors", gc_safetensors_load,
                                                gc_safetensors_load_memory, &mapped, &copied, &len);
    const int lent = count_lent(&mapped, &copied);
    assert_true(lent > 50);
    for (int i = 0; i < mapped.count; i++) /* only the I64 counters are converted */
        assert_true(mapped.tensors[i].borrowed || strstr(mapped.tensors[i].name, "num_batches"));
    gc_sd_drop_data(&mapped.tensors[0]);
    assert_null(mapped.tensors[0].data);
    gc_sd_free(&mapped);
    assert_null(mapped.map);

    /* header length + 1, a space before the data: every offset moves by one */
    unsigned char *odd = malloc(len + 1);
    assert_non_null(odd);
    uint64_t hlen = 0;
    for (int b = 7; b >= 0; b--)
        hlen = (hlen << 8) | buf[b];
    memcpy(odd, buf, 8 + hlen);
    odd[8 + hlen] = ' ';
    memcpy(odd + 9 + hlen, buf + 8 + hlen, len - 8 - hlen);
    for (int b = 0; b < 8; b++)
        odd[b] = (unsigned char)((hlen + 1) >> (8 * b));
    const char *path = GC_BINARY_DIR "/test_safetensors_odd.safetensors";
    spill(path, odd, len + 1);
    assert_int_equal(gc_safetensors_load(path, NULL, &mapped, &err), GC_OK);
    assert_int_equal(count_lent(&mapped, &copied), 0);
    assert_null(mapped.map);
    gc_sd_free(&mapped);
    unlink(path);
    gc_sd_free(&copied);
    free(odd);
    free(buf);
}

/* Every prefix of a real file fails cleanly (the data section is cut). */
static void test_truncations(void **state)
{
    (void)state;
    size_t len;
    unsigned char *buf = slurp(FIX "resnet_w1.safetensors", &len);
    for (size_t n = 0; n < len; n += (n < 2048 ? 1 : 97)) {
        gc_state_dict sd;
        gc_error err = {0};
        for (int lend = 0; lend < 2; lend++) {
            gc_status st = gc_safetensors_load_memory(buf, n, "cut", NULL, lend, &sd, &err);
            if (st != GC_ERR_FORMAT)
                fail_msg("prefix %zu: status %d: %s", n, st, err.msg);
            assert_clean_message(&err, "cut");
            assert_int_equal(sd.count, 0);
            assert_null(sd.map);
        }
    }
    gc_state_dict sd;
    gc_error err;
    assert_int_equal(gc_safetensors_load_memory(buf, len, "whole", NULL, 0, &sd, &err), GC_OK);
    gc_sd_free(&sd);
    free(buf);
}

static void test_sniff(void **state)
{
    (void)state;
    size_t len;
    unsigned char *buf = slurp(FIX "resnet_w1.safetensors", &len);
    assert_true(gc_safetensors_sniff(buf, len));
    assert_false(gc_safetensors_sniff(buf, 8));
    assert_true(gc_safetensors_sniff_file(FIX "resnet_w1.safetensors"));
    assert_false(gc_safetensors_sniff_file(W1_PTH));
    assert_false(gc_safetensors_sniff_file(FIX "no_such_file"));
    free(buf);
    static const unsigned char onnxish[9] = {0x08, 0x07, 0x12, 0x07, 'p', 'y', 't', 'o', '{'};
    assert_false(gc_safetensors_sniff(onnxish, sizeof onnxish));
}

/* Through the public API: the same network as the .pth. */
static void test_model_load(void **state)
{
    (void)state;
    gc_model *a = NULL, *b = NULL;
    gc_error err;
    if (gc_model_load(W1_PTH, &a, &err))
        fail_msg("%s", err.msg);
    if (gc_model_load(FIX "resnet_w1_module.safetensors", &b, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(gc_model_arch(a), gc_model_arch(b));
    assert_int_equal(gc_model_num_classes(a), gc_model_num_classes(b));
    assert_int_equal(gc_model_num_layers(a), gc_model_num_layers(b));
    gc_model_free(a);
    gc_model_free(b);
    /* a hostile file is reported by the safetensors loader, not as a .pth */
    assert_int_equal(gc_model_load(FIX "overlap.safetensors", &a, &err), GC_ERR_FORMAT);
    assert_null(a);
    assert_non_null(strstr(err.msg, "overlap"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resnet_matches_pth), cmocka_unit_test(test_dtypes),
        cmocka_unit_test(test_hostile),            cmocka_unit_test(test_io_errors),
        cmocka_unit_test(test_truncations),        cmocka_unit_test(test_sniff),
        cmocka_unit_test(test_model_load),         cmocka_unit_test(test_mapped_borrows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
