/* onnx.c — loading an ONNX model (a protobuf ModelProto) into the graph.
 *
 * The protobuf itself is decoded by protobuf-c with bindings generated from
 * onnx.proto at build time; a truncated or malformed file fails there. This
 * file then checks what protobuf cannot: opset range, initializer sizes,
 * external data paths and bounds, the one image input, topological order
 * (a cycle or an input nobody produces is an error naming the tensor), and
 * every node's shape at the declared input size as it is added.
 *
 * Deliberately not handled: control flow (If/Loop), sequences, sparse or
 * quantized tensors, operators outside the default domain, more than one
 * image input. */
#include "loaders/onnx.h"
#include "loaders/onnx_internal.h"
#include "loaders/dtype.h"
#include "core/limits.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FILE ((size_t)2 << 30)     /* protobuf's own limit             */
#define MAX_ELEMS ((int64_t)2 << 30)   /* one constant; the weight limit caps
                                          floats in all, this int64 ones  */

gc_status onnx_fail(onnx_loader *L, gc_status st, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (L->cur)
        return gc_fail(L->err, st, "%s: node '%s' (%s): %s", L->path,
                       L->cur->name && *L->cur->name ? L->cur->name : "?",
                       L->cur->op_type ? L->cur->op_type : "?", msg);
    return gc_fail(L->err, st, "%s: %s", L->path, msg);
}

/* ---- the value table ---------------------------------------------------- */

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

value *onnx_get(onnx_loader *L, const char *name)
{
    if (!L->vcap || !name)
        return NULL;
    for (size_t i = hash(name) & (L->vcap - 1);; i = (i + 1) & (L->vcap - 1)) {
        if (!L->vals[i].name)
            return NULL;
        if (strcmp(L->vals[i].name, name) == 0)
            return &L->vals[i];
    }
}

static gc_status grow(onnx_loader *L)
{
    size_t cap = L->vcap ? 2 * L->vcap : 1024;
    value *nv = calloc(cap, sizeof *nv);
    if (!nv)
        return onnx_fail(L, GC_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < L->vcap; j++) {
        if (!L->vals[j].name)
            continue;
        size_t i = hash(L->vals[j].name) & (cap - 1);
        while (nv[i].name)
            i = (i + 1) & (cap - 1);
        nv[i] = L->vals[j];
    }
    free(L->vals);
    L->vals = nv;
    L->vcap = cap;
    return GC_OK;
}

/* A later definition of a name replaces the earlier one (ONNX forbids it,
 * so only hostile files do this; replacing keeps ownership simple). */
gc_status onnx_put(onnx_loader *L, const value *v)
{
    if (!v->name || !*v->name)
        return GC_OK; /* an unused optional output */
    value *old = onnx_get(L, v->name);
    if (old) {
        free(old->i);
        *old = *v;
        return GC_OK;
    }
    if (2 * (L->vcount + 1) > L->vcap && grow(L))
        return L->err->status;
    size_t i = hash(v->name) & (L->vcap - 1);
    while (L->vals[i].name)
        i = (i + 1) & (L->vcap - 1);
    L->vals[i] = *v;
    L->vcount++;
    return GC_OK;
}

/* Appends a tensor to the model's state_dict, taking ownership of data. */
static gc_status sd_push(onnx_loader *L, const char *name, int ndim, const int64_t *dims,
                         int64_t numel, float *data)
{
    gc_state_dict *sd = &L->m->weights;
    gc_sd_tensor *p = realloc(sd->tensors, sizeof *p * (size_t)(sd->count + 1));
    char *nm = strdup(name ? name : "");
    if (!p || !nm) {
        if (p)
            sd->tensors = p;
        free(nm);
        free(data);
        return onnx_fail(L, GC_ERR_NOMEM, "out of memory");
    }
    sd->tensors = p;
    gc_sd_tensor *t = &p[sd->count++];
    memset(t, 0, sizeof *t);
    t->name = nm;
    t->ndim = ndim;
    for (int k = 0; k < ndim; k++)
        t->shape[k] = dims[k];
    t->numel = numel;
    t->data = data;
    return GC_OK;
}

/* Counts n more floats against the weight limit, before they are
 * allocated: initializers, folded constants and derived copies alike. */
static gc_status charge_floats(onnx_loader *L, const char *name, int64_t n)
{
    uint64_t bytes = (uint64_t)(n > 0 ? n : 0) * sizeof(float);
    if (bytes > L->max_weight_bytes - L->weight_bytes)
        return onnx_fail(L, GC_ERR_LIMIT,
                         "weights total more than %llu bytes as float32 at '%s' "
                         "(the weight limit)",
                         (unsigned long long)L->max_weight_bytes, name ? name : "?");
    L->weight_bytes += bytes;
    return GC_OK;
}

float *onnx_alloc_floats(onnx_loader *L, const char *name, int64_t count)
{
    if (charge_floats(L, name, count))
        return NULL;
    float *f = calloc((size_t)(count > 0 ? count : 1), sizeof *f);
    if (!f) {
        onnx_fail(L, GC_ERR_NOMEM, "out of memory");
        return NULL;
    }
    int64_t dims[1] = {count};
    return sd_push(L, name, 1, dims, count, f) ? NULL : f;
}

static int64_t numel_of(int ndim, const int64_t *dims)
{
    int64_t n = 1;
    for (int k = 0; k < ndim; k++) {
        if (dims[k] < 0 || (dims[k] && n > MAX_ELEMS / dims[k]))
            return -1;
        n *= dims[k];
    }
    return n;
}

gc_status onnx_put_float(onnx_loader *L, const char *name, int ndim, const int64_t *dims,
                         const float *data, value **out)
{
    int64_t n = numel_of(ndim, dims);
    if (n < 0 || ndim > GC_MAX_DIMS)
        return onnx_fail(L, GC_ERR_FORMAT, "constant '%s' has a bad shape", name);
    if (charge_floats(L, name, n))
        return L->err->status;
    float *f = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (!f)
        return onnx_fail(L, GC_ERR_NOMEM, "out of memory");
    if (n)
        memcpy(f, data, sizeof(float) * (size_t)n);
    if (sd_push(L, name, ndim, dims, n, f))
        return L->err->status;
    value v = {.name = name, .kind = V_FLOAT, .ndim = ndim, .numel = n, .f = f};
    for (int k = 0; k < ndim; k++) /* dims may be NULL for a scalar */
        v.dims[k] = dims[k];
    if (onnx_put(L, &v))
        return L->err->status;
    if (out)
        *out = onnx_get(L, name);
    return GC_OK;
}

gc_status onnx_put_int(onnx_loader *L, const char *name, int ndim, const int64_t *dims,
                       const int64_t *data)
{
    int64_t n = numel_of(ndim, dims);
    if (n < 0 || ndim > GC_MAX_DIMS)
        return onnx_fail(L, GC_ERR_FORMAT, "constant '%s' has a bad shape", name);
    int64_t *p = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (!p)
        return onnx_fail(L, GC_ERR_NOMEM, "out of memory");
    if (n)
        memcpy(p, data, sizeof(int64_t) * (size_t)n);
    value v = {.name = name, .kind = V_INT, .ndim = ndim, .numel = n, .i = p};
    for (int k = 0; k < ndim; k++) /* dims may be NULL for a scalar */
        v.dims[k] = dims[k];
    gc_status st = onnx_put(L, &v);
    if (st)
        free(p);
    return st;
}

/* ---- graph nodes ------------------------------------------------------- */

gc_params *onnx_new_params(onnx_loader *L, int nidx)
{
    gc_params *p = gc_params_new(nidx);
    if (!p)
        onnx_fail(L, GC_ERR_NOMEM, "out of memory");
    return p;
}

int onnx_add_node(onnx_loader *L, gc_op op, const int *in, int nin, gc_params *params)
{
    gc_graph *g = &L->m->graph;
    if (nin > GC_NODE_MAX_IN) {
        free(params);
        onnx_fail(L, GC_ERR_LIMIT, "more than %d inputs", GC_NODE_MAX_IN);
        return -1;
    }
    if (g->count >= L->max_nodes) {
        free(params);
        onnx_fail(L, GC_ERR_LIMIT, "converted graph has more than %lld nodes (the node limit)",
                  (long long)L->max_nodes);
        return -1;
    }
    int i = gc_graph_add(g, op, nin > 0 ? in[0] : -1, nin > 1 ? in[1] : -1);
    if (i < 0) {
        free(params);
        onnx_fail(L, GC_ERR_NOMEM, "out of memory");
        return -1;
    }
    gc_node *nd = &g->nodes[i];
    nd->params = params;
    for (int k = 0; k < nin; k++)
        nd->in[k] = in[k];
    nd->nin = nin;
    if (g->count > L->shapes_cap || g->count > L->names_cap) {
        int cap = g->cap;
        gc_shape *s = realloc(L->shapes, sizeof *s * (size_t)cap);
        if (s)
            L->shapes = s, L->shapes_cap = cap;
        const char **a = realloc(L->node_name, sizeof *a * (size_t)cap);
        if (a)
            L->node_name = a;
        const char **b = a ? realloc(L->tensor_name, sizeof *b * (size_t)cap) : NULL;
        if (b)
            L->tensor_name = b, L->names_cap = cap;
        if (!s || !a || !b) {
            onnx_fail(L, GC_ERR_NOMEM, "out of memory");
            return -1;
        }
    }
    L->node_name[i] = L->cur ? L->cur->name : NULL;
    L->tensor_name[i] = L->cur && L->cur->n_output ? L->cur->output[0] : NULL;
    return i;
}

/* Checks the nodes added since `first` at the declared input size, naming
 * the ONNX node in the message. */
static gc_status check_shapes(onnx_loader *L, int first)
{
    gc_graph *g = &L->m->graph;
    for (int i = first; i < g->count; i++) {
        gc_error e2;
        if (gc_graph_shape_node(g, i, L->in_h, L->in_w, L->shapes, &e2))
            return onnx_fail(L, e2.status == GC_ERR_USAGE ? GC_ERR_FORMAT : e2.status, "%s",
                             e2.msg);
    }
    return GC_OK;
}

/* ---- tensors ----------------------------------------------------------- */

static int elem_size(int dt)
{
    switch (dt) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32: return 4;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64: return 8;
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
    case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT16:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16: return 2;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: return 1;
    default: return 0;
    }
}

static int is_float_type(int dt)
{
    return dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ||
           dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ||
           dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 ||
           dt == ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16;
}

/* Element k of little-endian raw bytes as double (floats) or int64. */
static double raw_f(const uint8_t *p, int dt, int64_t k)
{
    switch (dt) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: {
        float f;
        memcpy(&f, p + 4 * k, 4);
        return f;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: {
        double d;
        memcpy(&d, p + 8 * k, 8);
        return d;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
        return gc_half_to_float((uint16_t)(p[2 * k] | p[2 * k + 1] << 8));
    default:
        return gc_bf16_to_float((uint16_t)(p[2 * k] | p[2 * k + 1] << 8));
    }
}

static int64_t raw_i(const uint8_t *p, int dt, int64_t k)
{
    switch (dt) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64: {
        int64_t v;
        memcpy(&v, p + 8 * k, 8);
        return v;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: {
        int32_t v;
        memcpy(&v, p + 4 * k, 4);
        return v;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32: {
        uint32_t v;
        memcpy(&v, p + 4 * k, 4);
        return v;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT16: return (int16_t)(p[2 * k] | p[2 * k + 1] << 8);
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16: return (uint16_t)(p[2 * k] | p[2 * k + 1] << 8);
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: return (int8_t)p[k];
    default: return p[k];
    }
}

/* Reads an external-data tensor's bytes: a file beside the model, named
 * relative to it, never outside its directory. */
static gc_status read_external(onnx_loader *L, const Onnx__TensorProto *t, size_t want,
                               uint8_t **out)
{
    const char *loc = NULL;
    long long off = 0, len = -1;
    for (size_t k = 0; k < t->n_external_data; k++) {
        const Onnx__StringStringEntryProto *e = t->external_data[k];
        if (!e->key || !e->value)
            continue;
        char *end;
        if (strcmp(e->key, "location") == 0)
            loc = e->value;
        else if (strcmp(e->key, "offset") == 0 || strcmp(e->key, "length") == 0) {
            errno = 0;
            long long v = strtoll(e->value, &end, 10);
            if (errno || *end || v < 0)
                return onnx_fail(L, GC_ERR_FORMAT, "tensor '%s': bad external %s '%s'",
                                 t->name, e->key, e->value);
            *(strcmp(e->key, "offset") == 0 ? &off : &len) = v;
        }
    }
    if (!loc || !*loc || loc[0] == '/' || strstr(loc, ".."))
        return onnx_fail(L, GC_ERR_FORMAT,
                         "tensor '%s': external data location '%s' is missing or leaves the "
                         "model's directory",
                         t->name, loc ? loc : "");
    if (len >= 0 && (size_t)len != want)
        return onnx_fail(L, GC_ERR_FORMAT, "tensor '%s': external length %lld, expected %zu",
                         t->name, len, want);
    char path[4096];
    const char *slash = strrchr(L->path, '/');
    int dir = slash ? (int)(slash - L->path + 1) : 0;
    if (snprintf(path, sizeof path, "%.*s%s", dir, L->path, loc) >= (int)sizeof path)
        return onnx_fail(L, GC_ERR_FORMAT, "tensor '%s': external path too long", t->name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return gc_fail(L->err, GC_ERR_IO, "%s: external data of '%s': cannot open %s: %s",
                       L->path, t->name, path, strerror(errno));
    struct stat stt;
    uint8_t *buf = NULL;
    int ok = fstat(fileno(f), &stt) == 0 && off <= (long long)stt.st_size &&
             (long long)want <= (long long)stt.st_size - off;
    if (ok && (buf = malloc(want ? want : 1)) != NULL)
        ok = fseeko(f, (off_t)off, SEEK_SET) == 0 && fread(buf, 1, want, f) == want;
    fclose(f);
    if (!ok || !buf) {
        free(buf);
        return gc_fail(L->err, buf || !ok ? GC_ERR_FORMAT : GC_ERR_NOMEM,
                       "%s: external data of '%s': %zu bytes at offset %lld are not in %s",
                       L->path, t->name, want, off, path);
    }
    *out = buf;
    return GC_OK;
}

/* A TensorProto (initializer or Constant) into the value table. */
gc_status onnx_tensor_value(onnx_loader *L, Onnx__TensorProto *t, const char *name)
{
    int dt = t->has_data_type ? t->data_type : 0;
    int es = elem_size(dt);
    if (!es)
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "tensor '%s': data type %d is not supported",
                         name, dt);
    if (t->n_dims > GC_MAX_DIMS)
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "tensor '%s': %zu dimensions", name, t->n_dims);
    int ndim = (int)t->n_dims;
    int64_t n = numel_of(ndim, t->dims);
    if (n < 0)
        return onnx_fail(L, GC_ERR_FORMAT, "tensor '%s': bad or too large shape", name);
    size_t bytes = (size_t)n * (size_t)es;
    if (is_float_type(dt) && charge_floats(L, name, n)) /* before reading external data */
        return L->err->status;
    uint8_t *external = NULL;
    const uint8_t *raw = NULL;
    size_t typed = 0;
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        if (read_external(L, t, bytes, &external))
            return L->err->status;
        raw = external;
    } else if (t->has_raw_data) {
        if (t->raw_data.len != bytes)
            return onnx_fail(L, GC_ERR_FORMAT, "tensor '%s': %zu bytes of data for %lld elements",
                             name, t->raw_data.len, (long long)n);
        raw = t->raw_data.data;
    } else {
        switch (dt) {
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: typed = t->n_float_data; break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: typed = t->n_double_data; break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: typed = t->n_int64_data; break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32:
        case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64: typed = t->n_uint64_data; break;
        default: typed = t->n_int32_data; break;
        }
        if (typed != (size_t)n)
            return onnx_fail(L, GC_ERR_FORMAT, "tensor '%s': %zu values for %lld elements", name,
                             typed, (long long)n);
    }
    gc_status st = GC_OK;
    if (is_float_type(dt)) {
        float *f = NULL;
        if (raw && dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && raw == t->raw_data.data &&
            ((uintptr_t)raw % sizeof(float)) == 0) {
            /* Take protobuf-c's malloc'd copy instead of copying 4 bytes a
             * weight again (it frees with free() too). */
            f = (float *)t->raw_data.data;
            t->raw_data.data = NULL;
            t->raw_data.len = 0;
            t->has_raw_data = 0;
        } else if (raw && external && dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
            f = (float *)external;
            external = NULL;
        } else {
            f = malloc(sizeof(float) * (size_t)(n ? n : 1));
            if (!f) {
                free(external);
                return onnx_fail(L, GC_ERR_NOMEM, "out of memory");
            }
            for (int64_t k = 0; k < n; k++) {
                if (raw)
                    f[k] = (float)raw_f(raw, dt, k);
                else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
                    f[k] = t->float_data[k];
                else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE)
                    f[k] = (float)t->double_data[k];
                else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16)
                    f[k] = gc_half_to_float((uint16_t)t->int32_data[k]);
                else
                    f[k] = gc_bf16_to_float((uint16_t)t->int32_data[k]);
            }
        }
        free(external);
        if (sd_push(L, name, ndim, t->dims, n, f))
            return L->err->status;
        value v = {.name = name, .kind = V_FLOAT, .ndim = ndim, .numel = n, .f = f};
        for (int k = 0; k < ndim; k++) /* t->dims is NULL for a scalar */
            v.dims[k] = t->dims[k];
        return onnx_put(L, &v);
    }
    int64_t *p = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (!p) {
        free(external);
        return onnx_fail(L, GC_ERR_NOMEM, "out of memory");
    }
    for (int64_t k = 0; k < n; k++) {
        if (raw)
            p[k] = raw_i(raw, dt, k);
        else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64)
            p[k] = t->int64_data[k];
        else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__UINT32 ||
                 dt == ONNX__TENSOR_PROTO__DATA_TYPE__UINT64)
            p[k] = (int64_t)t->uint64_data[k];
        else
            p[k] = t->int32_data[k];
    }
    free(external);
    value v = {.name = name, .kind = V_INT, .ndim = ndim, .numel = n, .i = p};
    for (int k = 0; k < ndim; k++)
        v.dims[k] = t->dims[k];
    if ((st = onnx_put(L, &v)))
        free(p);
    return st;
}

/* ---- the model --------------------------------------------------------- */

static gc_status read_file(const char *path, uint8_t **out, size_t *len, gc_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return gc_fail(err, GC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0 || (uint64_t)st.st_size > MAX_FILE) {
        fclose(f);
        return gc_fail(err, GC_ERR_LIMIT, "%s: not a regular file under 2 GB (use external data)",
                       path);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    size_t got = buf ? fread(buf, 1, n, f) : 0;
    fclose(f);
    if (!buf)
        return gc_fail(err, GC_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, n);
    if (got != n) {
        free(buf);
        return gc_fail(err, GC_ERR_IO, "%s: read error", path);
    }
    *out = buf;
    *len = n;
    return GC_OK;
}

int gc_onnx_sniff(const void *head, size_t len)
{
    const uint8_t *p = head;
    /* A ModelProto starts with a field tag: ir_version (0x08) from every
     * exporter, else producer_name, graph or opset_import. .pth files start
     * with a zip header ('P') or a pickle opcode (0x80), never these. */
    return len >= 1 && (p[0] == 0x08 || p[0] == 0x12 || p[0] == 0x3a || p[0] == 0x42);
}

static gc_status find_opset(onnx_loader *L)
{
    const Onnx__ModelProto *mp = L->proto;
    L->opset = -1;
    for (size_t k = 0; k < mp->n_opset_import; k++) {
        const Onnx__OperatorSetIdProto *o = mp->opset_import[k];
        if ((!o->domain || !*o->domain || strcmp(o->domain, "ai.onnx") == 0) && o->has_version)
            L->opset = (int)(o->version > INT_MAX ? INT_MAX : o->version);
    }
    if (L->opset < 0 && mp->n_opset_import == 0 && mp->has_ir_version && mp->ir_version < 3)
        L->opset = 1;
    if (L->opset < 9 || L->opset > 18)
        return onnx_fail(L, GC_ERR_UNSUPPORTED,
                         "opset %d is not supported (9 to 18 are; re-export with "
                         "opset_version=13)",
                         L->opset);
    return GC_OK;
}

/* The one image input: [N, C, H, W], N and H, W possibly symbolic. */
static gc_status add_input(onnx_loader *L)
{
    const Onnx__GraphProto *g = L->proto->graph;
    const Onnx__ValueInfoProto *in = NULL;
    for (size_t k = 0; k < g->n_input; k++) {
        if (!g->input[k]->name || onnx_get(L, g->input[k]->name))
            continue; /* an initializer listed as input (IR < 4) */
        if (in)
            return onnx_fail(L, GC_ERR_UNSUPPORTED, "more than one input ('%s', '%s')", in->name,
                             g->input[k]->name);
        in = g->input[k];
    }
    if (!in)
        return onnx_fail(L, GC_ERR_FORMAT, "the graph has no input");
    const Onnx__TypeProto *tp = in->type;
    const Onnx__TensorShapeProto *sh =
        tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && tp->tensor_type
            ? tp->tensor_type->shape
            : NULL;
    int64_t d[4] = {-1, 3, -1, -1};
    if (sh) {
        if (sh->n_dim != 4)
            return onnx_fail(L, GC_ERR_UNSUPPORTED, "input '%s' has %zu dimensions, not [N,C,H,W]",
                             in->name, sh->n_dim);
        for (int k = 0; k < 4; k++)
            if (sh->dim[k]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
                d[k] = sh->dim[k]->dim_value;
    }
    if (d[1] <= 0 || d[1] > 4096 || d[2] == 0 || d[3] == 0 || d[2] > 65536 || d[3] > 65536 ||
        (d[0] >= 0 && d[0] != 1 && d[0] < 1))
        return onnx_fail(L, GC_ERR_FORMAT, "input '%s' has an unusable shape", in->name);
    /* Symbolic sizes: shapes are checked at 224x224, what such models are
     * usually made for; the session re-plans for the real size. */
    L->in_h = d[2] > 0 ? (int)d[2] : 224;
    L->in_w = d[3] > 0 ? (int)d[3] : 224;
    gc_graph_init(&L->m->graph, (int)d[1]);
    int i = onnx_add_node(L, GC_OP_INPUT, NULL, 0, NULL);
    if (i < 0)
        return L->err->status;
    L->tensor_name[i] = in->name;
    value v = {.name = in->name, .kind = V_NODE, .node = i};
    if (onnx_put(L, &v) || check_shapes(L, i))
        return L->err->status;
    return GC_OK;
}

/* Names an input that is missing: produced later (unsorted or a cycle) or
 * by nobody. */
static gc_status missing_input(onnx_loader *L, size_t at, const char *name)
{
    const Onnx__GraphProto *g = L->proto->graph;
    for (size_t k = at; k < g->n_node; k++)
        for (size_t o = 0; o < g->node[k]->n_output; o++)
            if (g->node[k]->output[o] && strcmp(g->node[k]->output[o], name) == 0)
                return onnx_fail(L, GC_ERR_FORMAT,
                                 "input '%s' is produced by a later node ('%s'): the graph is "
                                 "not topologically sorted or has a cycle",
                                 name, g->node[k]->name ? g->node[k]->name : "?");
    return onnx_fail(L, GC_ERR_FORMAT, "input '%s' is not produced by any node, initializer "
                                       "or graph input", name);
}

static gc_status check_supported(onnx_loader *L)
{
    const Onnx__GraphProto *g = L->proto->graph;
    char list[300] = "";
    size_t used = 0;
    int bad = 0;
    for (size_t k = 0; k < g->n_node; k++) {
        const Onnx__NodeProto *nd = g->node[k];
        const char *op = nd->op_type ? nd->op_type : "";
        int ok = (!nd->domain || !*nd->domain || strcmp(nd->domain, "ai.onnx") == 0) &&
                 onnx_op_supported(op);
        if (ok)
            continue;
        int seen = 0; /* each type once */
        for (size_t j = 0; j < k && !seen; j++)
            seen = g->node[j]->op_type && strcmp(g->node[j]->op_type, op) == 0 &&
                   !onnx_op_supported(op);
        if (seen)
            continue;
        bad++;
        if (used < sizeof list)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s%s%s (node '%s')",
                                     bad > 1 ? ", " : "", nd->domain && *nd->domain ? nd->domain : "",
                                     nd->domain && *nd->domain ? "." : "", op,
                                     nd->name ? nd->name : "?");
    }
    if (bad)
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "unsupported operator%s: %s", bad > 1 ? "s" : "",
                         list);
    return GC_OK;
}

/* The graph output holding the scores: the first, or the one the caller
 * named (by name, or by 0-based position); NULL after failing. */
static const Onnx__ValueInfoProto *pick_output(onnx_loader *L)
{
    const Onnx__GraphProto *g = L->proto->graph;
    L->cur = NULL;
    for (size_t k = 0; k < g->n_output; k++)
        if (!g->output[k] || !g->output[k]->name) {
            onnx_fail(L, GC_ERR_FORMAT, "graph output %zu has no name", k);
            return NULL;
        }
    if (g->n_output < 1) {
        onnx_fail(L, GC_ERR_FORMAT, "the graph has no output");
        return NULL;
    }
    if (!L->output)
        return g->output[0];
    char *end;
    const long at = strtol(L->output, &end, 10);
    for (size_t k = 0; k < g->n_output; k++)
        if (!strcmp(g->output[k]->name, L->output) ||
            (*L->output && !*end && at >= 0 && (size_t)at == k))
            return g->output[k];
    char names[256] = "";
    size_t used = 0;
    for (size_t k = 0; k < g->n_output && used < sizeof names; k++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%zu '%s'",
                                 k ? ", " : "", k, g->output[k]->name);
    onnx_fail(L, GC_ERR_USAGE, "no output '%s'; the model's outputs are %s", L->output, names);
    return NULL;
}

static gc_status build(onnx_loader *L)
{
    Onnx__GraphProto *g = L->proto->graph;
    if (!g)
        return onnx_fail(L, GC_ERR_FORMAT, "no graph in the model");
    if ((int64_t)g->n_node > L->max_nodes)
        return onnx_fail(L, GC_ERR_LIMIT, "the graph has %zu nodes, more than %lld (the node limit)",
                         g->n_node, (long long)L->max_nodes);
    if (find_opset(L) || check_supported(L))
        return L->err->status;
    for (size_t k = 0; k < g->n_initializer; k++) {
        Onnx__TensorProto *t = g->initializer[k];
        if (!t->name || !*t->name)
            return onnx_fail(L, GC_ERR_FORMAT, "initializer %zu has no name", k);
        if (onnx_tensor_value(L, t, t->name))
            return L->err->status;
    }
    if (add_input(L))
        return L->err->status;
    for (size_t k = 0; k < g->n_node; k++) {
        const Onnx__NodeProto *nd = g->node[k];
        L->cur = nd;
        for (size_t j = 0; j < nd->n_input; j++)
            if (nd->input[j] && *nd->input[j] && !onnx_get(L, nd->input[j]))
                return missing_input(L, k, nd->input[j]);
        int first = L->m->graph.count;
        if (onnx_convert_node(L, nd) || check_shapes(L, first))
            return L->err->status;
    }
    L->cur = NULL;
    const Onnx__ValueInfoProto *scores = pick_output(L);
    if (!scores)
        return L->err->status;
    const value *out = onnx_get(L, scores->name);
    if (!out || out->kind != V_NODE)
        return onnx_fail(L, GC_ERR_FORMAT, "output '%s' is %s", scores->name,
                         out ? "a constant" : "not produced by any node");
    int o = out->node;
    if (o != gc_graph_output(&L->m->graph)) {
        /* Something runs after the output (another output's branch): end
         * the graph with a copy of the scores so the last node is them. */
        gc_params *e = onnx_new_params(L, 0);
        if (!e)
            return L->err->status;
        e->kind = GC_RS_TARGET, e->ndim = L->shapes[o].ndim; /* the same shape */
        for (int k = 0; k < e->ndim; k++)
            e->dims[k] = L->shapes[o].d[k];
        int first = L->m->graph.count;
        if ((o = onnx_add_node(L, GC_OP_RESHAPE, &o, 1, e)) < 0 || check_shapes(L, first))
            return L->err->status;
        L->tensor_name[o] = NULL;
        L->node_name[o] = NULL;
    }
    const gc_shape *os = &L->shapes[o];
    if (os->ndim < 1 || gc_shape_numel(os) < 1)
        return onnx_fail(L, GC_ERR_FORMAT, "output '%s' is not a vector of class scores",
                         scores->name);
    L->m->num_classes = (int)gc_shape_numel(os);
    snprintf(L->m->arch, sizeof L->m->arch, "onnx (%s%s%s, opset %d, %d nodes)",
             L->proto->producer_name && *L->proto->producer_name ? L->proto->producer_name
                                                                 : "unknown producer",
             L->proto->producer_version && *L->proto->producer_version ? " " : "",
             L->proto->producer_version ? L->proto->producer_version : "", L->opset,
             L->m->graph.count);
    L->m->pre = gc_preprocess_imagenet();
    if (L->in_h == L->in_w)
        L->m->pre.size = L->in_h;
    return onnx_name_layers(L);
}

static Onnx__ModelProto *unpack(const void *buf, size_t len, const char *label, gc_error *err)
{
    Onnx__ModelProto *p = onnx__model_proto__unpack(NULL, len, buf);
    if (!p)
        gc_fail(err, GC_ERR_FORMAT,
                "%s: not a valid ONNX model (the protobuf is truncated or malformed)", label);
    return p;
}

static gc_status load_proto(gc_model *m, Onnx__ModelProto *proto, const char *label,
                            const gc_limits *lim, const char *output, gc_error *err)
{
    onnx_loader L = {.m = m, .path = label, .err = err, .proto = proto, .output = output,
                     .max_nodes = lim->max_graph_nodes,
                     .max_weight_bytes = (uint64_t)lim->max_weight_bytes};
    gc_status st = build(&L);
    for (size_t k = 0; k < L.vcap; k++)
        if (L.vals[k].name && L.vals[k].kind == V_INT)
            free(L.vals[k].i);
    free(L.vals);
    free(L.shapes);
    free(L.node_name);
    free(L.tensor_name);
    onnx__model_proto__free_unpacked(L.proto, NULL);
    /* Names in the message come from the file: keep it one line. */
    if (st && err)
        for (char *c = err->msg; *c; c++)
            if ((unsigned char)*c < ' ' || *c == 0x7f)
                *c = '?';
    return st;
}

gc_status gc_onnx_load_memory(gc_model *m, const void *buf, size_t len, const char *label,
                              const gc_load_options *opt, gc_error *err)
{
    const gc_load_options none = {0};
    opt = opt ? opt : &none;
    gc_limits l;
    if (gc_limits_resolve(opt->limits, label, &l, err))
        return GC_ERR_USAGE;
    Onnx__ModelProto *p = unpack(buf, len, label, err);
    return p ? load_proto(m, p, label, &l, opt->output, err) : err->status;
}

gc_status gc_onnx_load(gc_model *m, const char *path, const gc_load_options *opt,
                       gc_error *err)
{
    const gc_load_options none = {0};
    opt = opt ? opt : &none;
    uint8_t *buf = NULL;
    size_t len = 0;
    gc_limits l;
    gc_status st = gc_limits_resolve(opt->limits, path, &l, err);
    if (st)
        return st;
    st = read_file(path, &buf, &len, err);
    if (st)
        return st;
    /* The file's bytes are not needed once decoded: free them before the
     * weights are converted, so a large model is not held three times. */
    Onnx__ModelProto *p = unpack(buf, len, path, err);
    free(buf);
    return p ? load_proto(m, p, path, &l, opt->output, err) : err->status;
}
