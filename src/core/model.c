/* model.c — loading a model file into a graph, and what a user may ask of
 * it (classes, layers and their shapes). The format is decided by content
 * in the loaders; this file only dispatches and owns the result. */
#include "core/error.h"
#include "core/model.h"
#include "loaders/onnx.h"
#include "loaders/safetensors.h"
#include "ops/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 when the file's first bytes are an ONNX protobuf's (else .pth). */
static int is_onnx(const char *path)
{
    unsigned char head[8];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(head, 1, sizeof head, f) : 0;
    if (f)
        fclose(f);
    return gc_onnx_sniff(head, n);
}

gc_status gc_model_load(const char *path, gc_model **out, gc_error *err)
{
    return gc_model_load_limited(path, NULL, out, err);
}

gc_status gc_model_load_limited(const char *path, const gc_limits *lim, gc_model **out,
                                gc_error *err)
{
    *out = NULL;
    gc_model *m = gc_calloc(1, sizeof *m, err);
    if (!m)
        return GC_ERR_NOMEM;
    gc_status st;
    if (gc_safetensors_sniff_file(path)) { /* first: its length byte may look like ONNX's tag */
        st = gc_safetensors_load(path, lim, &m->weights, err);
        if (st == GC_OK)
            st = gc_resnet_build(m, path, err);
    } else if (is_onnx(path)) {
        st = gc_onnx_load(m, path, lim, err);
    } else {
        st = gc_pth_load(path, lim, &m->weights, err);
        if (st == GC_OK)
            st = gc_resnet_build(m, path, err);
    }
    if (st == GC_OK)
        st = gc_description_load(m, path, err);
    if (st == GC_OK)
        st = gc_model_prepare(m, err);
    if (st) {
        gc_model_free(m);
        return st;
    }
    *out = m;
    return GC_OK;
}

void gc_model_free(gc_model *m)
{
    if (!m)
        return;
    gc_graph_free(&m->graph);
    gc_sd_free(&m->weights);
    free(m->derived);
    free(m->prepared);
    if (m->class_names)
        for (int i = 0; i < m->num_classes; i++)
            free(m->class_names[i]);
    free(m->class_names);
    free(m);
}

/* Winograd pays off where maps are large; the widest layers (512 x 512
 * channels in ResNets) only run on 7x7 maps, where the GEMM path is as fast
 * and the transformed filters would cost 16/9 of their weights again. */
#define WINOGRAD_MAX_WEIGHTS (256 * 256)

static int winograd_candidate(const gc_node *nd, int in_c)
{
    return nd->op == GC_OP_CONV && nd->kh == 3 && nd->kw == 3 && nd->sh == 1 && nd->sw == 1 &&
           nd->dh == 1 && nd->dw == 1 && nd->groups == 1 && nd->pad[0] == 1 && nd->pad[1] == 1 &&
           nd->pad[2] == 1 && nd->pad[3] == 1 && (size_t)nd->out_channels * in_c <= WINOGRAD_MAX_WEIGHTS;
}

gc_status gc_model_prepare(gc_model *m, gc_error *err)
{
    gc_graph *g = &m->graph;
    gc_shape *shapes = gc_calloc((size_t)g->count, sizeof *shapes, err);
    if (!shapes)
        return GC_ERR_NOMEM;
    /* Channel counts do not depend on the input size; any size will do. */
    gc_status st = gc_graph_shapes(g, 224, 224, shapes, err);
    size_t total = 0;
    for (int i = 0; st == GC_OK && i < g->count; i++)
        if (winograd_candidate(&g->nodes[i], shapes[g->nodes[i].in[0] >= 0 ? g->nodes[i].in[0] : 0].c))
            total += 16 * (size_t)g->nodes[i].out_channels * shapes[g->nodes[i].in[0]].c;
    if (st == GC_OK && total && !(m->prepared = malloc(sizeof(float) * total)))
        st = gc_fail(err, GC_ERR_NOMEM, "out of memory preparing Winograd filters");
    float *p = m->prepared;
    for (int i = 0; st == GC_OK && p && i < g->count; i++) {
        gc_node *nd = &g->nodes[i];
        int c = shapes[nd->in[0] >= 0 ? nd->in[0] : 0].c;
        if (!winograd_candidate(nd, c))
            continue;
        winograd_transform_weights(p, nd->weight, nd->out_channels, c);
        nd->winograd = p;
        p += 16 * (size_t)nd->out_channels * c;
    }
    free(shapes);
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

gc_status gc_model_layer_shape(const gc_model *m, int i, int in_h, int in_w,
                               int out_shape[3], int *out_ndim, gc_error *err)
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
    if (st == GC_OK) {
        const gc_shape *sh = &shapes[l->node];
        out_shape[0] = sh->c, out_shape[1] = sh->h, out_shape[2] = sh->w;
        *out_ndim = sh->spatial ? 3 : 1;
    }
    free(shapes);
    return st;
}
