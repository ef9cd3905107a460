/* graph_ext.c — shapes, forward and backward of the ONNX operators.
 *
 * Axes arrive as the ONNX file wrote them, counted over the full shape with
 * the batch first and possibly negative; they are resolved here against the
 * per-image rank, and an axis that would touch the batch is refused at
 * shape time (images never interact in the models we explain). Nothing is
 * cached in the node, so one read-only graph serves every session. */
#include "core/graph_ext.h"

#include "core/error.h"
#include "core/session.h"
#include "ops/ext.h"
#include "ops/ops.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void to_nd(const gc_shape *s, gc_nd *o)
{
    o->ndim = s->ndim;
    for (int k = 0; k < s->ndim; k++)
        o->d[k] = s->d[k];
}

static gc_status finish(gc_shape *o, const gc_nd *nd, int i, gc_error *err)
{
    int64_t n = 1;
    if (nd->ndim > GC_ND)
        return gc_fail(err, GC_ERR_UNSUPPORTED, "node %d: rank %d is more than we handle", i,
                       nd->ndim + 1);
    o->ndim = nd->ndim;
    for (int k = 0; k < nd->ndim; k++) {
        if (nd->d[k] <= 0)
            return gc_fail(err, GC_ERR_FORMAT, "node %d: output axis %d has size %d", i, k + 1,
                           nd->d[k]);
        o->d[k] = nd->d[k];
        n *= nd->d[k];
        if (n > INT_MAX / 4)
            return gc_fail(err, GC_ERR_LIMIT, "node %d: output is too large", i);
    }
    if (nd->ndim == 3)
        o->c = nd->d[0], o->h = nd->d[1], o->w = nd->d[2], o->spatial = 1;
    else
        o->c = (int)n, o->h = o->w = 1, o->spatial = 0;
    return GC_OK;
}

/* An ONNX axis (batch = 0, negatives from the end) as a per-image axis, or
 * -1 when it is the batch or out of range. */
static int image_axis(int64_t raw, int rank)
{
    int64_t full = rank + 1;
    if (raw < 0)
        raw += full;
    return (raw >= 1 && raw < full) ? (int)(raw - 1) : -1;
}

/* A constant's per-image shape next to a computed operand of per-image
 * rank r: a leading batch axis of 1 is dropped. */
static int const_image(const gc_node_ext *e, int r, gc_nd *o)
{
    int k = e->cndim, skip = 0;
    if (k == r + 1) {
        if (e->cdims[0] != 1)
            return -1;
        skip = 1;
    } else if (k > r + 1) {
        return -1;
    }
    o->ndim = k - skip;
    for (int j = skip; j < k; j++)
        o->d[j - skip] = (int)e->cdims[j];
    return 0;
}

static int broadcast(const gc_nd *a, const gc_nd *b, gc_bcast *s)
{
    int r = a->ndim > b->ndim ? a->ndim : b->ndim;
    s->out.ndim = s->a.ndim = s->b.ndim = r;
    for (int k = 0; k < r; k++) {
        int ka = k - (r - a->ndim), kb = k - (r - b->ndim);
        int da = ka >= 0 ? a->d[ka] : 1, db = kb >= 0 ? b->d[kb] : 1;
        if (da != db && da != 1 && db != 1)
            return -1;
        s->a.d[k] = da, s->b.d[k] = db;
        s->out.d[k] = da > db ? da : db;
    }
    return 0;
}

static int binary_setup(const gc_node *nd, const gc_shape *shapes, int n, gc_bcast *bc)
{
    const gc_node_ext *e = nd->ext;
    gc_nd A, B;
    bc->n = n, bc->a_batch = bc->b_batch = 1;
    if (e->const_pos < 0) {
        to_nd(&shapes[nd->in[0]], &A);
        to_nd(&shapes[nd->in[1]], &B);
        if (A.ndim != B.ndim)
            return -1;
    } else if (e->const_pos == 0) {
        to_nd(&shapes[nd->in[0]], &B);
        if (const_image(e, B.ndim, &A))
            return -1;
        bc->a_batch = 0;
    } else {
        to_nd(&shapes[nd->in[0]], &A);
        if (const_image(e, A.ndim, &B))
            return -1;
        bc->b_batch = 0;
    }
    return broadcast(&A, &B, bc);
}

/* Slice bounds per per-image axis, ONNX's clamping rules. */
static int slice_setup(const gc_node_ext *e, const gc_nd *in, int64_t *start, int64_t *step,
                       gc_nd *out)
{
    *out = *in;
    for (int k = 0; k < in->ndim; k++)
        start[k] = 0, step[k] = 1;
    for (int j = 0; j < e->ndim; j++) {
        int k = image_axis(e->perm[j], in->ndim);
        if (k < 0)
            return -1;
        int64_t D = in->d[k], st = e->dims[j], en = e->dims2[j], sp = e->dims3[j], cnt;
        if (sp == 0)
            return -1;
        st = st < 0 ? st + D : st;
        en = en < 0 ? en + D : en;
        if (sp > 0) {
            st = st < 0 ? 0 : st > D ? D : st;
            en = en < 0 ? 0 : en > D ? D : en;
            cnt = en > st ? (en - st + sp - 1) / sp : 0;
        } else {
            st = st < 0 ? 0 : st > D - 1 ? D - 1 : st;
            en = en < -1 ? -1 : en > D - 1 ? D - 1 : en;
            cnt = st > en ? (st - en + (-sp) - 1) / (-sp) : 0;
        }
        start[k] = st, step[k] = sp, out->d[k] = (int)cnt;
    }
    return 0;
}

static int reduce_mask(const gc_node_ext *e, int rank)
{
    int mask = 0;
    if (e->ndim < 0) /* GlobalAveragePool: every axis after the channels */
        return rank >= 2 ? ((1 << rank) - 1) & ~1 : -1;
    for (int j = 0; j < e->ndim; j++) {
        int k = image_axis(e->perm[j], rank);
        if (k < 0)
            return -1;
        mask |= 1 << k;
    }
    return mask;
}

/* outer x len x inner around a per-image axis (for softmax, concat, gather). */
static void around(const gc_nd *s, int axis, int n, size_t *outer, int *len, size_t *inner)
{
    *outer = (size_t)n, *inner = 1;
    for (int k = 0; k < axis; k++)
        *outer *= (size_t)s->d[k];
    for (int k = axis + 1; k < s->ndim; k++)
        *inner *= (size_t)s->d[k];
    *len = s->d[axis];
}

static int softmax_setup(const gc_node_ext *e, const gc_nd *s, int n, size_t *outer, int *len,
                         size_t *inner)
{
    int k = image_axis(e->axis, s->ndim);
    if (k < 0)
        return -1;
    around(s, k, n, outer, len, inner);
    if (e->legacy) { /* opset < 13: softmax over everything from axis on */
        *len = (int)(*len * *inner);
        *inner = 1;
    }
    return 0;
}

static int reshape_setup(const gc_node_ext *e, const gc_nd *in, gc_nd *out)
{
    int64_t total = gc_nd_numel(in);
    switch (e->kind) {
    case GC_RS_TARGET: {
        int infer = -1;
        int64_t known = 1;
        out->ndim = e->ndim;
        for (int k = 0; k < e->ndim; k++) {
            int64_t t = e->dims[k];
            if (t == 0) {
                if (k >= in->ndim)
                    return -1;
                t = in->d[k];
            }
            if (t == -1) {
                if (infer >= 0)
                    return -1;
                infer = k;
                continue;
            }
            if (t <= 0 || t > INT_MAX)
                return -1;
            out->d[k] = (int)t;
            known *= t;
        }
        if (infer >= 0) {
            if (known == 0 || total % known)
                return -1;
            out->d[infer] = (int)(total / known);
            known = total;
        }
        return known == total ? 0 : -1;
    }
    case GC_RS_FLATTEN: {
        int64_t raw = e->axis < 0 ? e->axis + in->ndim + 1 : e->axis;
        if (raw < 1 || raw > in->ndim + 1)
            return -1;
        int64_t left = 1;
        for (int k = 0; k < raw - 1; k++)
            left *= in->d[k];
        out->ndim = raw == 1 ? 1 : 2;
        out->d[0] = (int)(raw == 1 ? total : left);
        out->d[1] = (int)(total / left);
        return 0;
    }
    case GC_RS_SQUEEZE: {
        int mask = 0;
        if (e->ndim == 0) {
            for (int k = 0; k < in->ndim; k++)
                mask |= (in->d[k] == 1) << k;
        } else if ((mask = reduce_mask(e, in->ndim)) < 0) {
            return -1;
        }
        out->ndim = 0;
        for (int k = 0; k < in->ndim; k++) {
            if (mask >> k & 1) {
                if (in->d[k] != 1)
                    return -1;
                continue;
            }
            out->d[out->ndim++] = in->d[k];
        }
        return 0;
    }
    case GC_RS_UNSQUEEZE: {
        int rank = in->ndim + e->ndim, mask = 0;
        if (rank > GC_ND)
            return -1;
        for (int j = 0; j < e->ndim; j++) {
            int k = image_axis(e->perm[j], rank);
            if (k < 0 || (mask >> k & 1))
                return -1;
            mask |= 1 << k;
        }
        out->ndim = rank;
        for (int k = 0, src = 0; k < rank; k++)
            out->d[k] = (mask >> k & 1) ? 1 : in->d[src++];
        return 0;
    }
    }
    return -1;
}

static int transpose_setup(const gc_node_ext *e, const gc_nd *in, int *perm, gc_nd *out)
{
    if (e->ndim != in->ndim)
        return -1;
    int seen = 0;
    out->ndim = in->ndim;
    for (int k = 0; k < in->ndim; k++) {
        int p = e->perm[k];
        if (p < 0 || p >= in->ndim || (seen >> p & 1))
            return -1;
        seen |= 1 << p;
        perm[k] = p;
        out->d[k] = in->d[p];
    }
    return 0;
}

static gc_window window_of(const gc_node *nd, const gc_shape *in, const gc_shape *out, int n)
{
    gc_window w = {
        .n = n, .c = in->c, .h = in->h, .w = in->w, .oc = out->c, .ho = out->h, .wo = out->w,
        .kh = nd->kh, .kw = nd->kw, .sh = nd->sh, .sw = nd->sw, .ph = nd->pad[0],
        .pw = nd->pad[1], .dh = nd->dh, .dw = nd->dw, .groups = 1,
    };
    return w;
}

/* MatMul shapes: a [..., r, k] (or [k]) times b [k, m] or [..., k, m]. */
static int matmul_setup(const gc_node *nd, const gc_shape *shapes, gc_nd *out, size_t *batch,
                        int *r, int *k, int *m)
{
    const gc_node_ext *e = nd->ext;
    gc_nd A;
    to_nd(&shapes[nd->in[0]], &A);
    if (A.ndim < 1)
        return -1;
    *k = A.d[A.ndim - 1];
    if (e->const_pos == 1) {
        if (e->cndim != 2 || e->cdims[0] != *k)
            return -1;
        *m = (int)e->cdims[1];
        *r = 1;
        *batch = 1;
        for (int j = 0; j + 1 < A.ndim; j++)
            *r *= A.d[j];
        *out = A;
        out->d[A.ndim - 1] = *m;
        return 0;
    }
    gc_nd B;
    to_nd(&shapes[nd->in[1]], &B);
    if (A.ndim < 2 || B.ndim != A.ndim || B.d[B.ndim - 2] != *k)
        return -1;
    *batch = 1;
    for (int j = 0; j + 2 < A.ndim; j++) {
        if (A.d[j] != B.d[j])
            return -1;
        *batch *= (size_t)A.d[j];
    }
    *r = A.d[A.ndim - 2];
    *m = B.d[B.ndim - 1];
    *out = A;
    out->d[A.ndim - 1] = *m;
    return 0;
}

static const char *const op_names[] = {
    [GC_OP_UNARY] = "elementwise", [GC_OP_BINARY] = "broadcast arithmetic",
    [GC_OP_AVGPOOL] = "AveragePool", [GC_OP_REDUCE_MEAN] = "ReduceMean",
    [GC_OP_SOFTMAX] = "Softmax", [GC_OP_RESHAPE] = "Reshape", [GC_OP_TRANSPOSE] = "Transpose",
    [GC_OP_SLICE] = "Slice", [GC_OP_CONCAT] = "Concat", [GC_OP_GATHER] = "Gather",
    [GC_OP_PAD] = "Pad", [GC_OP_MATMUL] = "MatMul",
};

static gc_status bad(const gc_node *nd, int i, const gc_shape *in, gc_error *err)
{
    char dims[96] = "?";
    if (in) {
        size_t u = (size_t)snprintf(dims, sizeof dims, "[N");
        for (int k = 0; k < in->ndim && u < sizeof dims; k++)
            u += (size_t)snprintf(dims + u, sizeof dims - u, ",%d", in->d[k]);
        if (u < sizeof dims)
            snprintf(dims + u, sizeof dims - u, "]");
    }
    return gc_fail(err, GC_ERR_FORMAT, "node %d (%s): its parameters do not fit an input of shape %s",
                   i, op_names[nd->op] ? op_names[nd->op] : "?", dims);
}

gc_status gc_ext_shape(const gc_graph *g, int i, gc_shape *shapes, gc_error *err)
{
    const gc_node *nd = &g->nodes[i];
    const gc_node_ext *e = nd->ext;
    gc_shape *o = &shapes[i];
    const gc_shape *a = nd->in[0] >= 0 ? &shapes[nd->in[0]] : NULL;
    gc_nd in, out;
    if (!a || (nd->op != GC_OP_UNARY && nd->op != GC_OP_AVGPOOL && !e))
        return gc_fail(err, GC_ERR_INTERNAL, "node %d: no input or parameters", i);
    to_nd(a, &in);
    switch (nd->op) {
    case GC_OP_UNARY:
    case GC_OP_SOFTMAX: {
        size_t ou = 0, inn = 0;
        int len = 0;
        if (nd->op == GC_OP_SOFTMAX && softmax_setup(e, &in, 1, &ou, &len, &inn))
            return bad(nd, i, a, err);
        *o = *a;
        return GC_OK;
    }
    case GC_OP_BINARY: {
        gc_bcast bc;
        if (binary_setup(nd, shapes, 1, &bc))
            return bad(nd, i, a, err);
        return finish(o, &bc.out, i, err);
    }
    case GC_OP_AVGPOOL:
        if (!a->spatial || a->ndim != 3)
            return bad(nd, i, a, err);
        out.ndim = 3;
        out.d[0] = a->c;
        out.d[1] = gc_window_out(a->h, nd->kh, nd->sh, nd->pad[0], nd->pad[2], 1, nd->ceil_mode);
        out.d[2] = gc_window_out(a->w, nd->kw, nd->sw, nd->pad[1], nd->pad[3], 1, nd->ceil_mode);
        if (out.d[1] <= 0 || out.d[2] <= 0)
            return gc_fail(err, GC_ERR_USAGE,
                           "the input is too small: the feature map after node %d would be "
                           "empty",
                           i);
        return finish(o, &out, i, err);
    case GC_OP_REDUCE_MEAN: {
        int mask = reduce_mask(e, in.ndim);
        if (mask <= 0)
            return bad(nd, i, a, err);
        out.ndim = 0;
        for (int k = 0; k < in.ndim; k++)
            if (!(mask >> k & 1))
                out.d[out.ndim++] = in.d[k];
            else if (e->keepdims)
                out.d[out.ndim++] = 1;
        return finish(o, &out, i, err);
    }
    case GC_OP_RESHAPE:
        if (reshape_setup(e, &in, &out))
            return bad(nd, i, a, err);
        return finish(o, &out, i, err);
    case GC_OP_TRANSPOSE: {
        int perm[GC_ND];
        if (transpose_setup(e, &in, perm, &out))
            return bad(nd, i, a, err);
        return finish(o, &out, i, err);
    }
    case GC_OP_SLICE: {
        int64_t st[GC_ND], sp[GC_ND];
        if (slice_setup(e, &in, st, sp, &out))
            return bad(nd, i, a, err);
        return finish(o, &out, i, err);
    }
    case GC_OP_CONCAT: {
        int k = image_axis(e->axis, in.ndim);
        if (k < 0)
            return bad(nd, i, a, err);
        out = in;
        for (int j = 1; j < nd->nin; j++) {
            const gc_shape *b = &shapes[nd->in[j]];
            if (b->ndim != in.ndim)
                return bad(nd, i, b, err);
            for (int q = 0; q < in.ndim; q++)
                if (q != k && b->d[q] != in.d[q])
                    return bad(nd, i, b, err);
            out.d[k] += b->d[k];
        }
        return finish(o, &out, i, err);
    }
    case GC_OP_GATHER: {
        int k = image_axis(e->axis, in.ndim);
        if (k < 0 || in.ndim - 1 + e->idx_ndim > GC_ND)
            return bad(nd, i, a, err);
        for (int j = 0; j < e->nidx; j++)
            if (e->idx[j] < -in.d[k] || e->idx[j] >= in.d[k])
                return gc_fail(err, GC_ERR_FORMAT, "node %d (Gather): index %lld is out of range "
                               "for an axis of %d", i, (long long)e->idx[j], in.d[k]);
        out.ndim = 0;
        for (int q = 0; q < k; q++)
            out.d[out.ndim++] = in.d[q];
        for (int q = 0; q < e->idx_ndim; q++)
            out.d[out.ndim++] = (int)e->idx_dims[q];
        for (int q = k + 1; q < in.ndim; q++)
            out.d[out.ndim++] = in.d[q];
        return finish(o, &out, i, err);
    }
    case GC_OP_PAD:
        if (e->ndim != in.ndim)
            return bad(nd, i, a, err);
        out = in;
        for (int k = 0; k < in.ndim; k++) {
            int64_t v = in.d[k] + e->dims[k] + e->dims2[k];
            if (v <= 0 || v > INT_MAX)
                return bad(nd, i, a, err);
            out.d[k] = (int)v;
        }
        return finish(o, &out, i, err);
    case GC_OP_MATMUL: {
        size_t batch;
        int r, k, m;
        if (matmul_setup(nd, shapes, &out, &batch, &r, &k, &m))
            return bad(nd, i, a, err);
        return finish(o, &out, i, err);
    }
    default:
        return gc_fail(err, GC_ERR_INTERNAL, "node %d: unknown op %d", i, (int)nd->op);
    }
}

/* A binary node's broadcast plan and operands: the constant (if any) on
 * the side it was given, the computed input(s) on the other. */
static void binary_operands(const gc_session *s, int i, gc_bcast *bc, const float **pa,
                            const float **pb)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    const gc_node_ext *e = nd->ext;
    const float *x = s->act[nd->in[0]];
    binary_setup(nd, s->shapes, s->n, bc);
    *pa = e->const_pos == 0 ? nd->weight : x;
    *pb = e->const_pos == 1 ? nd->weight : e->const_pos == 0 ? x : s->act[nd->in[1]];
}

void gc_ext_forward(gc_session *s, int i)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    const gc_node_ext *e = nd->ext;
    const gc_shape *a = &s->shapes[nd->in[0]], *o = &s->shapes[i];
    const int n = s->n;
    const float *x = s->act[nd->in[0]];
    float *y = s->act[i];
    size_t count = (size_t)n * gc_shape_numel(o);
    gc_nd in, out;
    to_nd(a, &in);
    to_nd(o, &out);
    switch (nd->op) {
    case GC_OP_UNARY:
        unary_forward(e->kind, e->alpha, e->beta, y, x, count);
        return;
    case GC_OP_BINARY: {
        gc_bcast bc;
        const float *pa, *pb;
        binary_operands(s, i, &bc, &pa, &pb);
        binary_forward(e->kind, &bc, y, pa, pb);
        return;
    }
    case GC_OP_AVGPOOL: {
        gc_window w = window_of(nd, a, o, n);
        avgpool_forward(y, x, &w, nd->pad[2], nd->pad[3], e ? e->count_include_pad : 1);
        return;
    }
    case GC_OP_REDUCE_MEAN: {
        int mask = reduce_mask(e, in.ndim);
        if (in.ndim == 3 && mask == 6)
            global_avgpool_forward(y, x, n, a->c, a->h * a->w);
        else
            reduce_mean_forward(y, x, n, &in, mask);
        return;
    }
    case GC_OP_SOFTMAX: {
        size_t ou = 0, inn = 0;
        int len = 0;
        softmax_setup(e, &in, n, &ou, &len, &inn);
        softmax_forward(y, x, ou, len, inn);
        return;
    }
    case GC_OP_RESHAPE:
        memcpy(y, x, sizeof(float) * count);
        return;
    case GC_OP_TRANSPOSE: {
        int perm[GC_ND];
        transpose_setup(e, &in, perm, &out);
        transpose_forward(y, x, n, &in, perm);
        return;
    }
    case GC_OP_SLICE: {
        int64_t st[GC_ND], sp[GC_ND];
        slice_setup(e, &in, st, sp, &out);
        slice_forward(y, x, n, &in, &out, st, sp);
        return;
    }
    case GC_OP_CONCAT: {
        const float *ins[GC_NODE_MAX_IN];
        int len[GC_NODE_MAX_IN];
        size_t ou = 0, inn = 0;
        int k = image_axis(e->axis, in.ndim), l0;
        around(&in, k, n, &ou, &l0, &inn);
        for (int j = 0; j < nd->nin; j++) {
            ins[j] = s->act[nd->in[j]];
            len[j] = s->shapes[nd->in[j]].d[k];
        }
        concat_forward(y, ins, len, nd->nin, ou, inn);
        return;
    }
    case GC_OP_GATHER: {
        size_t ou = 0, inn = 0;
        int len = 0;
        around(&in, image_axis(e->axis, in.ndim), n, &ou, &len, &inn);
        gather_forward(y, x, ou, len, inn, e->idx, e->nidx);
        return;
    }
    case GC_OP_PAD:
        pad_forward(y, x, n, &in, &out, e->dims, e->alpha);
        return;
    case GC_OP_MATMUL: {
        size_t batch;
        int r, k, m;
        matmul_setup(nd, s->shapes, &out, &batch, &r, &k, &m);
        if (e->const_pos == 1)
            matmul_const_forward(y, x, nd->weight, (size_t)n * r, k, m);
        else
            matmul_forward(y, x, s->act[nd->in[1]], (size_t)n * batch, r, k, m);
        return;
    }
    default:
        return;
    }
}

void gc_ext_backward(gc_session *s, int i)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    const gc_node_ext *e = nd->ext;
    const gc_shape *a = &s->shapes[nd->in[0]], *o = &s->shapes[i];
    const int n = s->n;
    const float *x = s->act[nd->in[0]], *dy = s->grad[i];
    float *dx = s->reach[nd->in[0]] ? s->grad[nd->in[0]] : NULL;
    size_t count = (size_t)n * gc_shape_numel(o);
    gc_nd in, out;
    to_nd(a, &in);
    to_nd(o, &out);
    switch (nd->op) {
    case GC_OP_UNARY:
        if (dx)
            unary_backward_input(e->kind, e->alpha, e->beta, dx, dy, x, s->act[i], count);
        return;
    case GC_OP_BINARY: {
        gc_bcast bc;
        const float *pa, *pb;
        binary_operands(s, i, &bc, &pa, &pb);
        float *da = e->const_pos == 0 ? NULL : dx;
        float *db = e->const_pos == 1   ? NULL
                    : e->const_pos == 0 ? dx
                    : (s->reach[nd->in[1]] ? s->grad[nd->in[1]] : NULL);
        if (da || db)
            binary_backward_input(e->kind, &bc, dy, pa, pb, da, db);
        return;
    }
    case GC_OP_AVGPOOL:
        if (dx) {
            gc_window w = window_of(nd, a, o, n);
            avgpool_backward_input(dx, dy, &w, nd->pad[2], nd->pad[3],
                                   e ? e->count_include_pad : 1);
        }
        return;
    case GC_OP_REDUCE_MEAN:
        if (dx) {
            int mask = reduce_mask(e, in.ndim);
            if (in.ndim == 3 && mask == 6)
                global_avgpool_backward_input(dx, dy, n, a->c, a->h * a->w);
            else
                reduce_mean_backward_input(dx, dy, n, &in, mask);
        }
        return;
    case GC_OP_SOFTMAX:
        if (dx) {
            size_t ou = 0, inn = 0;
            int len = 0;
            softmax_setup(e, &in, n, &ou, &len, &inn);
            softmax_backward_input(dx, dy, s->act[i], ou, len, inn);
        }
        return;
    case GC_OP_RESHAPE:
        if (dx)
            add_backward_input(dx, dy, count);
        return;
    case GC_OP_TRANSPOSE:
        if (dx) {
            int perm[GC_ND];
            transpose_setup(e, &in, perm, &out);
            transpose_backward_input(dx, dy, n, &in, perm);
        }
        return;
    case GC_OP_SLICE:
        if (dx) {
            int64_t st[GC_ND], sp[GC_ND];
            slice_setup(e, &in, st, sp, &out);
            slice_backward_input(dx, dy, n, &in, &out, st, sp);
        }
        return;
    case GC_OP_CONCAT: {
        float *dins[GC_NODE_MAX_IN];
        int len[GC_NODE_MAX_IN];
        size_t ou = 0, inn = 0;
        int k = image_axis(e->axis, in.ndim), l0;
        around(&in, k, n, &ou, &l0, &inn);
        for (int j = 0; j < nd->nin; j++) {
            dins[j] = s->reach[nd->in[j]] ? s->grad[nd->in[j]] : NULL;
            len[j] = s->shapes[nd->in[j]].d[k];
        }
        concat_backward_input(dins, dy, len, nd->nin, ou, inn);
        return;
    }
    case GC_OP_GATHER:
        if (dx) {
            size_t ou = 0, inn = 0;
            int len = 0;
            around(&in, image_axis(e->axis, in.ndim), n, &ou, &len, &inn);
            gather_backward_input(dx, dy, ou, len, inn, e->idx, e->nidx);
        }
        return;
    case GC_OP_PAD:
        if (dx)
            pad_backward_input(dx, dy, n, &in, &out, e->dims);
        return;
    case GC_OP_MATMUL: {
        size_t batch;
        int r, k, m;
        matmul_setup(nd, s->shapes, &out, &batch, &r, &k, &m);
        if (e->const_pos == 1) {
            if (dx)
                matmul_const_backward_input(dx, dy, nd->weight, (size_t)n * r, k, m);
        } else {
            float *db = s->reach[nd->in[1]] ? s->grad[nd->in[1]] : NULL;
            if (dx || db)
                matmul_backward_input(dx, db, dy, x, s->act[nd->in[1]], (size_t)n * batch, r, k,
                                      m);
        }
        return;
    }
    default:
        return;
    }
}
