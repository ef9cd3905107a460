/* model.c — what a loaded model is made of and what a user may ask of it
 * (classes, layers and their shapes), and the one step every loader ends
 * with (gc_model_prepare). Reading files is the loaders' business
 * (loaders/registry.c). */
#include "core/error.h"
#include "core/model.h"
#include "ops/ops.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gc_model_free(gc_model *m)
{
    if (!m)
        return;
    for (int i = 0; m->prepared && i < m->graph.count; i++)
        free(m->prepared[i]);
    free(m->prepared);
    for (int i = 0; i < m->nowned; i++)
        free(m->owned[i]);
    free(m->owned);
    gc_graph_free(&m->graph);
    gc_sd_free(&m->weights);
    free(m->derived);
    if (m->class_names)
        for (int i = 0; i < m->num_classes; i++)
            free(m->class_names[i]);
    free(m->class_names);
    free(m);
}

static int winograd_candidate(const gc_node *nd)
{
    return nd->op == GC_OP_CONV && nd->kh == 3 && nd->kw == 3 && nd->sh == 1 && nd->sw == 1 &&
           nd->dh == 1 && nd->dw == 1 && nd->groups == 1 && nd->pad[0] == 1 && nd->pad[1] == 1 &&
           nd->pad[2] == 1 && nd->pad[3] == 1;
}

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (const float *const *)a, y = (uintptr_t) * (const float *const *)b;
    return x < y ? -1 : x > y;
}

/* A tensor of the state dict filed under its data's address, which stays
 * the key after the data is freed. */
typedef struct owned {
    const float *data;
    gc_sd_tensor *t;
} owned;

/* How many of the n sorted pointers equal p. */
static size_t count_of(const float **sorted, size_t n, const float *p)
{
    size_t lo = 0, hi = n;
    while (lo < hi) { /* the first not below p */
        size_t mid = lo + (hi - lo) / 2;
        if ((uintptr_t)sorted[mid] < (uintptr_t)p)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t k = lo;
    while (k < n && sorted[k] == p)
        k++;
    return k - lo;
}

/* The state dict's tensor whose data is p, or NULL. */
static gc_sd_tensor *owner_of(const owned *sorted, size_t n, const float *p)
{
    owned key = {p, NULL};
    const owned *hit = bsearch(&key, sorted, n, sizeof *sorted, by_address);
    return hit ? hit->t : NULL;
}

/* Frees the plain filters of node nd once its Winograd filters exist: no
 * kernel reads them again. Only where the state dict owns them and no
 * other node reads the same array; this keeps a model's memory close to
 * its file size though the transformed filters are 16/9 as large. */
static void drop_plain_filters(gc_node *nd, const float **uses, size_t nuses,
                               const owned *tensors, size_t ntensors)
{
    gc_sd_tensor *t = count_of(uses, nuses, nd->weight) == 1
                          ? owner_of(tensors, ntensors, nd->weight)
                          : NULL;
    if (!t)
        return;
    gc_sd_drop_data(t); /* freed, or its pages of the mapped file let go */
    nd->weight = NULL;
}

gc_status gc_model_prepare(gc_model *m, gc_error *err)
{
    gc_graph *g = &m->graph;
    const size_t count = (size_t)g->count, ntensors = (size_t)m->weights.count;
    gc_shape *shapes = gc_calloc(count, sizeof *shapes, err);
    const float **uses = gc_calloc(2 * count + 1, sizeof *uses, err);
    owned *tensors = gc_calloc(ntensors + 1, sizeof *tensors, err);
    m->prepared = gc_calloc(count + 1, sizeof *m->prepared, err);
    gc_status st = shapes && uses && tensors && m->prepared ? GC_OK : GC_ERR_NOMEM;
    /* Channel counts do not depend on the input size, but a model with
     * position embeddings (a token model) runs only at its own: that size
     * where the model declares one, else 224. */
    const int size = m->pre.size > 0 ? m->pre.size : 224;
    if (st == GC_OK)
        st = gc_graph_shapes(g, size, size, shapes, err);
    size_t nuses = 0;
    for (size_t i = 0; st == GC_OK && i < count; i++) {
        if (g->nodes[i].weight)
            uses[nuses++] = g->nodes[i].weight;
        if (g->nodes[i].bias)
            uses[nuses++] = g->nodes[i].bias;
    }
    for (size_t i = 0; st == GC_OK && i < ntensors; i++)
        tensors[i] = (owned){m->weights.tensors[i].data, &m->weights.tensors[i]};
    if (st == GC_OK) {
        qsort(uses, nuses, sizeof *uses, by_address);
        qsort(tensors, ntensors, sizeof *tensors, by_address);
    }
    /* One filter set at a time, each original freed before the next is
     * transformed, so the peak is the model plus one transformed set. */
    for (size_t i = 0; st == GC_OK && i < count; i++) {
        gc_node *nd = &g->nodes[i];
        if (!winograd_candidate(nd))
            continue;
        const int c = shapes[nd->in[0] >= 0 ? nd->in[0] : 0].c;
        float *u = malloc(sizeof(float) * 16 * (size_t)nd->out_channels * c);
        if (!u) {
            st = gc_fail(err, GC_ERR_NOMEM, "out of memory preparing Winograd filters");
            break;
        }
        winograd_transform_weights(u, nd->weight, nd->out_channels, c);
        m->prepared[i] = u;
        nd->winograd = u;
        drop_plain_filters(nd, uses, nuses, tensors, ntensors);
    }
    free(shapes);
    free(uses);
    free(tensors);
    return st;
}

int gc_model_num_classes(const gc_model *m) { return m->num_classes; }
const char *gc_model_arch(const gc_model *m) { return m->arch; }
int gc_model_num_layers(const gc_model *m) { return m->graph.nlayers; }
const char *gc_model_default_layer(const gc_model *m) { return m->default_layer; }
gc_preprocess gc_model_preprocess(const gc_model *m) { return m->pre; }

const char *gc_model_class_name(const gc_model *m, int i)
{
    if (i < 0 || i >= m->num_classes)
        return NULL;
    if (m->class_names)
        return m->class_names[i];
    return m->num_classes == 1000 ? gc_imagenet_class_name(i) : NULL;
}

const char *gc_model_layer_name(const gc_model *m, int i)
{
    return (i >= 0 && i < m->graph.nlayers) ? m->graph.layers[i].name : NULL;
}

gc_status gc_model_find_layer(const gc_model *m, const char *name, int *index, gc_error *err)
{
    if (!m || !name || !index)
        return gc_fail(err, GC_ERR_USAGE, "gc_model_find_layer: no model, name or index");
    for (int i = 0; i < m->graph.nlayers; i++)
        if (strcmp(m->graph.layers[i].name, name) == 0 && m->graph.layers[i].node >= 0) {
            *index = i;
            return GC_OK;
        }
    int node; /* not there or refused: the graph says why and what is close */
    gc_status st = gc_graph_find_layer(&m->graph, name, &node, err);
    return st ? st : gc_fail(err, GC_ERR_INTERNAL, "layer '%s' lost", name);
}

gc_status gc_model_layer_node_shape(const gc_model *m, int i, int in_h, int in_w,
                                    gc_shape *out, gc_error *err)
{
    if (i < 0 || i >= m->graph.nlayers)
        return gc_fail(err, GC_ERR_USAGE, "layer index %d out of range", i);
    const gc_layer *l = &m->graph.layers[i];
    if (l->node < 0)
        return gc_fail(err, GC_ERR_USAGE, "layer '%s' cannot be used: %s", l->name,
                       l->refusal);
    gc_shape *shapes = gc_calloc((size_t)m->graph.count, sizeof *shapes, err);
    if (!shapes)
        return GC_ERR_NOMEM;
    gc_status st = gc_graph_shapes(&m->graph, in_h, in_w, shapes, err);
    if (st == GC_OK)
        *out = shapes[l->node];
    free(shapes);
    return st;
}

gc_status gc_model_layer_shape(const gc_model *m, int i, int in_h, int in_w,
                               int out_shape[3], int *out_ndim, gc_error *err)
{
    gc_shape sh = {0};
    gc_status st = gc_model_layer_node_shape(m, i, in_h, in_w, &sh, err);
    if (st == GC_OK) {
        out_shape[0] = sh.c, out_shape[1] = sh.h, out_shape[2] = sh.w;
        *out_ndim = sh.spatial ? 3 : 1;
    }
    return st;
}
