/* op_reduce.c — the operators that combine elements along axes: means
 * (global average pooling among them), softmax and layer normalisation. An axis that would
 * touch the batch is refused at shape time: images never interact in the
 * models we explain. */
#include "core/op_table.h"

#include "core/error.h"
#include "core/session.h"

int gc_graph_is_global_mean(const gc_graph *g, int i)
{
    const gc_node *nd = &g->nodes[i];
    if (nd->op != GC_OP_REDUCE_MEAN || !nd->params)
        return 0;
    const gc_params *p = nd->params;
    if (p->ndim < 0)
        return 1;
    /* Axes 2 and 3 of an NCHW tensor, however they were written. */
    int seen = 0;
    for (int j = 0; j < p->ndim; j++) {
        int k = gc_image_axis(p->perm[j], 3);
        seen |= k < 0 ? 8 : 1 << k;
    }
    return p->ndim == 2 && seen == 6;
}

static gc_status reduce_mean_shape(const gc_graph *g, int i, int h, int w, gc_shape *shapes,
                                   gc_error *err)
{
    const gc_node *nd = &g->nodes[i];
    const gc_shape *a = &shapes[nd->in[0]];
    gc_nd in, out;
    gc_shape_to_nd(a, &in);
    int mask = gc_axes_mask(nd->params, in.ndim);
    if (mask <= 0)
        return gc_op_misfit(g, i, a, err);
    out.ndim = 0;
    for (int k = 0; k < in.ndim; k++)
        if (!(mask >> k & 1))
            out.d[out.ndim++] = in.d[k];
        else if (nd->params->keepdims)
            out.d[out.ndim++] = 1;
    return gc_shape_from_nd(&shapes[i], &out, i, err);
}

static void reduce_mean_node_forward(gc_session *s, int i)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    const gc_shape *a = &s->shapes[nd->in[0]];
    gc_nd in;
    gc_shape_to_nd(a, &in);
    int mask = gc_axes_mask(nd->params, in.ndim);
    if (in.ndim == 3 && mask == 6)
        global_avgpool_forward(s->act[i], s->act[nd->in[0]], s->n, a->c, a->h * a->w);
    else
        reduce_mean_forward(s->act[i], s->act[nd->in[0]], s->n, &in, mask);
}

static void reduce_mean_node_backward(gc_session *s, int i, int guided)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    const int j = nd->in[0];
    if (!s->reach[j])
        return;
    const gc_shape *a = &s->shapes[j];
    gc_nd in;
    gc_shape_to_nd(a, &in);
    int mask = gc_axes_mask(nd->params, in.ndim);
    if (in.ndim == 3 && mask == 6)
        global_avgpool_backward_input(s->grad[j], s->grad[i], s->n, a->c, a->h * a->w);
    else
        reduce_mean_backward_input(s->grad[j], s->grad[i], s->n, &in, mask);
}

const gc_op_def gc_op_reduce_mean = {"ReduceMean", reduce_mean_shape, reduce_mean_node_forward,
                                     reduce_mean_node_backward};

/* ---- softmax ---- */

static int softmax_setup(const gc_params *p, const gc_nd *s, int n, size_t *outer, int *len,
                         size_t *inner)
{
    int k = gc_image_axis(p->axis, s->ndim);
    if (k < 0)
        return -1;
    gc_around_axis(s, k, n, outer, len, inner);
    if (p->legacy) { /* opset < 13: softmax over everything from axis on */
        *len = (int)(*len * *inner);
        *inner = 1;
    }
    return 0;
}

static gc_status softmax_shape(const gc_graph *g, int i, int h, int w, gc_shape *shapes,
                               gc_error *err)
{
    const gc_node *nd = &g->nodes[i];
    const gc_shape *a = &shapes[nd->in[0]];
    gc_nd in;
    size_t outer, inner;
    int len;
    gc_shape_to_nd(a, &in);
    if (softmax_setup(nd->params, &in, 1, &outer, &len, &inner))
        return gc_op_misfit(g, i, a, err);
    shapes[i] = *a;
    return GC_OK;
}

static void softmax_node_forward(gc_session *s, int i)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    gc_nd in;
    size_t outer, inner;
    int len;
    gc_shape_to_nd(&s->shapes[nd->in[0]], &in);
    softmax_setup(nd->params, &in, s->n, &outer, &len, &inner);
    softmax_forward(s->act[i], s->act[nd->in[0]], outer, len, inner);
}

static void softmax_node_backward(gc_session *s, int i, int guided)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    const int j = nd->in[0];
    if (!s->reach[j])
        return;
    gc_nd in;
    size_t outer, inner;
    int len;
    gc_shape_to_nd(&s->shapes[j], &in);
    softmax_setup(nd->params, &in, s->n, &outer, &len, &inner);
    softmax_backward_input(s->grad[j], s->grad[i], s->act[i], outer, len, inner);
}

const gc_op_def gc_op_softmax = {"Softmax", softmax_shape, softmax_node_forward,
                                 softmax_node_backward};

/* ---- layer normalisation over the axes from one on ---- */

/* rows x len around the node's axis for n images; -1 where the axis is the
 * batch's or out of range. */
static int layernorm_setup(const gc_graph *g, const gc_shape *shapes, int i, int n,
                           size_t *rows, int *len)
{
    const gc_node *nd = &g->nodes[i];
    gc_nd in;
    gc_shape_to_nd(&shapes[nd->in[0]], &in);
    const int k = gc_image_axis(nd->params->axis, in.ndim);
    if (k < 0)
        return -1;
    size_t outer = (size_t)n, inner = 1;
    for (int j = 0; j < in.ndim; j++)
        if (j < k)
            outer *= (size_t)in.d[j];
        else
            inner *= (size_t)in.d[j];
    *rows = outer, *len = (int)inner;
    return 0;
}

static gc_status layernorm_shape(const gc_graph *g, int i, int h, int w, gc_shape *shapes,
                                 gc_error *err)
{
    const gc_node *nd = &g->nodes[i];
    size_t rows = 0;
    int len = 0;
    if (layernorm_setup(g, shapes, i, 1, &rows, &len) || len != nd->params->cdims[0])
        return gc_op_misfit(g, i, &shapes[nd->in[0]], err);
    shapes[i] = shapes[nd->in[0]];
    return GC_OK;
}

static void layernorm_node_forward(gc_session *s, int i)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    size_t rows = 0;
    int len = 0;
    layernorm_setup(&s->m->graph, s->shapes, i, s->n, &rows, &len);
    layernorm_forward(s->act[i], s->act[nd->in[0]], nd->weight, nd->bias, rows, len,
                      nd->params->alpha);
}

static void layernorm_node_backward(gc_session *s, int i, int guided)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    const int j = nd->in[0];
    if (!s->reach[j])
        return;
    size_t rows = 0;
    int len = 0;
    layernorm_setup(&s->m->graph, s->shapes, i, s->n, &rows, &len);
    layernorm_backward_input(s->grad[j], s->grad[i], s->act[j], nd->weight, rows, len,
                             nd->params->alpha);
}

const gc_op_def gc_op_layernorm = {"LayerNormalization", layernorm_shape, layernorm_node_forward,
                                   layernorm_node_backward};
