/* session.c — buffer planning and the forward / backward passes. */
#include "core/session.h"
#include "core/graph_ext.h"

#include "core/error.h"
#include "ops/ops.h"

#include <stdlib.h>
#include <string.h>

static void release(gc_session *s)
{
    free(s->shapes);
    free(s->act);
    free(s->grad);
    free(s->argmax);
    free(s->reach);
    free(s->arena);
    free(s->arena_idx);
    free(s->col);
    s->shapes = NULL, s->act = s->grad = NULL, s->argmax = NULL, s->reach = NULL;
    s->arena = s->col = NULL, s->arena_idx = NULL;
    s->n = s->h = s->w = 0;
}

gc_status gc_session_new(const gc_model *m, gc_session **out, gc_error *err)
{
    *out = NULL;
    if (!m)
        return gc_fail(err, GC_ERR_USAGE, "gc_session_new: no model");
    gc_session *s = gc_calloc(1, sizeof *s, err);
    if (!s)
        return GC_ERR_NOMEM;
    s->m = m;
    *out = s;
    return GC_OK;
}

void gc_session_free(gc_session *s)
{
    if (!s)
        return;
    release(s);
    free(s);
}

static gc_window window_of(const gc_node *nd, const gc_shape *in, const gc_shape *out, int n)
{
    gc_window w = {
        .n = n, .c = in->c, .h = in->h, .w = in->w,
        .oc = out->c, .ho = out->h, .wo = out->w,
        .kh = nd->kh, .kw = nd->kw, .sh = nd->sh, .sw = nd->sw,
        .ph = nd->pad[0], .pw = nd->pad[1], .dh = nd->dh, .dw = nd->dw,
        .groups = nd->groups,
    };
    return w;
}

gc_status gc_session_plan(gc_session *s, int n, int h, int w, gc_error *err)
{
    if (s->arena && s->n == n && s->h == h && s->w == w)
        return GC_OK;
    release(s);
    const gc_graph *g = &s->m->graph;
    int count = g->count;
    s->shapes = gc_calloc((size_t)count, sizeof *s->shapes, err);
    if (!s->shapes)
        return GC_ERR_NOMEM;
    gc_status st = gc_graph_shapes(g, h, w, s->shapes, err);
    if (st) {
        release(s);
        return st;
    }
    size_t floats = 0, idx = 0, col = 0;
    for (int i = 0; i < count; i++) {
        floats += (size_t)n * gc_shape_numel(&s->shapes[i]);
        const gc_node *nd = &g->nodes[i];
        if (nd->op == GC_OP_MAXPOOL)
            idx += (size_t)n * gc_shape_numel(&s->shapes[i]);
        if (nd->op == GC_OP_CONV) {
            gc_window win = window_of(nd, &s->shapes[nd->in[0]], &s->shapes[i], n);
            size_t need = conv2d_workspace(&win);
            if (need > col)
                col = need;
        }
    }
    s->act = gc_calloc((size_t)count, sizeof *s->act, err);
    s->grad = s->act ? gc_calloc((size_t)count, sizeof *s->grad, err) : NULL;
    s->argmax = s->grad ? gc_calloc((size_t)count, sizeof *s->argmax, err) : NULL;
    s->reach = s->argmax ? gc_calloc((size_t)count, 1, err) : NULL;
    s->arena = s->reach ? malloc(sizeof(float) * (2 * floats + 1)) : NULL;
    s->arena_idx = s->arena ? malloc(sizeof(int32_t) * (idx + 1)) : NULL;
    s->col = s->arena_idx ? malloc(sizeof(float) * (col + 1)) : NULL;
    if (!s->col) {
        release(s);
        return gc_fail(err, GC_ERR_NOMEM,
                       "out of memory planning %d image(s) of %dx%d (%zu MB of activations)",
                       n, h, w, 2 * floats * sizeof(float) >> 20);
    }
    float *p = s->arena;
    int32_t *q = s->arena_idx;
    for (int i = 0; i < count; i++) {
        size_t len = (size_t)n * gc_shape_numel(&s->shapes[i]);
        s->act[i] = p, p += len;
        s->grad[i] = p, p += len;
        if (g->nodes[i].op == GC_OP_MAXPOOL)
            s->argmax[i] = q, q += len;
    }
    s->n = n, s->h = h, s->w = w;
    return GC_OK;
}

void gc_session_forward(gc_session *s, const float *x)
{
    const gc_graph *g = &s->m->graph;
    const int n = s->n;
    for (int i = 0; i < g->count; i++) {
        const gc_node *nd = &g->nodes[i];
        const gc_shape *o = &s->shapes[i];
        const gc_shape *a = nd->in[0] >= 0 ? &s->shapes[nd->in[0]] : NULL;
        float *y = s->act[i];
        const float *in0 = nd->in[0] >= 0 ? s->act[nd->in[0]] : NULL;
        size_t count = (size_t)n * gc_shape_numel(o);
        switch (nd->op) {
        case GC_OP_INPUT:
            memcpy(y, x, sizeof(float) * count);
            break;
        case GC_OP_CONV: {
            gc_window win = window_of(nd, a, o, n);
            conv2d_forward(y, in0, nd->weight, nd->bias, &win, s->col);
            break;
        }
        case GC_OP_AFFINE:
            affine_forward(y, in0, nd->weight, nd->bias, n, o->c, o->h * o->w);
            break;
        case GC_OP_RELU:
            relu_forward(y, in0, count);
            break;
        case GC_OP_ADD:
            add_forward(y, in0, s->act[nd->in[1]], count);
            break;
        case GC_OP_MAXPOOL: {
            gc_window win = window_of(nd, a, o, n);
            maxpool_forward(y, s->argmax[i], in0, &win);
            break;
        }
        case GC_OP_GLOBAL_AVGPOOL:
            global_avgpool_forward(y, in0, n, a->c, a->h * a->w);
            break;
        case GC_OP_LINEAR:
            linear_forward(y, in0, nd->weight, nd->bias, n, (int)gc_shape_numel(a), o->c);
            break;
        default:
            gc_ext_forward(s, i);
            break;
        }
    }
}

/* Pushes node i's gradient into those of its inputs that need one. */
static void backward_node(gc_session *s, int i)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    const gc_shape *o = &s->shapes[i];
    const int n = s->n;
    const float *dy = s->grad[i];
    int j = nd->in[0];
    const gc_shape *a = j >= 0 ? &s->shapes[j] : NULL;
    float *dx = (j >= 0 && s->reach[j]) ? s->grad[j] : NULL;
    size_t count = (size_t)n * gc_shape_numel(o);
    switch (nd->op) {
    case GC_OP_INPUT:
        return;
    case GC_OP_CONV:
        if (dx) {
            gc_window win = window_of(nd, a, o, n);
            conv2d_backward_input(dx, dy, nd->weight, &win, s->col);
        }
        return;
    case GC_OP_AFFINE:
        if (dx)
            affine_backward_input(dx, dy, nd->weight, n, o->c, o->h * o->w);
        return;
    case GC_OP_RELU:
        if (dx)
            relu_backward_input(dx, dy, s->act[i], count);
        return;
    case GC_OP_ADD:
        if (dx)
            add_backward_input(dx, dy, count);
        if (s->reach[nd->in[1]])
            add_backward_input(s->grad[nd->in[1]], dy, count);
        return;
    case GC_OP_MAXPOOL:
        if (dx) {
            gc_window win = window_of(nd, a, o, n);
            maxpool_backward_input(dx, dy, s->argmax[i], &win);
        }
        return;
    case GC_OP_GLOBAL_AVGPOOL:
        if (dx)
            global_avgpool_backward_input(dx, dy, n, a->c, a->h * a->w);
        return;
    case GC_OP_LINEAR:
        if (dx)
            linear_backward_input(dx, dy, nd->weight, n, (int)gc_shape_numel(a), o->c);
        return;
    default:
        gc_ext_backward(s, i);
        return;
    }
}

void gc_session_backward(gc_session *s, int target, const float *dlogits)
{
    const gc_graph *g = &s->m->graph;
    const int out = gc_graph_output(g);
    for (int i = 0; i < g->count; i++) {
        const gc_node *nd = &g->nodes[i];
        s->reach[i] = i == target;
        for (int k = 0; i > target && k < nd->nin && !s->reach[i]; k++)
            s->reach[i] = nd->in[k] >= 0 && s->reach[nd->in[k]];
        if (s->reach[i])
            memset(s->grad[i], 0, sizeof(float) * s->n * gc_shape_numel(&s->shapes[i]));
    }
    memcpy(s->grad[out], dlogits, sizeof(float) * s->n * gc_shape_numel(&s->shapes[out]));
    for (int i = out; i > target; i--)
        if (s->reach[i])
            backward_node(s, i);
}
