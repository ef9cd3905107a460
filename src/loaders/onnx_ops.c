/* onnx_ops.c — one ONNX node into graph nodes or a constant.
 *
 * Nodes whose inputs are all constants are evaluated here, at load time
 * (shape arithmetic: Shape, Gather, Unsqueeze, Concat, ... and arithmetic on
 * weights); the rest become graph nodes. Attributes are checked against the
 * inputs they describe; what we cannot execute exactly is refused with the
 * node's name rather than approximated. */
#include "loaders/onnx_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *onnx_supported_list(void)
{
    return "Conv BatchNormalization Relu LeakyRelu Clip Sigmoid HardSigmoid HardSwish Mul Add "
           "Sub Div Pow Sqrt Erf Tanh Exp Neg MaxPool AveragePool GlobalAveragePool ReduceMean "
           "Flatten Reshape Transpose Concat Split Slice Gather Pad Gemm MatMul Softmax "
           "Identity Dropout Constant Shape Unsqueeze Squeeze Cast ConstantOfShape Equal Less "
           "Greater And Or Xor Not Where Expand Range Mod ScatterND (these thirteen on constants "
           "only) LayerNormalization Resize Upsample Einsum (batched matrix products)";
}

/* ---- attributes and inputs --------------------------------------------- */

static const Onnx__AttributeProto *attr(const Onnx__NodeProto *nd, const char *name)
{
    for (size_t k = 0; k < nd->n_attribute; k++)
        if (nd->attribute[k]->name && strcmp(nd->attribute[k]->name, name) == 0)
            return nd->attribute[k];
    return NULL;
}

static int64_t attr_i(const Onnx__NodeProto *nd, const char *name, int64_t def)
{
    const Onnx__AttributeProto *a = attr(nd, name);
    return a && a->has_i ? a->i : def;
}

static float attr_f(const Onnx__NodeProto *nd, const char *name, float def)
{
    const Onnx__AttributeProto *a = attr(nd, name);
    return a && a->has_f ? a->f : def;
}

/* The ints of an attribute; *n = -1 when absent. */
static const int64_t *attr_ints(const Onnx__NodeProto *nd, const char *name, int *n)
{
    const Onnx__AttributeProto *a = attr(nd, name);
    *n = a ? (int)(a->n_ints > 64 ? 64 : a->n_ints) : -1;
    return a ? a->ints : NULL;
}

static int attr_s_is(const Onnx__NodeProto *nd, const char *name, const char *want,
                     const char *def)
{
    const Onnx__AttributeProto *a = attr(nd, name);
    if (!a || !a->has_s)
        return strcmp(def, want) == 0;
    return a->s.len == strlen(want) && memcmp(a->s.data, want, a->s.len) == 0;
}

static value *input(onnx_loader *L, const Onnx__NodeProto *nd, size_t k)
{
    if (k >= nd->n_input || !nd->input[k] || !*nd->input[k])
        return NULL;
    return onnx_get(L, nd->input[k]);
}

/* A computed input's node, or -1 after failing. */
static int need_node(onnx_loader *L, const value *v, const char *what)
{
    if (v && v->kind == V_NODE)
        return v->node;
    onnx_fail(L, GC_ERR_UNSUPPORTED, "%s must be a computed tensor%s", what,
              v ? ", not a constant" : " and is missing");
    return -1;
}

/* The start of every one-input operator with options: its input node in
 * *x and a fresh extension record, or NULL with L's error set. */
static gc_params *unary_node(onnx_loader *L, const Onnx__NodeProto *nd, int *x)
{
    *x = need_node(L, input(L, nd, 0), "the input");
    return *x < 0 ? NULL : onnx_new_params(L, 0);
}

static const value *need_float(onnx_loader *L, const value *v, const char *what, int ndim)
{
    if (!v || v->kind != V_FLOAT || (ndim >= 0 && v->ndim != ndim)) {
        onnx_fail(L, GC_ERR_UNSUPPORTED, "%s must be a constant float tensor%s%.0d%s", what,
                  ndim >= 0 ? " of rank " : "", ndim >= 0 ? ndim : 0, "");
        return NULL;
    }
    return v;
}

/* Up to max ints of a constant (float constants are rounded). */
static int const_ints(onnx_loader *L, const value *v, int64_t *out, int max, const char *what)
{
    if (!v || v->kind == V_NODE || v->numel > max) {
        onnx_fail(L, GC_ERR_UNSUPPORTED, "%s must be a small constant", what);
        return -1;
    }
    for (int64_t k = 0; k < v->numel; k++)
        out[k] = v->kind == V_INT ? v->i[k] : (int64_t)llround(v->f[k]);
    return (int)v->numel;
}

static int const_scalar(onnx_loader *L, const value *v, double *out, const char *what)
{
    if (!v || v->kind == V_NODE || v->numel != 1) {
        onnx_fail(L, GC_ERR_UNSUPPORTED, "%s must be a constant scalar", what);
        return -1;
    }
    if (v->kind == V_INT && onnx_batch_factor(v->i[0])) {
        onnx_fail(L, GC_ERR_UNSUPPORTED, "%s depends on the batch size", what);
        return -1;
    }
    *out = v->kind == V_INT ? (double)v->i[0] : v->f[0];
    return 0;
}

static const char *out_name(const Onnx__NodeProto *nd, size_t k)
{
    return k < nd->n_output ? nd->output[k] : NULL;
}

static gc_status put_node(onnx_loader *L, const Onnx__NodeProto *nd, size_t k, int node)
{
    if (node < 0)
        return L->err->status;
    value v = {.name = out_name(nd, k), .kind = V_NODE, .node = node};
    return onnx_put(L, &v);
}

static int add(onnx_loader *L, gc_op op, const int *in, int nin, gc_params *e)
{
    return onnx_add_node(L, op, in, nin, e);
}

/* Copies a value under another name (Identity, Dropout, Cast on floats). */
static gc_status alias(onnx_loader *L, const char *name, const value *v)
{
    if (!name || !*name)
        return GC_OK;
    if (v->kind == V_INT)
        return onnx_put_int(L, name, v->ndim, v->dims, v->i);
    value c = *v;
    c.name = name;
    return onnx_put(L, &c);
}

/* A float copy of a constant (int constants converted). */
static float *float_copy(onnx_loader *L, const value *v)
{
    float *f = malloc(sizeof(float) * (size_t)(v->numel ? v->numel : 1));
    if (!f) {
        onnx_fail(L, GC_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (int64_t k = 0; k < v->numel; k++) {
        if (v->kind == V_INT && onnx_batch_factor(v->i[k])) {
            free(f);
            onnx_fail(L, GC_ERR_UNSUPPORTED, "uses the batch size as a number");
            return NULL;
        }
        f[k] = v->kind == V_INT ? (float)v->i[k] : v->f[k];
    }
    return f;
}

static gc_status put_result(onnx_loader *L, const char *name, int is_int, int ndim,
                            const int64_t *dims, const double *data, int64_t n)
{
    gc_status st;
    if (is_int) {
        int64_t *p = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
        if (!p)
            return onnx_fail(L, GC_ERR_NOMEM, "out of memory");
        for (int64_t k = 0; k < n; k++)
            p[k] = (int64_t)data[k];
        st = onnx_put_int(L, name, ndim, dims, p);
        free(p);
    } else {
        float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
        if (!p)
            return onnx_fail(L, GC_ERR_NOMEM, "out of memory");
        for (int64_t k = 0; k < n; k++)
            p[k] = (float)data[k];
        st = onnx_put_float(L, name, ndim, dims, p, NULL);
        free(p);
    }
    return st;
}

/* ---- folding ----------------------------------------------------------- */

static double elem(const value *v, int64_t k)
{
    return v->kind == V_INT ? (double)v->i[k] : (double)v->f[k];
}

static int has_batch(const value *v)
{
    if (v->kind != V_INT)
        return 0;
    for (int64_t k = 0; k < v->numel; k++)
        if (onnx_batch_factor(v->i[k]))
            return 1;
    return 0;
}

/* N * k times or divided by a constant, as a shape computation around
 * attention does (N * heads, and back): scalars only, exact, integers. */
static gc_status fold_batch(onnx_loader *L, const Onnx__NodeProto *nd, const value *a,
                            const value *b)
{
    const char *op = nd->op_type;
    if (a->kind != V_INT || b->kind != V_INT || a->numel != 1 || b->numel != 1)
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "arithmetic on the batch size");
    const int64_t ka = onnx_batch_factor(a->i[0]), kb = onnx_batch_factor(b->i[0]);
    const int64_t c = ka ? b->i[0] : a->i[0], k = ka ? ka : kb;
    int64_t r = 0;
    if (!strcmp(op, "Mul") && !(ka && kb) && c > 0 && c < GC_ONNX_BATCH_MAX_K / k)
        r = k * c;
    else if (!strcmp(op, "Div") && ka && !kb && c > 0 && k % c == 0)
        r = k / c;
    if (!r)
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "arithmetic on the batch size");
    const int64_t m = onnx_batch_times(r);
    return onnx_put_int(L, out_name(nd, 0), a->ndim > b->ndim ? a->ndim : b->ndim,
                        a->ndim >= b->ndim ? a->dims : b->dims, &m);
}

static gc_status fold_unary(onnx_loader *L, const Onnx__NodeProto *nd, const value *a, int kind,
                            float alpha, float beta)
{
    float *x = float_copy(L, a);
    if (!x)
        return L->err->status;
    if (kind < 0) /* Relu */
        for (int64_t k = 0; k < a->numel; k++)
            x[k] = x[k] > 0 ? x[k] : 0;
    else
        unary_forward(kind, alpha, beta, x, x, (size_t)a->numel);
    gc_status st = onnx_put_float(L, out_name(nd, 0), a->ndim, a->dims, x, NULL);
    free(x);
    return st;
}

/* Concat/Gather/Reshape/Squeeze/Unsqueeze/Slice on constants. */
static gc_status put_like(onnx_loader *L, const char *name, const value *src, int ndim,
                          const int64_t *dims, const int64_t *pick, int64_t n)
{
    double *r = malloc(sizeof(double) * (size_t)(n ? n : 1));
    if (!r)
        return onnx_fail(L, GC_ERR_NOMEM, "out of memory");
    for (int64_t k = 0; k < n; k++)
        r[k] = pick ? elem(src, pick[k]) : elem(src, k);
    gc_status st;
    if (src->kind == V_INT) { /* keep the batch marker exact */
        int64_t *p = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
        if (!p) {
            free(r);
            return onnx_fail(L, GC_ERR_NOMEM, "out of memory");
        }
        for (int64_t k = 0; k < n; k++)
            p[k] = src->i[pick ? pick[k] : k];
        st = onnx_put_int(L, name, ndim, dims, p);
        free(p);
    } else {
        st = put_result(L, name, 0, ndim, dims, r, n);
    }
    free(r);
    return st;
}

/* ---- operators --------------------------------------------------------- */

static gc_status conv_unary(onnx_loader *L, const Onnx__NodeProto *nd, int kind)
{
    const value *x = input(L, nd, 0);
    float alpha = 0, beta = 0;
    if (kind == GC_U_LEAKY_RELU)
        alpha = attr_f(nd, "alpha", 0.01f);
    else if (kind == GC_U_HARD_SIGMOID)
        alpha = attr_f(nd, "alpha", 0.2f), beta = attr_f(nd, "beta", 0.5f);
    else if (kind == GC_U_CLIP) {
        alpha = -INFINITY, beta = INFINITY;
        if (L->opset < 11) {
            alpha = attr_f(nd, "min", alpha), beta = attr_f(nd, "max", beta);
        } else {
            double v;
            if (input(L, nd, 1)) {
                if (const_scalar(L, input(L, nd, 1), &v, "Clip's min"))
                    return L->err->status;
                alpha = (float)v;
            }
            if (input(L, nd, 2)) {
                if (const_scalar(L, input(L, nd, 2), &v, "Clip's max"))
                    return L->err->status;
                beta = (float)v;
            }
        }
    }
    if (!x)
        return onnx_fail(L, GC_ERR_FORMAT, "no input");
    if (x->kind != V_NODE)
        return fold_unary(L, nd, x, kind, alpha, beta);
    if (kind == -1)
        return put_node(L, nd, 0, add(L, GC_OP_RELU, &x->node, 1, NULL));
    gc_params *e = onnx_new_params(L, 0);
    if (!e)
        return L->err->status;
    e->kind = kind, e->alpha = alpha, e->beta = beta;
    return put_node(L, nd, 0, add(L, GC_OP_UNARY, &x->node, 1, e));
}

static gc_status conv_binary(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    const value *a = input(L, nd, 0), *b = input(L, nd, 1);
    const char *op = nd->op_type;
    if (!a || !b)
        return onnx_fail(L, GC_ERR_FORMAT, "needs two inputs");
    if (a->kind != V_NODE && b->kind != V_NODE)
        return has_batch(a) || has_batch(b) ? fold_batch(L, nd, a, b)
                                            : onnx_fold_arith(L, nd, a, b);
    if (!strcmp(op, "Pow")) {
        double p;
        if (a->kind != V_NODE || const_scalar(L, b, &p, "the exponent"))
            return a->kind != V_NODE ? onnx_fail(L, GC_ERR_UNSUPPORTED, "a constant base")
                                     : L->err->status;
        gc_params *e = onnx_new_params(L, 0);
        if (!e)
            return L->err->status;
        e->kind = GC_U_POW, e->alpha = (float)p;
        return put_node(L, nd, 0, add(L, GC_OP_UNARY, &a->node, 1, e));
    }
    gc_params *e = onnx_new_params(L, 0);
    if (!e)
        return L->err->status;
    e->kind = !strcmp(op, "Add") ? GC_B_ADD : !strcmp(op, "Sub") ? GC_B_SUB
              : !strcmp(op, "Mul") ? GC_B_MUL : GC_B_DIV;
    if (a->kind == V_NODE && b->kind == V_NODE) {
        int in[2] = {a->node, b->node};
        return put_node(L, nd, 0, add(L, GC_OP_BINARY, in, 2, e));
    }
    const value *c = a->kind == V_NODE ? b : a, *x = a->kind == V_NODE ? a : b;
    e->const_pos = a->kind == V_NODE ? 1 : 0;
    e->cndim = c->ndim;
    memcpy(e->cdims, c->dims, sizeof(int64_t) * (size_t)c->ndim);
    const float *w = c->f;
    if (c->kind == V_INT) { /* an integer constant in float arithmetic */
        float *f = float_copy(L, c), *owned = f ? onnx_alloc_floats(L, "cast", c->numel) : NULL;
        if (owned)
            memcpy(owned, f, sizeof(float) * (size_t)c->numel);
        free(f);
        if (!owned) {
            free(e);
            return L->err->status;
        }
        w = owned;
    }
    int node = add(L, GC_OP_BINARY, &x->node, 1, e);
    if (node >= 0)
        L->m->graph.nodes[node].weight = w;
    return put_node(L, nd, 0, node);
}

/* Window attributes shared by Conv, MaxPool and AveragePool. */
static gc_status window_attrs(onnx_loader *L, const Onnx__NodeProto *nd, int x, int kh, int kw,
                              gc_node *g)
{
    int n;
    const int64_t *v;
    g->kh = kh, g->kw = kw;
    if ((v = attr_ints(nd, "strides", &n)) && n >= 0) {
        if (n != 2 || v[0] < 1 || v[1] < 1 || v[0] > 64 || v[1] > 64)
            return onnx_fail(L, GC_ERR_UNSUPPORTED, "strides must be two values in 1..64");
        g->sh = (int)v[0], g->sw = (int)v[1];
    }
    if ((v = attr_ints(nd, "dilations", &n)) && n >= 0) {
        if (n != 2 || v[0] < 1 || v[1] < 1 || v[0] > 64 || v[1] > 64)
            return onnx_fail(L, GC_ERR_UNSUPPORTED, "dilations must be two values in 1..64");
        g->dh = (int)v[0], g->dw = (int)v[1];
    }
    if ((v = attr_ints(nd, "pads", &n)) && n >= 0) {
        if (n != 4)
            return onnx_fail(L, GC_ERR_UNSUPPORTED, "pads must have 4 values (2-D only)");
        for (int k = 0; k < 4; k++)
            if (v[k] < 0 || v[k] > 1024)
                return onnx_fail(L, GC_ERR_UNSUPPORTED, "pad %lld is out of range",
                                 (long long)v[k]);
        /* ONNX: [top, left, bottom, right] — the node's order too. */
        for (int k = 0; k < 4; k++)
            g->pad[k] = (int)v[k];
    }
    if (attr_s_is(nd, "auto_pad", "SAME_UPPER", "NOTSET") ||
        attr_s_is(nd, "auto_pad", "SAME_LOWER", "NOTSET")) {
        int lower = attr_s_is(nd, "auto_pad", "SAME_LOWER", "NOTSET");
        const gc_shape *s = &L->shapes[x];
        int in[2] = {s->h, s->w}, k[2] = {kh, kw}, st[2] = {g->sh, g->sw}, d[2] = {g->dh, g->dw};
        for (int a = 0; a < 2; a++) {
            int out = (in[a] + st[a] - 1) / st[a];
            int total = (out - 1) * st[a] + (k[a] - 1) * d[a] + 1 - in[a];
            total = total < 0 ? 0 : total;
            int begin = lower ? total - total / 2 : total / 2;
            g->pad[a] = begin, g->pad[a + 2] = total - begin;
        }
    } else if (attr_s_is(nd, "auto_pad", "VALID", "NOTSET")) {
        memset(g->pad, 0, sizeof g->pad);
    } else if (!attr_s_is(nd, "auto_pad", "NOTSET", "NOTSET")) {
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "unknown auto_pad");
    }
    return GC_OK;
}

static gc_status conv_conv(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    int x = need_node(L, input(L, nd, 0), "the input");
    const value *w = x < 0 ? NULL : need_float(L, input(L, nd, 1), "the weight", 4);
    const value *b = input(L, nd, 2);
    if (!w)
        return L->err->status;
    int64_t oc = w->dims[0], cg = w->dims[1], kh = w->dims[2], kw = w->dims[3];
    int64_t group = attr_i(nd, "group", 1);
    const gc_shape *s = &L->shapes[x];
    if (!s->spatial || s->ndim != 3)
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "only 2-D convolutions on [N,C,H,W] are supported");
    if (group < 1 || oc < 1 || kh < 1 || kw < 1 || kh > 64 || kw > 64 || oc % group ||
        cg * group != s->c)
        return onnx_fail(L, GC_ERR_FORMAT,
                         "weight [%lld,%lld,%lld,%lld] in %lld group(s) does not fit an input "
                         "of %d channels",
                         (long long)oc, (long long)cg, (long long)kh, (long long)kw,
                         (long long)group, s->c);
    int n;
    const int64_t *ks = attr_ints(nd, "kernel_shape", &n);
    if (ks && n >= 0 && (n != 2 || ks[0] != kh || ks[1] != kw))
        return onnx_fail(L, GC_ERR_FORMAT, "kernel_shape does not match the weight");
    if (b && (!need_float(L, b, "the bias", 1) || b->numel != oc))
        return b->kind == V_FLOAT ? onnx_fail(L, GC_ERR_FORMAT, "bias has %lld values for %lld "
                                              "channels", (long long)b->numel, (long long)oc)
                                  : L->err->status;
    int i = add(L, GC_OP_CONV, &x, 1, NULL);
    if (i < 0)
        return L->err->status;
    gc_node *g = &L->m->graph.nodes[i];
    g->weight = w->f, g->bias = b ? b->f : NULL;
    g->out_channels = (int)oc, g->groups = (int)group;
    if (window_attrs(L, nd, x, (int)kh, (int)kw, g))
        return L->err->status;
    return put_node(L, nd, 0, i);
}

static gc_status conv_pool(onnx_loader *L, const Onnx__NodeProto *nd, int avg)
{
    int x = need_node(L, input(L, nd, 0), "the input");
    if (x < 0)
        return L->err->status;
    if (!avg && nd->n_output > 1 && nd->output[1] && *nd->output[1])
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "MaxPool's Indices output");
    int n;
    const int64_t *ks = attr_ints(nd, "kernel_shape", &n);
    if (!ks || n != 2 || ks[0] < 1 || ks[1] < 1 || ks[0] > 256 || ks[1] > 256)
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "kernel_shape must be two values in 1..256");
    if (!L->shapes[x].spatial || L->shapes[x].ndim != 3)
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "only 2-D pooling on [N,C,H,W] is supported");
    gc_params *e = NULL;
    if (avg) {
        if (!(e = onnx_new_params(L, 0)))
            return L->err->status;
        e->count_include_pad = (int)attr_i(nd, "count_include_pad", 0);
    }
    int i = add(L, avg ? GC_OP_AVGPOOL : GC_OP_MAXPOOL, &x, 1, e);
    if (i < 0)
        return L->err->status;
    gc_node *g = &L->m->graph.nodes[i];
    g->ceil_mode = (int)attr_i(nd, "ceil_mode", 0) != 0;
    if (window_attrs(L, nd, x, (int)ks[0], (int)ks[1], g))
        return L->err->status;
    if (avg && (g->dh != 1 || g->dw != 1))
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "dilated average pooling");
    return put_node(L, nd, 0, i);
}

/* Eval-mode BatchNormalization as a per-channel affine map. */
static gc_status conv_bn(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    int x = need_node(L, input(L, nd, 0), "the input");
    if (x < 0)
        return L->err->status;
    if (attr_i(nd, "training_mode", 0))
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "training mode");
    const value *p[4];
    static const char *const what[4] = {"scale", "bias", "mean", "var"};
    for (int k = 0; k < 4; k++)
        if (!(p[k] = need_float(L, input(L, nd, 1 + k), what[k], 1)))
            return L->err->status;
    int64_t c = p[0]->numel;
    const gc_shape *s = &L->shapes[x];
    int channels = s->ndim == 3 ? s->c : s->ndim == 1 ? s->d[0] : -1;
    if (channels != c || p[1]->numel != c || p[2]->numel != c || p[3]->numel != c)
        return onnx_fail(L, GC_ERR_FORMAT, "parameters of %lld channels for an input of %d",
                         (long long)c, channels);
    double eps = attr_f(nd, "epsilon", 1e-5f);
    float *scale = onnx_alloc_floats(L, "bn", 2 * c);
    if (!scale)
        return L->err->status;
    float *shift = scale + c;
    for (int64_t k = 0; k < c; k++) {
        double sc = (double)p[0]->f[k] / sqrt((double)p[3]->f[k] + eps);
        scale[k] = (float)sc;
        shift[k] = (float)((double)p[1]->f[k] - (double)p[2]->f[k] * sc);
    }
    int i = add(L, GC_OP_AFFINE, &x, 1, NULL);
    if (i >= 0)
        L->m->graph.nodes[i].weight = scale, L->m->graph.nodes[i].bias = shift;
    return put_node(L, nd, 0, i);
}

static gc_status conv_gemm(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    int x = need_node(L, input(L, nd, 0), "A");
    const value *B = x < 0 ? NULL : need_float(L, input(L, nd, 1), "B", 2);
    const value *C = input(L, nd, 2);
    if (!B)
        return L->err->status;
    if (attr_i(nd, "transA", 0))
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "transA (it would mix the batch)");
    int tb = attr_i(nd, "transB", 0) != 0;
    float alpha = attr_f(nd, "alpha", 1.0f), beta = attr_f(nd, "beta", 1.0f);
    int64_t out = tb ? B->dims[0] : B->dims[1], in = tb ? B->dims[1] : B->dims[0];
    const gc_shape *s = &L->shapes[x];
    if (s->ndim != 1 || s->d[0] != in)
        return onnx_fail(L, GC_ERR_FORMAT, "A has %zu values per image, B expects %lld",
                         gc_shape_numel(s), (long long)in);
    const float *w = B->f, *bias = NULL;
    if (!tb || alpha != 1.0f) {
        float *t = onnx_alloc_floats(L, "gemm", out * in);
        if (!t)
            return L->err->status;
        for (int64_t o = 0; o < out; o++)
            for (int64_t k = 0; k < in; k++)
                t[o * in + k] = alpha * (tb ? B->f[o * in + k] : B->f[k * out + o]);
        w = t;
    }
    if (C) {
        if (C->kind != V_FLOAT || (C->numel != out && C->numel != 1))
            return onnx_fail(L, GC_ERR_UNSUPPORTED, "C must be a constant of %lld or 1 values",
                             (long long)out);
        bias = C->f;
        if (C->numel != out || beta != 1.0f) {
            float *t = onnx_alloc_floats(L, "gemm.bias", out);
            if (!t)
                return L->err->status;
            for (int64_t o = 0; o < out; o++)
                t[o] = beta * C->f[C->numel == 1 ? 0 : o];
            bias = t;
        }
    }
    int i = add(L, GC_OP_LINEAR, &x, 1, NULL);
    if (i >= 0) {
        gc_node *g = &L->m->graph.nodes[i];
        g->weight = w, g->bias = bias, g->out_channels = (int)out;
    }
    return put_node(L, nd, 0, i);
}

static gc_status conv_matmul(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    const value *a = input(L, nd, 0), *b = input(L, nd, 1);
    int x = need_node(L, a, "the first operand");
    if (x < 0 || !b)
        return x < 0 ? L->err->status : onnx_fail(L, GC_ERR_FORMAT, "needs two inputs");
    gc_params *e = onnx_new_params(L, 0);
    if (!e)
        return L->err->status;
    if (b->kind == V_NODE) {
        int in[2] = {x, b->node};
        return put_node(L, nd, 0, add(L, GC_OP_MATMUL, in, 2, e));
    }
    if (!need_float(L, b, "a constant second operand", 2)) {
        free(e);
        return L->err->status;
    }
    e->const_pos = 1, e->cndim = 2;
    e->cdims[0] = b->dims[0], e->cdims[1] = b->dims[1];
    int i = add(L, GC_OP_MATMUL, &x, 1, e);
    if (i >= 0)
        L->m->graph.nodes[i].weight = b->f;
    return put_node(L, nd, 0, i);
}

/* Axes from an attribute (older opsets) or an input (newer). */
static int axes_of(onnx_loader *L, const Onnx__NodeProto *nd, int input_index, int64_t *axes)
{
    int n;
    const int64_t *v = attr_ints(nd, "axes", &n);
    if (v && n >= 0) {
        if (n > GC_ND) {
            onnx_fail(L, GC_ERR_UNSUPPORTED, "too many axes");
            return -2;
        }
        memcpy(axes, v, sizeof(int64_t) * (size_t)n);
        return n;
    }
    const value *a = input(L, nd, (size_t)input_index);
    if (!a)
        return -1;
    n = const_ints(L, a, axes, GC_ND, "axes");
    return n < 0 ? -2 : n;
}

static gc_status conv_reduce_mean(onnx_loader *L, const Onnx__NodeProto *nd, int global)
{
    int x;
    gc_params *e = unary_node(L, nd, &x);
    if (!e)
        return L->err->status;
    e->keepdims = 1;
    if (global) {
        e->ndim = -1;
    } else {
        int64_t axes[GC_ND];
        int n = axes_of(L, nd, 1, axes);
        e->keepdims = (int)attr_i(nd, "keepdims", 1);
        if (n <= 0) {
            free(e);
            if (n == -2)
                return L->err->status;
            if (attr_i(nd, "noop_with_empty_axes", 0))
                return alias(L, out_name(nd, 0), input(L, nd, 0));
            return onnx_fail(L, GC_ERR_UNSUPPORTED, "a mean over every axis, the batch included");
        }
        e->ndim = n;
        for (int k = 0; k < n; k++)
            e->perm[k] = (int)axes[k];
    }
    return put_node(L, nd, 0, add(L, GC_OP_REDUCE_MEAN, &x, 1, e));
}

static gc_status conv_reshape(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    const value *x = input(L, nd, 0);
    int64_t t[GC_ND + 1];
    int n = const_ints(L, input(L, nd, 1), t, GC_ND + 1, "the target shape");
    if (n < 0 || !x)
        return x ? L->err->status : onnx_fail(L, GC_ERR_FORMAT, "no input");
    int allowzero = (int)attr_i(nd, "allowzero", 0);
    if (x->kind != V_NODE) { /* a constant: resolve 0 and -1 here */
        int64_t dims[GC_ND + 1], known = 1;
        int infer = -1;
        for (int k = 0; k < n; k++) {
            dims[k] = t[k] == 0 && !allowzero ? (k < x->ndim ? x->dims[k] : -2) : t[k];
            if (dims[k] == -1 && infer < 0)
                infer = k;
            else if (dims[k] < 0)
                return onnx_fail(L, GC_ERR_FORMAT, "bad target shape");
            else
                known *= dims[k];
        }
        if (infer >= 0)
            dims[infer] = known ? x->numel / known : 0;
        int64_t total = 1;
        for (int k = 0; k < n; k++)
            total *= dims[k];
        if (total != x->numel)
            return onnx_fail(L, GC_ERR_FORMAT, "cannot reshape %lld values", (long long)x->numel);
        return put_like(L, out_name(nd, 0), x, n, dims, NULL, x->numel);
    }
    /* The batch elsewhere, or merged with another axis: onnx_batch.c. */
    int moved = onnx_batch_factor(t[0]) > 1;
    for (int k = 1; k < n; k++)
        moved |= onnx_batch_factor(t[k]) != 0;
    if (moved)
        return onnx_batch_reshape(L, nd, x, t, n, allowzero);
    /* The first entry is the batch: the marker, 0 (copy), -1 (inferred
     * while the rest is fixed) or 1 (a model exported for one image). */
    int infer = 0;
    for (int k = 1; k < n; k++)
        infer += t[k] == -1;
    if (n > 1 && t[0] == -1 && infer == 0) { /* -1 may be N * k (Swin's windows) */
        const gc_shape *s = &L->shapes[x->node];
        const int64_t per_image = (int64_t)gc_shape_numel(s);
        int64_t rest = 1;
        for (int k = 1; k < n && rest > 0; k++) {
            const int64_t v = t[k] == 0 && !allowzero ? (k - 1 < s->ndim ? s->d[k - 1] : 0) : t[k];
            rest = v > 0 && v <= per_image / rest ? rest * v : 0; /* no overflow */
        }
        if (rest > 0 && per_image != rest && per_image % rest == 0 &&
            per_image / rest < GC_ONNX_BATCH_MAX_K) {
            t[0] = onnx_batch_times(per_image / rest);
            return onnx_batch_reshape(L, nd, x, t, n, allowzero);
        }
    }
    if (n < 1 || !(t[0] == GC_ONNX_BATCH || (t[0] == 0 && !allowzero) || t[0] == 1 ||
                   (t[0] == -1 && infer == 0)))
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "a reshape that moves data across the batch");
    gc_params *e = onnx_new_params(L, 0);
    if (!e)
        return L->err->status;
    e->kind = GC_RS_TARGET, e->ndim = n - 1;
    for (int k = 1; k < n; k++) {
        if ((t[k] == 0 && allowzero) || t[k] < -1) {
            free(e);
            return onnx_fail(L, GC_ERR_UNSUPPORTED, "target shape entry %d (%lld)", k,
                             (long long)t[k]);
        }
        e->dims[k - 1] = t[k];
    }
    return put_node(L, nd, 0, add(L, GC_OP_RESHAPE, &x->node, 1, e));
}

static gc_status conv_squeeze(onnx_loader *L, const Onnx__NodeProto *nd, int un)
{
    const value *x = input(L, nd, 0);
    int64_t axes[GC_ND];
    int n = axes_of(L, nd, 1, axes);
    if (n == -2 || !x)
        return x ? L->err->status : onnx_fail(L, GC_ERR_FORMAT, "no input");
    if (un && n <= 0)
        return onnx_fail(L, GC_ERR_FORMAT, "Unsqueeze without axes");
    if (x->kind != V_NODE) {
        int64_t dims[GC_MAX_DIMS];
        int r = un ? x->ndim + n : 0;
        if (r > GC_MAX_DIMS)
            return onnx_fail(L, GC_ERR_UNSUPPORTED, "rank %d", r);
        if (un) {
            int mask = 0;
            for (int k = 0; k < n; k++) {
                int64_t a = axes[k] < 0 ? axes[k] + r : axes[k];
                if (a < 0 || a >= r)
                    return onnx_fail(L, GC_ERR_FORMAT, "axis %lld", (long long)axes[k]);
                mask |= 1 << a;
            }
            for (int k = 0, src = 0; k < r; k++)
                dims[k] = (mask >> k & 1) ? 1 : x->dims[src++];
        } else {
            int mask = 0;
            for (int k = 0; k < n; k++) {
                int64_t a = axes[k] < 0 ? axes[k] + x->ndim : axes[k];
                if (a < 0 || a >= x->ndim || x->dims[a] != 1)
                    return onnx_fail(L, GC_ERR_FORMAT, "axis %lld", (long long)axes[k]);
                mask |= 1 << a;
            }
            for (int k = 0; k < x->ndim; k++)
                if (!(n > 0 ? (mask >> k & 1) : x->dims[k] == 1))
                    dims[r++] = x->dims[k];
        }
        return put_like(L, out_name(nd, 0), x, r, dims, NULL, x->numel);
    }
    gc_params *e = onnx_new_params(L, 0);
    if (!e)
        return L->err->status;
    e->kind = un ? GC_RS_UNSQUEEZE : GC_RS_SQUEEZE;
    e->ndim = n > 0 ? n : 0;
    for (int k = 0; k < e->ndim; k++)
        e->perm[k] = (int)axes[k];
    return put_node(L, nd, 0, add(L, GC_OP_RESHAPE, &x->node, 1, e));
}

static gc_status conv_flatten(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    int x;
    gc_params *e = unary_node(L, nd, &x);
    if (!e)
        return L->err->status;
    e->kind = GC_RS_FLATTEN, e->axis = (int)attr_i(nd, "axis", 1);
    return put_node(L, nd, 0, add(L, GC_OP_RESHAPE, &x, 1, e));
}

static gc_status conv_transpose(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    const value *x = input(L, nd, 0);
    int n;
    const int64_t *p = attr_ints(nd, "perm", &n);
    if (x && x->kind != V_NODE && x->ndim <= 1)
        return alias(L, out_name(nd, 0), x);
    if (x && x->kind != V_NODE) { /* no perm: the axes reversed */
        int64_t rev[GC_MAX_DIMS];
        for (int k = 0; !p && k < x->ndim; k++)
            rev[k] = x->ndim - 1 - k;
        return onnx_fold_transpose(L, nd, x, p ? p : rev, p ? n : x->ndim);
    }
    int node = need_node(L, x, "the input");
    if (node < 0)
        return L->err->status;
    if (!p || n < 1 || n > GC_ND + 1)
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "a transpose without a permutation of the axes");
    if (p[0] != 0) /* the batch moves (attention as PyTorch exports it) */
        return onnx_batch_transpose(L, nd, x, p, n);
    gc_params *e = onnx_new_params(L, 0);
    if (!e)
        return L->err->status;
    e->ndim = n - 1;
    for (int k = 1; k < n; k++)
        e->perm[k - 1] = (int)(p[k] - 1);
    return put_node(L, nd, 0, add(L, GC_OP_TRANSPOSE, &node, 1, e));
}

/* A float constant of the full rank (batch axis first, of size 1: shared by
 * every image) as a graph node next to computed tensors of per-image rank
 * rank; -1 after failing. */
static int constant_node(onnx_loader *L, const value *v, int rank)
{
    if (v->kind != V_FLOAT || v->ndim != rank + 1 || v->dims[0] != 1) {
        onnx_fail(L, GC_ERR_UNSUPPORTED, "concatenating a constant of shape other than "
                  "[1, ...] of the computed tensors' rank with them");
        return -1;
    }
    gc_params *e = onnx_new_params(L, 0);
    if (!e)
        return -1;
    e->ndim = rank;
    for (int k = 0; k < rank; k++)
        e->dims[k] = v->dims[k + 1];
    int i = add(L, GC_OP_CONSTANT, NULL, 0, e);
    if (i >= 0)
        L->m->graph.nodes[i].weight = v->f;
    return i;
}

/* Concat of computed tensors and constants: the constants become nodes. */
static gc_status concat_mixed(onnx_loader *L, const Onnx__NodeProto *nd, int64_t axis)
{
    int in[GC_NODE_MAX_IN], n = 0, rank = -1;
    for (size_t k = 0; k < nd->n_input && rank < 0; k++) {
        const value *v = input(L, nd, k);
        if (v && v->kind == V_NODE)
            rank = L->shapes[v->node].ndim;
    }
    for (size_t k = 0; k < nd->n_input; k++) {
        const value *v = input(L, nd, k);
        if (!v)
            continue;
        if (n == GC_NODE_MAX_IN)
            return onnx_fail(L, GC_ERR_LIMIT, "more than %d inputs", GC_NODE_MAX_IN);
        in[n] = v->kind == V_NODE ? v->node : constant_node(L, v, rank);
        if (in[n++] < 0)
            return L->err->status;
    }
    gc_params *e = onnx_new_params(L, 0);
    if (!e)
        return L->err->status;
    e->axis = (int)axis;
    return put_node(L, nd, 0, add(L, GC_OP_CONCAT, in, n, e));
}

static gc_status conv_concat(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    int64_t axis = attr_i(nd, "axis", 0);
    int consts = 0, nodes = 0, in[GC_NODE_MAX_IN];
    for (size_t k = 0; k < nd->n_input; k++) {
        const value *v = input(L, nd, k);
        if (!v)
            continue;
        if (v->kind == V_NODE) {
            if (nodes == GC_NODE_MAX_IN)
                return onnx_fail(L, GC_ERR_LIMIT, "more than %d inputs", GC_NODE_MAX_IN);
            in[nodes++] = v->node;
        } else {
            consts++;
        }
    }
    if (nodes && consts) /* a class token before the patch tokens, say */
        return concat_mixed(L, nd, axis);
    if (nodes) {
        gc_params *e = onnx_new_params(L, 0);
        if (!e)
            return L->err->status;
        e->axis = (int)axis;
        return put_node(L, nd, 0, add(L, GC_OP_CONCAT, in, nodes, e));
    }
    /* Constants (shape vectors, mostly): outer x len x inner blocks. */
    const value *first = NULL;
    int64_t total = 0, len = 0, dims[GC_MAX_DIMS];
    int is_int = 1;
    for (size_t k = 0; k < nd->n_input; k++) {
        const value *v = input(L, nd, k);
        if (!v)
            continue;
        if (!first) {
            first = v;
            axis = axis < 0 ? axis + v->ndim : axis;
            if (axis < 0 || axis >= v->ndim)
                return onnx_fail(L, GC_ERR_FORMAT, "axis out of range");
        }
        if (v->ndim != first->ndim)
            return onnx_fail(L, GC_ERR_FORMAT, "inputs of different ranks");
        for (int q = 0; q < v->ndim; q++)
            if (q != axis && v->dims[q] != first->dims[q])
                return onnx_fail(L, GC_ERR_FORMAT, "inputs of different shapes");
        len += v->dims[axis];
        total += v->numel;
        is_int &= v->kind == V_INT;
    }
    if (!first)
        return onnx_fail(L, GC_ERR_FORMAT, "no inputs");
    memcpy(dims, first->dims, sizeof(int64_t) * (size_t)first->ndim);
    dims[axis] = len;
    int64_t outer = 1, inner = 1;
    for (int q = 0; q < axis; q++)
        outer *= first->dims[q];
    for (int q = (int)axis + 1; q < first->ndim; q++)
        inner *= first->dims[q];
    int64_t *ip = malloc(sizeof(int64_t) * (size_t)(total ? total : 1));
    double *dp = malloc(sizeof(double) * (size_t)(total ? total : 1));
    if (!ip || !dp) {
        free(ip), free(dp);
        return onnx_fail(L, GC_ERR_NOMEM, "out of memory");
    }
    int64_t w = 0;
    for (int64_t o = 0; o < outer; o++)
        for (size_t k = 0; k < nd->n_input; k++) {
            const value *v = input(L, nd, k);
            if (!v)
                continue;
            int64_t blk = v->dims[axis] * inner;
            for (int64_t j = 0; j < blk; j++, w++) {
                ip[w] = v->kind == V_INT ? v->i[o * blk + j] : 0;
                dp[w] = elem(v, o * blk + j);
            }
        }
    gc_status st = is_int ? onnx_put_int(L, out_name(nd, 0), first->ndim, dims, ip)
                          : put_result(L, out_name(nd, 0), 0, first->ndim, dims, dp, total);
    free(ip), free(dp);
    return st;
}

static int add_slice(onnx_loader *L, int x, int n, const int64_t *axes, const int64_t *st,
                     const int64_t *en, const int64_t *sp)
{
    gc_params *e = onnx_new_params(L, 0);
    if (!e)
        return -1;
    e->ndim = n;
    for (int k = 0; k < n; k++) {
        e->perm[k] = (int)axes[k];
        e->dims[k] = st[k], e->dims2[k] = en[k], e->dims3[k] = sp ? sp[k] : 1;
    }
    return add(L, GC_OP_SLICE, &x, 1, e);
}

static gc_status conv_slice(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    const value *x = input(L, nd, 0);
    int64_t st[GC_ND], en[GC_ND], axes[GC_ND], sp[GC_ND];
    int n, na = -1, ns = -1;
    if (!x)
        return onnx_fail(L, GC_ERR_FORMAT, "no input");
    if (L->opset < 10) {
        int a, b;
        const int64_t *s0 = attr_ints(nd, "starts", &a), *e0 = attr_ints(nd, "ends", &b);
        if (!s0 || !e0 || a != b || a > GC_ND)
            return onnx_fail(L, GC_ERR_FORMAT, "starts and ends must match");
        n = a;
        memcpy(st, s0, sizeof(int64_t) * (size_t)n);
        memcpy(en, e0, sizeof(int64_t) * (size_t)n);
        const int64_t *a0 = attr_ints(nd, "axes", &na);
        if (a0 && na == n)
            memcpy(axes, a0, sizeof(int64_t) * (size_t)n);
    } else {
        n = const_ints(L, input(L, nd, 1), st, GC_ND, "starts");
        if (n < 0 || const_ints(L, input(L, nd, 2), en, GC_ND, "ends") != n)
            return n < 0 ? L->err->status : onnx_fail(L, GC_ERR_FORMAT, "starts and ends differ");
        if (input(L, nd, 3) && (na = const_ints(L, input(L, nd, 3), axes, GC_ND, "axes")) != n)
            return onnx_fail(L, GC_ERR_FORMAT, "axes do not match starts");
        if (input(L, nd, 4) && (ns = const_ints(L, input(L, nd, 4), sp, GC_ND, "steps")) != n)
            return onnx_fail(L, GC_ERR_FORMAT, "steps do not match starts");
    }
    if (na < 0)
        for (int k = 0; k < n; k++)
            axes[k] = k;
    if (ns < 0)
        for (int k = 0; k < n; k++)
            sp[k] = 1;
    if (x->kind != V_NODE)
        return onnx_fold_slice(L, nd, x, n, axes, st, en, sp);
    return put_node(L, nd, 0, add_slice(L, x->node, n, axes, st, en, sp));
}

static gc_status conv_split(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    int x = need_node(L, input(L, nd, 0), "the input");
    if (x < 0)
        return L->err->status;
    int64_t axis = attr_i(nd, "axis", 0), sizes[64];
    int outs = (int)nd->n_output, n = -1;
    if (outs < 1 || outs > 64)
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "%d outputs", outs);
    const int64_t *a = attr_ints(nd, "split", &n);
    if (a && n >= 0) {
        if (n != outs)
            return onnx_fail(L, GC_ERR_FORMAT, "split has %d sizes for %d outputs", n, outs);
        memcpy(sizes, a, sizeof(int64_t) * (size_t)n);
    } else if (input(L, nd, 1)) {
        if (const_ints(L, input(L, nd, 1), sizes, 64, "split") != outs)
            return onnx_fail(L, GC_ERR_FORMAT, "split sizes do not match the outputs");
    } else { /* equal parts of the axis at the declared size */
        const gc_shape *s = &L->shapes[x];
        int64_t k = axis < 0 ? axis + s->ndim + 1 : axis;
        if (k < 1 || k > s->ndim || s->d[k - 1] % outs)
            return onnx_fail(L, GC_ERR_UNSUPPORTED, "an equal split that does not divide axis %lld",
                             (long long)axis);
        for (int j = 0; j < outs; j++)
            sizes[j] = s->d[k - 1] / outs;
    }
    int64_t start = 0;
    for (int j = 0; j < outs; j++) {
        int64_t st = start, en = start + sizes[j];
        if (sizes[j] < 0)
            return onnx_fail(L, GC_ERR_FORMAT, "negative split size");
        int i = add_slice(L, x, 1, &axis, &st, &en, NULL);
        if (i < 0 || put_node(L, nd, (size_t)j, i))
            return L->err->status;
        L->tensor_name[i] = out_name(nd, (size_t)j);
        start = en;
    }
    return GC_OK;
}

static gc_status conv_gather(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    const value *x = input(L, nd, 0), *idx = input(L, nd, 1);
    int64_t axis = attr_i(nd, "axis", 0);
    if (!x || !idx || idx->kind == V_NODE)
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "indices must be a constant");
    if (idx->numel > (1 << 20) || idx->ndim > GC_ND)
        return onnx_fail(L, GC_ERR_LIMIT, "too many indices");
    if (x->kind != V_NODE)
        return onnx_fold_gather(L, nd, x, idx, axis);
    gc_params *e = onnx_new_params(L, (int)idx->numel);
    if (!e)
        return L->err->status;
    e->axis = (int)axis, e->nidx = (int)idx->numel, e->idx_ndim = idx->ndim;
    memcpy(e->idx_dims, idx->dims, sizeof(int64_t) * (size_t)idx->ndim);
    for (int64_t k = 0; k < idx->numel; k++)
        e->idx[k] = (int64_t)elem(idx, k);
    return put_node(L, nd, 0, add(L, GC_OP_GATHER, &x->node, 1, e));
}

static gc_status conv_pad(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    int x = need_node(L, input(L, nd, 0), "the input");
    if (x < 0)
        return L->err->status;
    if (!attr_s_is(nd, "mode", "constant", "constant"))
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "only constant padding");
    int64_t pads[2 * (GC_ND + 1)];
    int n;
    double value = 0;
    if (L->opset < 11) {
        const int64_t *p = attr_ints(nd, "pads", &n);
        if (!p || n < 2 || n > 2 * (GC_ND + 1))
            return onnx_fail(L, GC_ERR_FORMAT, "pads missing");
        memcpy(pads, p, sizeof(int64_t) * (size_t)n);
        value = attr_f(nd, "value", 0.0f);
    } else {
        n = const_ints(L, input(L, nd, 1), pads, 2 * (GC_ND + 1), "pads");
        if (n < 0 || (input(L, nd, 2) && const_scalar(L, input(L, nd, 2), &value, "the value")))
            return L->err->status;
        if (input(L, nd, 3))
            return onnx_fail(L, GC_ERR_UNSUPPORTED, "the axes input");
    }
    int r = n / 2;
    if (n % 2 || r < 2 || pads[0] || pads[r])
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "pads must leave the batch alone");
    gc_params *e = onnx_new_params(L, 0);
    if (!e)
        return L->err->status;
    e->ndim = r - 1, e->alpha = (float)value;
    for (int k = 1; k < r; k++) {
        if (pads[k] < 0 || pads[k + r] < 0 || pads[k] > 4096 || pads[k + r] > 4096) {
            free(e);
            return onnx_fail(L, GC_ERR_UNSUPPORTED, "negative or huge pads");
        }
        e->dims[k - 1] = pads[k], e->dims2[k - 1] = pads[k + r];
    }
    return put_node(L, nd, 0, add(L, GC_OP_PAD, &x, 1, e));
}

static gc_status conv_softmax(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    int x;
    gc_params *e = unary_node(L, nd, &x);
    if (!e)
        return L->err->status;
    e->legacy = L->opset < 13;
    e->axis = (int)attr_i(nd, "axis", e->legacy ? 1 : -1);
    return put_node(L, nd, 0, add(L, GC_OP_SOFTMAX, &x, 1, e));
}

/* Resize (opset >= 10; arg 0) and Upsample (arg 1): a [C, H, W] map to a
 * constant size (sizes, computed at load time: N and C kept) or by
 * constant scales (1 for N and C). Bilinear or nearest, with the coordinate
 * transforms PyTorch's interpolate exports; cubic, antialiasing and
 * regions of interest are refused. */
static gc_status conv_resize(onnx_loader *L, const Onnx__NodeProto *nd, int upsample)
{
    int x = need_node(L, input(L, nd, 0), "the input");
    if (x < 0)
        return L->err->status;
    const gc_shape *s = &L->shapes[x];
    if (!s->spatial)
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "resizing other than a [C, H, W] map");
    const int opset10 = upsample || L->opset < 11; /* Resize-10: X, scales */
    const value *scales = input(L, nd, opset10 ? 1 : 2), *sizes = opset10 ? NULL : input(L, nd, 3);
    gc_params *e = onnx_new_params(L, 0);
    if (!e)
        return L->err->status;
    if (sizes && sizes->numel > 0) {
        int64_t d[GC_MAX_DIMS];
        if (const_ints(L, sizes, d, GC_MAX_DIMS, "sizes") != 4) {
            free(e);
            return L->err->status ? L->err->status
                                  : onnx_fail(L, GC_ERR_UNSUPPORTED, "sizes of other than 4");
        }
        if (d[1] != s->c || d[2] < 1 || d[3] < 1) {
            free(e);
            return onnx_fail(L, GC_ERR_UNSUPPORTED, "sizes that change N or C, or are empty");
        }
        e->dims[0] = d[2], e->dims[1] = d[3];
    } else {
        if (!scales || scales->kind != V_FLOAT || scales->numel != 4 || scales->f[0] != 1.0f ||
            scales->f[1] != 1.0f || !(scales->f[2] > 0) || !(scales->f[3] > 0)) {
            free(e);
            return onnx_fail(L, GC_ERR_UNSUPPORTED, "scales must be 4 constants, 1 for N and C");
        }
        e->alpha = scales->f[2], e->beta = scales->f[3];
    }
    const Onnx__AttributeProto *m = attr(nd, "mode");
    int nearest = m && m->has_s && m->s.len == 7 && !memcmp(m->s.data, "nearest", 7);
    int linear = m && m->has_s && ((m->s.len == 6 && !memcmp(m->s.data, "linear", 6)) ||
                                   (m->s.len == 8 && !memcmp(m->s.data, "bilinear", 8)));
    nearest |= !m;
    if (!nearest && !linear) {
        free(e);
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "mode '%.*s' (nearest and linear are supported)",
                         m ? (int)m->s.len : 0, m ? (const char *)m->s.data : "");
    }
    e->kind = nearest;
    if (opset10 || attr_s_is(nd, "coordinate_transformation_mode", "asymmetric", "half_pixel"))
        e->axis = GC_RESIZE_ASYMMETRIC;
    else if (attr_s_is(nd, "coordinate_transformation_mode", "align_corners", "half_pixel"))
        e->axis = GC_RESIZE_ALIGN_CORNERS;
    else if (attr_s_is(nd, "coordinate_transformation_mode", "half_pixel", "half_pixel") ||
             attr_s_is(nd, "coordinate_transformation_mode", "pytorch_half_pixel", "half_pixel"))
        e->axis = GC_RESIZE_HALF_PIXEL;
    else {
        free(e);
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "that coordinate_transformation_mode");
    }
    if (nearest) {
        if (attr_s_is(nd, "nearest_mode", "round_prefer_floor", "round_prefer_floor") && !opset10)
            e->legacy = 1;
        else if (!attr_s_is(nd, "nearest_mode", "floor", "round_prefer_floor") && !opset10) {
            free(e);
            return onnx_fail(L, GC_ERR_UNSUPPORTED, "that nearest_mode (floor and "
                             "round_prefer_floor are supported)");
        }
    }
    if (attr_i(nd, "antialias", 0) || (linear && attr_i(nd, "exclude_outside", 0))) {
        free(e);
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "antialiasing or exclude_outside");
    }
    return put_node(L, nd, 0, add(L, GC_OP_RESIZE, &x, 1, e));
}

/* LayerNormalization (opset 17): X a computed tensor, Scale and B
 * constants of the normalised length; the optional Mean and InvStdDev
 * outputs (training) are refused. */
static gc_status conv_layernorm(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    int x = need_node(L, input(L, nd, 0), "the input");
    if (x < 0)
        return L->err->status;
    for (size_t k = 1; k < nd->n_output; k++)
        if (nd->output[k] && *nd->output[k])
            return onnx_fail(L, GC_ERR_UNSUPPORTED, "the Mean and InvStdDev outputs");
    const value *scale = need_float(L, input(L, nd, 1), "Scale", -1);
    const value *b = input(L, nd, 2);
    if (!scale || (b && !need_float(L, b, "B", -1)))
        return L->err->status;
    if (b && b->numel != scale->numel)
        return onnx_fail(L, GC_ERR_FORMAT, "Scale and B of different sizes");
    gc_params *e = onnx_new_params(L, 0);
    if (!e)
        return L->err->status;
    e->axis = (int)attr_i(nd, "axis", -1);
    e->alpha = attr_f(nd, "epsilon", 1e-5f);
    e->cndim = 1, e->cdims[0] = scale->numel; /* checked against the input's shape */
    int i = add(L, GC_OP_LAYERNORM, &x, 1, e);
    if (i >= 0)
        L->m->graph.nodes[i].weight = scale->f, L->m->graph.nodes[i].bias = b ? b->f : NULL;
    return put_node(L, nd, 0, i);
}

static gc_status conv_constant(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    const char *name = out_name(nd, 0);
    const Onnx__AttributeProto *a;
    if (!name || !*name)
        return GC_OK;
    if ((a = attr(nd, "value")) && a->t)
        return onnx_tensor_value(L, a->t, name);
    if ((a = attr(nd, "value_float")) && a->has_f)
        return onnx_put_float(L, name, 0, NULL, &a->f, NULL);
    if ((a = attr(nd, "value_floats"))) {
        int64_t d = (int64_t)a->n_floats;
        return onnx_put_float(L, name, 1, &d, a->floats, NULL);
    }
    if ((a = attr(nd, "value_int")) && a->has_i)
        return onnx_put_int(L, name, 0, NULL, &a->i);
    if ((a = attr(nd, "value_ints"))) {
        int64_t d = (int64_t)a->n_ints;
        return onnx_put_int(L, name, 1, &d, a->ints);
    }
    return onnx_fail(L, GC_ERR_UNSUPPORTED, "a Constant without a tensor, float(s) or int(s)");
}

static gc_status conv_shape(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    const value *x = input(L, nd, 0);
    if (!x)
        return onnx_fail(L, GC_ERR_FORMAT, "no input");
    int64_t d[GC_MAX_DIMS + 1];
    int r;
    if (x->kind == V_NODE) {
        const gc_shape *s = &L->shapes[x->node];
        r = s->ndim + 1;
        d[0] = GC_ONNX_BATCH;
        for (int k = 0; k < s->ndim; k++)
            d[k + 1] = s->d[k];
    } else {
        r = x->ndim;
        memcpy(d, x->dims, sizeof(int64_t) * (size_t)r);
    }
    int64_t start = attr_i(nd, "start", 0), end = attr_i(nd, "end", r);
    start = start < 0 ? start + r : start, end = end < 0 ? end + r : end;
    start = start < 0 ? 0 : start > r ? r : start;
    end = end < start ? start : end > r ? r : end;
    int64_t len = end - start;
    return onnx_put_int(L, out_name(nd, 0), 1, &len, d + start);
}

static gc_status conv_cast(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    const value *x = input(L, nd, 0);
    int64_t to = attr_i(nd, "to", 0);
    int to_float = to == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ||
                   to == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ||
                   to == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16;
    if (!x)
        return onnx_fail(L, GC_ERR_FORMAT, "no input");
    if (x->kind == V_NODE) {
        if (!to_float)
            return onnx_fail(L, GC_ERR_UNSUPPORTED, "casting a computed tensor to type %lld",
                             (long long)to);
        return alias(L, out_name(nd, 0), x);
    }
    if (to_float && x->kind == V_INT) {
        float *f = float_copy(L, x);
        gc_status st = f ? onnx_put_float(L, out_name(nd, 0), x->ndim, x->dims, f, NULL)
                         : L->err->status;
        free(f);
        return st;
    }
    if (!to_float && x->kind == V_FLOAT) {
        double *r = malloc(sizeof(double) * (size_t)(x->numel ? x->numel : 1));
        if (!r)
            return onnx_fail(L, GC_ERR_NOMEM, "out of memory");
        for (int64_t k = 0; k < x->numel; k++)
            r[k] = trunc(x->f[k]);
        gc_status st = put_result(L, out_name(nd, 0), 1, x->ndim, x->dims, r, x->numel);
        free(r);
        return st;
    }
    return alias(L, out_name(nd, 0), x);
}

static gc_status conv_identity(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    const value *x = input(L, nd, 0);
    if (!x)
        return onnx_fail(L, GC_ERR_FORMAT, "no input");
    return alias(L, out_name(nd, 0), x);
}

/* Each operator's converter; arg tells variants apart (which unary map, an
 * average or a max pool, ...). */
static const struct {
    const char *op;
    gc_status (*convert)(onnx_loader *L, const Onnx__NodeProto *nd, int arg);
    int arg;
} CONVERTERS[] = {
    {"Relu", conv_unary, -1},
    {"Sigmoid", conv_unary, GC_U_SIGMOID},
    {"LeakyRelu", conv_unary, GC_U_LEAKY_RELU},
    {"HardSigmoid", conv_unary, GC_U_HARD_SIGMOID},
    {"HardSwish", conv_unary, GC_U_HARD_SWISH},
    {"Sqrt", conv_unary, GC_U_SQRT},
    {"Erf", conv_unary, GC_U_ERF},
    {"Tanh", conv_unary, GC_U_TANH},
    {"Exp", conv_unary, GC_U_EXP},
    {"Neg", conv_unary, GC_U_NEG},
    {"Clip", conv_unary, GC_U_CLIP},
    {"Add", conv_binary, 0},
    {"Sub", conv_binary, 0},
    {"Mul", conv_binary, 0},
    {"Div", conv_binary, 0},
    {"Pow", conv_binary, 0},
    {"Conv", conv_conv, 0},
    {"MaxPool", conv_pool, 0},
    {"AveragePool", conv_pool, 1},
    {"BatchNormalization", conv_bn, 0},
    {"GlobalAveragePool", conv_reduce_mean, 1},
    {"ReduceMean", conv_reduce_mean, 0},
    {"Gemm", conv_gemm, 0},
    {"MatMul", conv_matmul, 0},
    {"Flatten", conv_flatten, 0},
    {"Reshape", conv_reshape, 0},
    {"Squeeze", conv_squeeze, 0},
    {"Unsqueeze", conv_squeeze, 1},
    {"Transpose", conv_transpose, 0},
    {"Concat", conv_concat, 0},
    {"Slice", conv_slice, 0},
    {"Split", conv_split, 0},
    {"Gather", conv_gather, 0},
    {"Pad", conv_pad, 0},
    {"Softmax", conv_softmax, 0},
    {"Constant", conv_constant, 0},
    {"Shape", conv_shape, 0},
    {"Cast", conv_cast, 0},
    {"Identity", conv_identity, 0},
    {"Dropout", conv_identity, 0},
    {"LayerNormalization", conv_layernorm, 0},
    {"Resize", conv_resize, 0},
    {"Upsample", conv_resize, 1},
    {"ConstantOfShape", onnx_conv_constant_of_shape, 0},
    {"Equal", onnx_conv_compare, 0},
    {"Less", onnx_conv_compare, 1},
    {"Greater", onnx_conv_compare, 2},
    {"And", onnx_conv_logic, 0},
    {"Or", onnx_conv_logic, 1},
    {"Xor", onnx_conv_logic, 2},
    {"Not", onnx_conv_logic, 3},
    {"Where", onnx_conv_where, 0},
    {"Expand", onnx_conv_expand, 0},
    {"Range", onnx_conv_range, 0},
    {"Mod", onnx_conv_mod, 0},
    {"ScatterND", onnx_conv_scatter_nd, 0},
    {"Einsum", onnx_conv_einsum, 0},
};

int onnx_op_supported(const char *op)
{
    for (size_t k = 0; k < sizeof CONVERTERS / sizeof *CONVERTERS; k++)
        if (strcmp(op, CONVERTERS[k].op) == 0)
            return 1;
    return 0;
}

gc_status onnx_convert_node(onnx_loader *L, const Onnx__NodeProto *nd)
{
    for (size_t k = 0; k < nd->n_input; k++) { /* a moved batch: onnx_batch.c */
        const value *v = input(L, nd, k);
        if (v && !onnx_batch_plain(v))
            return onnx_batch_convert(L, nd);
    }
    return onnx_convert_node_plain(L, nd);
}

gc_status onnx_convert_node_plain(onnx_loader *L, const Onnx__NodeProto *nd)
{
    const char *op = nd->op_type ? nd->op_type : "";
    for (size_t k = 0; k < sizeof CONVERTERS / sizeof *CONVERTERS; k++)
        if (!strcmp(op, CONVERTERS[k].op))
            return CONVERTERS[k].convert(L, nd, CONVERTERS[k].arg);
    return onnx_fail(L, GC_ERR_UNSUPPORTED, "operator not supported (supported: %s)",
                     onnx_supported_list());
}
