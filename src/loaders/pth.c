/* pth.c — reads torch.save checkpoints into a gc_state_dict.
 *
 * Two containers, told apart by content:
 *   zip (torch >= 1.6): <folder>/data.pkl holds the object, each storage is
 *     the raw entry <folder>/data/<key>; the folder is found by locating
 *     data.pkl, since files get renamed.
 *   legacy (_use_new_zipfile_serialization=False): pickles in sequence —
 *     magic number, protocol version, sys_info, the object, the list of
 *     storage keys — then each storage as an int64 element count followed by
 *     its raw little-endian bytes.
 * In both, storages are persistent ids ('storage', torch.<T>Storage, key,
 * location, numel) and tensors are calls to torch._utils._rebuild_tensor_v2
 * (storage, offset, size, stride, ...), which we interpret ourselves.
 *
 * Not here: the pickle VM (pickle.c), TorchScript archives, quantized,
 * sparse or complex tensors, big-endian files, the tar format of torch < 0.4.
 * Everything else in a checkpoint (optimizer state, epochs, ...) is skipped. */
#include "loaders/pth.h"
#include "core/file.h"
#include "core/limits.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "core/error.h"
#include "loaders/dtype.h"
#include "loaders/pickle.h"
#include "loaders/zip_in_place.h"

#define DENY_HINT " (only tensors and OrderedDict are allowed)"
#define MAX_KEY 256

/* ---- what the pickle may name ------------------------------------------- */

static const struct { const char *storage; int size; } dtypes[GC_DT_COUNT] = {
    [GC_DT_F32] = {"FloatStorage", 4},    [GC_DT_F64] = {"DoubleStorage", 8},
    [GC_DT_F16] = {"HalfStorage", 2},     [GC_DT_BF16] = {"BFloat16Storage", 2},
    [GC_DT_I64] = {"LongStorage", 8},     [GC_DT_I32] = {"IntStorage", 4},
    [GC_DT_I16] = {"ShortStorage", 2},    [GC_DT_I8] = {"CharStorage", 1},
    [GC_DT_U8] = {"ByteStorage", 1},      [GC_DT_BOOL] = {"BoolStorage", 1},
};
enum { FN_NONE = 1000, FN_REBUILD_V2, FN_REBUILD, FN_PARAMETER };

static pk_role resolve(void *ctx, const char *mod, const char *name, int *tag)
{
    (void)ctx;
    if (!strcmp(mod, "collections") && !strcmp(name, "OrderedDict"))
        return PK_ROLE_DICT_TYPE;
    if (!strcmp(mod, "torch._utils")) {
        *tag = !strcmp(name, "_rebuild_tensor_v2")   ? FN_REBUILD_V2
               : !strcmp(name, "_rebuild_tensor")    ? FN_REBUILD
               : !strcmp(name, "_rebuild_parameter") ? FN_PARAMETER
                                                     : FN_NONE;
        if (*tag != FN_NONE)
            return PK_ROLE_CALLABLE;
        /* quantized, sparse, meta, ... tensors: real, but not ours */
        return strncmp(name, "_rebuild_", 9) ? PK_ROLE_FORBIDDEN : PK_ROLE_UNSUPPORTED;
    }
    if (!strcmp(mod, "torch")) {
        for (int i = 0; i < GC_DT_COUNT; i++) {
            if (!strcmp(name, dtypes[i].storage)) {
                *tag = i;
                return PK_ROLE_OPAQUE;
            }
        }
        size_t n = strlen(name);
        if (n > 7 && !strcmp(name + n - 7, "Storage")) /* complex, quantized */
            return PK_ROLE_UNSUPPORTED;
    }
    if (!strcmp(mod, "torch._tensor") && !strcmp(name, "_rebuild_from_type_v2"))
        return PK_ROLE_UNSUPPORTED; /* tensor subclasses */
    return PK_ROLE_FORBIDDEN;
}

/* ---- storages ----------------------------------------------------------- */

typedef struct storage {
    char *key;
    int dtype;
    int64_t numel;        /* declared in the persistent id             */
    const uint8_t *data;  /* numel elements once located, else NULL    */
    uint8_t *owned;       /* zip: what we read the entry into          */
    int in_place;         /* zip: data lies in the caller's buffer     */
    zip_int64_t zindex;   /* zip: the entry                            */
} storage;

typedef struct pth {
    const char *label;
    gc_error *err;
    int legacy;
    zip_t *zip;
    char *prefix; /* "name/" in the zip, with the slash */
    storage *st;
    size_t nst, cap;
    size_t *slots; /* open addressing over st, index + 1 */
    size_t nslots;
    uint64_t storage_bytes_read;
    uint64_t max_output;  /* float32 bytes, from the caller's limits */
    uint64_t max_storage; /* raw bytes read, likewise               */
    zip_directory dir;    /* where entries lie, when borrowing       */
    int borrow;           /* the buffer outlives the state dict      */
} pth;

static size_t hash_key(const char *s)
{
    size_t h = 1469598103934665603ull & SIZE_MAX;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * (1099511628211ull & SIZE_MAX);
    return h;
}

static long find_storage(const pth *p, const char *key)
{
    if (!p->nslots)
        return -1;
    for (size_t i = hash_key(key) & (p->nslots - 1);; i = (i + 1) & (p->nslots - 1)) {
        size_t s = p->slots[i];
        if (!s)
            return -1;
        if (!strcmp(p->st[s - 1].key, key))
            return (long)(s - 1);
    }
}

static gc_status add_storage(pth *p, const storage *s, size_t *index)
{
    if (p->nst == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 16;
        storage *nst = realloc(p->st, ncap * sizeof *nst);
        if (!nst)
            return gc_fail(p->err, GC_ERR_NOMEM, "%s: out of memory", p->label);
        p->st = nst;
        p->cap = ncap;
    }
    if (2 * (p->nst + 1) > p->nslots) { /* rehash at half load */
        size_t n = p->nslots ? p->nslots * 2 : 32;
        size_t *slots = calloc(n, sizeof *slots);
        if (!slots)
            return gc_fail(p->err, GC_ERR_NOMEM, "%s: out of memory", p->label);
        for (size_t k = 0; k < p->nst; k++) {
            size_t i = hash_key(p->st[k].key) & (n - 1);
            while (slots[i])
                i = (i + 1) & (n - 1);
            slots[i] = k + 1;
        }
        free(p->slots);
        p->slots = slots;
        p->nslots = n;
    }
    size_t i = hash_key(s->key) & (p->nslots - 1);
    while (p->slots[i])
        i = (i + 1) & (p->nslots - 1);
    p->st[p->nst] = *s;
    p->slots[i] = ++p->nst;
    *index = p->nst - 1;
    return GC_OK;
}

static gc_status zip_fail(pth *p, const char *what, const char *why)
{
    return gc_fail(p->err, GC_ERR_FORMAT, "%s: cannot read '%s' from the zip archive: %s",
                   p->label, what, why);
}

/* Reads the first n bytes of entry index into buf, then the rest of the
 * entry: libzip compares an entry's CRC only on reaching its end, so
 * stopping at n bytes let a corrupted entry through. */
static gc_status read_zip_entry(pth *p, zip_int64_t index, const char *what, uint8_t *buf,
                                uint64_t n)
{
    zip_file_t *zf = zip_fopen_index(p->zip, (zip_uint64_t)index, 0);
    if (!zf)
        return zip_fail(p, what, zip_strerror(p->zip));
    zip_int64_t got = zip_fread(zf, buf, n);
    gc_status st = GC_OK;
    if (got < 0 || (uint64_t)got != n)
        st = zip_fail(p, what, got < 0 ? zip_file_strerror(zf) : "entry shorter than declared");
    uint8_t rest[512];
    while (st == GC_OK && (got = zip_fread(zf, rest, sizeof rest)) != 0)
        if (got < 0)
            st = zip_fail(p, what, zip_file_strerror(zf));
    zip_fclose(zf);
    return st;
}

/* The storage's element count must fit in the bytes the file holds for it:
 * trusting the count is how CVE-2026-24747 corrupted memory. */
static gc_status check_fits(pth *p, const storage *s, uint64_t have)
{
    uint64_t need;
    if (__builtin_mul_overflow((uint64_t)s->numel, (uint64_t)dtypes[s->dtype].size, &need) || need > have) {
        char pk[64];
        return gc_fail(p->err, GC_ERR_FORMAT,
                       "%s: storage '%s' declares %lld elements of %d bytes, but the file holds only %llu bytes for it",
                       p->label, pk_printable(s->key, strlen(s->key), pk, sizeof pk),
                       (long long)s->numel, dtypes[s->dtype].size, (unsigned long long)have);
    }
    return GC_OK;
}

static gc_status persistent_load(void *ctx, const pk_value *pid, void **user, gc_error *err)
{
    pth *p = ctx;
    const pk_value *const *f = pid->kind == PK_TUPLE ? (const pk_value *const *)pid->u.seq.v : NULL;
    size_t n = f ? pid->u.seq.n : 0;
    if (n < 1 || !pk_str_eq(f[0], "storage")) {
        if (n && pk_str_eq(f[0], "module"))
            return gc_fail(err, GC_ERR_UNSUPPORTED, "%s: checkpoint pickles whole modules; save model.state_dict() instead", p->label);
        return gc_fail(err, GC_ERR_FORMAT, "%s: pickle has a persistent id that is not a storage", p->label);
    }
    if ((n != 5 && n != 6) || f[1]->kind != PK_GLOBAL || f[1]->u.global.role != PK_ROLE_OPAQUE ||
        f[2]->kind != PK_STR || f[3]->kind != PK_STR || f[4]->kind != PK_INT || f[4]->u.i < 0)
        return gc_fail(err, GC_ERR_FORMAT, "%s: malformed storage persistent id", p->label);
    if (n == 6 && f[5]->kind != PK_NONE) /* storage views, torch < 0.4 */
        return gc_fail(err, GC_ERR_UNSUPPORTED, "%s: checkpoint uses storage views (torch < 0.4), not supported", p->label);
    const char *key = f[2]->u.s.p;
    char pk[64];
    if (f[2]->u.s.len > MAX_KEY || strlen(key) != f[2]->u.s.len || !f[2]->u.s.len)
        return gc_fail(err, GC_ERR_FORMAT, "%s: malformed storage key '%s'", p->label,
                       pk_printable(key, f[2]->u.s.len, pk, sizeof pk));

    storage s = {.key = (char *)key, .dtype = f[1]->u.global.tag, .numel = f[4]->u.i, .zindex = -1};
    long found = find_storage(p, key);
    if (found >= 0) {
        const storage *o = &p->st[found];
        if (o->dtype != s.dtype || o->numel != s.numel)
            return gc_fail(err, GC_ERR_FORMAT, "%s: storage '%s' is declared twice, with different types or sizes",
                           p->label, pk_printable(key, strlen(key), pk, sizeof pk));
        *user = (void *)(uintptr_t)found;
        return GC_OK;
    }
    if (p->zip) {
        size_t plen = strlen(p->prefix);
        char *path = malloc(plen + 5 + f[2]->u.s.len + 1);
        if (!path)
            return gc_fail(err, GC_ERR_NOMEM, "%s: out of memory", p->label);
        sprintf(path, "%sdata/%s", p->prefix, key);
        zip_stat_t sb;
        s.zindex = zip_name_locate(p->zip, path, ZIP_FL_ENC_RAW);
        int ok = s.zindex >= 0 && zip_stat_index(p->zip, (zip_uint64_t)s.zindex, 0, &sb) == 0 &&
                 (sb.valid & ZIP_STAT_SIZE);
        free(path);
        if (!ok)
            return gc_fail(err, GC_ERR_FORMAT, "%s: storage '%s' is missing from the zip archive",
                           p->label, pk_printable(key, strlen(key), pk, sizeof pk));
        gc_status st = check_fits(p, &s, sb.size);
        if (st)
            return st;
    }
    if (!(s.key = strdup(key)))
        return gc_fail(err, GC_ERR_NOMEM, "%s: out of memory", p->label);
    size_t index = 0;
    gc_status st = add_storage(p, &s, &index);
    if (st) {
        free(s.key);
        return st;
    }
    *user = (void *)(uintptr_t)index;
    return GC_OK;
}

/* Zip storages are read on first use, so optimizer state and other skipped
 * tensors cost nothing. */
static gc_status storage_data(pth *p, storage *s, const uint8_t **data)
{
    if (s->data || !s->numel) {
        *data = s->data;
        return GC_OK;
    }
    if (!p->zip)
        return gc_fail(p->err, GC_ERR_INTERNAL, "%s: storage '%s' has no data", p->label, s->key);
    uint64_t need = (uint64_t)s->numel * (uint64_t)dtypes[s->dtype].size; /* checked in check_fits */
    if (need > p->max_storage - p->storage_bytes_read)
        return gc_fail(p->err, GC_ERR_LIMIT,
                       "%s: storages total more than %llu bytes (twice the weight limit)",
                       p->label, (unsigned long long)p->max_storage);
    if (p->borrow && (s->data = zip_stored_entry(&p->dir, p->zip, s->zindex, need))) {
        s->in_place = 1;
        p->storage_bytes_read += need;
        *data = s->data;
        return GC_OK;
    }
    if (need > SIZE_MAX || !(s->owned = malloc((size_t)need)))
        return gc_fail(p->err, GC_ERR_NOMEM, "%s: out of memory reading storage '%s'", p->label, s->key);
    gc_status st = read_zip_entry(p, s->zindex, s->key, s->owned, need);
    if (st)
        return st;
    p->storage_bytes_read += need;
    *data = s->data = s->owned;
    return GC_OK;
}

/* ---- tensors ------------------------------------------------------------ */

typedef struct tview {
    size_t storage;
    int64_t offset, numel;
    int ndim;
    int64_t size[GC_MAX_DIMS], stride[GC_MAX_DIMS];
} tview;

static int is_tensor(const pk_value *v)
{
    if (!v || v->kind != PK_CALL)
        return 0;
    int t = v->u.call.func->u.global.tag;
    return t == FN_REBUILD_V2 || t == FN_REBUILD || t == FN_PARAMETER;
}

static int int_tuple(const pk_value *v, int n, int64_t *out)
{
    if (v->kind != PK_TUPLE || v->u.seq.n != (size_t)n)
        return 0;
    for (int i = 0; i < n; i++) {
        const pk_value *x = v->u.seq.v[i];
        if (x->kind != PK_INT || x->u.i < 0)
            return 0;
        out[i] = x->u.i;
    }
    return 1;
}

static gc_status view_of(pth *p, const pk_value *v, const char *name, int depth, tview *tv)
{
    const pk_value *args = v->u.call.args;
    const pk_value *const *a = (const pk_value *const *)args->u.seq.v;
    size_t n = args->u.seq.n;
    int tag = v->u.call.func->u.global.tag;
    if (tag == FN_PARAMETER) { /* (tensor, requires_grad, backward_hooks) */
        if (n < 1 || !is_tensor(a[0]) || depth > 0)
            return gc_fail(p->err, GC_ERR_FORMAT, "%s: tensor '%s': malformed parameter", p->label, name);
        return view_of(p, a[0], name, depth + 1, tv);
    }
    if (tag == FN_REBUILD_V2 ? (n != 6 && n != 7) : n != 4)
        return gc_fail(p->err, GC_ERR_FORMAT, "%s: tensor '%s': %zu arguments to %s", p->label, name, n,
                       v->u.call.func->u.global.name);
    if (a[0]->kind != PK_PERSID)
        return gc_fail(p->err, GC_ERR_FORMAT, "%s: tensor '%s' has no storage", p->label, name);
    if (a[2]->kind == PK_TUPLE && a[2]->u.seq.n > GC_MAX_DIMS)
        return gc_fail(p->err, GC_ERR_UNSUPPORTED, "%s: tensor '%s' has %zu dimensions (at most %d)",
                       p->label, name, a[2]->u.seq.n, GC_MAX_DIMS);
    tv->storage = (size_t)(uintptr_t)a[0]->u.persid.user;
    tv->ndim = a[2]->kind == PK_TUPLE ? (int)a[2]->u.seq.n : -1;
    if (a[1]->kind != PK_INT || a[1]->u.i < 0 || tv->ndim < 0 || !int_tuple(a[2], tv->ndim, tv->size) ||
        !int_tuple(a[3], tv->ndim, tv->stride))
        return gc_fail(p->err, GC_ERR_FORMAT, "%s: tensor '%s' has a malformed offset, size or stride",
                       p->label, name);
    tv->offset = a[1]->u.i;

    /* numel and extent (1 + the farthest element's index), overflow-checked */
    int64_t numel = 1, extent = 1;
    for (int d = 0; d < tv->ndim; d++)
        if (__builtin_mul_overflow(numel, tv->size[d], &numel))
            goto too_big;
    for (int d = 0; d < tv->ndim && numel; d++) {
        int64_t span;
        if (__builtin_mul_overflow(tv->size[d] - 1, tv->stride[d], &span) ||
            __builtin_add_overflow(extent, span, &extent))
            goto too_big;
    }
    if (!numel)
        extent = 0;
    tv->numel = numel;
    const storage *s = &p->st[tv->storage];
    int64_t end;
    if (__builtin_add_overflow(tv->offset, extent, &end) || end > s->numel)
        return gc_fail(p->err, GC_ERR_FORMAT,
                       "%s: tensor '%s' reaches past its storage (offset %lld + extent %lld > %lld elements)",
                       p->label, name, (long long)tv->offset, (long long)extent, (long long)s->numel);
    return GC_OK;
too_big:
    return gc_fail(p->err, GC_ERR_LIMIT, "%s: tensor '%s' is impossibly large", p->label, name);
}

/* Whether the view is C-contiguous (size-1 dimensions have any stride). */
static int dense_view(const tview *tv)
{
    int64_t want = 1;
    for (int d = tv->ndim - 1; d >= 0; d--) {
        if (tv->size[d] != 1 && tv->stride[d] != want)
            return 0;
        want *= tv->size[d];
    }
    return 1;
}

/* Gathers the view into dense C order, walking an odometer over its index. */
static void gather(const tview *tv, int dt, const uint8_t *base, float *out)
{
    int64_t idx[GC_MAX_DIMS] = {0};
    int64_t src = tv->offset;
    size_t es = (size_t)dtypes[dt].size;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* the common case, dense float32, is a plain copy */
    if (dt == GC_DT_F32 && dense_view(tv)) {
        memcpy(out, base + (size_t)src * es, (size_t)tv->numel * sizeof(float));
        return;
    }
#endif
    for (int64_t i = 0; i < tv->numel; i++) {
        out[i] = gc_dtype_element(dt, base + (size_t)src * es);
        for (int d = tv->ndim - 1; d >= 0; d--) {
            if (++idx[d] < tv->size[d]) {
                src += tv->stride[d];
                break;
            }
            src -= tv->stride[d] * (tv->size[d] - 1);
            idx[d] = 0;
        }
    }
}

static gc_status make_tensor(pth *p, const pk_value *v, const char *key, size_t keylen,
                             uint64_t *total, gc_sd_tensor *t)
{
    char name[160];
    pk_printable(key, keylen, name, sizeof name);
    tview tv;
    gc_status st = view_of(p, v, name, 0, &tv);
    if (st)
        return st;
    uint64_t bytes = (uint64_t)tv.numel * sizeof(float);
    if (bytes > p->max_output - *total)
        return gc_fail(p->err, GC_ERR_LIMIT,
                       "%s: tensors total more than %llu bytes as float32 (the weight limit)",
                       p->label, (unsigned long long)p->max_output);
    *total += bytes;
    storage *s = &p->st[tv.storage];
    const uint8_t *data = NULL;
    if ((st = storage_data(p, s, &data)))
        return st;

    const char *strip = key; /* DataParallel's prefix, once per wrapper */
    while (keylen - (size_t)(strip - key) >= 7 && !memcmp(strip, "module.", 7))
        strip += 7;
    t->name = strndup(strip, keylen - (size_t)(strip - key));
    /* A dense float32 tensor covering its whole zip storage takes the
     * storage's buffer instead of a copy: loading then holds each weight
     * once, not twice. Later views of the storage still read it there. A
     * storage in place in a mapped file is borrowed where it is aligned. */
    int whole = (s->owned || (s->in_place && (uintptr_t)s->data % sizeof(float) == 0)) &&
                s->dtype == GC_DT_F32 && tv.offset == 0 && tv.numel == s->numel && tv.numel > 0 &&
                dense_view(&tv);
#if !(defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
    whole = 0;
#endif
    if (whole && s->in_place) {
        t->data = (float *)(uintptr_t)s->data;
        t->borrowed = 1;
    } else if (whole) {
        t->data = (float *)(void *)s->owned;
        s->owned = NULL;
    } else {
        t->data = malloc(tv.numel ? (size_t)bytes : 1);
    }
    if (!t->name || !t->data)
        return gc_fail(p->err, GC_ERR_NOMEM, "%s: out of memory for tensor '%s'", p->label, name);
    t->ndim = tv.ndim;
    t->numel = tv.numel;
    memcpy(t->shape, tv.size, sizeof(int64_t) * (size_t)tv.ndim);
    if (tv.numel && !whole)
        gather(&tv, s->dtype, data, t->data);
    return GC_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const gc_sd_tensor *)a)->name, ((const gc_sd_tensor *)b)->name);
}

/* A bare state_dict, or one nested in a training checkpoint. */
static gc_status to_state_dict(pth *p, const pk_value *root, gc_state_dict *out)
{
    if (root->kind != PK_DICT)
        return gc_fail(p->err, GC_ERR_UNSUPPORTED, "%s: the checkpoint holds a %s, not a dict of tensors",
                       p->label, pk_kind_name(root->kind));
    const pk_value *sd = root;
    static const char *const nests[] = {"state_dict", "model_state_dict", "model"};
    for (size_t i = 0; i < sizeof nests / sizeof *nests; i++) {
        const pk_value *v = pk_dict_get(root, nests[i]);
        if (v && v->kind == PK_DICT) {
            sd = v;
            break;
        }
    }
    size_t n = 0;
    for (size_t i = 0; i < sd->u.dict.n; i++)
        n += is_tensor(sd->u.dict.v[i]);
    if (!n)
        return gc_fail(p->err, GC_ERR_UNSUPPORTED,
                       "%s: no tensors found (expected a state_dict: a dict of name -> tensor)", p->label);
    out->tensors = gc_calloc(n, sizeof *out->tensors, p->err);
    if (!out->tensors)
        return GC_ERR_NOMEM;

    uint64_t total = 0;
    for (size_t i = 0; i < sd->u.dict.n; i++) {
        const pk_value *k = sd->u.dict.k[i], *v = sd->u.dict.v[i];
        if (!is_tensor(v))
            continue; /* _metadata-like extras, ints, None */
        if (k->kind != PK_STR)
            return gc_fail(p->err, GC_ERR_FORMAT, "%s: a tensor is keyed by a %s, not a name",
                           p->label, pk_kind_name(k->kind));
        gc_status st = make_tensor(p, v, k->u.s.p, k->u.s.len, &total, &out->tensors[out->count++]);
        if (st)
            return st;
    }

    /* names must be unique (also after stripping "module."); sort a copy */
    gc_sd_tensor *sorted = malloc(n * sizeof *sorted);
    if (!sorted)
        return gc_fail(p->err, GC_ERR_NOMEM, "%s: out of memory", p->label);
    memcpy(sorted, out->tensors, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, by_name);
    gc_status st = GC_OK;
    for (size_t i = 1; i < n && !st; i++) {
        if (!strcmp(sorted[i - 1].name, sorted[i].name)) {
            char pn[160];
            st = gc_fail(p->err, GC_ERR_FORMAT, "%s: two tensors are named '%s'", p->label,
                         pk_printable(sorted[i].name, strlen(sorted[i].name), pn, sizeof pn));
        }
    }
    free(sorted);
    return st;
}

/* ---- containers --------------------------------------------------------- */

static pk_config config(pth *p)
{
    pk_config c = {0};
    c.resolve = resolve;
    c.persistent_load = persistent_load;
    c.ctx = p;
    c.label = p->label;
    c.deny_hint = DENY_HINT;
    return c;
}

static gc_status read_entry(pth *p, zip_int64_t index, const char *name, size_t max, uint8_t **buf, size_t *len)
{
    zip_stat_t sb;
    if (zip_stat_index(p->zip, (zip_uint64_t)index, 0, &sb) || !(sb.valid & ZIP_STAT_SIZE))
        return zip_fail(p, name, zip_strerror(p->zip));
    if (sb.size > max)
        return gc_fail(p->err, GC_ERR_LIMIT, "%s: '%s' is %llu bytes, more than the %zu allowed",
                       p->label, name, (unsigned long long)sb.size, max);
    *len = (size_t)sb.size;
    if (!(*buf = malloc(*len ? *len : 1)))
        return gc_fail(p->err, GC_ERR_NOMEM, "%s: out of memory reading '%s'", p->label, name);
    return read_zip_entry(p, index, name, *buf, *len);
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && !memcmp(s + n - k, suffix, k);
}

static gc_status load_zip(pth *p, const uint8_t *buf, size_t len, pk_heap *heap, pk_value **root)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(buf, len, 0, &ze);
    if (src && !(p->zip = zip_open_from_source(src, ZIP_RDONLY, &ze)))
        zip_source_free(src);
    if (!p->zip) {
        gc_status st = gc_fail(p->err, GC_ERR_FORMAT, "%s: not a valid zip archive (%s)", p->label,
                               zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return st;
    }
    zip_error_fini(&ze);

    /* the folder is wherever data.pkl is, one level down */
    zip_int64_t count = zip_get_num_entries(p->zip, 0), pkl = -1;
    const char *pkl_name = NULL;
    for (zip_int64_t i = 0; i < count; i++) {
        const char *name = zip_get_name(p->zip, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
        size_t n = name ? strlen(name) : 0;
        if (!ends_with(name, n, "data.pkl"))
            continue;
        const char *slash = memchr(name, '/', n - 8);
        if (n != 8 && !(slash && slash == name + n - 9))
            continue;
        if (pkl >= 0)
            return gc_fail(p->err, GC_ERR_FORMAT, "%s: zip archive holds two data.pkl entries", p->label);
        pkl = i;
        pkl_name = name;
    }
    if (pkl < 0)
        return gc_fail(p->err, GC_ERR_FORMAT, "%s: zip archive without data.pkl, not a torch.save checkpoint",
                       p->label);
    size_t plen = strlen(pkl_name) - 8;
    if (!(p->prefix = strndup(pkl_name, plen)))
        return gc_fail(p->err, GC_ERR_NOMEM, "%s: out of memory", p->label);

    char *path = malloc(plen + 32);
    if (!path)
        return gc_fail(p->err, GC_ERR_NOMEM, "%s: out of memory", p->label);
    sprintf(path, "%sconstants.pkl", p->prefix);
    int torchscript = zip_name_locate(p->zip, path, ZIP_FL_ENC_RAW) >= 0;
    sprintf(path, "%sbyteorder", p->prefix);
    zip_int64_t bo = zip_name_locate(p->zip, path, ZIP_FL_ENC_RAW);
    free(path);
    if (torchscript)
        return gc_fail(p->err, GC_ERR_UNSUPPORTED,
                       "%s: a TorchScript archive (torch.jit.save); save model.state_dict() with torch.save instead",
                       p->label);
    uint8_t *data = NULL;
    size_t dlen;
    gc_status st = GC_OK;
    if (bo >= 0) {
        st = read_entry(p, bo, "byteorder", 64, &data, &dlen);
        if (!st && dlen == 3 && !memcmp(data, "big", 3))
            st = gc_fail(p->err, GC_ERR_UNSUPPORTED, "%s: big-endian checkpoint, not supported", p->label);
        free(data);
        data = NULL;
        if (st)
            return st;
    }
    if ((st = read_entry(p, pkl, "data.pkl", GC_PTH_MAX_PICKLE, &data, &dlen))) {
        free(data);
        return st;
    }
    char *label = malloc(strlen(p->label) + 16);
    if (!label) {
        free(data);
        return gc_fail(p->err, GC_ERR_NOMEM, "%s: out of memory", p->label);
    }
    sprintf(label, "%s: data.pkl", p->label); /* offsets are within data.pkl */
    pk_config cfg = config(p);
    cfg.label = label;
    size_t pos = 0;
    st = pk_load(&cfg, heap, data, dlen, &pos, root, p->err);
    free(label);
    free(data);
    return st;
}

/* 0x1950a86a20f9469cfc6c, as the little-endian bytes LONG1 carries */
static const uint8_t legacy_magic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

static gc_status load_legacy(pth *p, const uint8_t *buf, size_t len, pk_heap *heap, pk_value **root)
{
    pk_config cfg = config(p);
    size_t pos = 0;
    pk_value *v;
    gc_status st = pk_load(&cfg, heap, buf, len, &pos, &v, p->err);
    if (st)
        return st;
    if (v->kind != PK_BIGINT || v->u.s.len != sizeof legacy_magic ||
        memcmp(v->u.s.p, legacy_magic, sizeof legacy_magic))
        return gc_fail(p->err, GC_ERR_FORMAT, "%s: a pickle, but not a torch.save checkpoint (no magic number)",
                       p->label);
    if ((st = pk_load(&cfg, heap, buf, len, &pos, &v, p->err)))
        return st;
    if (v->kind != PK_INT || v->u.i != 1001)
        return gc_fail(p->err, GC_ERR_UNSUPPORTED, "%s: legacy checkpoint protocol is not 1001", p->label);
    if ((st = pk_load(&cfg, heap, buf, len, &pos, &v, p->err)))
        return st;
    const pk_value *le = pk_dict_get(v, "little_endian");
    if (v->kind != PK_DICT || (le && le->kind == PK_BOOL && !le->u.i))
        return gc_fail(p->err, GC_ERR_UNSUPPORTED, "%s: big-endian or unknown legacy checkpoint", p->label);
    if ((st = pk_load(&cfg, heap, buf, len, &pos, root, p->err)) ||
        (st = pk_load(&cfg, heap, buf, len, &pos, &v, p->err)))
        return st;
    if (v->kind != PK_LIST)
        return gc_fail(p->err, GC_ERR_FORMAT, "%s: legacy storage key list is a %s", p->label,
                       pk_kind_name(v->kind));

    /* then, in key-list order: int64 element count, raw bytes */
    char pk[64];
    for (size_t i = 0; i < v->u.seq.n; i++) {
        const pk_value *k = v->u.seq.v[i];
        long idx = k->kind == PK_STR && strlen(k->u.s.p) == k->u.s.len ? find_storage(p, k->u.s.p) : -1;
        if (idx < 0)
            return gc_fail(p->err, GC_ERR_FORMAT, "%s: data section names a storage the pickle never used",
                           p->label);
        storage *s = &p->st[idx];
        const char *key = pk_printable(s->key, strlen(s->key), pk, sizeof pk);
        if (s->data)
            return gc_fail(p->err, GC_ERR_FORMAT, "%s: storage '%s' appears twice in the data section", p->label, key);
        if (len - pos < 8)
            return gc_fail(p->err, GC_ERR_FORMAT, "%s: truncated storage '%s' at byte %zu", p->label, key, pos);
        uint64_t count = 0;
        for (int b = 7; b >= 0; b--)
            count = (count << 8) | buf[pos + (size_t)b];
        pos += 8;
        if (count != (uint64_t)s->numel)
            return gc_fail(p->err, GC_ERR_FORMAT, "%s: storage '%s' holds %llu elements, the pickle declared %lld",
                           p->label, key, (unsigned long long)count, (long long)s->numel);
        if ((st = check_fits(p, s, len - pos)))
            return st;
        s->data = buf + pos;
        pos += (size_t)s->numel * (size_t)dtypes[s->dtype].size;
    }
    for (size_t i = 0; i < p->nst; i++)
        if (!p->st[i].data && p->st[i].numel)
            return gc_fail(p->err, GC_ERR_FORMAT, "%s: storage '%s' has no data in the file", p->label,
                           pk_printable(p->st[i].key, strlen(p->st[i].key), pk, sizeof pk));
    return GC_OK;
}

gc_status gc_pth_load_memory(const void *data, size_t len, const char *label,
                             const gc_limits *lim, int borrow, gc_state_dict *out, gc_error *err)
{
    const uint8_t *buf = data;
    pth p = {.label = label ? label : "checkpoint", .err = err, .borrow = borrow,
             .dir = {.buf = buf, .len = len}};
    gc_error local;
    if (!p.err)
        p.err = &local;
    if (!out)
        return gc_fail(err, GC_ERR_USAGE, "%s: no output state_dict", p.label);
    memset(out, 0, sizeof *out);
    gc_limits l;
    if (gc_limits_resolve(lim, p.label, &l, err))
        return GC_ERR_USAGE;
    p.max_output = (uint64_t)l.max_weight_bytes;
    p.max_storage = gc_limits_storage_bytes(&l);
    if (!buf && len)
        return gc_fail(err, GC_ERR_USAGE, "%s: no data", p.label);
    if (!len)
        return gc_fail(err, GC_ERR_FORMAT, "%s: empty file (0 bytes), not a PyTorch checkpoint", p.label);

    int zip = len >= 4 && buf[0] == 'P' && buf[1] == 'K' &&
              ((buf[2] == 3 && buf[3] == 4) || (buf[2] == 5 && buf[3] == 6));
    if (!zip && buf[0] != 0x80) {
        if (len >= 262 && !memcmp(buf + 257, "ustar", 5))
            return gc_fail(err, GC_ERR_UNSUPPORTED, "%s: tar-format checkpoint (torch < 0.4), not supported", p.label);
        return gc_fail(err, GC_ERR_FORMAT,
                       "%s: not a PyTorch checkpoint (neither a zip archive nor a legacy pickle)", p.label);
    }
    pk_heap *heap = pk_heap_new(0, p.err);
    if (!heap)
        return GC_ERR_NOMEM;
    pk_value *root = NULL;
    gc_status st = zip ? load_zip(&p, buf, len, heap, &root) : load_legacy(&p, buf, len, heap, &root);
    if (!st)
        st = to_state_dict(&p, root, out);

    for (size_t i = 0; i < p.nst; i++) {
        free(p.st[i].key);
        free(p.st[i].owned);
    }
    free(p.st);
    free(p.slots);
    free(p.prefix);
    zip_directory_free(&p.dir);
    if (p.zip)
        zip_discard(p.zip);
    pk_heap_free(heap);
    return gc_sd_finish(out, st, data, len, err);
}

gc_status gc_pth_load(const char *path, const gc_limits *lim, gc_state_dict *out,
                      gc_error *err)
{
    /* mapped, not read: reading copied the whole file once more into
     * fresh memory, a sixth of `gradcam explain`'s time on one photo; and
     * stored weights are then used where they lie in the mapping */
    return gc_sd_load_file(path, "PyTorch checkpoint", lim, gc_pth_load_memory, out, err);
}
