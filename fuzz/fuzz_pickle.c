/* fuzz_pickle.c — libFuzzer target: the restricted pickle VM alone, with a
 * resolver that grants each global a role chosen from a hash of its name,
 * so every role (forbidden, opaque, callable, dict type) is reached without
 * torch's container around it. The result tree is walked, bounded in depth
 * and visits because memo GETs can turn it into a DAG. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "fuzz_common.h"
#include "loaders/pickle.h"

static pk_role resolve(void *ctx, const char *mod, const char *name, int *tag)
{
    (void)ctx;
    uint32_t h = 2166136261u;
    for (const char *c = mod; *c; c++)
        h = (h ^ (uint8_t)*c) * 16777619u;
    for (const char *c = name; *c; c++)
        h = (h ^ (uint8_t)*c) * 16777619u;
    *tag = (int)(h >> 8 & 7);
    if (!strcmp(mod, "collections") && !strcmp(name, "OrderedDict"))
        return PK_ROLE_DICT_TYPE;
    switch (h % 5) {
    case 0: return PK_ROLE_FORBIDDEN;
    case 1: return PK_ROLE_UNSUPPORTED;
    case 2: return PK_ROLE_OPAQUE;
    case 3: return PK_ROLE_CALLABLE;
    default: return PK_ROLE_DICT_TYPE;
    }
}

static gc_status persid(void *ctx, const pk_value *pid, void **user, gc_error *err)
{
    (void)ctx;
    if (pid->kind == PK_STR && pk_str_eq(pid, "fail"))
        return gc_fail(err, GC_ERR_FORMAT, "fuzz: persistent id refused");
    *user = NULL;
    return GC_OK;
}

static size_t visits;

static void walk(const pk_value *v, int depth)
{
    if (!v || depth > 64 || ++visits > 100000)
        return;
    char buf[64];
    switch (v->kind) {
    case PK_STR:
    case PK_BYTES:
    case PK_BIGINT:
        pk_printable(v->u.s.p, v->u.s.len, buf, sizeof buf);
        break;
    case PK_TUPLE:
    case PK_LIST:
        for (size_t i = 0; i < v->u.seq.n; i++)
            walk(v->u.seq.v[i], depth + 1);
        break;
    case PK_DICT:
        (void)pk_dict_get(v, "state_dict");
        for (size_t i = 0; i < v->u.dict.n; i++) {
            walk(v->u.dict.k[i], depth + 1);
            walk(v->u.dict.v[i], depth + 1);
        }
        break;
    case PK_CALL:
        walk(v->u.call.func, depth + 1);
        walk(v->u.call.args, depth + 1);
        walk(v->u.call.state, depth + 1);
        break;
    case PK_PERSID:
        walk(v->u.persid.pid, depth + 1);
        break;
    case PK_GLOBAL:
        (void)strlen(v->u.global.module);
        (void)strlen(v->u.global.name);
        break;
    default:
        (void)pk_kind_name(v->kind);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gc_error err;
    pk_heap *heap = pk_heap_new(1 << 16, &err);
    if (!heap)
        return 0;
    pk_config cfg = {.resolve = resolve, .persistent_load = persid, .label = "fuzz.pkl",
                     .deny_hint = "(fuzz)", .max_stack = 4096, .max_memo = 4096};
    size_t pos = 0;
    /* Several pickles back to back, as a legacy checkpoint holds. */
    for (int k = 0; k < 4 && pos < size; k++) {
        pk_value *root = NULL;
        size_t before = pos;
        gc_status st = pk_load(&cfg, heap, data, size, &pos, &root, &err);
        fz_check(st, &err);
        if (st != GC_OK)
            break;
        if (pos <= before || pos > size)
            abort(); /* a successful load consumes at least its STOP */
        visits = 0;
        walk(root, 0);
    }
    pk_heap_free(heap);
    return 0;
}
