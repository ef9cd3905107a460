/* onnx_internal.h — what the ONNX loader's files share: the table of named
 * values (a computed tensor = a graph node, or a constant known at load
 * time) and the loader's state. Constants are either float (weights; their
 * storage belongs to the model's state_dict) or int64 (shapes, axes,
 * indices; loader-owned, gone after loading). Shape arithmetic is done on
 * int64 constants; the batch size N is unknown at load time and travels as
 * a marker standing for N * k (onnx_batch_times; GC_ONNX_BATCH is N), which
 * only a Reshape may consume.
 *
 * A computed tensor's batch axis is normally the ONNX tensor's first axis
 * and absent from its graph node's per-image shape. Attention as PyTorch
 * exports it moves it (a [L, N, E] transpose, an [L, N * heads, D]
 * reshape): such a value records where the batch lies (bax, bmerged,
 * bouter, binner below; onnx_batch.c), and only the operators there accept
 * it. */
#ifndef GC_LOADERS_ONNX_INTERNAL_H
#define GC_LOADERS_ONNX_INTERNAL_H

#include "core/error.h"
#include "core/model.h"
#include "core/session.h"
#include "onnx/onnx.pb-c.h"
#include "ops/ops.h"

#define GC_ONNX_BATCH (INT64_MIN / 2)
#define GC_ONNX_BATCH_MAX_K ((int64_t)1 << 40)

/* The marker for N * k (1 <= k < GC_ONNX_BATCH_MAX_K). */
static inline int64_t onnx_batch_times(int64_t k) { return GC_ONNX_BATCH + (k - 1); }

/* k where v is the marker for N * k, else 0. */
static inline int64_t onnx_batch_factor(int64_t v)
{
    return v >= GC_ONNX_BATCH && v < GC_ONNX_BATCH + GC_ONNX_BATCH_MAX_K ? v - GC_ONNX_BATCH + 1
                                                                           : 0;
}

typedef enum { V_NODE = 1, V_FLOAT, V_INT } value_kind;

typedef struct value {
    const char *name;   /* borrowed from the protobuf                   */
    value_kind kind;
    int node;           /* V_NODE                                       */
    int ndim;           /* constants                                    */
    int64_t dims[GC_MAX_DIMS];
    int64_t numel;
    const float *f;     /* V_FLOAT: in the model's state_dict           */
    int64_t *i;         /* V_INT: owned by the loader                   */
    /* V_NODE: the ONNX axis holding the batch; bmerged 0: that axis is the
     * batch alone (absent from the node's per-image shape); 1: it is
     * bouter x N x binner in row-major order, the node's per-image axis
     * bax of bouter * binner. All zero: axis 0, alone. */
    int bax, bmerged;
    int64_t bouter, binner;
} value;

/* Whether v's batch lies as every converter but onnx_batch.c's expects. */
static inline int onnx_batch_plain(const value *v)
{
    return v->kind != V_NODE || (v->bax == 0 && !v->bmerged);
}



typedef struct onnx_loader {
    gc_model *m;
    const char *path;   /* labels messages, locates external data       */
    const char *output; /* the graph output of the scores; NULL: the first */
    gc_error *err;
    Onnx__ModelProto *proto;
    int opset;
    value *vals;        /* open-addressing hash table by name           */
    size_t vcap, vcount;
    gc_shape *shapes;   /* per graph node, at the declared input size   */
    int shapes_cap;
    int in_h, in_w;     /* declared (or assumed) input size             */
    const Onnx__NodeProto *cur; /* the node being converted, for errors */
    const char **node_name;     /* per graph node: ONNX node name (borrowed) */
    const char **tensor_name;   /* per graph node: its output tensor        */
    int names_cap;
    int64_t max_nodes;          /* from the caller's gc_limits              */
    uint64_t max_weight_bytes;  /* likewise: float32 bytes kept in m->weights */
    uint64_t weight_bytes;      /* kept so far                              */
} onnx_loader;

/* Values. */
value *onnx_get(onnx_loader *L, const char *name);
/* Input k of a node (NULL where absent or unnamed), its first output's name. */
static inline value *onnx_input(onnx_loader *L, const Onnx__NodeProto *nd, size_t k)
{
    if (k >= nd->n_input || !nd->input[k] || !*nd->input[k])
        return NULL;
    return onnx_get(L, nd->input[k]);
}

static inline const char *onnx_output_name(const Onnx__NodeProto *nd)
{
    return nd->n_output ? nd->output[0] : NULL;
}

gc_status onnx_put(onnx_loader *L, const value *v);
/* A float constant whose data is copied into the model (dims as given). */
gc_status onnx_put_float(onnx_loader *L, const char *name, int ndim, const int64_t *dims,
                         const float *data, value **out);
gc_status onnx_put_int(onnx_loader *L, const char *name, int ndim, const int64_t *dims,
                       const int64_t *data);
/* A TensorProto (initializer or Constant) as a constant named name. */
gc_status onnx_tensor_value(onnx_loader *L, Onnx__TensorProto *t, const char *name);
/* Float storage owned by the model, for derived weights. */
float *onnx_alloc_floats(onnx_loader *L, const char *name, int64_t count);

/* Graph nodes: adds one and computes its shape at the declared input size;
 * returns its index or -1 with L->err filled. params may be NULL; it is
 * owned by the graph from here on, even on failure. */
int onnx_add_node(onnx_loader *L, gc_op op, const int *in, int nin, gc_params *params);
gc_params *onnx_new_params(onnx_loader *L, int nidx);

/* Fails naming the current node: "PATH: node 'NAME' (OP): ...". */
gc_status onnx_fail(onnx_loader *L, gc_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Shape arithmetic on constants (onnx_fold.c); arg: for onnx_conv_compare,
 * 0 Equal, 1 Less, 2 Greater. */
gc_status onnx_conv_constant_of_shape(onnx_loader *L, const Onnx__NodeProto *nd, int arg);
gc_status onnx_conv_compare(onnx_loader *L, const Onnx__NodeProto *nd, int cmp);
gc_status onnx_conv_where(onnx_loader *L, const Onnx__NodeProto *nd, int arg);
/* arg: 0 And, 1 Or, 2 Xor, 3 Not */
gc_status onnx_conv_logic(onnx_loader *L, const Onnx__NodeProto *nd, int op);
gc_status onnx_conv_expand(onnx_loader *L, const Onnx__NodeProto *nd, int arg);
gc_status onnx_conv_range(onnx_loader *L, const Onnx__NodeProto *nd, int arg);
gc_status onnx_conv_mod(onnx_loader *L, const Onnx__NodeProto *nd, int arg);
/* Add, Sub, Mul, Div or Pow of two constants without batch markers,
 * broadcast (Div of integers floors). */
gc_status onnx_fold_arith(onnx_loader *L, const Onnx__NodeProto *nd, const value *a,
                          const value *b);
/* Slice, Transpose and Gather of a constant of any rank (axes as ONNX
 * numbers them; the slice's already resolved to one entry per axis). */
gc_status onnx_fold_slice(onnx_loader *L, const Onnx__NodeProto *nd, const value *x, int n,
                          const int64_t *axes, const int64_t *starts, const int64_t *ends,
                          const int64_t *steps);
gc_status onnx_fold_transpose(onnx_loader *L, const Onnx__NodeProto *nd, const value *x,
                              const int64_t *perm, int n);
gc_status onnx_fold_gather(onnx_loader *L, const Onnx__NodeProto *nd, const value *x,
                           const value *idx, int64_t axis);
/* onnx_einsum.c: Einsum as a batched matrix product. */
gc_status onnx_conv_einsum(onnx_loader *L, const Onnx__NodeProto *nd, int arg);
gc_status onnx_conv_scatter_nd(onnx_loader *L, const Onnx__NodeProto *nd, int arg);

/* onnx_batch.c: the operators that accept a value whose batch moved, and
 * those that move it. Each returns GC_OK or fails naming the node. */
gc_status onnx_batch_transpose(onnx_loader *L, const Onnx__NodeProto *nd, const value *x,
                               const int64_t *perm, int n);
gc_status onnx_batch_reshape(onnx_loader *L, const Onnx__NodeProto *nd, const value *x,
                             const int64_t *target, int n, int allowzero);
gc_status onnx_batch_convert(onnx_loader *L, const Onnx__NodeProto *nd);
/* The ONNX dims of a computed value, the batch as its marker. */
int onnx_batch_dims(onnx_loader *L, const value *v, int64_t *dims);

/* Converts one node (onnx_ops.c); _plain: without looking for moved inputs. */
gc_status onnx_convert_node(onnx_loader *L, const Onnx__NodeProto *nd);
gc_status onnx_convert_node_plain(onnx_loader *L, const Onnx__NodeProto *nd);
/* 1 if op_type is one we convert. */
int onnx_op_supported(const char *op_type);
const char *onnx_supported_list(void);

/* Registers node names, tensor names and module paths (onnx_names.c) and
 * picks the default layer. */
gc_status onnx_name_layers(onnx_loader *L);

#endif
