/* onnx_batch.c — computed tensors whose batch axis is not the ONNX
 * tensor's first. PyTorch exports nn.MultiheadAttention (every torchvision
 * vision transformer) as a transpose to [L, N, E], a reshape to
 * [L, N * heads, D], products over N * heads and a reshape of [L * N, E]
 * back: images never mix, but the batch moves and merges with other axes.
 *
 * The graph's nodes keep per-image tensors throughout; a value records
 * where its ONNX tensor holds the batch (onnx_internal.h: bax, bmerged,
 * bouter, binner). A transpose moves that axis (and permutes the rest per
 * image, or nothing at all); a reshape is a per-image reshape exactly when
 * the batch keeps its place in the row-major order, that is when the
 * elements before it in each image's order are as many before and after,
 * which fixes the merged axis's outer and inner factors. Products,
 * elementwise arithmetic, softmax and slices along other axes run per
 * image as they are. Anything else on such a value is refused, naming the
 * node: better no map than a wrong one. */
#include "loaders/onnx_internal.h"

#include <stdlib.h>
#include <string.h>

static int image_rank(const onnx_loader *L, const value *v) { return L->shapes[v->node].ndim; }

static int onnx_rank(const onnx_loader *L, const value *v)
{
    return image_rank(L, v) + (v->bmerged ? 0 : 1);
}

int onnx_batch_dims(onnx_loader *L, const value *v, int64_t *dims)
{
    const gc_shape *s = &L->shapes[v->node];
    const int r = onnx_rank(L, v);
    for (int a = 0; a < r; a++)
        if (a == v->bax)
            dims[a] = onnx_batch_times(v->bmerged ? s->d[a] : 1);
        else
            dims[a] = s->d[!v->bmerged && a > v->bax ? a - 1 : a];
    return r;
}

/* ONNX axis a of v (negative: from the end) as a per-image axis; -1 for
 * the batch's, -2 out of range. */
static int image_axis(const onnx_loader *L, const value *v, int64_t a)
{
    const int r = onnx_rank(L, v);
    a = a < 0 ? a + r : a;
    if (a < 0 || a >= r)
        return -2;
    if (a == v->bax)
        return -1;
    return (int)(!v->bmerged && a > v->bax ? a - 1 : a);
}

/* The output as node `node` with the batch placed like `like` at axis bax. */
static gc_status put_placed(onnx_loader *L, const Onnx__NodeProto *nd, int node,
                            const value *like, int bax)
{
    if (node < 0)
        return L->err->status;
    value v = {.name = onnx_output_name(nd), .kind = V_NODE, .node = node, .bax = bax,
               .bmerged = like->bmerged, .bouter = like->bouter, .binner = like->binner};
    return onnx_put(L, &v);
}

static gc_status refuse(onnx_loader *L, const char *what)
{
    return onnx_fail(L, GC_ERR_UNSUPPORTED, "%s on a tensor whose batch axis an earlier node "
                     "moved (attention as PyTorch exports it)", what);
}

/* ---- transpose and reshape ----------------------------------------------- */

gc_status onnx_batch_transpose(onnx_loader *L, const Onnx__NodeProto *nd, const value *x,
                               const int64_t *perm, int n)
{
    const int r = onnx_rank(L, x), ri = image_rank(L, x);
    if (n != r)
        return onnx_fail(L, GC_ERR_FORMAT, "a permutation of %d axes for a tensor of %d", n, r);
    int seen = 0, bax = -1, q[GC_MAX_DIMS], m = 0, identity = 1;
    for (int j = 0; j < n; j++) {
        if (perm[j] < 0 || perm[j] >= n || (seen >> perm[j] & 1))
            return onnx_fail(L, GC_ERR_FORMAT, "not a permutation");
        seen |= 1 << perm[j];
        if (perm[j] == x->bax)
            bax = j;
        if (perm[j] == x->bax && !x->bmerged)
            continue; /* the batch alone: not a per-image axis */
        q[m] = (int)(!x->bmerged && perm[j] > x->bax ? perm[j] - 1 : perm[j]);
        identity &= q[m] == m;
        m++;
    }
    if (identity) { /* only the batch moved: the same data per image */
        value v = *x;
        v.name = onnx_output_name(nd), v.bax = bax;
        return onnx_put(L, &v);
    }
    gc_params *e = onnx_new_params(L, 0);
    if (!e)
        return L->err->status;
    e->ndim = ri;
    memcpy(e->perm, q, sizeof(int) * (size_t)ri);
    return put_placed(L, nd, onnx_add_node(L, GC_OP_TRANSPOSE, &x->node, 1, e), x, bax);
}

gc_status onnx_batch_reshape(onnx_loader *L, const Onnx__NodeProto *nd, const value *x,
                             const int64_t *target, int n, int allowzero)
{
    int64_t d[GC_MAX_DIMS + 1], t[GC_MAX_DIMS + 1];
    const int r = onnx_batch_dims(L, x, d);
    const gc_shape *s = &L->shapes[x->node];
    if (n > GC_MAX_DIMS)
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "a target of rank %d", n);
    int j = -1, infer = -1;
    int64_t kf = 0, known = 1;
    for (int k = 0; k < n; k++) {
        t[k] = target[k] == 0 && !allowzero ? (k < r ? d[k] : -2) : target[k];
        if (onnx_batch_factor(t[k])) {
            if (j >= 0)
                return onnx_fail(L, GC_ERR_UNSUPPORTED, "the batch size in two target entries");
            j = k, kf = onnx_batch_factor(t[k]);
        } else if (t[k] == -1 && infer < 0) {
            infer = k;
        } else if (t[k] <= 0) {
            return onnx_fail(L, GC_ERR_FORMAT, "target entry %d (%lld)", k, (long long)t[k]);
        } else {
            known *= t[k];
        }
    }
    if (j < 0)
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "a reshape that moves data across the batch");
    const int64_t per_image = (int64_t)gc_shape_numel(s);
    if (infer >= 0) {
        if (per_image % (kf * known))
            return onnx_fail(L, GC_ERR_FORMAT, "cannot reshape %lld values per image",
                             (long long)per_image);
        t[infer] = per_image / (kf * known), known *= t[infer];
    }
    if (known * kf != per_image)
        return onnx_fail(L, GC_ERR_FORMAT, "cannot reshape %lld values per image",
                         (long long)per_image);
    /* The elements before the batch in each image's row-major order. */
    int64_t before = x->bmerged ? x->bouter : 1, before_j = 1;
    for (int a = 0; a < x->bax; a++)
        before *= d[a];
    for (int k = 0; k < j; k++)
        before_j *= t[k];
    if (before % before_j || kf % (before / before_j))
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "a reshape that moves data across the batch");
    value out = {.name = onnx_output_name(nd), .kind = V_NODE, .bax = j, .bmerged = kf != 1,
                 .bouter = kf != 1 ? before / before_j : 0,
                 .binner = kf != 1 ? kf / (before / before_j) : 0};
    gc_nd img = {0};
    for (int k = 0; k < n; k++)
        if (k != j || kf != 1)
            img.d[img.ndim++] = (int)(k == j ? kf : t[k]);
    int same = img.ndim == s->ndim;
    for (int k = 0; same && k < img.ndim; k++)
        same = img.d[k] == s->d[k];
    if (same) { /* the same per-image tensor: no node */
        out.node = x->node;
        return onnx_put(L, &out);
    }
    gc_params *e = onnx_new_params(L, 0);
    if (!e)
        return L->err->status;
    e->kind = GC_RS_TARGET, e->ndim = img.ndim;
    for (int k = 0; k < img.ndim; k++)
        e->dims[k] = img.d[k];
    out.node = onnx_add_node(L, GC_OP_RESHAPE, &x->node, 1, e);
    return out.node < 0 ? L->err->status : onnx_put(L, &out);
}

/* ---- operators that run per image as they are ---------------------------- */

static int same_place(const value *a, const value *b)
{
    return a->bax == b->bax && a->bmerged == b->bmerged && a->bouter == b->bouter &&
           a->binner == b->binner;
}

/* A float constant next to moved value x, as the graph's binary operator
 * reads it: the ONNX axis facing x's batch must be 1, and where the batch
 * is alone it goes. */
static int constant_dims(onnx_loader *L, const value *x, const value *c, gc_params *e)
{
    const int r = onnx_rank(L, x), at = x->bax - (r - c->ndim);
    if (c->ndim > r || (at >= 0 && c->dims[at] != 1)) {
        onnx_fail(L, GC_ERR_UNSUPPORTED, "a constant that varies along the batch axis");
        return -1;
    }
    e->cndim = 0;
    for (int k = 0; k < c->ndim; k++)
        if (k != at || x->bmerged)
            e->cdims[e->cndim++] = c->dims[k];
    return 0;
}

static gc_status binary(onnx_loader *L, const Onnx__NodeProto *nd)
{
    const value *a = onnx_input(L, nd, 0), *b = onnx_input(L, nd, 1);
    const char *op = nd->op_type;
    if (!a || !b)
        return onnx_fail(L, GC_ERR_FORMAT, "needs two inputs");
    const value *x = a->kind == V_NODE ? a : b, *c = a->kind == V_NODE ? b : a;
    gc_params *e = onnx_new_params(L, 0);
    if (!e)
        return L->err->status;
    if (!strcmp(op, "Pow")) {
        if (a->kind != V_NODE || b->kind != V_FLOAT || b->numel != 1) {
            free(e);
            return refuse(L, "a power other than by a constant");
        }
        e->kind = GC_U_POW, e->alpha = b->f[0];
        return put_placed(L, nd, onnx_add_node(L, GC_OP_UNARY, &a->node, 1, e), a, a->bax);
    }
    e->kind = !strcmp(op, "Add") ? GC_B_ADD : !strcmp(op, "Sub") ? GC_B_SUB
              : !strcmp(op, "Mul") ? GC_B_MUL : GC_B_DIV;
    if (a->kind == V_NODE && b->kind == V_NODE) {
        if (!same_place(a, b) || onnx_rank(L, a) != onnx_rank(L, b)) {
            free(e);
            return refuse(L, "arithmetic between tensors whose batch lies differently");
        }
        int in[2] = {a->node, b->node};
        return put_placed(L, nd, onnx_add_node(L, GC_OP_BINARY, in, 2, e), a, a->bax);
    }
    if (c->kind != V_FLOAT || constant_dims(L, x, c, e)) {
        free(e);
        return c->kind != V_FLOAT ? refuse(L, "arithmetic with an integer constant")
                                  : L->err->status;
    }
    e->const_pos = a->kind == V_NODE ? 1 : 0;
    int node = onnx_add_node(L, GC_OP_BINARY, &x->node, 1, e);
    if (node >= 0)
        L->m->graph.nodes[node].weight = c->f;
    return put_placed(L, nd, node, x, x->bax);
}

static gc_status matmul(onnx_loader *L, const Onnx__NodeProto *nd)
{
    const value *a = onnx_input(L, nd, 0), *b = onnx_input(L, nd, 1);
    if (!a || !b || a->kind != V_NODE)
        return refuse(L, "a product whose first operand is not the moved tensor");
    const int r = onnx_rank(L, a);
    gc_params *e = onnx_new_params(L, 0);
    if (!e)
        return L->err->status;
    if (b->kind == V_NODE) { /* batched: the batch among the leading axes of both */
        if (!same_place(a, b) || onnx_rank(L, b) != r || a->bax >= r - 2) {
            free(e);
            return refuse(L, "a product of tensors whose batch lies differently");
        }
        int in[2] = {a->node, b->node};
        return put_placed(L, nd, onnx_add_node(L, GC_OP_MATMUL, in, 2, e), a, a->bax);
    }
    if (b->kind != V_FLOAT || b->ndim != 2 || a->bax == r - 1) {
        free(e);
        return refuse(L, "a product with other than a constant matrix");
    }
    e->const_pos = 1, e->cndim = 2, e->cdims[0] = b->dims[0], e->cdims[1] = b->dims[1];
    int i = onnx_add_node(L, GC_OP_MATMUL, &a->node, 1, e);
    if (i >= 0)
        L->m->graph.nodes[i].weight = b->f;
    return put_placed(L, nd, i, a, a->bax);
}

/* Gemm on rows that carry the batch ([L * N, E]): a product with the
 * constant matrix, then the bias as a broadcast addition. */
static gc_status gemm(onnx_loader *L, const Onnx__NodeProto *nd)
{
    const value *a = onnx_input(L, nd, 0), *B = onnx_input(L, nd, 1), *C = onnx_input(L, nd, 2);
    int ta = 0, tb = 0;
    float alpha = 1.0f, beta = 1.0f;
    for (size_t k = 0; k < nd->n_attribute; k++) {
        const Onnx__AttributeProto *at = nd->attribute[k];
        if (!at->name)
            continue;
        if (!strcmp(at->name, "transA"))
            ta = at->i != 0;
        else if (!strcmp(at->name, "transB"))
            tb = at->i != 0;
        else if (!strcmp(at->name, "alpha"))
            alpha = at->f;
        else if (!strcmp(at->name, "beta"))
            beta = at->f;
    }
    if (!a || a->kind != V_NODE || ta || a->bax != 0 || onnx_rank(L, a) != 2 || !B ||
        B->kind != V_FLOAT || B->ndim != 2 || (C && C->kind != V_FLOAT))
        return refuse(L, "a Gemm other than rows carrying the batch times a constant");
    const int64_t in = tb ? B->dims[1] : B->dims[0], out = tb ? B->dims[0] : B->dims[1];
    if (C && C->numel != out && C->numel != 1)
        return onnx_fail(L, GC_ERR_FORMAT, "C of %lld values for %lld outputs",
                         (long long)C->numel, (long long)out);
    float *w = onnx_alloc_floats(L, "gemm", in * out + (C ? out : 0));
    if (!w)
        return L->err->status;
    for (int64_t k = 0; k < in; k++) /* [in, out], as MatMul reads it */
        for (int64_t o = 0; o < out; o++)
            w[k * out + o] = alpha * (tb ? B->f[o * in + k] : B->f[k * out + o]);
    gc_params *e = onnx_new_params(L, 0);
    if (!e)
        return L->err->status;
    e->const_pos = 1, e->cndim = 2, e->cdims[0] = in, e->cdims[1] = out;
    int i = onnx_add_node(L, GC_OP_MATMUL, &a->node, 1, e);
    if (i < 0)
        return L->err->status;
    L->m->graph.nodes[i].weight = w;
    if (C) {
        float *bias = w + in * out;
        for (int64_t o = 0; o < out; o++)
            bias[o] = beta * C->f[C->numel == 1 ? 0 : o];
        gc_params *p = onnx_new_params(L, 0);
        if (!p)
            return L->err->status;
        p->kind = GC_B_ADD, p->const_pos = 1, p->cndim = 1, p->cdims[0] = out;
        i = onnx_add_node(L, GC_OP_BINARY, &i, 1, p);
        if (i >= 0)
            L->m->graph.nodes[i].weight = bias;
    }
    return put_placed(L, nd, i, a, a->bax);
}

static gc_status softmax(onnx_loader *L, const Onnx__NodeProto *nd, const value *x)
{
    int64_t axis = -1;
    for (size_t k = 0; k < nd->n_attribute; k++)
        if (nd->attribute[k]->name && !strcmp(nd->attribute[k]->name, "axis"))
            axis = nd->attribute[k]->i;
    const int p = image_axis(L, x, axis);
    if (L->opset < 13 || p < 0)
        return refuse(L, "a softmax along the batch (or of opset < 13)");
    gc_params *e = onnx_new_params(L, 0);
    if (!e)
        return L->err->status;
    e->axis = p + 1; /* the graph counts the batch as axis 0 */
    return put_placed(L, nd, onnx_add_node(L, GC_OP_SOFTMAX, &x->node, 1, e), x, x->bax);
}

/* Slice (opset >= 10): constant starts, ends, axes, steps; the batch's
 * axis left whole. */
static gc_status slice(onnx_loader *L, const Onnx__NodeProto *nd, const value *x)
{
    int64_t v[4][GC_MAX_DIMS];
    int n = -1;
    for (int q = 1; q <= 4; q++) {
        const value *c = onnx_input(L, nd, (size_t)q);
        if (!c && q >= 3)
            continue;
        if (!c || c->kind != V_INT || c->numel > GC_MAX_DIMS || (n >= 0 && c->numel != n))
            return refuse(L, "a slice without constant starts, ends, axes and steps");
        n = (int)c->numel;
        memcpy(v[q - 1], c->i, sizeof(int64_t) * (size_t)n);
    }
    if (L->opset < 10 || n < 1)
        return refuse(L, "a slice of opset < 10");
    gc_params *e = onnx_new_params(L, 0);
    if (!e)
        return L->err->status;
    e->ndim = n;
    for (int k = 0; k < n; k++) {
        const int p = image_axis(L, x, onnx_input(L, nd, 3) ? v[2][k] : k);
        if (p < 0) {
            free(e);
            return refuse(L, "a slice along the batch");
        }
        e->perm[k] = p + 1; /* the graph counts the batch as axis 0 */
        e->dims[k] = v[0][k], e->dims2[k] = v[1][k];
        e->dims3[k] = onnx_input(L, nd, 4) ? v[3][k] : 1;
    }
    return put_placed(L, nd, onnx_add_node(L, GC_OP_SLICE, &x->node, 1, e), x, x->bax);
}

/* Gather with constant indices along an axis other than the batch's
 * (Swin's q, k, v = qkv[0], qkv[1], qkv[2] after a permute that put the
 * three first): the index's axes replace the gathered one, so a batch
 * after it moves by the index's rank less one. */
static gc_status gather(onnx_loader *L, const Onnx__NodeProto *nd, const value *x)
{
    const value *idx = onnx_input(L, nd, 1);
    int64_t axis = 0;
    for (size_t k = 0; k < nd->n_attribute; k++)
        if (nd->attribute[k]->name && !strcmp(nd->attribute[k]->name, "axis"))
            axis = nd->attribute[k]->i;
    const int r = onnx_rank(L, x), p = image_axis(L, x, axis);
    if (!idx || idx->kind != V_INT || idx->numel > (1 << 20) || p < 0 ||
        r - 1 + idx->ndim > GC_MAX_DIMS)
        return refuse(L, "a Gather along the batch or with indices computed at run time");
    axis = axis < 0 ? axis + r : axis;
    gc_params *e = onnx_new_params(L, (int)idx->numel);
    if (!e)
        return L->err->status;
    e->axis = p + 1, e->nidx = (int)idx->numel, e->idx_ndim = idx->ndim;
    memcpy(e->idx_dims, idx->dims, sizeof(int64_t) * (size_t)idx->ndim);
    memcpy(e->idx, idx->i, sizeof(int64_t) * (size_t)idx->numel);
    const int bax = x->bax < axis ? x->bax : x->bax + idx->ndim - 1;
    return put_placed(L, nd, onnx_add_node(L, GC_OP_GATHER, &x->node, 1, e), x, bax);
}

/* Elementwise maps: the converter of onnx_ops.c, then the batch's place. */
static const char *const elementwise[] = {
    "Relu", "Sigmoid", "Erf", "Tanh", "Exp", "Neg", "Sqrt", "Clip", "HardSigmoid",
    "HardSwish", "LeakyRelu", "Identity", "Dropout", "Cast",
};

gc_status onnx_batch_convert(onnx_loader *L, const Onnx__NodeProto *nd)
{
    const char *op = nd->op_type ? nd->op_type : "";
    const value *x = NULL;
    for (size_t k = 0; k < nd->n_input && !x; k++) {
        const value *v = onnx_input(L, nd, k);
        if (v && !onnx_batch_plain(v))
            x = v;
    }
    if (!x)
        return onnx_fail(L, GC_ERR_FORMAT, "no moved input"); /* not called so */
    if (!strcmp(op, "Shape")) {
        int64_t d[GC_MAX_DIMS + 1], start = 0;
        int r = onnx_batch_dims(L, x, d);
        int64_t end = r;
        for (size_t k = 0; k < nd->n_attribute; k++) {
            const Onnx__AttributeProto *a = nd->attribute[k];
            if (a->name && !strcmp(a->name, "start"))
                start = a->i;
            else if (a->name && !strcmp(a->name, "end"))
                end = a->i;
        }
        start = start < 0 ? start + r : start, end = end < 0 ? end + r : end;
        start = start < 0 ? 0 : start > r ? r : start;
        end = end < start ? start : end > r ? r : end;
        int64_t len = end - start;
        return onnx_put_int(L, onnx_output_name(nd), 1, &len, d + start);
    }
    if (!strcmp(op, "Transpose")) {
        for (size_t k = 0; k < nd->n_attribute; k++) {
            const Onnx__AttributeProto *a = nd->attribute[k];
            if (a->name && !strcmp(a->name, "perm"))
                return onnx_batch_transpose(L, nd, x, a->ints, (int)a->n_ints);
        }
        return refuse(L, "a Transpose without perm");
    }
    if (!strcmp(op, "Reshape")) {
        const value *t = onnx_input(L, nd, 1);
        int allowzero = 0;
        for (size_t k = 0; k < nd->n_attribute; k++)
            if (nd->attribute[k]->name && !strcmp(nd->attribute[k]->name, "allowzero"))
                allowzero = nd->attribute[k]->i != 0;
        if (!t || t->kind != V_INT || t->numel > GC_MAX_DIMS || x != onnx_input(L, nd, 0))
            return refuse(L, "a Reshape to a target computed at run time");
        return onnx_batch_reshape(L, nd, x, t->i, (int)t->numel, allowzero);
    }
    if (!strcmp(op, "Add") || !strcmp(op, "Sub") || !strcmp(op, "Mul") || !strcmp(op, "Div") ||
        !strcmp(op, "Pow"))
        return binary(L, nd);
    if (!strcmp(op, "MatMul"))
        return matmul(L, nd);
    if (!strcmp(op, "Gemm"))
        return gemm(L, nd);
    if (!strcmp(op, "Softmax"))
        return softmax(L, nd, x);
    if (!strcmp(op, "Slice") && x == onnx_input(L, nd, 0))
        return slice(L, nd, x);
    if (!strcmp(op, "Gather") && x == onnx_input(L, nd, 0))
        return gather(L, nd, x);
    for (size_t k = 0; k < sizeof elementwise / sizeof *elementwise; k++)
        if (!strcmp(op, elementwise[k]) && x == onnx_input(L, nd, 0) &&
            (nd->n_output == 1 || !strcmp(op, "Dropout"))) { /* its mask: unused */
            const value saved = *x;
            gc_status st = onnx_convert_node_plain(L, nd);
            value *out = st == GC_OK ? onnx_get(L, onnx_output_name(nd)) : NULL;
            if (out && out->kind == V_NODE)
                out->bax = saved.bax, out->bmerged = saved.bmerged, out->bouter = saved.bouter,
                out->binner = saved.binner;
            return st;
        }
    return refuse(L, op);
}
