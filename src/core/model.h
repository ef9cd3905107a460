/* model.h — what a loaded model is inside: its weights, its graph and the
 * facts a user needs to run it (classes, input size, normalisation). Read
 * only after loading, so threads may share one. */
#ifndef GC_CORE_MODEL_H
#define GC_CORE_MODEL_H

#include "core/graph.h"
#include "core/weights.h"

struct gc_model {
    gc_state_dict weights; /* tensors the graph borrows from            */
    float *derived;        /* folded BatchNorm scale/shift, also borrowed */
    gc_graph graph;
    char arch[96];
    int num_classes;
    char default_layer[96];
    char **class_names;    /* num_classes names from the description, or NULL */
    float **prepared;      /* per node: a kernel's own weight layout (the
                              Winograd filters), which the graph borrows */
    gc_preprocess pre;
    float **owned;         /* parameters gc_model_randomise made, freed with the model */
    int nowned;
};

/* After a loader built the graph: lays out weights for the fast kernels
 * (Winograd-domain 3x3 filters), once, so sessions never do; the plain
 * filters they replace are freed and their nodes' weight set to NULL. */
gc_status gc_model_prepare(gc_model *m, gc_error *err);

/* Layer i's node's per-image shape for an input of in_h x in_w; fails as
 * gc_model_layer_shape does for a bad index or a refused layer. */
gc_status gc_model_layer_node_shape(const gc_model *m, int i, int in_h, int in_w,
                                    gc_shape *out, gc_error *err);

#endif
