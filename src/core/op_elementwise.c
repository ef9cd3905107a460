/* op_elementwise.c — the operators that map each element on its own or
 * pairwise: the per-channel affine map (folded BatchNorm), ReLU, the other
 * activations, and broadcasting arithmetic. A residual addition (two nodes
 * of equal shape) takes the plain loops, and its ReLU when planning folded
 * one into it. */
#include "core/op_table.h"

#include "core/error.h"
#include "core/session.h"

static size_t count_of(const gc_session *s, int i)
{
    return (size_t)s->n * gc_shape_numel(&s->shapes[i]);
}

/* Shape: the same as the first input's. */
static gc_status same_shape(const gc_graph *g, int i, int h, int w, gc_shape *shapes,
                            gc_error *err)
{
    shapes[i] = shapes[g->nodes[i].in[0]];
    return GC_OK;
}

/* ---- per-channel affine map ---- */

static void affine_node_forward(gc_session *s, int i)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    const gc_shape *o = &s->shapes[i];
    affine_forward(s->act[i], s->act[nd->in[0]], nd->weight, nd->bias, s->n, o->c, o->h * o->w);
}

static void affine_node_backward(gc_session *s, int i, int guided)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    const gc_shape *o = &s->shapes[i];
    if (s->reach[nd->in[0]])
        affine_backward_input(s->grad[nd->in[0]], s->grad[i], nd->weight, s->n, o->c,
                              o->h * o->w);
}

const gc_op_def gc_op_affine = {"BatchNormalization", same_shape, affine_node_forward,
                                affine_node_backward};

/* ---- ReLU ---- */

static void relu_node_forward(gc_session *s, int i)
{
    relu_forward(s->act[i], s->act[s->m->graph.nodes[i].in[0]], count_of(s, i));
}

static void relu_node_backward(gc_session *s, int i, int guided)
{
    const int j = s->m->graph.nodes[i].in[0];
    if (!s->reach[j])
        return;
    if (guided)
        relu_backward_input_guided(s->grad[j], s->grad[i], s->act[i], count_of(s, i));
    else
        relu_backward_input(s->grad[j], s->grad[i], s->act[i], count_of(s, i));
}

const gc_op_def gc_op_relu = {"Relu", same_shape, relu_node_forward, relu_node_backward};

/* ---- other activations ---- */

static void unary_node_forward(gc_session *s, int i)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    const gc_params *p = nd->params;
    unary_forward(p->kind, p->alpha, p->beta, s->act[i], s->act[nd->in[0]], count_of(s, i));
}

static void unary_node_backward(gc_session *s, int i, int guided)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    const gc_params *p = nd->params;
    const int j = nd->in[0];
    if (s->reach[j])
        unary_backward_input(p->kind, p->alpha, p->beta, s->grad[j], s->grad[i], s->act[j],
                             s->act[i], count_of(s, i));
}

const gc_op_def gc_op_unary = {"elementwise", same_shape, unary_node_forward,
                               unary_node_backward};

/* ---- broadcasting arithmetic ---- */

/* A constant's per-image shape next to a computed operand of per-image
 * rank r: a leading batch axis of 1 is dropped. */
static int const_image(const gc_params *p, int r, gc_nd *o)
{
    int k = p->cndim, skip = 0;
    if (k == r + 1) {
        if (p->cdims[0] != 1)
            return -1;
        skip = 1;
    } else if (k > r + 1) {
        return -1;
    }
    o->ndim = k - skip;
    for (int j = skip; j < k; j++)
        o->d[j - skip] = (int)p->cdims[j];
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

/* The broadcast plan of binary node nd for n images. */
static int binary_setup(const gc_node *nd, const gc_shape *shapes, int n, gc_bcast *bc)
{
    const gc_params *p = nd->params;
    gc_nd A, B;
    bc->n = n, bc->a_batch = bc->b_batch = 1;
    if (p->const_pos < 0) {
        gc_shape_to_nd(&shapes[nd->in[0]], &A);
        gc_shape_to_nd(&shapes[nd->in[1]], &B);
        if (A.ndim != B.ndim)
            return -1;
    } else if (p->const_pos == 0) {
        gc_shape_to_nd(&shapes[nd->in[0]], &B);
        if (const_image(p, B.ndim, &A))
            return -1;
        bc->a_batch = 0;
    } else {
        gc_shape_to_nd(&shapes[nd->in[0]], &A);
        if (const_image(p, A.ndim, &B))
            return -1;
        bc->b_batch = 0;
    }
    return broadcast(&A, &B, bc);
}

int gc_op_is_plain_add(const gc_graph *g, const gc_shape *shapes, int i)
{
    const gc_node *nd = &g->nodes[i];
    if (nd->op != GC_OP_BINARY || nd->params->kind != GC_B_ADD || nd->params->const_pos >= 0)
        return 0;
    const gc_shape *a = &shapes[nd->in[0]], *b = &shapes[nd->in[1]];
    if (a->ndim != b->ndim)
        return 0;
    for (int k = 0; k < a->ndim; k++)
        if (a->d[k] != b->d[k])
            return 0;
    return 1;
}

static gc_status binary_shape(const gc_graph *g, int i, int h, int w, gc_shape *shapes,
                              gc_error *err)
{
    gc_bcast bc;
    if (binary_setup(&g->nodes[i], shapes, 1, &bc))
        return gc_op_misfit(g, i, &shapes[g->nodes[i].in[0]], err);
    return gc_shape_from_nd(&shapes[i], &bc.out, i, err);
}

/* The broadcast plan and operands: the constant (if any) on the side it was
 * given, the computed input(s) on the other. */
static void binary_operands(const gc_session *s, int i, gc_bcast *bc, const float **pa,
                            const float **pb)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    const gc_params *p = nd->params;
    const float *x = s->act[nd->in[0]];
    binary_setup(nd, s->shapes, s->n, bc);
    *pa = p->const_pos == 0 ? nd->weight : x;
    *pb = p->const_pos == 1 ? nd->weight : p->const_pos == 0 ? x : s->act[nd->in[1]];
}

static void binary_node_forward(gc_session *s, int i)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    if (gc_op_is_plain_add(&s->m->graph, s->shapes, i)) {
        const float *a = s->act[nd->in[0]], *b = s->act[nd->in[1]];
        if (s->fused[i]) /* and the ReLU after it */
            add_relu_forward(s->act[i + 1], a, b, count_of(s, i));
        else
            add_forward(s->act[i], a, b, count_of(s, i));
        return;
    }
    gc_bcast bc;
    const float *pa, *pb;
    binary_operands(s, i, &bc, &pa, &pb);
    binary_forward(nd->params->kind, &bc, s->act[i], pa, pb);
}

static void binary_node_backward(gc_session *s, int i, int guided)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    const gc_params *p = nd->params;
    float *dx = s->reach[nd->in[0]] ? s->grad[nd->in[0]] : NULL;
    if (gc_op_is_plain_add(&s->m->graph, s->shapes, i)) {
        if (dx)
            add_backward_input(dx, s->grad[i], count_of(s, i));
        if (s->reach[nd->in[1]])
            add_backward_input(s->grad[nd->in[1]], s->grad[i], count_of(s, i));
        return;
    }
    gc_bcast bc;
    const float *pa, *pb;
    binary_operands(s, i, &bc, &pa, &pb);
    float *da = p->const_pos == 0 ? NULL : dx;
    float *db = p->const_pos == 1   ? NULL
                : p->const_pos == 0 ? dx
                : (s->reach[nd->in[1]] ? s->grad[nd->in[1]] : NULL);
    if (da || db)
        binary_backward_input(p->kind, &bc, s->grad[i], pa, pb, da, db);
}

const gc_op_def gc_op_binary = {"broadcast arithmetic", binary_shape, binary_node_forward,
                                binary_node_backward};
