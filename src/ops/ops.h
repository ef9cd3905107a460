/* ops.h — the layer kernels, each a pair of plain functions over flat
 * float arrays: <op>_forward(out, in, ...) and <op>_backward_input(din,
 * dout, ...). Backward functions ACCUMULATE into din (din += ...), because
 * a tensor feeding several consumers (a residual branch) sums their
 * gradients; the caller zeroes din once. There are no weight gradients
 * anywhere: Grad-CAM only needs gradients with respect to activations.
 *
 * Grouped by kind: windows (convolution, pooling), per-element and
 * per-channel maps, reductions, layout, matrix products. The window kernels
 * take NCHW tensors with the batch inside gc_window; the rank-general ones
 * take per-image shapes (gc_nd) with the batch as the outer loop (n images,
 * each numel floats), which is what lets a model exported with a fixed
 * batch of 1 run on any batch. A constant operand (a weight) is shared by
 * all images. Which node calls which kernel is core/op_*.c's business. */
#ifndef GC_OPS_H
#define GC_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "gradcam.h"

/* Memory-bound kernels share their work between threads only from this
 * many elements on (256 KiB of floats, tens of microseconds of work): below
 * it, waking the other threads costs more than it saves. */
#define OPS_PARALLEL_MIN ((size_t)1 << 16)

/* Geometry of a 2-D convolution or pooling window. ph/pw are the top/left
 * padding; the bottom/right padding is whatever makes ho/wo come out, which
 * covers symmetric, asymmetric and ceil-mode padding alike. */
typedef struct gc_window {
    int n, c, h, w;   /* input: batch, channels, height, width */
    int oc, ho, wo;   /* output channels (convolution only), height, width */
    int kh, kw, sh, sw, ph, pw, dh, dw;
    int groups;       /* convolution only */
} gc_window;

/* Output extent along one axis, floor or ceil mode (PyTorch's rule: in ceil
 * mode the last window must start inside the input or left padding). */
int gc_window_out(int in, int k, int stride, int pad_begin, int pad_end, int dilation,
                  int ceil_mode);

/* What a convolution may apply to each output channel after its bias, so
 * that a following BatchNorm map, residual addition and ReLU (or Clip, as
 * ReLU6) cost no extra pass over memory: y = y * scale[c] + shift[c] (when
 * scale is set), then y + residual (when set: a tensor laid out as the
 * output), then max(y, 0) (when relu is set) or y clamped to [lo, hi] (when
 * clip is set) or y * gate(y) (SiLU, HardSwish: when gate is set), computed
 * exactly as affine_forward, add_forward, relu_forward, unary_forward's
 * Clip, Sigmoid and HardSigmoid and binary_forward's Mul do, so the result
 * is the same to the bit. NULL means none. The Winograd kernels apply
 * neither Clip nor a gate: their caller does, after them
 * (core/op_window.c). */
typedef struct gc_epilogue {
    const float *scale, *shift;
    int relu;
    const float *residual;
    int clip;
    float lo, hi;
    /* y * gate(y), the gate a sigmoid (SiLU) or a hard sigmoid of slope ga
     * and offset gb (HardSwish: 1/6, 1/2), as unary_forward's Sigmoid or
     * HardSigmoid then a Mul */
    int gate; /* gc_gate_kind */
    float ga, gb;
} gc_epilogue;

typedef enum gc_gate_kind { GC_GATE_NONE, GC_GATE_SIGMOID, GC_GATE_HARD_SIGMOID } gc_gate_kind;

/* Applies e to n values y of output channel c; res points at the
 * residual's values for the same positions (NULL when e has none). */
void epilogue_apply(float *y, const float *res, size_t n, const gc_epilogue *e, int c);
/* The same after adding *bias (the channel's bias; NULL: none) to each
 * value, all in one pass; e may be NULL. */
void epilogue_bias_apply(float *y, const float *res, size_t n, const float *bias,
                         const gc_epilogue *e, int c);
/* Its two halves, for kernels that move values in between: the channel's
 * map, then the residual and the ReLU. */
void epilogue_scale(float *y, size_t n, const gc_epilogue *e, int c);
void epilogue_finish(float *y, const float *res, size_t n, const gc_epilogue *e);
/* The residual's values for output positions starting at element `at` of
 * the output tensor, or NULL. */
static inline const float *epilogue_residual(const gc_epilogue *e, size_t at)
{
    return e && e->residual ? e->residual + at : NULL;
}

/* Whether s is a 1x1, stride-1, unpadded convolution, whose input planes
 * already are the GEMM's right-hand matrix (no im2col). */
int conv2d_is_pointwise(const gc_window *s);

/* Floats of im2col workspace that conv2d_* need for window s. */
size_t conv2d_workspace(const gc_window *s);

/* out[n, oc, ho, wo] = sum w[oc, c/groups, kh, kw] * in[...] + bias[oc],
 * then epi. bias and epi may be NULL. col is a workspace of
 * conv2d_workspace(s) floats. */
void conv2d_forward(float *out, const float *in, const float *weight, const float *bias,
                    const gc_epilogue *epi, const gc_window *s, float *col);
void conv2d_backward_input(float *din, const float *dout, const float *weight,
                           const gc_window *s, float *col);

/* Depthwise convolutions (one input channel per group, any channel
 * multiplier), computed directly (conv2d_depthwise.c); conv2d_forward and
 * conv2d_backward_input call them where they apply, with their workspace
 * of conv2d_depthwise_workspace(s) floats (conv2d_workspace covers it). */
int conv2d_depthwise_applies(const gc_window *s);
size_t conv2d_depthwise_workspace(const gc_window *s);
void conv2d_depthwise_forward(float *out, const float *in, const float *weight,
                              const float *bias, const gc_epilogue *epi, const gc_window *s,
                              float *work);
void conv2d_depthwise_backward_input(float *din, const float *dout, const float *weight,
                                     const gc_window *s, float *work);

/* The same forward pass, blocked over output pixels in one parallel region
 * (conv2d_blocked.c); applies to ungrouped convolutions where gemm_nn runs
 * our own kernel. conv2d_workspace covers its workspace too. */
int conv2d_blocked_applies(const gc_window *s);
size_t conv2d_blocked_workspace(const gc_window *s);
void conv2d_blocked_forward(float *out, const float *in, const float *weight, const float *bias,
                            const gc_epilogue *epi, const gc_window *s, float *work);

/* Winograd F(2x2, 3x3) for 3x3 stride-1 pad-1 ungrouped convolutions:
 * U holds 16 * oc * c transformed weights (winograd_transform_weights, done
 * once per model); work holds winograd_workspace(s) floats. */
int winograd_applies(const gc_window *s);
void winograd_transform_weights(float *U, const float *w, int oc, int c);
size_t winograd_workspace(const gc_window *s);
void conv2d_winograd_forward(float *out, const float *in, const float *U, const float *bias,
                             const gc_epilogue *epi, const gc_window *s, float *work);
/* din += the gradient through that convolution, from the same U. */
void conv2d_winograd_backward_input(float *din, const float *dout, const float *U,
                                    const gc_window *s, float *work);

/* Winograd F(4x4, 3x3), forward only, for the same convolutions: a
 * quarter of the direct method's multiplications, at about four times
 * F(2x2)'s rounding error (winograd4.c says where it is used). U holds 36 *
 * oc * c filters, transformed from the plain ones w or, where w is NULL,
 * from F(2x2)'s U2. */
void winograd4_transform_weights(float *U, const float *w, const float *U2, int oc, int c);
size_t winograd4_workspace(const gc_window *s);
/* Whether it is faster than F(2x2, 3x3) for window s on this CPU. */
int winograd4_pays(const gc_window *s);
void conv2d_winograd4_forward(float *out, const float *in, const float *U, const float *bias,
                              const gc_epilogue *epi, const gc_window *s, float *work);

/* y = x * scale[c] + shift[c]: eval-mode BatchNorm with its statistics
 * folded into one affine map per channel. */
void affine_forward(float *out, const float *in, const float *scale, const float *shift,
                    int n, int c, int hw);
void affine_backward_input(float *din, const float *dout, const float *scale, int n,
                           int c, int hw);

void relu_forward(float *out, const float *in, size_t count);
/* Uses the forward OUTPUT: d/dx is 1 where out > 0, as PyTorch defines it. */
void relu_backward_input(float *din, const float *dout, const float *out, size_t count);
/* Guided backpropagation's ReLU: only positive gradients at positive
 * outputs pass (Springenberg et al. 2015). */
void relu_backward_input_guided(float *din, const float *dout, const float *out,
                                size_t count);

void add_forward(float *out, const float *a, const float *b, size_t count);
/* relu_forward(add_forward(a, b)) in one pass, the same to the bit. */
void add_relu_forward(float *out, const float *a, const float *b, size_t count);
/* Both inputs receive dout; callers accumulate it into each. */
void add_backward_input(float *din, const float *dout, size_t count);

/* Max pooling. The gradient goes to the first maximum of each window in
 * raster order (as PyTorch's), found again from the forward pass's input
 * and output, so the forward pass stores no indices. A NaN is a maximum. */
void maxpool_forward(float *out, const float *in, const gc_window *s);
/* Its forms: the portable loop, and for the stem's window (3x3, stride 2,
 * padding 1, maxpool_is_stem) the CPU tier's vector kernel where it has
 * one (cpu.h), which maxpool_forward calls where it applies. The same
 * bits. */
void maxpool_portable(float *out, const float *in, const gc_window *s);
int maxpool_is_stem(const gc_window *s);
void maxpool_backward_input(float *din, const float *dout, const float *in, const float *out,
                            const gc_window *s);

/* out[n, c] = mean over h, w of in[n, c, h, w]. */
void global_avgpool_forward(float *out, const float *in, int n, int c, int hw);
void global_avgpool_backward_input(float *din, const float *dout, int n, int c, int hw);

/* out[n, o] = sum_i in[n, i] * w[o, i] + bias[o] (PyTorch's Linear layout). */
void linear_forward(float *out, const float *in, const float *weight, const float *bias,
                    int n, int in_features, int out_features);
void linear_backward_input(float *din, const float *dout, const float *weight, int n,
                           int in_features, int out_features);

/* ---- rank-general kernels (shapes per image, batch outside) ---- */

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



/* A per-image shape. */
typedef struct gc_nd {
    int ndim;
    int d[GC_ND];
} gc_nd;

int64_t gc_nd_numel(const gc_nd *s);

/* ---- elementwise ---- */
void unary_forward(int kind, float alpha, float beta, float *y, const float *x, size_t count);
/* Uses the forward input x and output y, whichever the derivative needs;
 * Clip needs only y (x may be NULL). */
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

/* Resizing planes of ih x iw to oh x ow (ONNX Resize, PyTorch's
 * interpolate): bilinear or nearest, with one of ONNX's coordinate
 * transforms. The backward pass is the exact adjoint (accumulating). */
enum { GC_RESIZE_HALF_PIXEL, GC_RESIZE_ALIGN_CORNERS, GC_RESIZE_ASYMMETRIC };
#define GC_RESIZE_MAX 4096 /* output rows and columns at most */
typedef struct gc_resize {
    int nearest;         /* 0: bilinear                                  */
    int coord;           /* GC_RESIZE_*                                  */
    int round_half_down; /* nearest: round (half down) instead of floor  */
} gc_resize;
void resize_forward(float *out, const float *in, size_t planes, int ih, int iw, int oh, int ow,
                    const gc_resize *r);
void resize_backward_input(float *din, const float *dout, size_t planes, int ih, int iw, int oh,
                           int ow, const gc_resize *r);

/* Layer normalisation of rows rows of len values each (ONNX's
 * LayerNormalization, PyTorch's layer_norm): (x - mean) / sqrt(var + eps)
 * with the biased variance, times scale[j] plus shift[j] (either NULL:
 * 1, 0); statistics in double. The backward pass recomputes them from x. */
void layernorm_forward(float *y, const float *x, const float *scale, const float *shift,
                       size_t rows, int len, float eps);
void layernorm_backward_input(float *dx, const float *dy, const float *x, const float *scale,
                              size_t rows, int len, float eps);

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
