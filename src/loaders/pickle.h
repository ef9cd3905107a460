/* pickle.h — a restricted pickle virtual machine that turns pickle bytes into
 * a tree of plain values (ints, strings, tuples, lists, dicts, ...).
 *
 * It never executes anything. Globals are resolved by a caller-supplied
 * allowlist; REDUCE on an allowed callable only records a "call" node that
 * the caller interprets itself. Only the opcodes a torch state_dict needs
 * (pickle protocols 2-5) are known; any other opcode is an error.
 *
 * Deliberately not here: anything torch-specific (see pth.c), sets, frozen
 * sets, extension registry, protocol 0/1 text opcodes beyond DICT/LIST/TUPLE,
 * out-of-band buffers. */
#ifndef GC_LOADERS_PICKLE_H
#define GC_LOADERS_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "gradcam.h"

typedef enum pk_kind {
    PK_NONE,
    PK_BOOL,   /* u.i is 0 or 1                                       */
    PK_INT,    /* u.i; integers that fit int64                         */
    PK_BIGINT, /* u.s: little-endian two's complement bytes (LONG1)    */
    PK_FLOAT,  /* u.f                                                  */
    PK_STR,    /* u.s, NUL-terminated copy (may hold inner NULs)       */
    PK_BYTES,  /* u.s                                                  */
    PK_TUPLE,  /* u.seq                                                */
    PK_LIST,   /* u.seq                                                */
    PK_DICT,   /* u.dict, insertion order, keys not deduplicated       */
    PK_GLOBAL, /* u.global: a name the resolver allowed                */
    PK_CALL,   /* u.call: REDUCE of an allowed callable, not evaluated */
    PK_PERSID  /* u.persid: what BINPERSID produced                    */
} pk_kind;

/* What the resolver says a global is. */
typedef enum pk_role {
    PK_ROLE_FORBIDDEN,   /* error, status GC_ERR_FORMAT                  */
    PK_ROLE_UNSUPPORTED, /* error, status GC_ERR_UNSUPPORTED             */
    PK_ROLE_OPAQUE,      /* a value (e.g. a storage type), not callable  */
    PK_ROLE_CALLABLE,    /* REDUCE on it yields a PK_CALL node           */
    PK_ROLE_DICT_TYPE    /* REDUCE/NEWOBJ with () yields an empty dict   */
} pk_role;

typedef struct pk_value pk_value;
struct pk_value {
    pk_kind kind;
    union {
        int64_t i;
        double f;
        struct { char *p; size_t len; } s;
        struct { pk_value **v; size_t n, cap; } seq;
        struct { pk_value **k, **v; size_t n, cap; } dict;
        struct { char *module, *name; pk_role role; int tag; } global;
        struct { const pk_value *func; pk_value *args, *state; } call;
        struct { pk_value *pid; void *user; } persid;
    } u;
};

typedef pk_role (*pk_resolve_fn)(void *ctx, const char *module, const char *name,
                                 int *tag);
/* Called for every BINPERSID; *user is stored in the node. Must fill err
 * on failure. */
typedef gc_status (*pk_persid_fn)(void *ctx, const pk_value *pid, void **user,
                                  gc_error *err);

typedef struct pk_config {
    pk_resolve_fn resolve;       /* NULL: every global is forbidden       */
    pk_persid_fn persistent_load; /* NULL: BINPERSID is an error          */
    void *ctx;
    const char *label;     /* message prefix, e.g. the file path         */
    const char *deny_hint; /* appended to forbidden-global messages      */
    size_t max_stack;      /* 0: defaults (see pickle.c)                 */
    size_t max_memo;
} pk_config;

/* Owns every value made by one or more pk_load calls. */
typedef struct pk_heap pk_heap;

pk_heap *pk_heap_new(size_t max_values, gc_error *err); /* 0: default cap */
void pk_heap_free(pk_heap *h);

/* Runs one pickle starting at buf[*pos] up to its STOP; on success *pos is
 * just past STOP and *out is the result. Byte offsets in messages are
 * offsets into buf. */
gc_status pk_load(const pk_config *cfg, pk_heap *heap, const uint8_t *buf,
                  size_t len, size_t *pos, pk_value **out, gc_error *err);

/* Helpers for interpreting trees. */
const char *pk_kind_name(pk_kind k);
int pk_str_eq(const pk_value *v, const char *s);    /* PK_STR equal to s */
const pk_value *pk_dict_get(const pk_value *dict, const char *key);
/* Copies s into out (cap bytes) with control/non-ASCII bytes as '?' and an
 * ellipsis when too long, so hostile names keep messages on one line. */
const char *pk_printable(const char *s, size_t len, char *out, size_t cap);

#endif
