/* onnx_names.c — the layer names a user may give for an ONNX model: each
 * node's name, its output tensor's name, and the PyTorch module path
 * recovered from the exporter's scoped node names.
 *
 * torch.onnx.export names a node "/features/features.18/features.18.2/Clip":
 * one component per module, numeric children written "parent.index". The
 * dotted module path is rebuilt component by component (a component that
 * starts with "path." replaces the path, any other is appended), and every
 * module on the way names the node: the LAST node in a module's scope
 * produces its output. A module the forward pass calls twice shows up as
 * "relu" and "relu_1"; it has no single output, so its name is refused, as
 * the .pth path does. Deliberately heuristic-free otherwise: names that do
 * not start with '/' are used as they are. */
#include "loaders/onnx_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PATH_LEN 480
#define MAX_DEPTH 32

typedef struct strset {
    char **s;
    size_t n, cap;
} strset;

static int set_has(const strset *t, const char *s)
{
    for (size_t k = 0; k < t->n; k++)
        if (strcmp(t->s[k], s) == 0)
            return 1;
    return 0;
}

static int set_add(strset *t, const char *s)
{
    if (set_has(t, s))
        return 0;
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 256;
        char **p = realloc(t->s, sizeof *p * cap);
        if (!p)
            return -1;
        t->s = p, t->cap = cap;
    }
    if (!(t->s[t->n] = strdup(s)))
        return -1;
    t->n++;
    return 0;
}

static void set_free(strset *t)
{
    for (size_t k = 0; k < t->n; k++)
        free(t->s[k]);
    free(t->s);
}

/* The module paths of a scoped node name, outermost first: paths[k]. A
 * component that extends the previous one ("downsample" then
 * "downsample.0") is a numeric child and replaces it. */
static int module_paths(const char *name, char paths[][MAX_PATH_LEN], int max)
{
    if (!name || name[0] != '/')
        return 0;
    const char *end = strrchr(name, '/'); /* the last component is the op */
    char path[MAX_PATH_LEN] = "";
    size_t parent = 0; /* path[0..parent) is the path of the last one's parent */
    const char *last = NULL;
    size_t lastlen = 0;
    int n = 0;
    for (const char *p = name + 1; p < end && n < max;) {
        const char *q = memchr(p, '/', (size_t)(end - p));
        if (!q)
            q = end;
        size_t len = (size_t)(q - p);
        if (len == 0 || strlen(path) + len + 2 >= MAX_PATH_LEN)
            return n;
        if (!(last && len > lastlen && strncmp(p, last, lastlen) == 0 && p[lastlen] == '.'))
            parent = strlen(path); /* a child, not a numeric sibling */
        size_t at = parent;
        if (at)
            path[at++] = '.';
        memcpy(path + at, p, len);
        path[at + len] = '\0';
        last = p, lastlen = len;
        memcpy(paths[n++], path, strlen(path) + 1);
        p = q + 1;
    }
    return n;
}

/* "x.relu_1" -> "x.relu" when the suffix is a call counter. */
static int call_base(const char *path, char *base)
{
    const char *u = strrchr(path, '_');
    const char *dot = strrchr(path, '.');
    if (!u || (dot && u < dot) || !u[1])
        return 0;
    for (const char *c = u + 1; *c; c++)
        if (!isdigit((unsigned char)*c))
            return 0;
    memcpy(base, path, (size_t)(u - path));
    base[u - path] = '\0';
    return 1;
}

static gc_status name(onnx_loader *L, int node, const char *nm)
{
    if (!nm || !*nm)
        return GC_OK;
    return gc_graph_name(&L->m->graph, node, nm, L->err);
}

static int is_global_pool(onnx_loader *L, int i)
{
    const gc_node *nd = &L->m->graph.nodes[i];
    const gc_shape *in = nd->in[0] >= 0 ? &L->shapes[nd->in[0]] : NULL, *o = &L->shapes[i];
    if (!in || in->ndim != 3 || in->h * in->w <= 1)
        return 0;
    return (nd->op == GC_OP_REDUCE_MEAN || nd->op == GC_OP_AVGPOOL || nd->op == GC_OP_MAXPOOL) &&
           o->h == 1 && o->w == 1 && gc_shape_numel(o) == (size_t)in->c;
}

/* A vision transformer's default layer, as pytorch-grad-cam's examples use
 * it: the last block's first LayerNorm, a token layer whose module path
 * ends in ".ln_1" (torchvision) or ".norm1" (timm); the last such. */
static int pick_token_default(onnx_loader *L)
{
    const gc_graph *g = &L->m->graph;
    int best = -1;
    for (int k = 0; k < g->nlayers; k++) {
        const char *nm = g->layers[k].name;
        const size_t len = strlen(nm);
        const int node = g->layers[k].node;
        if (node < 0 || nm[0] == '/' || L->shapes[node].ndim != 2 ||
            len >= sizeof L->m->default_layer ||
            !((len > 5 && !strcmp(nm + len - 5, ".ln_1")) ||
              (len > 6 && !strcmp(nm + len - 6, ".norm1"))))
            continue;
        if (best < 0 || node > g->layers[best].node)
            best = k;
    }
    if (best >= 0)
        snprintf(L->m->default_layer, sizeof L->m->default_layer, "%s", g->layers[best].name);
    return best >= 0;
}

static void pick_default(onnx_loader *L)
{
    const gc_graph *g = &L->m->graph;
    if (pick_token_default(L))
        return;
    int pool = g->count, def = -1;
    for (int i = g->count - 1; i >= 0; i--)
        if (is_global_pool(L, i)) {
            pool = i;
            break;
        }
    for (int i = pool - 1; i >= 0 && def < 0; i--)
        if (L->shapes[i].ndim == 3 && L->shapes[i].h * L->shapes[i].w > 1 &&
            g->nodes[i].op != GC_OP_INPUT)
            def = i;
    /* Swin: the pooled map is the last stage's channels-last tokens after a
     * final LayerNorm and a permute; the default is that stage's output. */
    while (def > 0 && (g->nodes[def].op == GC_OP_TRANSPOSE || g->nodes[def].op == GC_OP_LAYERNORM) &&
           g->nodes[def].in[0] > 0 && L->shapes[g->nodes[def].in[0]].ndim == 3)
        def = g->nodes[def].in[0];
    const char *best = NULL;
    for (int k = 0; def >= 0 && k < g->nlayers; k++) {
        const char *nm = g->layers[k].name;
        if (g->layers[k].node != def || strlen(nm) >= sizeof L->m->default_layer)
            continue;
        /* Module paths first (they never start with '/'), then the shortest. */
        int mod = nm[0] != '/', bmod = best && best[0] != '/';
        if (!best || (mod && !bmod) || (mod == bmod && strlen(nm) < strlen(best)))
            best = nm;
    }
    snprintf(L->m->default_layer, sizeof L->m->default_layer, "%s", best ? best : "");
}

gc_status onnx_name_layers(onnx_loader *L)
{
    gc_graph *g = &L->m->graph;
    char (*pp)[MAX_PATH_LEN] = malloc(sizeof(char[MAX_DEPTH][MAX_PATH_LEN]));
    char base[MAX_PATH_LEN];
    strset all = {0}, refused = {0};
    gc_status st = GC_OK;
    if (!pp)
        return onnx_fail(L, GC_ERR_NOMEM, "out of memory naming layers");
    for (int i = 0; i < g->count && !st; i++) {
        int n = module_paths(L->node_name[i], pp, MAX_DEPTH);
        for (int k = 0; k < n && !st; k++)
            if (set_add(&all, pp[k]))
                st = onnx_fail(L, GC_ERR_NOMEM, "out of memory naming layers");
    }
    for (size_t k = 0; k < all.n && !st; k++)
        if (call_base(all.s[k], base) && set_has(&all, base) && set_add(&refused, base))
            st = onnx_fail(L, GC_ERR_NOMEM, "out of memory naming layers");
    /* In node order, so a module's entry sits where it starts; a later node
     * of the same scope moves the name to itself (gc_graph_name's rule). */
    for (int i = 0; i < g->count && !st; i++) {
        st = name(L, i, L->tensor_name[i]);
        if (!st && L->node_name[i] && (!L->tensor_name[i] ||
                                       strcmp(L->node_name[i], L->tensor_name[i])))
            st = name(L, i, L->node_name[i]);
        int n = module_paths(L->node_name[i], pp, MAX_DEPTH);
        for (int k = 0; k < n && !st; k++) {
            if (call_base(pp[k], base) && set_has(&all, base))
                break; /* a repeated call: neither it nor its insides are modules */
            if (!set_has(&refused, pp[k]))
                st = name(L, i, pp[k]);
        }
    }
    /* Identity / Dropout outputs name their producer too. */
    for (size_t k = 0; k < L->vcap && !st; k++)
        if (L->vals[k].name && L->vals[k].kind == V_NODE)
            st = name(L, L->vals[k].node, L->vals[k].name);
    for (size_t k = 0; k < refused.n && !st; k++) {
        char why[640];
        const char *dot = strrchr(refused.s[k], '.');
        snprintf(why, sizeof why,
                 "the forward pass calls this module more than once, so it has no single "
                 "output; use its parent%s%.*s%s or a node or tensor name (gradcam layers "
                 "lists them)",
                 dot ? " '" : "", dot ? (int)(dot - refused.s[k]) : 0, refused.s[k],
                 dot ? "'" : "");
        st = gc_graph_refuse(g, refused.s[k], why, L->err);
    }
    free(pp);
    set_free(&all);
    set_free(&refused);
    if (!st)
        pick_default(L);
    return st;
}
