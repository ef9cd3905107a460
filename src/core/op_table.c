/* op_table.c — the table of operators (op_table.h), the input node, and
 * the shape helpers the op_*.c files share. */
#include "core/op_table.h"

#include "core/error.h"
#include "core/session.h"

#include <limits.h>
#include <stdio.h>

extern const gc_op_def gc_op_conv, gc_op_affine, gc_op_relu, gc_op_unary, gc_op_binary,
    gc_op_maxpool, gc_op_avgpool, gc_op_reduce_mean, gc_op_softmax, gc_op_linear, gc_op_matmul,
    gc_op_reshape, gc_op_transpose, gc_op_slice, gc_op_concat, gc_op_gather, gc_op_pad,
    gc_op_constant, gc_op_layernorm, gc_op_resize;

static gc_status input_shape(const gc_graph *g, int i, int h, int w, gc_shape *shapes,
                             gc_error *err)
{
    gc_shape *o = &shapes[i];
    o->c = g->input_channels, o->h = h, o->w = w, o->spatial = 1;
    return GC_OK;
}

static void input_forward(gc_session *s, int i) {} /* the caller sets it */

static const gc_op_def gc_op_input = {"Input", input_shape, input_forward, NULL};

static const gc_op_def *const table[GC_OP_COUNT] = {
    [GC_OP_INPUT] = &gc_op_input,
    [GC_OP_CONV] = &gc_op_conv,
    [GC_OP_AFFINE] = &gc_op_affine,
    [GC_OP_RELU] = &gc_op_relu,
    [GC_OP_UNARY] = &gc_op_unary,
    [GC_OP_BINARY] = &gc_op_binary,
    [GC_OP_MAXPOOL] = &gc_op_maxpool,
    [GC_OP_AVGPOOL] = &gc_op_avgpool,
    [GC_OP_REDUCE_MEAN] = &gc_op_reduce_mean,
    [GC_OP_SOFTMAX] = &gc_op_softmax,
    [GC_OP_LINEAR] = &gc_op_linear,
    [GC_OP_MATMUL] = &gc_op_matmul,
    [GC_OP_RESHAPE] = &gc_op_reshape,
    [GC_OP_TRANSPOSE] = &gc_op_transpose,
    [GC_OP_SLICE] = &gc_op_slice,
    [GC_OP_CONCAT] = &gc_op_concat,
    [GC_OP_GATHER] = &gc_op_gather,
    [GC_OP_PAD] = &gc_op_pad,
    [GC_OP_CONSTANT] = &gc_op_constant,
    [GC_OP_LAYERNORM] = &gc_op_layernorm,
    [GC_OP_RESIZE] = &gc_op_resize,
};

const gc_op_def *gc_op_def_of(gc_op op)
{
    return (unsigned)op < GC_OP_COUNT ? table[op] : NULL;
}

gc_window gc_node_window(const gc_node *nd, const gc_shape *in, const gc_shape *out, int n)
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

void gc_shape_to_nd(const gc_shape *s, gc_nd *o)
{
    o->ndim = s->ndim;
    for (int k = 0; k < s->ndim; k++)
        o->d[k] = s->d[k];
}

gc_status gc_shape_from_nd(gc_shape *o, const gc_nd *nd, int i, gc_error *err)
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

int gc_image_axis(int64_t raw, int rank)
{
    int64_t full = rank + 1;
    if (raw < 0)
        raw += full;
    return (raw >= 1 && raw < full) ? (int)(raw - 1) : -1;
}

int gc_axes_mask(const gc_params *p, int rank)
{
    int mask = 0;
    if (p->ndim < 0) /* every axis after the channels */
        return rank >= 2 ? ((1 << rank) - 1) & ~1 : -1;
    for (int j = 0; j < p->ndim; j++) {
        int k = gc_image_axis(p->perm[j], rank);
        if (k < 0)
            return -1;
        mask |= 1 << k;
    }
    return mask;
}

void gc_around_axis(const gc_nd *s, int axis, int n, size_t *outer, int *len, size_t *inner)
{
    *outer = (size_t)n, *inner = 1;
    for (int k = 0; k < axis; k++)
        *outer *= (size_t)s->d[k];
    for (int k = axis + 1; k < s->ndim; k++)
        *inner *= (size_t)s->d[k];
    *len = s->d[axis];
}

gc_status gc_op_misfit(const gc_graph *g, int i, const gc_shape *in, gc_error *err)
{
    char dims[96] = "?";
    if (in) {
        size_t u = (size_t)snprintf(dims, sizeof dims, "[N");
        for (int k = 0; k < in->ndim && u < sizeof dims; k++)
            u += (size_t)snprintf(dims + u, sizeof dims - u, ",%d", in->d[k]);
        if (u < sizeof dims)
            snprintf(dims + u, sizeof dims - u, "]");
    }
    const gc_op_def *d = gc_op_def_of(g->nodes[i].op);
    return gc_fail(err, GC_ERR_FORMAT, "node %d (%s): its parameters do not fit an input of shape %s",
                   i, d ? d->name : "?", dims);
}
