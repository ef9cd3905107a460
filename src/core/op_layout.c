/* op_layout.c — the operators that move data without arithmetic: reshape
 * (Flatten, Squeeze, Unsqueeze), transpose, strided slice, concatenation,
 * gather by constant indices, constant padding. Each one's parameters are
 * checked against its input's shape when shapes are inferred, so the
 * passes can trust them. */
#include "core/op_table.h"

#include "core/error.h"
#include "core/session.h"

#include <limits.h>
#include <math.h>
#include <string.h>

/* The input's per-image shape, and node nd's parameters. */
#define SETUP(g, shapes, i)                                                                    \
    const gc_node *nd = &(g)->nodes[i];                                                        \
    const gc_params *p = nd->params;                                                           \
    const gc_shape *a = &(shapes)[nd->in[0]];                                                  \
    gc_nd in, out;                                                                             \
    gc_shape_to_nd(a, &in);                                                                    \
    (void)p, (void)out

/* ---- reshape ---- */

static int reshape_target(const gc_params *p, const gc_nd *in, gc_nd *out)
{
    int64_t total = gc_nd_numel(in), known = 1;
    int infer = -1;
    out->ndim = p->ndim;
    for (int k = 0; k < p->ndim; k++) {
        int64_t t = p->dims[k];
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

static int reshape_flatten(const gc_params *p, const gc_nd *in, gc_nd *out)
{
    int64_t total = gc_nd_numel(in);
    int64_t raw = p->axis < 0 ? p->axis + in->ndim + 1 : p->axis;
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

static int reshape_squeeze(const gc_params *p, const gc_nd *in, gc_nd *out)
{
    int mask = 0;
    if (p->ndim == 0) {
        for (int k = 0; k < in->ndim; k++)
            mask |= (in->d[k] == 1) << k;
    } else if ((mask = gc_axes_mask(p, in->ndim)) < 0) {
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

static int reshape_unsqueeze(const gc_params *p, const gc_nd *in, gc_nd *out)
{
    int rank = in->ndim + p->ndim, mask = 0;
    if (rank > GC_ND)
        return -1;
    for (int j = 0; j < p->ndim; j++) {
        int k = gc_image_axis(p->perm[j], rank);
        if (k < 0 || (mask >> k & 1))
            return -1;
        mask |= 1 << k;
    }
    out->ndim = rank;
    for (int k = 0, src = 0; k < rank; k++)
        out->d[k] = (mask >> k & 1) ? 1 : in->d[src++];
    return 0;
}

static gc_status reshape_shape(const gc_graph *g, int i, int h, int w, gc_shape *shapes,
                               gc_error *err)
{
    SETUP(g, shapes, i);
    int bad = p->kind == GC_RS_TARGET      ? reshape_target(p, &in, &out)
              : p->kind == GC_RS_FLATTEN   ? reshape_flatten(p, &in, &out)
              : p->kind == GC_RS_SQUEEZE   ? reshape_squeeze(p, &in, &out)
              : p->kind == GC_RS_UNSQUEEZE ? reshape_unsqueeze(p, &in, &out)
                                           : -1;
    if (bad)
        return gc_op_misfit(g, i, a, err);
    return gc_shape_from_nd(&shapes[i], &out, i, err);
}

static void reshape_forward(gc_session *s, int i)
{
    memcpy(s->act[i], s->act[s->m->graph.nodes[i].in[0]],
           sizeof(float) * s->n * gc_shape_numel(&s->shapes[i]));
}

static void reshape_backward(gc_session *s, int i, int guided)
{
    const int j = s->m->graph.nodes[i].in[0];
    if (s->reach[j])
        add_backward_input(s->grad[j], s->grad[i], (size_t)s->n * gc_shape_numel(&s->shapes[i]));
}

const gc_op_def gc_op_reshape = {"Reshape", reshape_shape, reshape_forward, reshape_backward};

/* ---- transpose ---- */

static int transpose_setup(const gc_params *p, const gc_nd *in, int *perm, gc_nd *out)
{
    if (p->ndim != in->ndim)
        return -1;
    int seen = 0;
    out->ndim = in->ndim;
    for (int k = 0; k < in->ndim; k++) {
        int q = p->perm[k];
        if (q < 0 || q >= in->ndim || (seen >> q & 1))
            return -1;
        seen |= 1 << q;
        perm[k] = q;
        out->d[k] = in->d[q];
    }
    return 0;
}

static gc_status transpose_shape(const gc_graph *g, int i, int h, int w, gc_shape *shapes,
                                 gc_error *err)
{
    SETUP(g, shapes, i);
    int perm[GC_ND];
    if (transpose_setup(p, &in, perm, &out))
        return gc_op_misfit(g, i, a, err);
    return gc_shape_from_nd(&shapes[i], &out, i, err);
}

static void transpose_node_forward(gc_session *s, int i)
{
    SETUP(&s->m->graph, s->shapes, i);
    int perm[GC_ND];
    transpose_setup(p, &in, perm, &out);
    transpose_forward(s->act[i], s->act[nd->in[0]], s->n, &in, perm);
}

static void transpose_node_backward(gc_session *s, int i, int guided)
{
    SETUP(&s->m->graph, s->shapes, i);
    int perm[GC_ND];
    if (!s->reach[nd->in[0]])
        return;
    transpose_setup(p, &in, perm, &out);
    transpose_backward_input(s->grad[nd->in[0]], s->grad[i], s->n, &in, perm);
}

const gc_op_def gc_op_transpose = {"Transpose", transpose_shape, transpose_node_forward,
                                   transpose_node_backward};

/* ---- strided slice, ONNX's clamping rules ---- */

static int slice_setup(const gc_params *p, const gc_nd *in, int64_t *start, int64_t *step,
                       gc_nd *out)
{
    *out = *in;
    for (int k = 0; k < in->ndim; k++)
        start[k] = 0, step[k] = 1;
    for (int j = 0; j < p->ndim; j++) {
        int k = gc_image_axis(p->perm[j], in->ndim);
        if (k < 0)
            return -1;
        int64_t D = in->d[k], st = p->dims[j], en = p->dims2[j], sp = p->dims3[j], cnt;
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

static gc_status slice_shape(const gc_graph *g, int i, int h, int w, gc_shape *shapes,
                             gc_error *err)
{
    SETUP(g, shapes, i);
    int64_t st[GC_ND], sp[GC_ND];
    if (slice_setup(p, &in, st, sp, &out))
        return gc_op_misfit(g, i, a, err);
    return gc_shape_from_nd(&shapes[i], &out, i, err);
}

static void slice_node_forward(gc_session *s, int i)
{
    SETUP(&s->m->graph, s->shapes, i);
    int64_t st[GC_ND], sp[GC_ND];
    slice_setup(p, &in, st, sp, &out);
    slice_forward(s->act[i], s->act[nd->in[0]], s->n, &in, &out, st, sp);
}

static void slice_node_backward(gc_session *s, int i, int guided)
{
    SETUP(&s->m->graph, s->shapes, i);
    int64_t st[GC_ND], sp[GC_ND];
    if (!s->reach[nd->in[0]])
        return;
    slice_setup(p, &in, st, sp, &out);
    slice_backward_input(s->grad[nd->in[0]], s->grad[i], s->n, &in, &out, st, sp);
}

const gc_op_def gc_op_slice = {"Slice", slice_shape, slice_node_forward, slice_node_backward};

/* ---- concatenation along one per-image axis ---- */

static gc_status concat_shape(const gc_graph *g, int i, int h, int w, gc_shape *shapes,
                              gc_error *err)
{
    SETUP(g, shapes, i);
    int k = gc_image_axis(p->axis, in.ndim);
    if (k < 0)
        return gc_op_misfit(g, i, a, err);
    out = in;
    for (int j = 1; j < nd->nin; j++) {
        const gc_shape *b = &shapes[nd->in[j]];
        if (b->ndim != in.ndim)
            return gc_op_misfit(g, i, b, err);
        for (int q = 0; q < in.ndim; q++)
            if (q != k && b->d[q] != in.d[q])
                return gc_op_misfit(g, i, b, err);
        out.d[k] += b->d[k];
    }
    return gc_shape_from_nd(&shapes[i], &out, i, err);
}

/* The blocks each input contributes: outer x (len[j] x inner). */
static void concat_setup(const gc_session *s, int i, int *len, size_t *outer, size_t *inner)
{
    SETUP(&s->m->graph, s->shapes, i);
    int k = gc_image_axis(p->axis, in.ndim), l0;
    gc_around_axis(&in, k, s->n, outer, &l0, inner);
    for (int j = 0; j < nd->nin; j++)
        len[j] = s->shapes[nd->in[j]].d[k];
}

static void concat_node_forward(gc_session *s, int i)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    const float *ins[GC_NODE_MAX_IN];
    int len[GC_NODE_MAX_IN];
    size_t outer, inner;
    concat_setup(s, i, len, &outer, &inner);
    for (int j = 0; j < nd->nin; j++)
        ins[j] = s->act[nd->in[j]];
    concat_forward(s->act[i], ins, len, nd->nin, outer, inner);
}

static void concat_node_backward(gc_session *s, int i, int guided)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    float *dins[GC_NODE_MAX_IN];
    int len[GC_NODE_MAX_IN];
    size_t outer, inner;
    concat_setup(s, i, len, &outer, &inner);
    for (int j = 0; j < nd->nin; j++)
        dins[j] = s->reach[nd->in[j]] ? s->grad[nd->in[j]] : NULL;
    concat_backward_input(dins, s->grad[i], len, nd->nin, outer, inner);
}

const gc_op_def gc_op_concat = {"Concat", concat_shape, concat_node_forward,
                                concat_node_backward};

/* ---- gather by constant indices ---- */

static gc_status gather_shape(const gc_graph *g, int i, int h, int w, gc_shape *shapes,
                              gc_error *err)
{
    SETUP(g, shapes, i);
    int k = gc_image_axis(p->axis, in.ndim);
    if (k < 0 || in.ndim - 1 + p->idx_ndim > GC_ND)
        return gc_op_misfit(g, i, a, err);
    for (int j = 0; j < p->nidx; j++)
        if (p->idx[j] < -in.d[k] || p->idx[j] >= in.d[k])
            return gc_fail(err, GC_ERR_FORMAT, "node %d (Gather): index %lld is out of range "
                           "for an axis of %d", i, (long long)p->idx[j], in.d[k]);
    out.ndim = 0;
    for (int q = 0; q < k; q++)
        out.d[out.ndim++] = in.d[q];
    for (int q = 0; q < p->idx_ndim; q++)
        out.d[out.ndim++] = (int)p->idx_dims[q];
    for (int q = k + 1; q < in.ndim; q++)
        out.d[out.ndim++] = in.d[q];
    return gc_shape_from_nd(&shapes[i], &out, i, err);
}

static void gather_node_forward(gc_session *s, int i)
{
    SETUP(&s->m->graph, s->shapes, i);
    size_t outer, inner;
    int len;
    gc_around_axis(&in, gc_image_axis(p->axis, in.ndim), s->n, &outer, &len, &inner);
    gather_forward(s->act[i], s->act[nd->in[0]], outer, len, inner, p->idx, p->nidx);
}

static void gather_node_backward(gc_session *s, int i, int guided)
{
    SETUP(&s->m->graph, s->shapes, i);
    size_t outer, inner;
    int len;
    if (!s->reach[nd->in[0]])
        return;
    gc_around_axis(&in, gc_image_axis(p->axis, in.ndim), s->n, &outer, &len, &inner);
    gather_backward_input(s->grad[nd->in[0]], s->grad[i], outer, len, inner, p->idx, p->nidx);
}

const gc_op_def gc_op_gather = {"Gather", gather_shape, gather_node_forward,
                                gather_node_backward};

/* ---- constant padding ---- */

static gc_status pad_shape(const gc_graph *g, int i, int h, int w, gc_shape *shapes,
                           gc_error *err)
{
    SETUP(g, shapes, i);
    if (p->ndim != in.ndim)
        return gc_op_misfit(g, i, a, err);
    out = in;
    for (int k = 0; k < in.ndim; k++) {
        int64_t v = in.d[k] + p->dims[k] + p->dims2[k];
        if (v <= 0 || v > INT_MAX)
            return gc_op_misfit(g, i, a, err);
        out.d[k] = (int)v;
    }
    return gc_shape_from_nd(&shapes[i], &out, i, err);
}

static void pad_node_forward(gc_session *s, int i)
{
    SETUP(&s->m->graph, s->shapes, i);
    gc_shape_to_nd(&s->shapes[i], &out);
    pad_forward(s->act[i], s->act[nd->in[0]], s->n, &in, &out, p->dims, p->alpha);
}

static void pad_node_backward(gc_session *s, int i, int guided)
{
    SETUP(&s->m->graph, s->shapes, i);
    if (!s->reach[nd->in[0]])
        return;
    gc_shape_to_nd(&s->shapes[i], &out);
    pad_backward_input(s->grad[nd->in[0]], s->grad[i], s->n, &in, &out, p->dims);
}

const gc_op_def gc_op_pad = {"Pad", pad_shape, pad_node_forward, pad_node_backward};

/* ---- a constant, the same for every image (a class token) ---- */

static gc_status constant_shape(const gc_graph *g, int i, int h, int w, gc_shape *shapes,
                                gc_error *err)
{
    const gc_params *p = g->nodes[i].params;
    gc_nd out = {.ndim = p->ndim};
    for (int k = 0; k < p->ndim; k++)
        out.d[k] = (int)p->dims[k];
    return gc_shape_from_nd(&shapes[i], &out, i, err);
}

static void constant_node_forward(gc_session *s, int i)
{
    const size_t count = (size_t)gc_shape_numel(&s->shapes[i]);
    for (int n = 0; n < s->n; n++)
        memcpy(s->act[i] + (size_t)n * count, s->m->graph.nodes[i].weight, sizeof(float) * count);
}

const gc_op_def gc_op_constant = {"Constant", constant_shape, constant_node_forward, NULL};

/* ---- resizing a [C, H, W] map ---- */

static gc_status resize_shape(const gc_graph *g, int i, int h, int w, gc_shape *shapes,
                              gc_error *err)
{
    const gc_node *nd = &g->nodes[i];
    const gc_params *p = nd->params;
    const gc_shape *a = &shapes[nd->in[0]];
    if (!a->spatial)
        return gc_op_misfit(g, i, a, err);
    const double oh = p->dims[0] > 0 ? (double)p->dims[0] : floor(a->h * (double)p->alpha);
    const double ow = p->dims[1] > 0 ? (double)p->dims[1] : floor(a->w * (double)p->beta);
    if (oh < 1 || ow < 1 || oh > GC_RESIZE_MAX || ow > GC_RESIZE_MAX)
        return gc_fail(err, GC_ERR_LIMIT, "node %d (Resize): an output of %.0f x %.0f (at most "
                       "%d a side)", i, oh, ow, GC_RESIZE_MAX);
    gc_nd out = {.ndim = 3, .d = {a->c, (int)oh, (int)ow}};
    return gc_shape_from_nd(&shapes[i], &out, i, err);
}

static gc_resize resize_of(const gc_params *p)
{
    return (gc_resize){.nearest = p->kind, .coord = p->axis, .round_half_down = p->legacy};
}

static void resize_node_forward(gc_session *s, int i)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    const gc_shape *a = &s->shapes[nd->in[0]], *o = &s->shapes[i];
    const gc_resize r = resize_of(nd->params);
    resize_forward(s->act[i], s->act[nd->in[0]], (size_t)s->n * a->c, a->h, a->w, o->h, o->w, &r);
}

static void resize_node_backward(gc_session *s, int i, int guided)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    if (!s->reach[nd->in[0]])
        return;
    const gc_shape *a = &s->shapes[nd->in[0]], *o = &s->shapes[i];
    const gc_resize r = resize_of(nd->params);
    resize_backward_input(s->grad[nd->in[0]], s->grad[i], (size_t)s->n * a->c, a->h, a->w, o->h,
                          o->w, &r);
}

const gc_op_def gc_op_resize = {"Resize", resize_shape, resize_node_forward,
                                resize_node_backward};
