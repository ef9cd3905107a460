/* op_table.h — the operator table: for every gc_op, how its output shape
 * follows from its inputs' and how a session runs it forward and backward.
 * graph.c asks it for shapes, session.c for the passes; each entry lives
 * in the core/op_*.c file of its kind (windows, elementwise, reductions,
 * products, layout), next to the code that calls its kernels in ops/.
 *
 * Adding an operator: a gc_op value, an entry in the file of its kind, a
 * line in op_table.c; nothing else dispatches on the operator. (Planning,
 * fusion and the CAM methods do look at a few operators by name, to fold
 * chains or find the classifier; they go through the predicates here.)
 *
 * The helpers below are shared by the op_*.c files only. */
#ifndef GC_CORE_OP_TABLE_H
#define GC_CORE_OP_TABLE_H

#include "core/graph.h"
#include "ops/ops.h"

struct gc_session;

typedef struct gc_op_def {
    const char *name; /* for messages: the operator as users know it */
    /* Node i's per-image output shape into shapes[i], its inputs' shapes
     * already there; h x w is the network's input size. */
    gc_status (*shape)(const gc_graph *g, int i, int h, int w, gc_shape *shapes, gc_error *err);
    /* Computes node i's activation from its inputs' (all planned). */
    void (*forward)(struct gc_session *s, int i);
    /* Accumulates node i's gradient into its inputs that need one (reach);
     * guided: ReLUs pass only positive gradients. NULL: nothing to pass. */
    void (*backward)(struct gc_session *s, int i, int guided);
} gc_op_def;

/* The entry of op (never NULL for a valid op). */
const gc_op_def *gc_op_def_of(gc_op op);

/* Whether node i is an addition of two nodes of the same shape, with no
 * broadcasting: a residual connection, which a convolution before it can
 * fold into its output pass (session.c's plan_fusion). */
int gc_op_is_plain_add(const gc_graph *g, const gc_shape *shapes, int i);

/* ---- helpers for the op_*.c files ---- */

/* The convolution or pooling window of node nd from in to out, n images. */
gc_window gc_node_window(const gc_node *nd, const gc_shape *in, const gc_shape *out, int n);
void gc_shape_to_nd(const gc_shape *s, gc_nd *o);
/* Sets o from a per-image shape, checking sizes and rank. */
gc_status gc_shape_from_nd(gc_shape *o, const gc_nd *nd, int i, gc_error *err);
/* A source axis (batch = 0, negatives from the end) as a per-image axis,
 * or -1 when it is the batch or out of range. */
int gc_image_axis(int64_t raw, int rank);
/* The per-image axes in p->perm[0..ndim) (source numbering) as a bit mask;
 * ndim < 0 means every axis after the channels. -1 when one is invalid. */
int gc_axes_mask(const gc_params *p, int rank);
/* outer x len x inner around a per-image axis, n images. */
void gc_around_axis(const gc_nd *s, int axis, int n, size_t *outer, int *len, size_t *inner);
/* "node i (Name): its parameters do not fit an input of shape [N,...]". */
gc_status gc_op_misfit(const gc_graph *g, int i, const gc_shape *in, gc_error *err);

#endif
