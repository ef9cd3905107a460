/* op_window.c — the operators that slide a 2-D window over a [C, H, W]
 * map: convolution, max pooling, average pooling. The convolution runs
 * the chain that planning folded into it (its BatchNorm map, a residual
 * addition, a ReLU) and picks its kernel: Winograd where the model
 * prepared filters for it, im2col + GEMM otherwise. */
#include "core/op_table.h"

#include "core/error.h"
#include "core/session.h"

/* The output extent of a window node over a [C, H, W] input, checked. */
static gc_status window_shape(const gc_graph *g, int i, int h, int w, gc_shape *shapes, int oc,
                              int dilated, gc_error *err)
{
    const gc_node *nd = &g->nodes[i];
    const gc_shape *a = &shapes[nd->in[0]];
    gc_shape *o = &shapes[i];
    if (!a->spatial || a->ndim != 3)
        return gc_fail(err, GC_ERR_FORMAT, "node %d: a window op on a vector", i);
    o->c = oc;
    o->h = gc_window_out(a->h, nd->kh, nd->sh, nd->pad[0], nd->pad[2], dilated ? nd->dh : 1,
                         nd->ceil_mode);
    o->w = gc_window_out(a->w, nd->kw, nd->sw, nd->pad[1], nd->pad[3], dilated ? nd->dw : 1,
                         nd->ceil_mode);
    o->spatial = 1;
    if (o->h <= 0 || o->w <= 0)
        return gc_fail(err, GC_ERR_USAGE,
                       "input %dx%d is too small: the feature map after node %d "
                       "would be empty",
                       h, w, i);
    return GC_OK;
}

/* ---- convolution ---- */

static gc_status conv_shape(const gc_graph *g, int i, int h, int w, gc_shape *shapes,
                            gc_error *err)
{
    const gc_node *nd = &g->nodes[i];
    const gc_shape *a = &shapes[nd->in[0]];
    if (a->c % nd->groups != 0)
        return gc_fail(err, GC_ERR_FORMAT, "node %d: %d channels in %d groups", i, a->c,
                       nd->groups);
    return window_shape(g, i, h, w, shapes, nd->out_channels, 1, err);
}

static void conv_forward(gc_session *s, int i)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    gc_window win = gc_node_window(nd, &s->shapes[nd->in[0]], &s->shapes[i], s->n);
    const float *x = s->act[nd->in[0]];
    gc_epilogue epi;
    float *y = s->act[gc_session_conv_chain(s, i, &epi)];
    const gc_epilogue *e = s->fused[i] ? &epi : NULL;
    if (!(s->use_wino4 && s->wino4[i]) && !nd->winograd) {
        conv2d_forward(y, x, nd->weight, nd->bias, e, &win, s->col);
        return;
    }
    /* The Winograd kernels have no Clip or gate step: those come after. */
    const gc_epilogue post = {.clip = epi.clip, .lo = epi.lo, .hi = epi.hi, .gate = epi.gate,
                              .ga = epi.ga, .gb = epi.gb};
    epi.clip = epi.gate = 0;
    if (s->use_wino4 && s->wino4[i])
        conv2d_winograd4_forward(y, x, s->wino4[i], nd->bias, e, &win, s->col);
    else /* then the plain filters may be gone */
        conv2d_winograd_forward(y, x, nd->winograd, nd->bias, e, &win, s->col);
    if (e && (post.clip || post.gate))
        epilogue_apply(y, NULL, (size_t)win.n * win.oc * win.ho * win.wo, &post, 0);
}

static void conv_backward(gc_session *s, int i, int guided)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    const int j = nd->in[0];
    if (!s->reach[j])
        return;
    gc_window win = gc_node_window(nd, &s->shapes[j], &s->shapes[i], s->n);
    if (nd->winograd) /* then the plain filters may be gone */
        conv2d_winograd_backward_input(s->grad[j], s->grad[i], nd->winograd, &win, s->col);
    else
        conv2d_backward_input(s->grad[j], s->grad[i], nd->weight, &win, s->col);
}

const gc_op_def gc_op_conv = {"Conv", conv_shape, conv_forward, conv_backward};

/* ---- max pooling ---- */

static gc_status maxpool_shape(const gc_graph *g, int i, int h, int w, gc_shape *shapes,
                               gc_error *err)
{
    return window_shape(g, i, h, w, shapes, shapes[g->nodes[i].in[0]].c, 1, err);
}

static void maxpool_node_forward(gc_session *s, int i)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    gc_window win = gc_node_window(nd, &s->shapes[nd->in[0]], &s->shapes[i], s->n);
    maxpool_forward(s->act[i], s->act[nd->in[0]], &win);
}

static void maxpool_node_backward(gc_session *s, int i, int guided)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    const int j = nd->in[0];
    if (!s->reach[j])
        return;
    gc_window win = gc_node_window(nd, &s->shapes[j], &s->shapes[i], s->n);
    maxpool_backward_input(s->grad[j], s->grad[i], s->act[j], s->act[i], &win);
}

const gc_op_def gc_op_maxpool = {"MaxPool", maxpool_shape, maxpool_node_forward,
                                 maxpool_node_backward};

/* ---- average pooling (no dilation; PyTorch's divisor rules) ---- */

static gc_status avgpool_shape(const gc_graph *g, int i, int h, int w, gc_shape *shapes,
                               gc_error *err)
{
    const gc_shape *a = &shapes[g->nodes[i].in[0]];
    if (!a->spatial || a->ndim != 3)
        return gc_op_misfit(g, i, a, err);
    return window_shape(g, i, h, w, shapes, a->c, 0, err);
}

static int include_pad(const gc_node *nd)
{
    return nd->params ? nd->params->count_include_pad : 1;
}

static void avgpool_node_forward(gc_session *s, int i)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    gc_window win = gc_node_window(nd, &s->shapes[nd->in[0]], &s->shapes[i], s->n);
    win.groups = 1;
    avgpool_forward(s->act[i], s->act[nd->in[0]], &win, nd->pad[2], nd->pad[3], include_pad(nd));
}

static void avgpool_node_backward(gc_session *s, int i, int guided)
{
    const gc_node *nd = &s->m->graph.nodes[i];
    const int j = nd->in[0];
    if (!s->reach[j])
        return;
    gc_window win = gc_node_window(nd, &s->shapes[j], &s->shapes[i], s->n);
    win.groups = 1;
    avgpool_backward_input(s->grad[j], s->grad[i], &win, nd->pad[2], nd->pad[3],
                           include_pad(nd));
}

const gc_op_def gc_op_avgpool = {"AveragePool", avgpool_shape, avgpool_node_forward,
                                 avgpool_node_backward};
