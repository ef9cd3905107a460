/* ext.h — the parameters of the operators ONNX models bring beyond the
 * ResNet set (node->ext), and their kernels. Same conventions as ops.h:
 * plain functions over flat float arrays, backward functions ACCUMULATE into
 * the input gradient, no weight gradients.
 *
 * Shapes here are per image: the batch dimension is never an operand of
 * these kernels, it is the outer loop (n images, each `numel` floats). That
 * is what lets a model exported with a fixed batch of 1 run on any batch.
 * A constant operand (an ONNX initializer) is shared by all images. */
#ifndef GC_OPS_EXT_H
#define GC_OPS_EXT_H

#include <stddef.h>
#include <stdint.h>

#include "gradcam.h"

#define GC_ND GC_MAX_DIMS /* per-image rank limit (batch excluded) */

typedef enum gc_unary_kind {
    GC_U_SIGMOID,
    GC_U_CLIP,         /* alpha = min, beta = max (ReLU6: 0, 6)           */
    GC_U_LEAKY_RELU,   /* alpha = slope for x < 0                        */
    GC_U_HARD_SIGMOID, /* max(0, min(1, alpha x + beta))                 */
    GC_U_HARD_SWISH,   /* x * max(0, min(1, x / 6 + 1 / 2))              */
    GC_U_SQRT,
    GC_U_ERF,
    GC_U_POW,          /* x ^ alpha, alpha a constant                    */
    GC_U_TANH,
    GC_U_EXP,
    GC_U_NEG,
    GC_U_COUNT
} gc_unary_kind;

typedef enum gc_binary_kind { GC_B_ADD, GC_B_SUB, GC_B_MUL, GC_B_DIV, GC_B_COUNT } gc_binary_kind;

typedef enum gc_reshape_kind {
    GC_RS_TARGET,    /* dims[] per image; 0 copies the input's dim, -1 infers */
    GC_RS_FLATTEN,   /* axis (full rank, >= 1)                                */
    GC_RS_SQUEEZE,   /* mask of per-image axes to drop (0: all size-1 axes)   */
    GC_RS_UNSQUEEZE  /* mask of per-image OUTPUT axes to insert               */
} gc_reshape_kind;

/* One heap block per node (freed by gc_graph_free), so no inner pointers
 * except into the model's weights. */
typedef struct gc_node_ext {
    int kind;               /* gc_unary_kind, gc_binary_kind, gc_reshape_kind */
    float alpha, beta;
    int axis;               /* per-image axis (softmax, concat, gather, slice) */
    int legacy;             /* softmax: opset < 13 (flatten at axis)           */
    int keepdims, mask;     /* reduce: per-image axes as a bit mask           */
    int count_include_pad;  /* average pooling                                */
    int const_pos;          /* binary/matmul: which operand is weight: -1, 0, 1 */
    int cndim;              /* that constant's ONNX shape (batch included)     */
    int64_t cdims[GC_ND];
    int ndim;               /* reshape target / transpose perm / slice, pad   */
    int64_t dims[GC_ND];    /* reshape target; slice starts; pad begins       */
    int64_t dims2[GC_ND];   /* slice ends; pad ends                           */
    int64_t dims3[GC_ND];   /* slice steps                                    */
    int perm[GC_ND];
    int nidx;               /* gather: constant indices                       */
    int idx_ndim;
    int64_t idx_dims[GC_ND];
    int64_t idx[];
} gc_node_ext;

/* A per-image shape. */
typedef struct gc_nd {
    int ndim;
    int d[GC_ND];
} gc_nd;

int64_t gc_nd_numel(const gc_nd *s);

/* ---- elementwise ---- */
void unary_forward(int kind, float alpha, float beta, float *y, const float *x, size_t count);
/* Uses the forward input x and output y, whichever the derivative needs. */
void unary_backward_input(int kind, float alpha, float beta, float *dx, const float *dy,
                          const float *x, const float *y, size_t count);

/* Broadcasting binary op: a, b and out share out's rank (pad with leading
 * 1s); a_batch/b_batch say whether the operand has one block per image
 * (a node) or one shared block (a constant). */
typedef struct gc_bcast {
    int n;
    gc_nd out, a, b; /* a, b: same ndim as out, dims 1 or out's */
    int a_batch, b_batch;
} gc_bcast;
void binary_forward(int kind, const gc_bcast *s, float *y, const float *a, const float *b);
/* da or db may be NULL (a constant, or not on the gradient's path). */
void binary_backward_input(int kind, const gc_bcast *s, const float *dy, const float *a,
                           const float *b, float *da, float *db);

/* ---- pooling and reductions ---- */
struct gc_window;
/* PyTorch's avg_pool2d: the divisor counts padding (count_include_pad) but
 * never the part of a ceil-mode window that hangs past the padding. */
void avgpool_forward(float *out, const float *in, const struct gc_window *s,
                     int pad_bottom, int pad_right, int count_include_pad);
void avgpool_backward_input(float *din, const float *dout, const struct gc_window *s,
                            int pad_bottom, int pad_right, int count_include_pad);

/* Mean over the per-image axes in mask; out has in's shape with those axes
 * set to 1 (the element count is what matters). */
void reduce_mean_forward(float *out, const float *in, int n, const gc_nd *in_shape, int mask);
void reduce_mean_backward_input(float *din, const float *dout, int n, const gc_nd *in_shape,
                                int mask);

/* Softmax over blocks: outer x len x inner, normalised along len. */
void softmax_forward(float *y, const float *x, size_t outer, int len, size_t inner);
void softmax_backward_input(float *dx, const float *dy, const float *y, size_t outer, int len,
                            size_t inner);

/* ---- layout ---- */
/* out = in with per-image axes permuted: out axis k is in axis perm[k]. */
void transpose_forward(float *out, const float *in, int n, const gc_nd *in_shape,
                       const int *perm);
void transpose_backward_input(float *din, const float *dout, int n, const gc_nd *in_shape,
                              const int *perm);
/* Strided slice: out dims od, in element = start[k] + i_k * step[k]. */
void slice_forward(float *out, const float *in, int n, const gc_nd *in_shape, const gc_nd *out_shape,
                   const int64_t *start, const int64_t *step);
void slice_backward_input(float *din, const float *dout, int n, const gc_nd *in_shape,
                          const gc_nd *out_shape, const int64_t *start, const int64_t *step);
/* Constant padding: out = value outside, in placed at begin[k]. */
void pad_forward(float *out, const float *in, int n, const gc_nd *in_shape, const gc_nd *out_shape,
                 const int64_t *begin, float value);
void pad_backward_input(float *din, const float *dout, int n, const gc_nd *in_shape,
                        const gc_nd *out_shape, const int64_t *begin);
/* Concatenation of k inputs along a per-image axis: outer x (len_i x inner). */
void concat_forward(float *out, const float *const *in, const int *len, int k, size_t outer,
                    size_t inner);
void concat_backward_input(float *const *din, const float *dout, const int *len, int k,
                           size_t outer, size_t inner);
/* out[o, j, i] = in[o, idx[j], i] for outer x (nidx) x inner blocks;
 * negative indices count from the end (checked in range by the caller). */
void gather_forward(float *out, const float *in, size_t outer, int len, size_t inner,
                    const int64_t *idx, int nidx);
void gather_backward_input(float *din, const float *dout, size_t outer, int len, size_t inner,
                           const int64_t *idx, int nidx);

/* ---- matrix products ---- */
/* y[b] = a[b] @ w for batch rows b (a: rows x k, w: k x m, shared). */
void matmul_const_forward(float *y, const float *a, const float *w, size_t rows, int k, int m);
void matmul_const_backward_input(float *da, const float *dy, const float *w, size_t rows, int k,
                                 int m);
/* batch of independent products: y[i] = a[i] (r x k) @ b[i] (k x m). */
void matmul_forward(float *y, const float *a, const float *b, size_t batch, int r, int k, int m);
void matmul_backward_input(float *da, float *db, const float *dy, const float *a, const float *b,
                           size_t batch, int r, int k, int m);

#endif
