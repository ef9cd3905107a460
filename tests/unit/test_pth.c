/* test_pth.c — the .pth loader against checkpoints written by PyTorch and
 * against hostile ones assembled byte by byte.
 *
 * Fixtures come from tests/python/make_pth_fixtures.py; each good one has a
 * <name>.expected dump that PyTorch wrote, so values are compared with what
 * torch.load returns, never with our own output. Hostile files were never
 * unpickled by anyone; here each must fail with a given status and message.
 * Truncation and byte-flip sweeps run every prefix / every single-byte
 * corruption of real checkpoints (run under -DGC_SANITIZE=ON too). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_util.h"

#include "loaders/pth.h"
#include "loaders/state_dict.h"

#define FIX GC_SOURCE_DIR "/tests/fixtures/pth/"
#define PWNED_MARKER "/tmp/gc_pth_pwned_marker" /* as in make_pth_fixtures.py */

/* Compares sd with the PyTorch dump <stem>.expected, bit for bit. */
static void compare_expected(const gc_state_dict *sd, const char *stem)
{
    char path[512];
    snprintf(path, sizeof path, FIX "%s.expected", stem);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int count;
    assert_int_equal(fscanf(f, "%d", &count), 1);
    assert_int_equal(sd->count, count);
    for (int i = 0; i < count; i++) {
        char name[256];
        int ndim;
        assert_int_equal(fscanf(f, "%255s %d", name, &ndim), 2);
        const gc_sd_tensor *t = gc_sd_find(sd, name);
        if (!t)
            fail_msg("tensor '%s' missing", name);
        assert_int_equal(t->ndim, ndim);
        int64_t numel = 1;
        for (int d = 0; d < ndim; d++) {
            long long dim;
            assert_int_equal(fscanf(f, "%lld", &dim), 1);
            assert_int_equal(t->shape[d], dim);
            numel *= dim;
        }
        assert_int_equal(t->numel, numel);
        for (int64_t k = 0; k < numel; k++) {
            float want;
            assert_int_equal(fscanf(f, "%f", &want), 1);
            if (memcmp(&want, &t->data[k], sizeof want))
                fail_msg("%s[%lld]: got %.9g, PyTorch has %.9g", name, (long long)k, t->data[k], want);
        }
    }
    fclose(f);
}

static void load_and_check(const char *file, const char *stem)
{
    char path[512];
    snprintf(path, sizeof path, FIX "%s", file);
    gc_state_dict sd;
    gc_error err;
    if (gc_pth_load(path, NULL, &sd, &err) != GC_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(err.status, GC_OK);
    compare_expected(&sd, stem);
    gc_sd_free(&sd);
    assert_null(sd.tensors);
}

static void test_tiny_zip(void **state) { load_and_check("tiny.pth", "tiny"); }
static void test_tiny_legacy(void **state) { load_and_check("tiny_legacy.pth", "tiny"); }
static void test_tiny_protocol4(void **state) { load_and_check("tiny_p4.pth", "tiny"); }
static void test_renamed_zip(void **state) { load_and_check("renamed.pth", "tiny"); }
static void test_handmade(void **state)
{
    load_and_check("handmade_ok.pth", "handmade_ok");
    load_and_check("handmade_ok_legacy.pth", "handmade_ok");
}
static void test_parameters(void **state) { load_and_check("parameters.pth", "parameters"); }

/* Nested under "state_dict" / "model", "module." stripped, the optimizer's
 * momentum tensors and other extras skipped. */
static void test_checkpoints(void **state)
{
    load_and_check("checkpoint.pth", "checkpoint");
    load_and_check("checkpoint_model_legacy.pth", "checkpoint");
    gc_state_dict sd;
    gc_error err;
    assert_int_equal(gc_pth_load(FIX "checkpoint.pth", NULL, &sd, &err), GC_OK);
    assert_non_null(gc_sd_find(&sd, "weight"));
    assert_null(gc_sd_find(&sd, "module.weight"));
    assert_null(gc_sd_find(&sd, "momentum_buffer"));
    assert_null(gc_sd_find(&sd, NULL));
    gc_sd_free(&sd);
    gc_sd_free(&sd); /* idempotent */
}

/* The storage is shared and the views are strided: values must come from
 * the right places, which the .expected dump already proves; here also the
 * layouts that make the test meaningful. */
static void test_views(void **state)
{
    gc_state_dict sd;
    gc_error err;
    assert_int_equal(gc_pth_load(FIX "tiny.pth", NULL, &sd, &err), GC_OK);
    const gc_sd_tensor *t = gc_sd_find(&sd, "transposed");
    assert_non_null(t);
    assert_int_equal(t->shape[0], 5);
    assert_int_equal(t->shape[1], 3);
    t = gc_sd_find(&sd, "scalar");
    assert_int_equal(t->ndim, 0);
    assert_int_equal(t->numel, 1);
    assert_true(t->data[0] == 2.5f);
    t = gc_sd_find(&sd, "empty");
    assert_int_equal(t->numel, 0);
    assert_int_equal(t->ndim, 2);
    t = gc_sd_find(&sd, "1.num_batches_tracked");
    assert_true(t->data[0] == 7.0f);
    gc_sd_free(&sd);
}

/* A mapped zip checkpoint lends its stored float32 tensors in place: the
 * same values as a copying load, the dict holding the mapping; dropping
 * a borrowed tensor's data leaves the others intact. */
static void test_mapped_borrows(void **state)
{
    gc_state_dict mapped, copied;
    gc_error err;
    size_t len;
    unsigned char *buf = load_mapped_and_copied(FIX "checkpoint.pth", gc_pth_load,
                                                gc_pth_load_memory, &mapped, &copied, &len);
    assert_non_null(mapped.map);
    const int borrowed = count_lent(&mapped, &copied);
    assert_true(borrowed > 0);
    size_t at = 0; /* where the first borrowed tensor lies in the file */
    for (int i = 0; i < mapped.count; i++)
        if (mapped.tensors[i].borrowed) {
            at = (size_t)((const unsigned char *)mapped.tensors[i].data -
                          (const unsigned char *)mapped.map);
            gc_sd_drop_data(&mapped.tensors[i]);
            assert_null(mapped.tensors[i].data);
            break;
        }
    gc_sd_free(&mapped);
    assert_null(mapped.map);
    gc_sd_free(&copied);
    /* The same file with one bit of that tensor flipped: its CRC no longer
     * matches, so it is not lent, and reading it through libzip fails. */
    buf[at] ^= 1;
    const char *bad = GC_BINARY_DIR "/test_pth_crc.pth";
    spill(bad, buf, len);
    assert_int_equal(gc_pth_load(bad, NULL, &mapped, &err), GC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "CRC"));
    assert_null(mapped.tensors);
    unlink(bad);
    free(buf);
}

typedef struct bad_case {
    const char *file;
    gc_status status;
    const char *substring;
} bad_case;

static const bad_case bad_cases[] = {
    {"evil_os_system.pth", GC_ERR_FORMAT,
     "pickle refers to forbidden global 'os.system' (only tensors and OrderedDict are allowed)"},
    {"evil_stack_global.pth", GC_ERR_FORMAT, "forbidden global 'os.system'"},
    {"evil_eval_legacy.pth", GC_ERR_FORMAT, "forbidden global 'builtins.eval'"},
    {"evil_torch_load.pth", GC_ERR_FORMAT, "forbidden global 'torch.load'"},
    {"setitems_on_list.pth", GC_ERR_FORMAT, "sets items on a list"},
    {"setitem_on_list.pth", GC_ERR_FORMAT, "sets items on a list"},
    {"storage_numel_too_big.pth", GC_ERR_FORMAT,
     "storage '0' declares 1000 elements of 4 bytes, but the file holds only 48 bytes"},
    {"storage_numel_too_big_legacy.pth", GC_ERR_FORMAT,
     "storage 'k0' declares 1000 elements of 4 bytes, but the file holds only 48 bytes"},
    {"tensor_past_storage.pth", GC_ERR_FORMAT,
     "tensor 'fc.weight' reaches past its storage (offset 10 + extent 2048 > 1000 elements)"},
    {"tensor_size_overflow.pth", GC_ERR_LIMIT, "tensor 'w' is impossibly large"},
    {"tensor_expanded_huge.pth", GC_ERR_LIMIT, "tensors total more than 4294967296 bytes as float32"},
    {"memo_undefined.pth", GC_ERR_FORMAT, "undefined memo entry 7"},
    {"random.bin", GC_ERR_FORMAT, "not a PyTorch checkpoint (neither a zip archive nor a legacy pickle)"},
    {"empty.pth", GC_ERR_FORMAT, "empty file"},
    {"plain_pickle.pth", GC_ERR_FORMAT, "not a torch.save checkpoint (no magic number)"},
    {"whole_module.pth", GC_ERR_FORMAT, "forbidden global 'torch.nn.modules."},
    {"torchscript.pt", GC_ERR_UNSUPPORTED, "TorchScript"},
    {"list_of_tensors.pth", GC_ERR_UNSUPPORTED, "holds a list, not a dict of tensors"},
    {"no_such_file.pth", GC_ERR_IO, "cannot open: No such file or directory"},
    {"", GC_ERR_IO, "is a directory"}, /* the fixture directory itself */
};

static void test_bad_files(void **state)
{
    unlink(PWNED_MARKER);
    for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
        const bad_case *c = &bad_cases[i];
        char path[512];
        snprintf(path, sizeof path, FIX "%s", c->file);
        gc_state_dict sd = {(gc_sd_tensor *)1, 99, NULL, 0}; /* must be cleared */
        gc_error err;
        gc_status st = gc_pth_load(path, NULL, &sd, &err);
        if (st != c->status || !strstr(err.msg, c->substring))
            fail_msg("%s: got status %d '%s', want %d '%s'", c->file, st, err.msg, c->status, c->substring);
        assert_int_equal(err.status, c->status);
        assert_clean_message(&err, path);
        assert_null(sd.tensors);
        assert_int_equal(sd.count, 0);
    }
    /* nothing ran: the payloads would have created this file */
    assert_int_not_equal(access(PWNED_MARKER, F_OK), 0);
}

/* A file that cannot be opened: without read permission (root reads
 * anything, so there the check uses a path through a regular file, which
 * fails for everybody). */
static void test_unreadable(void **state)
{
    (void)state;
    char path[] = GC_BINARY_DIR "/test_pth_unreadable.pth";
    char inner[] = GC_BINARY_DIR "/test_pth_unreadable.pth/inner.pth";
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("x", f);
    fclose(f);
    gc_state_dict sd;
    gc_error err;
    assert_int_equal(gc_pth_load(inner, NULL, &sd, &err), GC_ERR_IO);
    assert_non_null(strstr(err.msg, "cannot open: Not a directory"));
    if (geteuid() != 0) {
        chmod(path, 0);
        assert_int_equal(gc_pth_load(path, NULL, &sd, &err), GC_ERR_IO);
        assert_non_null(strstr(err.msg, "cannot open: Permission denied"));
    }
    unlink(path);
}

/* Loads buf copying or, with borrow, as a mapped file is loaded (tensors
 * left where they lie in buf); buf is not a mapping, so a borrowing state
 * dict must not unmap it. */
static gc_status load_buffer(const unsigned char *buf, size_t len, const char *label, int borrow,
                             gc_state_dict *sd, gc_error *err)
{
    gc_status st = gc_pth_load_memory(buf, len, label, NULL, borrow, sd, err);
    sd->map = NULL;
    return st;
}

/* Every prefix of a good checkpoint is a clean error. */
static void truncate_all(const char *file)
{
    char path[512];
    snprintf(path, sizeof path, FIX "%s", file);
    size_t len;
    unsigned char *buf = slurp(path, &len);
    for (size_t cut = 0; cut < 2 * len; cut++) {
        const size_t n = cut % len;
        unsigned char *copy = malloc(n ? n : 1); /* exact size: ASan sees overreads */
        memcpy(copy, buf, n);
        gc_state_dict sd;
        gc_error err;
        gc_status st = load_buffer(copy, n, "cut.pth", cut >= len, &sd, &err);
        if (st == GC_OK)
            fail_msg("%s cut at %zu bytes loaded", file, n);
        assert_clean_message(&err, "cut.pth: ");
        assert_null(sd.tensors);
        free(copy);
    }
    free(buf);
}

static void test_truncated(void **state)
{
    truncate_all("tiny.pth");
    truncate_all("tiny_legacy.pth");
    truncate_all("checkpoint_model_legacy.pth");
    truncate_all("handmade_ok_legacy.pth");
    /* the brief's message shape, from a cut inside the legacy main pickle */
    size_t len;
    unsigned char *buf = slurp(FIX "tiny_legacy.pth", &len);
    gc_state_dict sd;
    gc_error err;
    assert_int_equal(gc_pth_load_memory(buf, 300, "x.pth", NULL, 0, &sd, &err), GC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "x.pth: truncated pickle at byte "));
    free(buf);
}

/* Every single-byte corruption either loads or fails cleanly. */
static void flip_all(const char *file)
{
    char path[512];
    snprintf(path, sizeof path, FIX "%s", file);
    size_t len;
    unsigned char *buf = slurp(path, &len);
    for (size_t i = 0; i < len; i++) {
        for (int x = 0; x < 4; x++) { /* two flips, each read both ways */
            unsigned char saved = buf[i];
            buf[i] ^= x & 1 ? 0xff : 0x01;
            gc_state_dict sd;
            gc_error err;
            if (load_buffer(buf, len, "flip.pth", x >= 2, &sd, &err) == GC_OK)
                gc_sd_free(&sd);
            else
                assert_clean_message(&err, "flip.pth: ");
            buf[i] = saved;
        }
    }
    free(buf);
}

static void test_flipped(void **state)
{
    flip_all("tiny.pth"); /* zip: the directory that borrowing reads */
    flip_all("tiny_legacy.pth");
    flip_all("handmade_ok.pth");
    flip_all("checkpoint_model_legacy.pth");
}

/* Hostile pickles built here, inside a legacy container. */
static gc_status run_legacy(const unsigned char *pkl, size_t n, gc_error *err)
{
    static const unsigned char head[] = {
        0x80, 2, 0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.', /* magic */
        0x80, 2, 'M', 0xe9, 0x03, '.',                                                      /* 1001  */
        0x80, 2, '}', '.',                                                                  /* info  */
    };
    unsigned char *buf = malloc(sizeof head + n + 4);
    memcpy(buf, head, sizeof head);
    memcpy(buf + sizeof head, pkl, n);
    memcpy(buf + sizeof head + n, "\x80\x02].", 4); /* no storages */
    gc_state_dict sd;
    gc_status st = gc_pth_load_memory(buf, sizeof head + n + 4, "mem.pth", NULL, 0, &sd, err);
    if (st == GC_OK)
        gc_sd_free(&sd);
    free(buf);
    return st;
}

static void expect_legacy(const char *pkl, size_t n, gc_status status, const char *substring)
{
    gc_error err;
    gc_status st = run_legacy((const unsigned char *)pkl, n, &err);
    if (st != status || !strstr(err.msg, substring))
        fail_msg("got %d '%s', want %d '%s'", st, err.msg, status, substring);
    assert_clean_message(&err, "mem.pth: ");
}
#define EXPECT(lit, status, sub) expect_legacy(lit, sizeof lit - 1, status, sub)

static void test_hostile_pickles(void **state)
{
    EXPECT("\x80\x02i__main__\nX\n.", GC_ERR_FORMAT, "opcode 0x69 at byte");
    EXPECT("\x80\x02Nr\xff\xff\xff\x7f.", GC_ERR_LIMIT, "memo index 2147483647");
    EXPECT("\x80\x02\x8d\xff\xff\xff\xff\xff\xff\xff\x7f.", GC_ERR_FORMAT, "truncated pickle at byte");
    EXPECT("\x80\x02X\xff\xff\xff\xff.", GC_ERR_FORMAT, "truncated pickle at byte");
    EXPECT("\x80\x02))R.", GC_ERR_FORMAT, "calls a tuple");
    EXPECT("\x80\x02]Nb.", GC_ERR_FORMAT, "sets state on a list");
    EXPECT("\x80\x02}Na.", GC_ERR_FORMAT, "appends to a dict");
    EXPECT("\x80\x02(Nu.", GC_ERR_FORMAT, "SETITEMS with no target");
    EXPECT("\x80\x02\x80\x06.", GC_ERR_UNSUPPORTED, "pickle protocol 6");
    EXPECT("\x80\x02" "ctorch\nFloatStorage\n)R.", GC_ERR_FORMAT, "not callable here");
    EXPECT("\x80\x02" "ctorch._utils\n_rebuild_qtensor\n.", GC_ERR_UNSUPPORTED,
           "'torch._utils._rebuild_qtensor', which is not supported");
    EXPECT("\x80\x02" "ctorch\nComplexFloatStorage\n.", GC_ERR_UNSUPPORTED, "ComplexFloatStorage");
    EXPECT("\x80\x02\x8c\x02os\x8c\x06sys\ntm\x93.", GC_ERR_FORMAT, "malformed global 'os.sys?tm'");
    EXPECT("\x80\x02(X\x07\x00\x00\x00storageQ.", GC_ERR_FORMAT, "persistent id that is not a storage");
    EXPECT("\x80\x02.", GC_ERR_FORMAT, "stack underflow");
    EXPECT("\x80\x02" "ccollections\nOrderedDict\n)\x81.", GC_ERR_UNSUPPORTED, "no tensors found");
    EXPECT("\x80\x02" "ccollections\nOrderedDict\n(K\x01t\x81.", GC_ERR_UNSUPPORTED, "from arguments");
    EXPECT("\x80\x02N", GC_ERR_FORMAT, "truncated pickle"); /* runs into the next pickle: no STOP */
    /* self-referencing containers: no recursion anywhere */
    EXPECT("\x80\x02]q\x00h\x00" "a.", GC_ERR_UNSUPPORTED, "holds a list");
    EXPECT("\x80\x02}q\x00(X\x01\x00\x00\x00" "ah\x00u.", GC_ERR_UNSUPPORTED, "no tensors found");

    /* caps on stack and marks, far below what the input would allow */
    size_t n = ((size_t)1 << 20) + 16;
    char *deep = malloc(n + 3);
    for (int op = 0; op < 2; op++) {
        memcpy(deep, "\x80\x02", 2);
        memset(deep + 2, op ? '(' : '}', n);
        deep[n + 2] = '.';
        gc_error err;
        assert_int_equal(run_legacy((unsigned char *)deep, n + 3, &err), GC_ERR_LIMIT);
        assert_clean_message(&err, "mem.pth: ");
    }
    free(deep);
}

static void test_bad_arguments(void **state)
{
    gc_error err;
    gc_state_dict sd;
    assert_int_equal(gc_pth_load(NULL, NULL, &sd, &err), GC_ERR_USAGE);
    assert_int_equal(gc_pth_load(FIX "tiny.pth", NULL, NULL, &err), GC_ERR_USAGE);
    assert_int_equal(gc_pth_load(FIX "tiny.pth", NULL, &sd, NULL), GC_OK); /* err is optional */
    gc_sd_free(&sd);
    assert_int_equal(gc_pth_load(FIX "empty.pth", NULL, &sd, NULL), GC_ERR_FORMAT);
    assert_null(gc_sd_find(NULL, "x"));
    gc_sd_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_zip),        cmocka_unit_test(test_tiny_legacy),
        cmocka_unit_test(test_tiny_protocol4),  cmocka_unit_test(test_renamed_zip),
        cmocka_unit_test(test_handmade),        cmocka_unit_test(test_parameters),
        cmocka_unit_test(test_checkpoints),     cmocka_unit_test(test_views),
        cmocka_unit_test(test_mapped_borrows),
        cmocka_unit_test(test_bad_files),       cmocka_unit_test(test_unreadable),
        cmocka_unit_test(test_truncated),       cmocka_unit_test(test_flipped),
        cmocka_unit_test(test_hostile_pickles), cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
