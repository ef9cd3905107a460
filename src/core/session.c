/* session.c — buffer planning and the forward / backward passes. */
#include "core/session.h"

#include "core/error.h"
#include "core/op_table.h"
#include "ops/ops.h"

#include <stdlib.h>
#include <string.h>

static void release(gc_session *s)
{
    free(s->shapes);
    free(s->act);
    free(s->grad);
    free(s->reach);
    free(s->keep);
    free(s->fused);
    free(s->head);
    free(s->arena);
    free(s->grad_arena);
    free(s->col);
    s->shapes = NULL, s->act = s->grad = NULL, s->reach = NULL, s->keep = NULL;
    s->fused = s->head = NULL;
    s->arena = s->grad_arena = s->col = NULL;
    s->col_floats = 0;
    s->n = s->h = s->w = 0;
    s->floats = 0;
    s->have_forward = 0;
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
    for (int i = 0; s->wino4 && i < s->m->graph.count; i++)
        free(s->wino4[i]);
    free(s->wino4);
    gc_session_free(s->sub);
    free(s);
}

gc_status gc_session_plan(gc_session *s, int n, int h, int w, gc_error *err)
{
    if (s->shapes && s->n == n && s->h == h && s->w == w)
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
    size_t floats = 0, col = 0;
    for (int i = 0; i < count; i++) {
        floats += (size_t)n * gc_shape_numel(&s->shapes[i]);
        const gc_node *nd = &g->nodes[i];
        if (nd->op == GC_OP_CONV) {
            gc_window win = gc_node_window(nd, &s->shapes[nd->in[0]], &s->shapes[i], n);
            size_t need = nd->winograd ? winograd_workspace(&win) : conv2d_workspace(&win);
            if (s->wino4 && s->wino4[i] && winograd4_workspace(&win) > need)
                need = winograd4_workspace(&win);
            if (need > col)
                col = need;
        }
    }
    s->act = gc_calloc((size_t)count, sizeof *s->act, err);
    s->grad = s->act ? gc_calloc((size_t)count, sizeof *s->grad, err) : NULL;
    s->reach = s->grad ? gc_calloc((size_t)count, 1, err) : NULL;
    s->fused = s->reach ? gc_calloc((size_t)count, sizeof(int), err) : NULL;
    s->head = s->fused ? gc_calloc((size_t)count, sizeof(int), err) : NULL;
    s->col = s->head ? malloc(sizeof(float) * (col + 1)) : NULL;
    if (!s->col) {
        release(s);
        return gc_fail(err, GC_ERR_NOMEM, "out of memory planning %d image(s) of %dx%d", n, h, w);
    }
    s->n = n, s->h = h, s->w = w;
    s->floats = floats;
    s->col_floats = col;
    if ((st = gc_session_keep(s, NULL, err)))
        release(s);
    return st;
}

/* Greedy buffer sharing: walking the nodes in order, a node that is not
 * kept takes a free slot (the smallest that fits, else the largest free one,
 * grown) and gives it back when its last consumer has run. Kept nodes get
 * their own place. slot[i] is the node's slot, -1 when kept, NO_BUFFER
 * inside a folded chain (never written: its chain's last node is); size[]
 * and *nslots describe the slots. */
#define NO_BUFFER (-2)

static gc_status assign_slots(const gc_session *s, const char *keep, int *slot, size_t *size,
                              int *nslots, gc_error *err)
{
    const gc_graph *g = &s->m->graph;
    const int count = g->count;
    int *uses = gc_calloc((size_t)count, sizeof(int), err);
    int *free_slots = uses ? gc_calloc((size_t)count, sizeof(int), err) : NULL;
    if (!free_slots) {
        free(uses);
        return GC_ERR_NOMEM;
    }
    for (int i = 0; i < count; i++)
        for (int k = 0; k < g->nodes[i].nin; k++)
            if (g->nodes[i].in[k] >= 0)
                uses[g->nodes[i].in[k]]++;
    int nfree = 0;
    *nslots = 0;
    for (int i = 0; i < count; i++) {
        size_t len = (size_t)s->n * gc_shape_numel(&s->shapes[i]);
        const int in_chain = s->head[i] >= 0 || s->fused[i];
        const int ends_chain = s->head[i] >= 0 && i == s->head[i] + s->fused[s->head[i]];
        slot[i] = in_chain && !ends_chain ? NO_BUFFER : -1;
        if (!keep[i] && slot[i] != NO_BUFFER) {
            int best = -1;
            for (int f = 0; f < nfree; f++) {
                size_t have = size[free_slots[f]];
                if (best < 0)
                    best = f;
                else if (have >= len ? (size[free_slots[best]] < len || have < size[free_slots[best]])
                                     : (size[free_slots[best]] < len && have > size[free_slots[best]]))
                    best = f;
            }
            if (best >= 0) {
                slot[i] = free_slots[best];
                free_slots[best] = free_slots[--nfree];
            } else {
                slot[i] = (*nslots)++;
                size[slot[i]] = 0;
            }
            if (size[slot[i]] < len)
                size[slot[i]] = len;
        }
        /* A folded chain reads its nodes' inputs (the head's, a residual)
         * while writing its last node's output: those inputs are given back
         * only once the last node has its slot, so the two never share one. */
        const int first = !in_chain ? i : ends_chain ? s->head[i] : i + 1;
        for (int reader = first; reader <= i; reader++)
            for (int k = 0; k < g->nodes[reader].nin; k++) {
                int j = g->nodes[reader].in[k];
                if (j >= 0 && --uses[j] == 0 && slot[j] >= 0)
                    free_slots[nfree++] = slot[j];
            }
        if (uses[i] == 0 && slot[i] >= 0) /* nothing reads it: free at once */
            free_slots[nfree++] = slot[i];
    }
    free(uses);
    free(free_slots);
    return GC_OK;
}

/* Whether node `next` is a residual addition that reads node `last` and,
 * as its other operand, a node computed before `head`: then a chain
 * starting at head can add that operand as its residual. */
static int adds_earlier(const gc_session *s, int next, int last, int head)
{
    const gc_node *nd = &s->m->graph.nodes[next];
    if (!gc_op_is_plain_add(&s->m->graph, s->shapes, next))
        return 0;
    const int other = nd->in[0] == last ? nd->in[1] : nd->in[1] == last ? nd->in[0] : -1;
    return other >= 0 && other < head;
}

/* The steps a chain may fold, in order; each is optional. */
enum { STEP_AFFINE, STEP_ADD, STEP_RELU, STEP_END };

/* Whether node i is an elementwise unary op of this kind. */
static int is_unary(const gc_node *nd, int kind)
{
    return nd->op == GC_OP_UNARY && nd->params && nd->params->kind == kind;
}

/* Whether node `next` can be step `step` of the chain from head to last. */
static int continues(const gc_session *s, int step, int next, int last, int head)
{
    const gc_node *nd = &s->m->graph.nodes[next];
    switch (step) {
    case STEP_AFFINE:
        return nd->op == GC_OP_AFFINE && nd->in[0] == last;
    case STEP_ADD:
        return adds_earlier(s, next, last, head);
    default: /* ReLU; after a convolution also Clip (ReLU6), whose gradient
              * needs only its output */
        return nd->in[0] == last &&
               (nd->op == GC_OP_RELU ||
                (s->m->graph.nodes[head].op == GC_OP_CONV && is_unary(nd, GC_U_CLIP)));
    }
}

/* Whether nodes last + 1 and last + 2 are a gated activation as ONNX
 * exports it, y = x * gate(x) with gate a Sigmoid (SiLU) or a HardSigmoid
 * (HardSwish before opset 14), x node last, read by nothing else, and
 * neither x nor the gate kept: then a convolution's chain can end with it.
 * The product must be elementwise on equal shapes (x's and the gate's). */
static int gate_follows(const gc_session *s, int last, const char *keep, const int *uses)
{
    const gc_graph *g = &s->m->graph;
    if (last + 2 >= g->count || uses[last] != 2 || keep[last] || keep[last + 1] ||
        uses[last + 1] != 1)
        return 0;
    const gc_node *gate = &g->nodes[last + 1], *mul = &g->nodes[last + 2];
    return (is_unary(gate, GC_U_SIGMOID) || is_unary(gate, GC_U_HARD_SIGMOID)) &&
           gate->in[0] == last && mul->op == GC_OP_BINARY && mul->params->kind == GC_B_MUL &&
           mul->params->const_pos < 0 &&
           ((mul->in[0] == last && mul->in[1] == last + 1) ||
            (mul->in[1] == last && mul->in[0] == last + 1));
}

/* Folding: a convolution and the BatchNorm map, residual addition and ReLU
 * (or Clip, or x * gate(x): SiLU, HardSwish) after it, or a residual
 * addition and its ReLU, run as one pass over memory when each result in
 * between feeds only the next node (a gated activation: only its two
 * nodes) and is not kept. The values are the same
 * to the bit (ops.h, gc_epilogue); only the memory traffic of the
 * intermediate results goes. uses[i] counts the readers of node i. */
static void plan_fusion(gc_session *s, const char *keep, const int *uses)
{
    const gc_graph *g = &s->m->graph;
    for (int i = 0; i < g->count; i++)
        s->fused[i] = 0, s->head[i] = -1;
    for (int i = 0; i < g->count; i++) {
        const int conv = g->nodes[i].op == GC_OP_CONV;
        if (s->head[i] >= 0 || (!conv && !gc_op_is_plain_add(g, s->shapes, i)))
            continue;
        int last = i, act = 0;
        /* conv [affine] [add] [relu|clip|gated]; add [relu]. */
        for (int step = conv ? STEP_AFFINE : STEP_RELU; step < STEP_END; step++)
            if (last + 1 < g->count && uses[last] == 1 && !keep[last] &&
                continues(s, step, last + 1, last, i))
                last++, act = step == STEP_RELU;
        if (conv && !act && gate_follows(s, last, keep, uses))
            last += 2;
        s->fused[i] = last - i;
        for (int j = i + 1; j <= last; j++)
            s->head[j] = i;
    }
}

gc_status gc_session_keep(gc_session *s, const char *keep, gc_error *err)
{
    const gc_graph *g = &s->m->graph;
    const int count = g->count;
    char *want = gc_calloc((size_t)count, 1, err);
    if (!want)
        return GC_ERR_NOMEM;
    for (int i = 0; i < count; i++) /* the input and the logits always stay */
        want[i] = !keep || keep[i] || i == 0 || i == gc_graph_output(g);
    if (s->keep && s->arena && memcmp(s->keep, want, (size_t)count) == 0) {
        free(want);
        return GC_OK;
    }
    int *slot = gc_calloc((size_t)count, sizeof(int), err);
    size_t *size = slot ? gc_calloc((size_t)count, sizeof(size_t), err) : NULL;
    int nslots = 0;
    if (size) {
        for (int i = 0; i < count; i++) /* slot[] counts readers for a moment */
            for (int k = 0; k < g->nodes[i].nin; k++)
                if (g->nodes[i].in[k] >= 0)
                    slot[g->nodes[i].in[k]]++;
        plan_fusion(s, want, slot);
    }
    gc_status st = size ? assign_slots(s, want, slot, size, &nslots, err) : GC_ERR_NOMEM;
    size_t total = 0;
    for (int i = 0; st == GC_OK && i < count; i++)
        if (slot[i] == -1)
            total += (size_t)s->n * gc_shape_numel(&s->shapes[i]);
    for (int k = 0; k < nslots; k++)
        total += size[k];
    float *arena = st == GC_OK ? malloc(sizeof(float) * (total + 1)) : NULL;
    if (st == GC_OK && !arena)
        st = gc_fail(err, GC_ERR_NOMEM, "out of memory for %zu MB of activations",
                     total * sizeof(float) >> 20);
    if (st == GC_OK) {
        /* Slots first, then the kept nodes, each at its own offset. */
        size_t *slot_at = size; /* reuse: prefix offsets of the slots */
        size_t offset = 0;
        for (int k = 0; k < nslots; k++) {
            size_t len = size[k];
            slot_at[k] = offset;
            offset += len;
        }
        for (int i = 0; i < count; i++) {
            if (slot[i] >= 0) {
                s->act[i] = arena + slot_at[slot[i]];
            } else if (slot[i] == -1) {
                s->act[i] = arena + offset;
                offset += (size_t)s->n * gc_shape_numel(&s->shapes[i]);
            }
        }
        for (int i = count - 1; i >= 0; i--) /* inside a chain: its last node's */
            if (slot[i] == NO_BUFFER)
                s->act[i] = s->act[(s->head[i] >= 0 ? s->head[i] : i) +
                                   s->fused[s->head[i] >= 0 ? s->head[i] : i]];
        free(s->arena);
        free(s->keep);
        s->arena = arena;
        s->keep = want;
        want = NULL;
        s->have_forward = 0;
    }
    free(want);
    free(slot);
    free(size);
    return st;
}

/* Gradient buffers double the memory, and forward-only sessions (predict,
 * Score-CAM's batches) never need them. */
static gc_status ensure_grads(gc_session *s, gc_error *err)
{
    if (s->grad_arena)
        return GC_OK;
    s->grad_arena = malloc(sizeof(float) * (s->floats + 1));
    if (!s->grad_arena)
        return gc_fail(err, GC_ERR_NOMEM, "out of memory for gradients (%zu MB)",
                       s->floats * sizeof(float) >> 20);
    float *p = s->grad_arena;
    for (int i = 0; i < s->m->graph.count; i++) {
        s->grad[i] = p;
        p += (size_t)s->n * gc_shape_numel(&s->shapes[i]);
    }
    return GC_OK;
}

gc_status gc_session_child(gc_session *s, int n, int h, int w, gc_session **child,
                           gc_error *err)
{
    gc_status st;
    if (!s->sub && (st = gc_session_new(s->m, &s->sub, err)))
        return st;
    *child = s->sub;
    return gc_session_plan(s->sub, n, h, w, err);
}

gc_status gc_session_use_winograd4(gc_session *s, int on, int all, gc_error *err)
{
    const gc_graph *g = &s->m->graph;
    s->use_wino4 = 0;
    if (!on)
        return GC_OK;
    if (!s->shapes)
        return gc_fail(err, GC_ERR_USAGE, "gc_session_use_winograd4: session not planned");
    if (!s->wino4 && !(s->wino4 = gc_calloc((size_t)g->count, sizeof *s->wino4, err)))
        return GC_ERR_NOMEM;
    size_t col = s->col_floats;
    for (int i = 0; i < g->count; i++) {
        const gc_node *nd = &g->nodes[i];
        if (nd->op != GC_OP_CONV || !nd->winograd)
            continue;
        gc_window win = gc_node_window(nd, &s->shapes[nd->in[0]], &s->shapes[i], s->n);
        if (!s->wino4[i] && (all || winograd4_pays(&win))) {
            float *u = malloc(sizeof(float) * 36 * (size_t)win.oc * win.c);
            if (!u)
                return gc_fail(err, GC_ERR_NOMEM, "out of memory for F(4x4) filters");
            winograd4_transform_weights(u, nd->weight, nd->winograd, win.oc, win.c);
            s->wino4[i] = u;
        }
        if (s->wino4[i] && winograd4_workspace(&win) > col)
            col = winograd4_workspace(&win);
    }
    if (col > s->col_floats) {
        float *p = malloc(sizeof(float) * (col + 1));
        if (!p)
            return gc_fail(err, GC_ERR_NOMEM, "out of memory for the convolution workspace");
        free(s->col);
        s->col = p, s->col_floats = col;
    }
    s->use_wino4 = 1;
    return GC_OK;
}

int gc_session_conv_chain(const gc_session *s, int node, gc_epilogue *epi)
{
    const gc_graph *g = &s->m->graph;
    int end = node;
    *epi = (gc_epilogue){0};
    for (int j = node + 1; j <= node + s->fused[node]; j++) {
        const gc_node *nd = &g->nodes[j];
        if (nd->op == GC_OP_AFFINE)
            epi->scale = nd->weight, epi->shift = nd->bias;
        else if (nd->op == GC_OP_BINARY && epi->gate)
            ; /* the gate's product, x * gate(x): the gate said it all */
        else if (nd->op == GC_OP_BINARY) /* the operand that is not the chain */
            epi->residual = s->act[nd->in[0] == j - 1 ? nd->in[1] : nd->in[0]];
        else if (is_unary(nd, GC_U_SIGMOID) || is_unary(nd, GC_U_HARD_SIGMOID))
            epi->gate = is_unary(nd, GC_U_SIGMOID) ? GC_GATE_SIGMOID : GC_GATE_HARD_SIGMOID,
            epi->ga = nd->params->alpha, epi->gb = nd->params->beta;
        else if (nd->op == GC_OP_UNARY)
            epi->clip = 1, epi->lo = nd->params->alpha, epi->hi = nd->params->beta;
        else
            epi->relu = 1;
        end = j;
    }
    return end;
}

void gc_session_conv_plain(gc_session *s, int node, float *out, const float *in, int n, int h,
                           int w, int ho, int wo, int ph, int pw)
{
    const gc_node *nd = &s->m->graph.nodes[node];
    gc_window win = gc_node_window(nd, &s->shapes[nd->in[0]], &s->shapes[node], n);
    win.h = h, win.w = w, win.ho = ho, win.wo = wo, win.ph = ph, win.pw = pw;
    conv2d_forward(out, in, nd->weight, NULL, NULL, &win, s->col);
}

void gc_session_forward(gc_session *s, const float *x)
{
    memcpy(s->act[0], x, sizeof(float) * s->n * gc_shape_numel(&s->shapes[0]));
    gc_session_forward_after(s, 0);
}

void gc_session_forward_after(gc_session *s, int after)
{
    const gc_graph *g = &s->m->graph;
    for (int i = after + 1; i < g->count; i++)
        if (s->head[i] <= after) /* else computed with its chain's head */
            gc_op_def_of(g->nodes[i].op)->forward(s, i);
}

gc_status gc_session_backward(gc_session *s, int target, const float *dlogits, int guided,
                              gc_error *err)
{
    gc_status st = ensure_grads(s, err);
    if (st)
        return st;
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
    for (int i = out; i > target; i--) {
        const gc_op_def *def = gc_op_def_of(g->nodes[i].op);
        if (s->reach[i] && def->backward)
            def->backward(s, i, guided);
    }
    return GC_OK;
}
