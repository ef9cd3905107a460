/* safetensors.c — reads a .safetensors file into a gc_state_dict.
 *
 * Layout: u64 little-endian N; N bytes of UTF-8 JSON, an object mapping each
 * tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
 * relative to the first byte after the header), plus an optional
 * "__metadata__" entry; then the data, little-endian, C order. The header
 * is parsed by cJSON; everything it says is checked against the file before
 * a byte of data is read: integer shapes and offsets, sizes that match the
 * dtype, ranges inside the file that never overlap, names that are unique.
 *
 * Not here: writing, the metadata (ignored), dtypes beyond the ten torch
 * state_dicts use (F8, U16..U64, complex are refused by name), and
 * zero-copy: every tensor is converted into a float32 buffer of its own. */
#include "loaders/safetensors.h"
#include "core/file.h"
#include "core/limits.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "loaders/dtype.h"

/* Integers in the header arrive as JSON numbers, which cJSON keeps as
 * doubles: above 2^53 they are no longer exact, so they are refused. */
#define MAX_EXACT 9007199254740992.0

static const struct { const char *name; int size; } dtypes[GC_DT_COUNT] = {
    [GC_DT_F32] = {"F32", 4}, [GC_DT_F64] = {"F64", 8}, [GC_DT_F16] = {"F16", 2}, [GC_DT_BF16] = {"BF16", 2},
    [GC_DT_I64] = {"I64", 8}, [GC_DT_I32] = {"I32", 4}, [GC_DT_I16] = {"I16", 2}, [GC_DT_I8] = {"I8", 1},
    [GC_DT_U8] = {"U8", 1},   [GC_DT_BOOL] = {"BOOL", 1},
};

typedef struct st_ctx {
    const char *label;
    gc_error *err;
    uint64_t max_output; /* float32 bytes, from the caller's limits */
    int borrow;          /* the buffer outlives the state_dict (a mapped file) */
} st_ctx;

/* A name from the file, made safe to quote in a one-line message. */
static const char *printable(const char *s, char *buf, size_t cap)
{
    size_t i = 0;
    for (; s && s[i] && i + 4 < cap; i++)
        buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    if (s && s[i])
        memcpy(buf + i, "...", 3), i += 3;
    buf[i] = 0;
    return buf;
}

int gc_safetensors_sniff(const void *head, size_t n)
{
    const unsigned char *h = head;
    if (!h || n < 9)
        return 0;
    uint64_t len = 0;
    for (int b = 7; b >= 0; b--)
        len = (len << 8) | h[b];
    /* below 2^32 (four zero bytes) as well: the first bytes of an ONNX
     * protobuf or a zip never read as such a small number */
    return len >= 2 && len < ((uint64_t)1 << 32) && h[8] == '{';
}

int gc_safetensors_sniff_file(const char *path)
{
    unsigned char head[9];
    FILE *f = path ? fopen(path, "rb") : NULL;
    size_t n = f ? fread(head, 1, sizeof head, f) : 0;
    if (f)
        fclose(f);
    return gc_safetensors_sniff(head, n);
}

/* ---- header fields ------------------------------------------------------ */

/* A JSON number that is an exact non-negative integer below 2^53. */
static int as_count(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v))
        return 0;
    double d = v->valuedouble;
    if (!(d >= 0 && d < MAX_EXACT) || d != floor(d))
        return 0;
    *out = (uint64_t)d;
    return 1;
}

static int dtype_of(const char *s)
{
    for (int i = 0; i < GC_DT_COUNT; i++)
        if (!strcmp(s, dtypes[i].name))
            return i;
    return -1;
}

/* What one header entry says, validated except for overlaps. */
typedef struct entry {
    const char *name; /* within the cJSON tree; every leading "module." skipped */
    int dtype, ndim;
    int64_t shape[GC_MAX_DIMS], numel;
    uint64_t begin, end;
} entry;

static gc_status parse_entry(st_ctx *c, const cJSON *item, uint64_t data_len, entry *e)
{
    char pn[128];
    const char *name = printable(item->string, pn, sizeof pn);
    if (!cJSON_IsObject(item))
        return gc_fail(c->err, GC_ERR_FORMAT, "%s: tensor '%s' is not a JSON object", c->label, name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!cJSON_IsString(dt) || !cJSON_IsArray(shape) || !cJSON_IsArray(offs))
        return gc_fail(c->err, GC_ERR_FORMAT,
                       "%s: tensor '%s' lacks a string \"dtype\", an array \"shape\" or an array \"data_offsets\"",
                       c->label, name);
    if ((e->dtype = dtype_of(dt->valuestring)) < 0) {
        char pd[32];
        return gc_fail(c->err, GC_ERR_UNSUPPORTED, "%s: tensor '%s' has dtype '%s', not supported "
                       "(F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL are)",
                       c->label, name, printable(dt->valuestring, pd, sizeof pd));
    }
    int nd = cJSON_GetArraySize(shape);
    if (nd > GC_MAX_DIMS)
        return gc_fail(c->err, GC_ERR_UNSUPPORTED, "%s: tensor '%s' has %d dimensions, at most %d are supported",
                       c->label, name, nd, GC_MAX_DIMS);
    e->ndim = nd;
    int i = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, shape) {
        uint64_t n;
        if (!as_count(d, &n))
            return gc_fail(c->err, GC_ERR_FORMAT, "%s: tensor '%s': shape entry %d is not a non-negative integer",
                           c->label, name, i);
        e->shape[i++] = (int64_t)n;
    }
    /* a non-empty tensor's bytes must fit in the data, so the product is
     * checked against that as it grows and cannot overflow */
    uint64_t numel = 1, size = (uint64_t)dtypes[e->dtype].size;
    for (i = 0; i < nd && numel; i++)
        if (!e->shape[i])
            numel = 0;
    for (i = 0; i < nd && numel; i++) {
        if (numel > data_len / size / (uint64_t)e->shape[i])
            return gc_fail(c->err, GC_ERR_FORMAT, "%s: tensor '%s': shape needs more bytes than the file holds",
                           c->label, name);
        numel *= (uint64_t)e->shape[i];
    }
    if (numel * size > data_len)
        return gc_fail(c->err, GC_ERR_FORMAT, "%s: tensor '%s': shape needs more bytes than the file holds",
                       c->label, name);
    e->numel = (int64_t)numel;
    uint64_t b, en;
    if (cJSON_GetArraySize(offs) != 2 || !as_count(cJSON_GetArrayItem(offs, 0), &b) ||
        !as_count(cJSON_GetArrayItem(offs, 1), &en))
        return gc_fail(c->err, GC_ERR_FORMAT, "%s: tensor '%s': data_offsets is not two non-negative integers",
                       c->label, name);
    if (b > en || en > data_len)
        return gc_fail(c->err, GC_ERR_FORMAT,
                       "%s: tensor '%s': data_offsets [%llu, %llu] outside the %llu data bytes",
                       c->label, name, (unsigned long long)b, (unsigned long long)en,
                       (unsigned long long)data_len);
    if (en - b != (uint64_t)e->numel * size)
        return gc_fail(c->err, GC_ERR_FORMAT,
                       "%s: tensor '%s': %llu data bytes, but shape and dtype %s need %llu",
                       c->label, name, (unsigned long long)(en - b), dtypes[e->dtype].name,
                       (unsigned long long)((uint64_t)e->numel * size));
    e->begin = b, e->end = en;
    const char *s = item->string;
    while (!strncmp(s, "module.", 7)) /* DataParallel's prefix, once per wrapper */
        s += 7;
    e->name = s;
    return GC_OK;
}

/* ---- data --------------------------------------------------------------- */

static void convert(int dt, const uint8_t *src, int64_t n, float *out)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (dt == GC_DT_F32) {
        memcpy(out, src, (size_t)n * sizeof(float));
        return;
    }
#endif
    size_t es = (size_t)dtypes[dt].size;
    for (int64_t i = 0; i < n; i++)
        out[i] = gc_dtype_element(dt, src + (size_t)i * es);
}

static int by_begin(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end > y->end) - (x->end < y->end);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

/* Overlapping ranges and repeated names (cJSON keeps duplicate keys, and
 * "module.x" repeats "x"), found by sorting a copy twice. */
static gc_status check_entries(st_ctx *c, entry *e, size_t n)
{
    qsort(e, n, sizeof *e, by_begin);
    char pa[128], pb[128];
    uint64_t last_end = 0;
    const char *last = NULL;
    for (size_t i = 0; i < n; i++) {
        if (e[i].begin == e[i].end)
            continue; /* empty tensors own no bytes */
        if (last && e[i].begin < last_end)
            return gc_fail(c->err, GC_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap in the data", c->label,
                           printable(last, pa, sizeof pa), printable(e[i].name, pb, sizeof pb));
        last_end = e[i].end, last = e[i].name;
    }
    qsort(e, n, sizeof *e, by_name);
    for (size_t i = 1; i < n; i++)
        if (!strcmp(e[i - 1].name, e[i].name))
            return gc_fail(c->err, GC_ERR_FORMAT, "%s: two tensors are named '%s'", c->label,
                           printable(e[i].name, pa, sizeof pa));
    return GC_OK;
}

/* ---- the file ----------------------------------------------------------- */

static gc_status parse(st_ctx *c, const uint8_t *buf, size_t len, cJSON **root, gc_state_dict *out)
{
    if (len < 8)
        return gc_fail(c->err, GC_ERR_FORMAT, "%s: %zu bytes, too short for a safetensors header length",
                       c->label, len);
    uint64_t hlen = 0;
    for (int b = 7; b >= 0; b--)
        hlen = (hlen << 8) | buf[b];
    if (hlen > GC_ST_MAX_HEADER)
        return gc_fail(c->err, GC_ERR_LIMIT, "%s: header of %llu bytes, more than the %llu allowed", c->label,
                       (unsigned long long)hlen, (unsigned long long)GC_ST_MAX_HEADER);
    if (hlen > len - 8)
        return gc_fail(c->err, GC_ERR_FORMAT, "%s: header of %llu bytes runs past the end of the file (%zu bytes)",
                       c->label, (unsigned long long)hlen, len);
    const char *h = (const char *)buf + 8;
    if (hlen < 2 || h[0] != '{')
        return gc_fail(c->err, GC_ERR_FORMAT, "%s: header is not a JSON object", c->label);
    if (memchr(h, 0, (size_t)hlen))
        return gc_fail(c->err, GC_ERR_FORMAT, "%s: header holds a NUL byte", c->label);
    const char *end = NULL;
    *root = cJSON_ParseWithLengthOpts(h, (size_t)hlen, &end, 0);
    if (!*root) {
        /* the error position comes back in end; cJSON_GetErrorPtr() is a
         * global other threads may be writing */
        long off = end && end >= h && end <= h + hlen ? (long)(end - h) : -1;
        return gc_fail(c->err, GC_ERR_FORMAT, "%s: header is not valid JSON (near byte %ld)", c->label, off);
    }
    /* writers pad the header with spaces to align the data */
    for (const char *p = end; p && p < h + hlen; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            return gc_fail(c->err, GC_ERR_FORMAT, "%s: header has bytes after its JSON object", c->label);
    if (!cJSON_IsObject(*root))
        return gc_fail(c->err, GC_ERR_FORMAT, "%s: header is not a JSON object", c->label);

    const uint8_t *data = buf + 8 + hlen;
    uint64_t data_len = len - 8 - hlen;
    size_t n = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, *root)
        n += strcmp(item->string, "__metadata__") != 0;
    if (!n)
        return gc_fail(c->err, GC_ERR_FORMAT, "%s: no tensors in the file", c->label);
    entry *e = gc_calloc(n, sizeof *e, c->err);
    if (!e)
        return GC_ERR_NOMEM;
    gc_status st = GC_OK;
    size_t k = 0;
    uint64_t total = 0;
    cJSON_ArrayForEach(item, *root) {
        if (!strcmp(item->string, "__metadata__"))
            continue;
        if ((st = parse_entry(c, item, data_len, &e[k])))
            break;
        total += (uint64_t)e[k].numel * sizeof(float); /* each below the file size */
        if (total > c->max_output) {
            st = gc_fail(c->err, GC_ERR_LIMIT,
                         "%s: tensors total more than %llu bytes as float32 (the weight limit)",
                         c->label, (unsigned long long)c->max_output);
            break;
        }
        k++;
    }
    if (!st)
        st = check_entries(c, e, n);
    if (!st && !(out->tensors = gc_calloc(n, sizeof *out->tensors, c->err)))
        st = GC_ERR_NOMEM;
    for (size_t i = 0; !st && i < n; i++) {
        gc_sd_tensor *t = &out->tensors[out->count++];
        const uint8_t *src = data + e[i].begin;
        t->name = strdup(e[i].name);
        /* Float32 data of a mapped file is used where it lies when it is
         * aligned (writers pad the header to 8 bytes): the weights are then
         * held once, in the page cache, not copied. */
        int lend = c->borrow && e[i].dtype == GC_DT_F32 && e[i].numel > 0 &&
                   (uintptr_t)src % sizeof(float) == 0;
#if !(defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
        lend = 0;
#endif
        if (lend)
            t->data = (float *)(uintptr_t)src, t->borrowed = 1;
        else
            t->data = malloc(e[i].numel ? (size_t)e[i].numel * sizeof(float) : 1);
        if (!t->name || !t->data) {
            st = gc_fail(c->err, GC_ERR_NOMEM, "%s: out of memory for tensor '%s'", c->label,
                         t->name ? t->name : "?");
            break;
        }
        t->ndim = e[i].ndim;
        t->numel = e[i].numel;
        memcpy(t->shape, e[i].shape, sizeof(int64_t) * (size_t)e[i].ndim);
        if (!t->borrowed)
            convert(e[i].dtype, src, e[i].numel, t->data);
    }
    free(e);
    return st;
}

gc_status gc_safetensors_load_memory(const void *buf, size_t len, const char *label,
                                     const gc_limits *lim, int borrow, gc_state_dict *out,
                                     gc_error *err)
{
    gc_error local;
    st_ctx c = {.label = label ? label : "safetensors", .err = err ? err : &local, .borrow = borrow};
    if (!out)
        return gc_fail(err, GC_ERR_USAGE, "%s: no output state_dict", c.label);
    memset(out, 0, sizeof *out);
    gc_limits l;
    if (gc_limits_resolve(lim, c.label, &l, err))
        return GC_ERR_USAGE;
    c.max_output = (uint64_t)l.max_weight_bytes;
    if (!buf && len)
        return gc_fail(err, GC_ERR_USAGE, "%s: no data", c.label);
    cJSON *root = NULL;
    gc_status st = parse(&c, buf, len, &root, out);
    cJSON_Delete(root);
    return gc_sd_finish(out, st, buf, len, err);
}

gc_status gc_safetensors_load(const char *path, const gc_limits *lim, gc_state_dict *out,
                              gc_error *err)
{
    return gc_sd_load_file(path, "safetensors file", lim, gc_safetensors_load_memory, out, err);
}
