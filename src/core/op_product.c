/* op_product.c — matrix products: the classifier's fully connected layer
 * (PyTorch's Linear, ONNX's Gemm) and MatMul between a node and a constant
 * matrix or between two nodes. */
#include "core/op_table.h"

#include "core/error.h"
#include "core/session.h"

/* ---- fully connected ---- */

static gc_status linear_shape(const gc_graph *g, int i, int h, int w, gc_shape *shapes,
                              gc_error *err)
{
    gc_shape *o = &shapes[i];
    o->c = g->nodes[i].out_channels, o->h = o->w = 1, o->spatial = 0;
    return GC_OK;
}

static void linear_node_forward(gc_session *s, int i)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    linear_forward(s->act[i], s->act[nd->in[0]], nd->weight, nd->bias, s->n,
                   (int)gc_shape_numel(&s->shapes[nd->in[0]]), s->shapes[i].c);
}

static void linear_node_backward(gc_session *s, int i, int guided)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    const int j = nd->in[0];
    if (s->reach[j])
        linear_backward_input(s->grad[j], s->grad[i], nd->weight, s->n,
                              (int)gc_shape_numel(&s->shapes[j]), s->shapes[i].c);
}

const gc_op_def gc_op_linear = {"Gemm", linear_shape, linear_node_forward, linear_node_backward};

/* ---- MatMul: a [..., r, k] (or [k]) times b [k, m] or [..., k, m] ---- */

static int matmul_setup(const gc_node *nd, const gc_shape *shapes, gc_nd *out, size_t *batch,
                        int *r, int *k, int *m)
{
    const gc_params *p = nd->params;
    gc_nd A;
    gc_shape_to_nd(&shapes[nd->in[0]], &A);
    if (A.ndim < 1)
        return -1;
    *k = A.d[A.ndim - 1];
    if (p->const_pos == 1) {
        if (p->cndim != 2 || p->cdims[0] != *k)
            return -1;
        *m = (int)p->cdims[1];
        *r = 1;
        *batch = 1;
        for (int j = 0; j + 1 < A.ndim; j++)
            *r *= A.d[j];
        *out = A;
        out->d[A.ndim - 1] = *m;
        return 0;
    }
    gc_nd B;
    gc_shape_to_nd(&shapes[nd->in[1]], &B);
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

static gc_status matmul_shape(const gc_graph *g, int i, int h, int w, gc_shape *shapes,
                              gc_error *err)
{
    gc_nd out;
    size_t batch = 0;
    int r = 0, k = 0, m = 0;
    if (matmul_setup(&g->nodes[i], shapes, &out, &batch, &r, &k, &m))
        return gc_op_misfit(g, i, &shapes[g->nodes[i].in[0]], err);
    return gc_shape_from_nd(&shapes[i], &out, i, err);
}

static void matmul_node_forward(gc_session *s, int i)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    gc_nd out;
    size_t batch = 0;
    int r = 0, k = 0, m = 0;
    matmul_setup(nd, s->shapes, &out, &batch, &r, &k, &m);
    if (nd->params->const_pos == 1)
        matmul_const_forward(s->act[i], s->act[nd->in[0]], nd->weight, (size_t)s->n * r, k, m);
    else
        matmul_forward(s->act[i], s->act[nd->in[0]], s->act[nd->in[1]], (size_t)s->n * batch, r,
                       k, m);
}

static void matmul_node_backward(gc_session *s, int i, int guided)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    gc_nd out;
    size_t batch = 0;
    int r = 0, k = 0, m = 0;
    matmul_setup(nd, s->shapes, &out, &batch, &r, &k, &m);
    float *da = s->reach[nd->in[0]] ? s->grad[nd->in[0]] : NULL;
    if (nd->params->const_pos == 1) {
        if (da)
            matmul_const_backward_input(da, s->grad[i], nd->weight, (size_t)s->n * r, k, m);
        return;
    }
    float *db = s->reach[nd->in[1]] ? s->grad[nd->in[1]] : NULL;
    if (da || db)
        matmul_backward_input(da, db, s->grad[i], s->act[nd->in[0]], s->act[nd->in[1]],
                              (size_t)s->n * batch, r, k, m);
}

const gc_op_def gc_op_matmul = {"MatMul", matmul_shape, matmul_node_forward,
                                matmul_node_backward};
