/* graph.h — the network as a list of nodes in execution order, each one
 * operation whose inputs are earlier nodes, plus the table of layer names a
 * user may pick. Every loader (.pth + architecture builder, ONNX) produces
 * this; sessions execute it. Weights are borrowed from the model that owns
 * the graph: the graph never frees them.
 *
 * A layer name maps to the node that produces the module's output, so
 * "layer4", "layer4.1" and "layer4.1.relu_out" may all name one node. Names
 * that exist in the source model but have no single output (a ReLU module
 * called twice) are kept with a refusal message instead of a node. */
#ifndef GC_CORE_GRAPH_H
#define GC_CORE_GRAPH_H

#include "gradcam.h"

typedef enum gc_op {
    GC_OP_INPUT,
    GC_OP_CONV,       /* weight [oc, c/groups, kh, kw], optional bias    */
    GC_OP_AFFINE,     /* eval-mode BatchNorm folded: weight=scale, bias=shift */
    GC_OP_RELU,
    GC_OP_ADD,
    GC_OP_MAXPOOL,
    GC_OP_GLOBAL_AVGPOOL, /* [c, h, w] -> [c]                            */
    GC_OP_LINEAR,     /* [c] -> [out_channels], weight [out, c], bias    */
    /* The ONNX operators; shapes, kernels and parameters live in
     * core/graph_ext.c and node->ext (ops/ext.h). */
    GC_OP_UNARY,      /* elementwise f(x): sigmoid, clip, erf, ...       */
    GC_OP_BINARY,     /* broadcasting a (op) b, b a node or a constant   */
    GC_OP_AVGPOOL,
    GC_OP_REDUCE_MEAN,
    GC_OP_SOFTMAX,
    GC_OP_RESHAPE,    /* same data, new shape (Flatten, Reshape, ...)    */
    GC_OP_TRANSPOSE,
    GC_OP_SLICE,
    GC_OP_CONCAT,
    GC_OP_GATHER,     /* constant indices along one axis                 */
    GC_OP_PAD,
    GC_OP_MATMUL      /* a @ b, b a node or a constant matrix            */
} gc_op;

/* Inputs a node may have (DenseNet's Concat takes dozens). */
#define GC_NODE_MAX_IN 64

struct gc_node_ext;

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
    struct gc_node_ext *ext;    /* ONNX op parameters, owned, one block */
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

/* The index of the output node (the last one). */
static inline int gc_graph_output(const gc_graph *g) { return g->count - 1; }

#endif
