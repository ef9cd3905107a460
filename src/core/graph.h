/* graph.h — the network as a list of nodes in execution order, each one
 * operator (with its parameters) whose inputs are earlier nodes, plus the
 * table of layer names a user may pick. Every loader (.pth + architecture
 * builder, ONNX) produces this from the same operators; sessions execute
 * it through the operator table (core/op_table.h). Weights are borrowed from the model that owns
 * the graph: the graph never frees them.
 *
 * A layer name maps to the node that produces the module's output, so
 * "layer4", "layer4.1" and "layer4.1.relu_out" may all name one node. Names
 * that exist in the source model but have no single output (a ReLU module
 * called twice) are kept with a refusal message instead of a node. */
#ifndef GC_CORE_GRAPH_H
#define GC_CORE_GRAPH_H

#include "gradcam.h"

/* Every operator, whichever loader produced it: one entry each in the
 * operator table (core/op_table.h), which says how its shape is inferred
 * and how a session runs it forward and backward. */
typedef enum gc_op {
    GC_OP_INPUT,
    GC_OP_CONV,       /* weight [oc, c/groups, kh, kw], optional bias    */
    GC_OP_AFFINE,     /* eval-mode BatchNorm folded: weight=scale, bias=shift */
    GC_OP_RELU,
    GC_OP_UNARY,      /* elementwise f(x): sigmoid, clip, erf, ...       */
    GC_OP_BINARY,     /* broadcasting a (op) b, b a node or a constant;
                         a residual addition is one with equal shapes    */
    GC_OP_MAXPOOL,
    GC_OP_AVGPOOL,
    GC_OP_REDUCE_MEAN, /* includes global average pooling               */
    GC_OP_SOFTMAX,
    GC_OP_LINEAR,     /* [c] -> [out_channels], weight [out, c], bias    */
    GC_OP_MATMUL,     /* a @ b, b a node or a constant matrix            */
    GC_OP_RESHAPE,    /* same data, new shape (Flatten, Reshape, ...)    */
    GC_OP_TRANSPOSE,
    GC_OP_SLICE,
    GC_OP_CONCAT,
    GC_OP_GATHER,     /* constant indices along one axis                 */
    GC_OP_PAD,
    GC_OP_CONSTANT,   /* weight, the same for every image; no inputs     */
    GC_OP_LAYERNORM,  /* over the axes from params->axis on; weight = scale,
                         bias = shift (either may be NULL), alpha = epsilon */
    GC_OP_RESIZE,     /* [C, H, W] -> [C, dims[0], dims[1]] (0: H alpha, W beta);
                         kind 1 nearest, axis gc_resize coord, legacy:
                         nearest rounds half down                        */
    GC_OP_COUNT
} gc_op;

typedef enum gc_reshape_kind {
    GC_RS_TARGET,    /* dims[] per image; 0 copies the input's dim, -1 infers */
    GC_RS_FLATTEN,   /* axis (full rank, >= 1)                                */
    GC_RS_SQUEEZE,   /* mask of per-image axes to drop (0: all size-1 axes)   */
    GC_RS_UNSQUEEZE  /* mask of per-image OUTPUT axes to insert               */
} gc_reshape_kind;

/* An operator's parameters beyond the window geometry in gc_node. Axes are
 * kept as the source wrote them (ONNX: counted with the batch first,
 * possibly negative) and resolved against the per-image rank when shapes
 * are inferred. One heap block per node (gc_params_new, freed by
 * gc_graph_free), so no inner pointers except into the model's weights. */
typedef struct gc_params {
    int kind;               /* gc_unary_kind, gc_binary_kind, gc_reshape_kind */
    float alpha, beta;
    int axis;               /* softmax, concat, gather                        */
    int legacy;             /* softmax: opset < 13 (flatten at axis)           */
    int keepdims;           /* reduce                                         */
    int count_include_pad;  /* average pooling                                */
    int const_pos;          /* binary/matmul: which operand is weight: -1, 0, 1 */
    int cndim;              /* that constant's shape (batch included)          */
    int64_t cdims[GC_MAX_DIMS];
    int ndim;               /* reshape target / transpose perm / slice, pad;
                               reduce: axes in perm[], -1 for all spatial axes */
    int64_t dims[GC_MAX_DIMS];  /* reshape target; slice starts; pad begins   */
    int64_t dims2[GC_MAX_DIMS]; /* slice ends; pad ends                       */
    int64_t dims3[GC_MAX_DIMS]; /* slice steps                                */
    int perm[GC_MAX_DIMS];
    int nidx;               /* gather: constant indices                       */
    int idx_ndim;
    int64_t idx_dims[GC_MAX_DIMS];
    int64_t idx[];
} gc_params;

/* A zeroed parameter block (const_pos -1: no constant operand) with room
 * for nidx gather indices, or NULL. */
gc_params *gc_params_new(int nidx);

/* Inputs a node may have (DenseNet's Concat takes dozens). */
#define GC_NODE_MAX_IN 64

typedef struct gc_node {
    gc_op op;
    int in[GC_NODE_MAX_IN];     /* producers; -1 where unused           */
    int nin;                    /* how many of in[] a node reads        */
    const float *weight, *bias; /* borrowed                             */
    const float *winograd;      /* conv weights in the Winograd domain,
                                   or NULL (see gc_model_prepare)       */
    int out_channels;           /* conv, linear                         */
    int kh, kw, sh, sw, dh, dw, groups, ceil_mode;
    int pad[4];                 /* top, left, bottom, right             */
    gc_params *params;          /* owned; NULL for ops that need none   */
} gc_node;

/* A node's per-image output shape for one input size; vectors have
 * h = w = 1 and spatial = 0. Kept outside the node so the graph stays
 * read-only and shareable while sessions plan different sizes. */
typedef struct gc_shape {
    int c, h, w, spatial;
    /* The full per-image shape. c * h * w is always the element count: a
     * shape that is not [C,H,W] has c = numel, h = w = 1, spatial = 0. */
    int ndim;
    int d[GC_MAX_DIMS];
} gc_shape;

typedef struct gc_layer {
    char *name;
    int node;          /* -1 when refused                               */
    char *refusal;     /* why it cannot be used, with alternatives      */
} gc_layer;

typedef struct gc_graph {
    gc_node *nodes;
    int count, cap;
    gc_layer *layers;
    int nlayers, layers_cap;
    int input_channels;
} gc_graph;

void gc_graph_init(gc_graph *g, int input_channels);
void gc_graph_free(gc_graph *g);

/* Appends a node with default geometry (1x1 window, stride 1, no padding,
 * one group) and returns its index, or -1 when out of memory. */
int gc_graph_add(gc_graph *g, gc_op op, int in0, int in1);
gc_status gc_graph_name(gc_graph *g, int node, const char *name, gc_error *err);
gc_status gc_graph_refuse(gc_graph *g, const char *name, const char *why, gc_error *err);

/* Computes every node's output shape for an input of h x w, checking that
 * channels agree and no feature map collapses to nothing. */
gc_status gc_graph_shapes(const gc_graph *g, int h, int w, gc_shape *out, gc_error *err);
/* Node i's shape alone, its inputs' already in out (loaders check nodes as
 * they add them). */
gc_status gc_graph_shape_node(const gc_graph *g, int i, int h, int w, gc_shape *out,
                              gc_error *err);

/* Resolves a user's layer name to a node; an unknown name gets a message
 * that suggests the closest known names. */
gc_status gc_graph_find_layer(const gc_graph *g, const char *name, int *node,
                              gc_error *err);

/* Whether node i averages each channel over all its spatial positions
 * (global average pooling, however the source wrote it). */
int gc_graph_is_global_mean(const gc_graph *g, int i);

/* The index of the output node (the last one). */
static inline int gc_graph_output(const gc_graph *g) { return g->count - 1; }

#endif
