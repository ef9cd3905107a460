/* graph.c — building the node list, shape inference (through the
 * operator table) and layer-name lookup. */
#include "core/graph.h"

#include "core/error.h"
#include "core/op_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gc_graph_init(gc_graph *g, int input_channels)
{
    memset(g, 0, sizeof *g);
    g->input_channels = input_channels;
}

void gc_graph_free(gc_graph *g)
{
    for (int i = 0; i < g->nlayers; i++) {
        free(g->layers[i].name);
        free(g->layers[i].refusal);
    }
    free(g->layers);
    for (int i = 0; i < g->count; i++)
        free(g->nodes[i].params);
    free(g->nodes);
    memset(g, 0, sizeof *g);
}

gc_params *gc_params_new(int nidx)
{
    gc_params *p = calloc(1, sizeof *p + sizeof(int64_t) * (size_t)(nidx > 0 ? nidx : 0));
    if (p)
        p->const_pos = -1; /* both operands are nodes */
    return p;
}

int gc_graph_add(gc_graph *g, gc_op op, int in0, int in1)
{
    if (g->count == g->cap) {
        int cap = g->cap ? 2 * g->cap : 64;
        gc_node *p = realloc(g->nodes, sizeof *p * (size_t)cap);
        if (!p)
            return -1;
        g->nodes = p;
        g->cap = cap;
    }
    gc_node *nd = &g->nodes[g->count];
    memset(nd, 0, sizeof *nd);
    nd->op = op;
    for (int k = 0; k < GC_NODE_MAX_IN; k++)
        nd->in[k] = -1;
    nd->in[0] = in0;
    nd->in[1] = in1;
    nd->nin = in1 >= 0 ? 2 : in0 >= 0 ? 1 : 0;
    nd->kh = nd->kw = nd->sh = nd->sw = nd->dh = nd->dw = nd->groups = 1;
    return g->count++;
}

static gc_status add_layer(gc_graph *g, int node, const char *name, const char *why,
                           gc_error *err)
{
    for (int i = 0; i < g->nlayers; i++)
        if (strcmp(g->layers[i].name, name) == 0) {
            g->layers[i].node = node; /* a later definition wins */
            return GC_OK;
        }
    if (g->nlayers == g->layers_cap) {
        int cap = g->layers_cap ? 2 * g->layers_cap : 64;
        gc_layer *p = realloc(g->layers, sizeof *p * (size_t)cap);
        if (!p)
            return gc_fail(err, GC_ERR_NOMEM, "out of memory naming layers");
        g->layers = p;
        g->layers_cap = cap;
    }
    gc_layer *l = &g->layers[g->nlayers];
    l->name = strdup(name);
    l->refusal = why ? strdup(why) : NULL;
    l->node = node;
    if (!l->name || (why && !l->refusal)) {
        free(l->name);
        free(l->refusal);
        return gc_fail(err, GC_ERR_NOMEM, "out of memory naming layers");
    }
    g->nlayers++;
    return GC_OK;
}

gc_status gc_graph_name(gc_graph *g, int node, const char *name, gc_error *err)
{
    return add_layer(g, node, name, NULL, err);
}

gc_status gc_graph_refuse(gc_graph *g, const char *name, const char *why, gc_error *err)
{
    return add_layer(g, -1, name, why, err);
}

gc_status gc_graph_shape_node(const gc_graph *g, int i, int h, int w, gc_shape *out,
                              gc_error *err)
{
    const gc_op_def *def = gc_op_def_of(g->nodes[i].op);
    if (!def)
        return gc_fail(err, GC_ERR_INTERNAL, "node %d: unknown op %d", i, (int)g->nodes[i].op);
    out[i].ndim = 0;
    gc_status st = def->shape(g, i, h, w, out, err);
    if (st == GC_OK && out[i].ndim == 0) { /* ops over [C, H, W] or [C] set only c, h, w */
        gc_shape *o = &out[i];
        o->ndim = o->spatial ? 3 : 1;
        o->d[0] = o->c, o->d[1] = o->h, o->d[2] = o->w;
    }
    return st;
}

gc_status gc_graph_shapes(const gc_graph *g, int h, int w, gc_shape *out, gc_error *err)
{
    if (h <= 0 || w <= 0)
        return gc_fail(err, GC_ERR_USAGE, "input size %dx%d is not positive", h, w);
    for (int i = 0; i < g->count; i++) {
        gc_status st = gc_graph_shape_node(g, i, h, w, out, err);
        if (st)
            return st;
    }
    return GC_OK;
}

/* Edit distance, to suggest the names a user most likely meant. */
static int distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 1000;
    int row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

gc_status gc_graph_find_layer(const gc_graph *g, const char *name, int *node,
                              gc_error *err)
{
    for (int i = 0; i < g->nlayers; i++) {
        if (strcmp(g->layers[i].name, name) != 0)
            continue;
        if (g->layers[i].node < 0)
            return gc_fail(err, GC_ERR_USAGE, "layer '%s' cannot be used: %s", name,
                           g->layers[i].refusal);
        *node = g->layers[i].node;
        return GC_OK;
    }
    /* Three closest names, ties broken by table order. */
    int best[3] = {-1, -1, -1}, bestd[3] = {1 << 30, 1 << 30, 1 << 30};
    for (int i = 0; i < g->nlayers; i++) {
        if (g->layers[i].node < 0)
            continue;
        int d = distance(name, g->layers[i].name);
        for (int k = 0; k < 3; k++)
            if (d < bestd[k]) {
                for (int m = 2; m > k; m--)
                    best[m] = best[m - 1], bestd[m] = bestd[m - 1];
                best[k] = i, bestd[k] = d;
                break;
            }
    }
    char hint[256] = "";
    size_t used = 0;
    for (int k = 0; k < 3 && best[k] >= 0; k++)
    {
        used += (size_t)snprintf(hint + used, sizeof hint - used, "%s'%s'", k ? ", " : "",
                                 g->layers[best[k]].name);
        if (used >= sizeof hint) {
            used = sizeof hint - 1;
            break;
        }
    }
    return gc_fail(err, GC_ERR_USAGE,
                   "no layer named '%s'; closest: %s (gradcam layers --model M lists all)",
                   name, used ? hint : "none");
}
