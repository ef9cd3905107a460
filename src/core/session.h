/* session.h — executing a model's graph: the per-thread buffers planned once
 * per input shape, the forward pass, and the backward pass from the logits
 * to one chosen node. A session is what makes a shared, read-only model
 * usable from several threads at once. */
#ifndef GC_CORE_SESSION_H
#define GC_CORE_SESSION_H

#include "core/model.h"
#include "ops/ops.h"

#include <stdint.h>

struct gc_session {
    const gc_model *m;
    int n, h, w;            /* the shape the buffers are planned for     */
    gc_shape *shapes;       /* per node                                  */
    float **act, **grad;    /* per node, n * c * h * w floats each       */
    char *reach;            /* per node: depends on the backward target  */
    float *arena;           /* one block behind act                      */
    char *keep;             /* per node: its output survives the forward */
    int *fused;             /* per node: how many following nodes it computes */
    int *head;              /* per node: the node that computes it, or -1 */
    float *grad_arena;      /* behind grad: allocated on first backward  */
    size_t floats;          /* the size of each arena                    */
    float *col;             /* im2col workspace                          */
    size_t col_floats;      /* its size                                  */
    float **wino4;          /* per node: F(4x4, 3x3) filters, or NULL    */
    int use_wino4;          /* the forward pass uses them where set      */
    struct gc_session *sub; /* batched extra passes (Score-/Ablation-CAM) */
    int have_forward;       /* act holds the forward pass of act[0]      */
};

/* (Re)plans buffers for a batch of n images of h x w; a no-op when the shape
 * is unchanged, so steady-state calls allocate nothing. */
gc_status gc_session_plan(gc_session *s, int n, int h, int w, gc_error *err);
/* Chooses which activations survive the forward pass (keep[i] != 0; NULL:
 * all of them). The others share a few buffers, each reused once its
 * consumers have run, which is what keeps memory small. Invalidates the
 * last forward pass when the choice changes. */
gc_status gc_session_keep(gc_session *s, const char *keep, gc_error *err);

/* Runs the whole graph on x (n x c x h x w, as planned). */
void gc_session_forward(gc_session *s, const float *x);
/* Re-runs only the nodes after `after` (a kept node), whose activations
 * (and those of every earlier node still used later) the caller has set. */
void gc_session_forward_after(gc_session *s, int after);
/* Gradient of sum_i dlogits[i] . logits[i] with respect to every node from
 * the output back to target (inclusive), leaving it in s->grad[target].
 * Nodes that do not depend on target are skipped entirely. guided makes
 * every ReLU pass only positive gradients (guided backpropagation). */
gc_status gc_session_backward(gc_session *s, int target, const float *dlogits, int guided,
                              gc_error *err);
/* The last node of the chain that convolution node computes in one go
 * (its BatchNorm map and ReLU, see plan_fusion), and in epi what it
 * applies after the bias: the chain's output is epi(conv + bias). */
int gc_session_conv_chain(const gc_session *s, int node, gc_epilogue *epi);

/* Convolution node's filters alone (no bias, no chain) over n images of
 * h x w with padding ph, pw, giving ho x wo: a window of the node's usual
 * output. Needs the plain filters: only for nodes without Winograd ones,
 * and no larger than the planned shapes (it uses s's workspace). */
void gc_session_conv_plain(gc_session *s, int node, float *out, const float *in, int n, int h,
                           int w, int ho, int wo, int ph, int pw);

/* Makes the forward pass use Winograd F(4x4, 3x3) (ops.h) instead of
 * F(2x2, 3x3) for the convolutions where it is faster (every one it can
 * run, with all set), or, with on = 0, go back to F(2x2) everywhere. Only
 * for passes whose results tolerate its larger rounding error: nothing
 * but Score-CAM's masked passes. The filters are transformed on first use
 * and kept until the session is freed; the backward pass never uses them. */
gc_status gc_session_use_winograd4(gc_session *s, int on, int all, gc_error *err);

/* The child session used for batched extra passes, planned for n images
 * of h x w. */
gc_status gc_session_child(gc_session *s, int n, int h, int w, gc_session **child,
                           gc_error *err);

static inline size_t gc_shape_numel(const gc_shape *sh) { return (size_t)sh->c * sh->h * sh->w; }

#endif
