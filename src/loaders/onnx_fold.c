/* onnx_fold.c — the shape-arithmetic operators exporters emit around
 * dynamic shapes (a vision transformer's class token expanded to the
 * batch, masks, position indices): ConstantOfShape, Equal, Less, Greater,
 * And, Or, Xor, Not, Where, Expand, Range and Mod, evaluated at load time
 * on constants, with
 * NumPy broadcasting. The batch size is unknown until a session runs and
 * stays the marker GC_ONNX_BATCH: comparisons treat it as "some number
 * >= 1" and refuse where that does not decide them; Where keeps it exact;
 * Expand reads it as the batch axis. A computed tensor among the inputs is
 * refused with the node's name: these are not graph operators here. */
#include "loaders/onnx_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The most elements a folded constant may have: shape arithmetic needs
 * few, and a hostile file must not make loading allocate gigabytes. */
#define FOLD_MAX ((int64_t)1 << 22)

/* Input k as a constant, or NULL after failing. */
static const value *need_const(onnx_loader *L, const Onnx__NodeProto *nd, size_t k,
                               const char *what)
{
    const value *v = onnx_input(L, nd, k);
    if (!v)
        onnx_fail(L, GC_ERR_FORMAT, "%s is missing", what);
    else if (v->kind == V_NODE)
        onnx_fail(L, GC_ERR_UNSUPPORTED, "%s is a computed tensor; only constants (shape "
                  "arithmetic) are supported here", what);
    return v && v->kind != V_NODE ? v : NULL;
}

static double elem(const value *v, int64_t k)
{
    return v->kind == V_INT ? (double)v->i[k] : (double)v->f[k];
}

static int is_batch(const value *v, int64_t k)
{
    return v->kind == V_INT && onnx_batch_factor(v->i[k]) != 0;
}

/* ---- broadcasting ---------------------------------------------------- */

typedef struct bcast {
    int ndim;
    int64_t dims[GC_MAX_DIMS];
    int64_t numel;
} bcast;

/* NumPy's rule over n operands, right-aligned; 0 after failing. */
static int broadcast_dims(onnx_loader *L, const value *const *v, int n, bcast *o)
{
    o->ndim = 0;
    for (int k = 0; k < n; k++)
        o->ndim = v[k]->ndim > o->ndim ? v[k]->ndim : o->ndim;
    o->numel = 1;
    for (int d = 0; d < o->ndim; d++) {
        int64_t size = 1;
        for (int k = 0; k < n; k++) {
            const int at = d - (o->ndim - v[k]->ndim);
            const int64_t s = at < 0 ? 1 : v[k]->dims[at];
            if (s != 1 && size != 1 && s != size) {
                onnx_fail(L, GC_ERR_FORMAT, "shapes that do not broadcast");
                return 0;
            }
            size = s != 1 ? s : size;
        }
        o->dims[d] = size, o->numel *= size;
        if (size < 0 || o->numel > FOLD_MAX) {
            onnx_fail(L, GC_ERR_LIMIT, "a folded constant of more than %lld elements",
                      (long long)FOLD_MAX);
            return 0;
        }
    }
    return 1;
}

/* The element of v that output element `flat` of o reads. */
static int64_t source_index(const bcast *o, const value *v, int64_t flat)
{
    int64_t idx = 0, stride = 1;
    for (int d = o->ndim - 1; d >= 0; d--) {
        const int64_t coord = flat % o->dims[d];
        flat /= o->dims[d];
        const int at = d - (o->ndim - v->ndim);
        if (at >= 0) {
            if (v->dims[at] != 1)
                idx += coord * stride;
            stride *= v->dims[at];
        }
    }
    return idx;
}

/* Stores an int or float result of shape o under the node's output name. */
static gc_status put(onnx_loader *L, const Onnx__NodeProto *nd, int is_int, const bcast *o,
                     const int64_t *ints, const float *floats)
{
    return is_int ? onnx_put_int(L, onnx_output_name(nd), o->ndim, o->dims, ints)
                  : onnx_put_float(L, onnx_output_name(nd), o->ndim, o->dims, floats, NULL);
}

/* Room for a result of n elements of either kind, or NULL after failing. */
static void *result_buffer(onnx_loader *L, int64_t n, size_t elem_size)
{
    void *p = malloc(elem_size * (size_t)(n ? n : 1));
    if (!p)
        onnx_fail(L, GC_ERR_NOMEM, "out of memory");
    return p;
}

/* ---- ConstantOfShape ------------------------------------------------- */

gc_status onnx_conv_constant_of_shape(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    const value *shape = need_const(L, nd, 0, "the shape");
    if (!shape)
        return L->err->status;
    if (shape->kind != V_INT || shape->ndim != 1 || shape->numel > GC_MAX_DIMS)
        return onnx_fail(L, GC_ERR_FORMAT, "the shape must be a 1-D int64 tensor of rank "
                         "at most %d", GC_MAX_DIMS);
    bcast o = {.ndim = (int)shape->numel, .numel = 1};
    for (int d = 0; d < o.ndim; d++) {
        if (is_batch(shape, d))
            return onnx_fail(L, GC_ERR_UNSUPPORTED, "a constant as large as the batch");
        if (shape->i[d] < 0)
            return onnx_fail(L, GC_ERR_FORMAT, "a negative dimension");
        if (shape->i[d] > FOLD_MAX || (o.numel *= shape->i[d]) > FOLD_MAX)
            return onnx_fail(L, GC_ERR_LIMIT, "a constant of more than %lld elements",
                             (long long)FOLD_MAX);
        o.dims[d] = shape->i[d];
    }
    /* The fill value: a one-element tensor attribute, float 0 by default. */
    int is_int = 0;
    double fill = 0.0;
    for (size_t k = 0; k < nd->n_attribute; k++) {
        const Onnx__AttributeProto *a = nd->attribute[k];
        if (!a->name || strcmp(a->name, "value") || !a->t)
            continue;
        const Onnx__TensorProto *t = a->t;
        is_int = t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ||
                 t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 ||
                 t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL;
        if (is_int && t->n_int64_data)
            fill = (double)t->int64_data[0];
        else if (is_int && t->n_int32_data)
            fill = (double)t->int32_data[0];
        else if (!is_int && t->n_float_data)
            fill = t->float_data[0];
        else if (t->has_raw_data && t->raw_data.len >= 8 &&
                 t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64) {
            int64_t v;
            memcpy(&v, t->raw_data.data, 8);
            fill = (double)v;
        } else if (t->has_raw_data && t->raw_data.len >= 4) {
            if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
                float v;
                memcpy(&v, t->raw_data.data, 4);
                fill = v;
            } else if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT32) {
                int32_t v;
                memcpy(&v, t->raw_data.data, 4);
                fill = v;
            } else {
                return onnx_fail(L, GC_ERR_UNSUPPORTED, "a fill value of type %d",
                                 (int)t->data_type);
            }
        } else if (t->has_raw_data && t->raw_data.len >= 1 &&
                   t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL) {
            fill = t->raw_data.data[0] != 0;
        } else {
            return onnx_fail(L, GC_ERR_UNSUPPORTED, "a fill value of type %d",
                             (int)t->data_type);
        }
    }
    void *buf = result_buffer(L, o.numel, is_int ? sizeof(int64_t) : sizeof(float));
    if (!buf)
        return L->err->status;
    for (int64_t k = 0; k < o.numel; k++)
        if (is_int)
            ((int64_t *)buf)[k] = (int64_t)fill;
        else
            ((float *)buf)[k] = (float)fill;
    gc_status st = put(L, nd, is_int, &o, buf, buf);
    free(buf);
    return st;
}

/* ---- comparisons ----------------------------------------------------- */

enum { CMP_EQUAL, CMP_LESS, CMP_GREATER };

/* a (cmp) b with a batch marker standing for N k, N an unknown n >= 1
 * (so N k >= k): 0 or 1, or -1 where the answer depends on n. */
static int compare(int cmp, const value *a, int64_t ia, const value *b, int64_t ib)
{
    const int64_t ka = a->kind == V_INT ? onnx_batch_factor(a->i[ia]) : 0;
    const int64_t kb = b->kind == V_INT ? onnx_batch_factor(b->i[ib]) : 0;
    if (ka && kb) /* N ka against N kb */
        return cmp == CMP_EQUAL ? ka == kb : cmp == CMP_LESS ? ka < kb : ka > kb;
    if (ka || kb) { /* N k against a known x, as "N k cmp x" (swapped for b) */
        const double x = ka ? elem(b, ib) : elem(a, ia), k = (double)(ka ? ka : kb);
        const int c = ka ? cmp : cmp == CMP_LESS ? CMP_GREATER : cmp == CMP_GREATER ? CMP_LESS
                                                                                    : cmp;
        if (c == CMP_EQUAL)
            return x < k ? 0 : -1;
        if (c == CMP_LESS) /* N k < x */
            return x <= k ? 0 : -1;
        return x < k ? 1 : -1; /* N k > x */
    }
    const double x = elem(a, ia), y = elem(b, ib);
    return cmp == CMP_EQUAL ? x == y : cmp == CMP_LESS ? x < y : x > y;
}

/* ---- logical operators on masks ---------------------------------------- */

enum { LOGIC_AND, LOGIC_OR, LOGIC_XOR, LOGIC_NOT };

/* a (op) b for a logical op: 0 or 1, or -1 on the batch size. */
static int logic(int op, const value *a, int64_t ia, const value *b, int64_t ib)
{
    if (is_batch(a, ia) || is_batch(b, ib))
        return -1;
    const int x = elem(a, ia) != 0, y = elem(b, ib) != 0;
    return op == LOGIC_AND ? x && y : op == LOGIC_OR ? x || y : op == LOGIC_XOR ? x != y : !x;
}

/* A boolean result of one or two constants, broadcast: comparisons
 * (compare) or logic (logic; Not reads A twice). */
static gc_status boolean_op(onnx_loader *L, const Onnx__NodeProto *nd, int op, int is_logic)
{
    const value *a = need_const(L, nd, 0, "A");
    const value *b = a && !(is_logic && op == LOGIC_NOT) ? need_const(L, nd, 1, "B") : a;
    if (!b)
        return L->err->status;
    const value *v[2] = {a, b};
    bcast o;
    if (!broadcast_dims(L, v, 2, &o))
        return L->err->status;
    int64_t *r = result_buffer(L, o.numel, sizeof(int64_t));
    if (!r)
        return L->err->status;
    for (int64_t k = 0; k < o.numel; k++) {
        const int64_t ia = source_index(&o, a, k), ib = source_index(&o, b, k);
        const int c = is_logic ? logic(op, a, ia, b, ib) : compare(op, a, ia, b, ib);
        if (c < 0) {
            free(r);
            return onnx_fail(L, GC_ERR_UNSUPPORTED, "%s that depends on the batch size",
                             is_logic ? "logic" : "a comparison");
        }
        r[k] = c;
    }
    gc_status st = put(L, nd, 1, &o, r, NULL);
    free(r);
    return st;
}

gc_status onnx_conv_compare(onnx_loader *L, const Onnx__NodeProto *nd, int cmp)
{
    return boolean_op(L, nd, cmp, 0);
}

gc_status onnx_conv_logic(onnx_loader *L, const Onnx__NodeProto *nd, int op)
{
    return boolean_op(L, nd, op, 1);
}

/* ---- Where ----------------------------------------------------------- */

gc_status onnx_conv_where(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    const value *c = need_const(L, nd, 0, "the condition");
    const value *x = c ? need_const(L, nd, 1, "X") : NULL;
    const value *y = x ? need_const(L, nd, 2, "Y") : NULL;
    if (!y)
        return L->err->status;
    const value *v[3] = {c, x, y};
    bcast o;
    if (!broadcast_dims(L, v, 3, &o))
        return L->err->status;
    const int is_int = x->kind == V_INT && y->kind == V_INT;
    void *buf = result_buffer(L, o.numel, is_int ? sizeof(int64_t) : sizeof(float));
    if (!buf)
        return L->err->status;
    gc_status st = GC_OK;
    for (int64_t k = 0; k < o.numel && st == GC_OK; k++) {
        const int64_t ic = source_index(&o, c, k);
        if (is_batch(c, ic)) {
            st = onnx_fail(L, GC_ERR_UNSUPPORTED, "a condition that is the batch size");
            break;
        }
        const value *pick = elem(c, ic) != 0 ? x : y;
        const int64_t at = source_index(&o, pick, k);
        if (is_int)
            ((int64_t *)buf)[k] = pick->i[at]; /* the batch marker stays exact */
        else if (is_batch(pick, at))
            st = onnx_fail(L, GC_ERR_UNSUPPORTED, "uses the batch size as a number");
        else
            ((float *)buf)[k] = (float)elem(pick, at);
    }
    if (st == GC_OK)
        st = put(L, nd, is_int, &o, buf, buf);
    free(buf);
    return st;
}

/* ---- Expand ---------------------------------------------------------- */

/* A constant broadcast to a shape. A batch marker in the shape's first
 * place (a class token expanded to [N, 1, C]) leaves that axis at 1: a
 * constant's leading axis of 1 is the batch axis, shared by every image,
 * which is how the graph's operators read it. */
gc_status onnx_conv_expand(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    const value *x = onnx_input(L, nd, 0);
    if (x && x->kind == V_NODE)
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "expanding a computed tensor");
    x = need_const(L, nd, 0, "the input");
    const value *shape = x ? need_const(L, nd, 1, "the shape") : NULL;
    if (!shape)
        return L->err->status;
    if (shape->kind != V_INT || shape->ndim != 1 || shape->numel > GC_MAX_DIMS)
        return onnx_fail(L, GC_ERR_FORMAT, "the shape must be a 1-D int64 tensor of rank "
                         "at most %d", GC_MAX_DIMS);
    value target = {.kind = V_INT, .ndim = (int)shape->numel, .numel = 1};
    for (int d = 0; d < target.ndim; d++) {
        const int batch = is_batch(shape, d);
        if (batch && (d != 0 || target.ndim != x->ndim || x->dims[0] != 1))
            return onnx_fail(L, GC_ERR_UNSUPPORTED, "expanding to the batch size other than "
                             "along a leading axis of 1");
        target.dims[d] = batch ? 1 : shape->i[d];
        if (target.dims[d] < 0 || target.dims[d] > FOLD_MAX)
            return onnx_fail(L, GC_ERR_FORMAT, "a dimension of %lld", (long long)target.dims[d]);
    }
    const value *v[2] = {x, &target};
    bcast o;
    if (!broadcast_dims(L, v, 2, &o))
        return L->err->status;
    const int is_int = x->kind == V_INT;
    void *buf = result_buffer(L, o.numel, is_int ? sizeof(int64_t) : sizeof(float));
    if (!buf)
        return L->err->status;
    for (int64_t k = 0; k < o.numel; k++) {
        const int64_t at = source_index(&o, x, k);
        if (is_int)
            ((int64_t *)buf)[k] = x->i[at];
        else
            ((float *)buf)[k] = x->f[at];
    }
    gc_status st = put(L, nd, is_int, &o, buf, buf);
    free(buf);
    return st;
}

/* ---- Range and Mod --------------------------------------------------- */

static int scalar(onnx_loader *L, const value *v, const char *what, double *out)
{
    if (v->numel != 1 || is_batch(v, 0)) {
        onnx_fail(L, GC_ERR_UNSUPPORTED, "%s must be a scalar known at load time", what);
        return 0;
    }
    *out = elem(v, 0);
    return 1;
}

gc_status onnx_conv_range(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    const value *a = need_const(L, nd, 0, "start"), *b = a ? need_const(L, nd, 1, "limit") : NULL;
    const value *c = b ? need_const(L, nd, 2, "delta") : NULL;
    double start, limit, delta;
    if (!c || !scalar(L, a, "start", &start) || !scalar(L, b, "limit", &limit) ||
        !scalar(L, c, "delta", &delta))
        return L->err->status;
    if (delta == 0)
        return onnx_fail(L, GC_ERR_FORMAT, "a delta of 0");
    const double count = ceil((limit - start) / delta);
    if (!(count <= (double)FOLD_MAX)) /* NaN too */
        return onnx_fail(L, GC_ERR_LIMIT, "a range of more than %lld elements",
                         (long long)FOLD_MAX);
    bcast o = {.ndim = 1, .dims = {count > 0 ? (int64_t)count : 0}};
    o.numel = o.dims[0];
    const int is_int = a->kind == V_INT && b->kind == V_INT && c->kind == V_INT;
    void *buf = result_buffer(L, o.numel, is_int ? sizeof(int64_t) : sizeof(float));
    if (!buf)
        return L->err->status;
    for (int64_t k = 0; k < o.numel; k++)
        if (is_int)
            ((int64_t *)buf)[k] = (int64_t)start + k * (int64_t)delta;
        else
            ((float *)buf)[k] = (float)(start + (double)k * delta);
    gc_status st = put(L, nd, is_int, &o, buf, buf);
    free(buf);
    return st;
}

/* ONNX's Mod: with fmod = 0 (integers) the result takes the divisor's
 * sign, as Python's %; with fmod = 1 the dividend's, as C's fmod. */
gc_status onnx_conv_mod(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    const value *a = need_const(L, nd, 0, "A"), *b = a ? need_const(L, nd, 1, "B") : NULL;
    if (!b)
        return L->err->status;
    int use_fmod = 0;
    for (size_t k = 0; k < nd->n_attribute; k++)
        if (nd->attribute[k]->name && !strcmp(nd->attribute[k]->name, "fmod"))
            use_fmod = nd->attribute[k]->i != 0;
    const value *v[2] = {a, b};
    bcast o;
    if (!broadcast_dims(L, v, 2, &o))
        return L->err->status;
    const int is_int = a->kind == V_INT && b->kind == V_INT;
    if (!is_int && !use_fmod)
        return onnx_fail(L, GC_ERR_FORMAT, "floating-point Mod needs fmod = 1");
    void *buf = result_buffer(L, o.numel, is_int ? sizeof(int64_t) : sizeof(float));
    if (!buf)
        return L->err->status;
    gc_status st = GC_OK;
    for (int64_t k = 0; k < o.numel; k++) {
        const int64_t ia = source_index(&o, a, k), ib = source_index(&o, b, k);
        if (is_batch(a, ia) || is_batch(b, ib)) {
            st = onnx_fail(L, GC_ERR_UNSUPPORTED, "arithmetic on the batch size");
            break;
        }
        const double x = elem(a, ia), y = elem(b, ib);
        if (y == 0 && is_int) {
            st = onnx_fail(L, GC_ERR_FORMAT, "an integer Mod by zero");
            break;
        }
        double r = fmod(x, y);
        if (!use_fmod && r != 0 && (r < 0) != (y < 0))
            r += y;
        if (is_int)
            ((int64_t *)buf)[k] = (int64_t)r;
        else
            ((float *)buf)[k] = (float)r;
    }
    if (st == GC_OK)
        st = put(L, nd, is_int, &o, buf, buf);
    free(buf);
    return st;
}

/* ---- ScatterND ------------------------------------------------------- */

/* data with slices replaced: for every index tuple t = indices[..., :],
 * output[t] = updates[the tuple's position] (a slice of data's trailing
 * axes where t is shorter than data's rank). Swin's shifted-window mask is
 * written this way (`mask[h_slice, w_slice] = count` on zeros). Only the
 * default reduction, none: later tuples overwrite earlier ones, as
 * PyTorch's in-place assignment does. */
gc_status onnx_conv_scatter_nd(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    (void)arg;
    const value *data = need_const(L, nd, 0, "the data");
    const value *ix = data ? need_const(L, nd, 1, "the indices") : NULL;
    const value *up = ix ? need_const(L, nd, 2, "the updates") : NULL;
    if (!up)
        return L->err->status;
    for (size_t k = 0; k < nd->n_attribute; k++)
        if (nd->attribute[k]->name && !strcmp(nd->attribute[k]->name, "reduction") &&
            (nd->attribute[k]->s.len != 4 || memcmp(nd->attribute[k]->s.data, "none", 4)))
            return onnx_fail(L, GC_ERR_UNSUPPORTED, "a reduction other than none");
    if (ix->kind != V_INT || ix->ndim < 1)
        return onnx_fail(L, GC_ERR_FORMAT, "the indices must be an int64 tensor of rank >= 1");
    const int k = (int)ix->dims[ix->ndim - 1];
    if (k < 1 || k > data->ndim)
        return onnx_fail(L, GC_ERR_FORMAT, "index tuples of %d elements into a rank-%d tensor",
                         k, data->ndim);
    /* updates' shape = indices.shape[:-1] + data.shape[k:] */
    int64_t tuples = 1, slice = 1;
    for (int d = 0; d < ix->ndim - 1; d++)
        tuples *= ix->dims[d];
    for (int d = k; d < data->ndim; d++)
        slice *= data->dims[d];
    int ok = up->ndim == ix->ndim - 1 + data->ndim - k && up->numel == tuples * slice;
    for (int d = 0; ok && d < ix->ndim - 1; d++)
        ok = up->dims[d] == ix->dims[d];
    for (int d = k; ok && d < data->ndim; d++)
        ok = up->dims[ix->ndim - 1 + d - k] == data->dims[d];
    if (!ok)
        return onnx_fail(L, GC_ERR_FORMAT, "updates whose shape does not fit the indices");
    const int is_int = data->kind == V_INT;
    if ((up->kind == V_INT) != is_int)
        return onnx_fail(L, GC_ERR_FORMAT, "updates of another type than the data");
    bcast o = {.ndim = data->ndim, .numel = data->numel};
    memcpy(o.dims, data->dims, sizeof(o.dims));
    void *buf = result_buffer(L, o.numel, is_int ? sizeof(int64_t) : sizeof(float));
    if (!buf)
        return L->err->status;
    for (int64_t e = 0; e < o.numel; e++)
        if (is_int)
            ((int64_t *)buf)[e] = data->i[e];
        else
            ((float *)buf)[e] = data->f[e];
    gc_status st = GC_OK;
    for (int64_t t = 0; t < tuples && st == GC_OK; t++) {
        int64_t at = 0;
        for (int d = 0; d < k; d++) {
            int64_t i = ix->i[t * k + d];
            if (onnx_batch_factor(i)) {
                st = onnx_fail(L, GC_ERR_UNSUPPORTED, "an index that is the batch size");
                break;
            }
            i += i < 0 ? data->dims[d] : 0;
            if (i < 0 || i >= data->dims[d]) {
                st = onnx_fail(L, GC_ERR_FORMAT, "an index out of range");
                break;
            }
            at = at * data->dims[d] + i;
        }
        at *= slice;
        for (int64_t e = 0; st == GC_OK && e < slice; e++)
            if (is_int)
                ((int64_t *)buf)[at + e] = up->i[t * slice + e];
            else
                ((float *)buf)[at + e] = up->f[t * slice + e];
    }
    if (st == GC_OK)
        st = put(L, nd, is_int, &o, buf, buf);
    free(buf);
    return st;
}

/* ---- arithmetic ------------------------------------------------------ */

gc_status onnx_fold_arith(onnx_loader *L, const Onnx__NodeProto *nd, const value *a,
                          const value *b)
{
    const char *op = nd->op_type;
    const int which = !strcmp(op, "Add") ? 0 : !strcmp(op, "Sub") ? 1 : !strcmp(op, "Mul") ? 2
                      : !strcmp(op, "Div") ? 3 : 4;
    const value *v[2] = {a, b};
    bcast o;
    if (!broadcast_dims(L, v, 2, &o))
        return L->err->status;
    const int is_int = a->kind == V_INT && b->kind == V_INT;
    void *buf = result_buffer(L, o.numel, is_int ? sizeof(int64_t) : sizeof(float));
    if (!buf)
        return L->err->status;
    for (int64_t k = 0; k < o.numel; k++) {
        const double x = elem(a, source_index(&o, a, k)), y = elem(b, source_index(&o, b, k));
        double z = which == 0 ? x + y : which == 1 ? x - y : which == 2 ? x * y : 0;
        if (which == 3)
            z = is_int ? (y != 0 ? floor(x / y) : 0) : x / y;
        else if (which == 4)
            z = pow(x, y);
        if (is_int)
            ((int64_t *)buf)[k] = (int64_t)z;
        else
            ((float *)buf)[k] = (float)z;
    }
    gc_status st = put(L, nd, is_int, &o, buf, buf);
    free(buf);
    return st;
}

/* ---- layout on constants of any rank --------------------------------- */

/* The elements pick[0..o->numel) of x, as a constant of shape o. */
static gc_status put_picked(onnx_loader *L, const Onnx__NodeProto *nd, const value *x,
                            const bcast *o, const int64_t *pick)
{
    const int is_int = x->kind == V_INT;
    void *buf = result_buffer(L, o->numel, is_int ? sizeof(int64_t) : sizeof(float));
    if (!buf)
        return L->err->status;
    for (int64_t k = 0; k < o->numel; k++)
        if (is_int)
            ((int64_t *)buf)[k] = x->i[pick[k]]; /* batch markers stay exact */
        else
            ((float *)buf)[k] = x->f[pick[k]];
    gc_status st = put(L, nd, is_int, o, buf, buf);
    free(buf);
    return st;
}

/* Row-major strides of v. */
static void strides_of(const value *v, int64_t *s)
{
    int64_t acc = 1;
    for (int d = v->ndim - 1; d >= 0; d--)
        s[d] = acc, acc *= v->dims[d];
}

/* x's elements at start[d] + coord * step[d] along each axis d of shape o
 * (step in x's strides) as a constant of shape o: slices and transposes
 * are both this walk. */
static gc_status put_walked(onnx_loader *L, const Onnx__NodeProto *nd, const value *x,
                            const bcast *o, const int64_t *start, const int64_t *step)
{
    int64_t *pick = result_buffer(L, o->numel, sizeof(int64_t));
    if (!pick)
        return L->err->status;
    for (int64_t k = 0; k < o->numel; k++) {
        int64_t flat = k, at = 0;
        for (int d = o->ndim - 1; d >= 0; d--) {
            at += start[d] + (flat % o->dims[d]) * step[d];
            flat /= o->dims[d];
        }
        pick[k] = at;
    }
    gc_status st = put_picked(L, nd, x, o, pick);
    free(pick);
    return st;
}

gc_status onnx_fold_slice(onnx_loader *L, const Onnx__NodeProto *nd, const value *x, int n,
                          const int64_t *axes, const int64_t *starts, const int64_t *ends,
                          const int64_t *steps)
{
    int64_t s[GC_MAX_DIMS], start[GC_MAX_DIMS], step[GC_MAX_DIMS];
    strides_of(x, s);
    bcast o = {.ndim = x->ndim, .numel = 1};
    for (int d = 0; d < x->ndim; d++)
        o.dims[d] = x->dims[d], start[d] = 0, step[d] = s[d];
    for (int k = 0; k < n; k++) {
        const int64_t a = axes[k] < 0 ? axes[k] + x->ndim : axes[k];
        if (a < 0 || a >= x->ndim || steps[k] == 0)
            return onnx_fail(L, GC_ERR_FORMAT, "a slice axis or step out of range");
        const int64_t D = x->dims[a];
        int64_t b = starts[k] < 0 ? starts[k] + D : starts[k];
        int64_t e = ends[k] < 0 ? ends[k] + D : ends[k], cnt;
        if (steps[k] > 0) {
            b = b < 0 ? 0 : b > D ? D : b, e = e < 0 ? 0 : e > D ? D : e;
            cnt = e > b ? (e - b + steps[k] - 1) / steps[k] : 0;
        } else {
            b = b < 0 ? 0 : b > D - 1 ? D - 1 : b, e = e < -1 ? -1 : e > D - 1 ? D - 1 : e;
            cnt = b > e ? (b - e - steps[k] - 1) / -steps[k] : 0;
        }
        o.dims[a] = cnt, start[a] = b * s[a], step[a] = steps[k] * s[a];
    }
    for (int d = 0; d < o.ndim; d++)
        o.numel *= o.dims[d];
    return put_walked(L, nd, x, &o, start, step);
}

gc_status onnx_fold_transpose(onnx_loader *L, const Onnx__NodeProto *nd, const value *x,
                              const int64_t *perm, int n)
{
    int64_t s[GC_MAX_DIMS], start[GC_MAX_DIMS] = {0}, step[GC_MAX_DIMS];
    if (n != x->ndim)
        return onnx_fail(L, GC_ERR_FORMAT, "a permutation of %d axes for a rank-%d tensor", n,
                         x->ndim);
    strides_of(x, s);
    bcast o = {.ndim = n, .numel = x->numel};
    int seen = 0;
    for (int d = 0; d < n; d++) {
        if (perm[d] < 0 || perm[d] >= n || (seen & (1 << perm[d])))
            return onnx_fail(L, GC_ERR_FORMAT, "not a permutation");
        seen |= 1 << perm[d];
        o.dims[d] = x->dims[perm[d]], step[d] = s[perm[d]];
    }
    return put_walked(L, nd, x, &o, start, step);
}

gc_status onnx_fold_gather(onnx_loader *L, const Onnx__NodeProto *nd, const value *x,
                           const value *idx, int64_t axis)
{
    const int64_t a = axis < 0 ? axis + x->ndim : axis;
    if (a < 0 || a >= x->ndim || x->ndim - 1 + idx->ndim > GC_MAX_DIMS)
        return onnx_fail(L, GC_ERR_FORMAT, "a gather axis out of range");
    /* output = x.shape[:a] + idx.shape + x.shape[a+1:] */
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < a; d++)
        outer *= x->dims[d];
    for (int d = (int)a + 1; d < x->ndim; d++)
        inner *= x->dims[d];
    bcast o = {.ndim = 0, .numel = outer * idx->numel * inner};
    if (o.numel > FOLD_MAX)
        return onnx_fail(L, GC_ERR_LIMIT, "a folded constant of more than %lld elements",
                         (long long)FOLD_MAX);
    for (int d = 0; d < a; d++)
        o.dims[o.ndim++] = x->dims[d];
    for (int d = 0; d < idx->ndim; d++)
        o.dims[o.ndim++] = idx->dims[d];
    for (int d = (int)a + 1; d < x->ndim; d++)
        o.dims[o.ndim++] = x->dims[d];
    int64_t *pick = result_buffer(L, o.numel, sizeof(int64_t));
    if (!pick)
        return L->err->status;
    const int64_t D = x->dims[a];
    for (int64_t j = 0; j < idx->numel; j++) {
        int64_t at = (int64_t)elem(idx, j);
        at += at < 0 ? D : 0;
        if (is_batch(idx, j) || at < 0 || at >= D) {
            free(pick);
            return onnx_fail(L, GC_ERR_FORMAT, "index out of range");
        }
        for (int64_t p = 0; p < outer; p++)
            for (int64_t q = 0; q < inner; q++)
                pick[(p * idx->numel + j) * inner + q] = (p * D + at) * inner + q;
    }
    gc_status st = put_picked(L, nd, x, &o, pick);
    free(pick);
    return st;
}
