/* randomise.c — gc_model_randomise: the cascading model randomisation of
 * Adebayo et al. 2018 ("Sanity checks for saliency maps"), and
 * gc_spearman, which compares a map before and after. */
#include "core/error.h"
#include "core/model.h"
#include "ops/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double normal(uint64_t *state)
{
    const double u1 = (double)((splitmix64(state) >> 11) + 1) * 0x1p-53;
    const double u2 = (double)(splitmix64(state) >> 11) * 0x1p-53;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* A buffer the model owns from now on. */
static float *own(gc_model *m, size_t n, gc_error *err)
{
    float **list = realloc(m->owned, sizeof *list * (size_t)(m->nowned + 1));
    if (!list) {
        gc_fail(err, GC_ERR_NOMEM, "out of memory randomising the model");
        return NULL;
    }
    m->owned = list;
    float *p = gc_calloc(n ? n : 1, sizeof(float), err);
    if (p)
        m->owned[m->nowned++] = p;
    return p;
}

/* The first node of module `layer` (itself or any "layer.*" below it). */
static int first_node(const gc_model *m, const char *layer)
{
    const size_t len = strlen(layer);
    int first = -1;
    for (int i = 0; i < m->graph.nlayers; i++) {
        const gc_layer *l = &m->graph.layers[i];
        if (l->node >= 0 && (strcmp(l->name, layer) == 0 ||
                             (strncmp(l->name, layer, len) == 0 && l->name[len] == '.')) &&
            (first < 0 || l->node < first))
            first = l->node;
    }
    return first;
}

gc_status gc_model_randomise(gc_model *m, const char *layer, uint64_t seed, gc_error *err)
{
    if (!m || !layer)
        return gc_fail(err, GC_ERR_USAGE, "gc_model_randomise: no model or layer");
    int index;
    gc_status st = gc_model_find_layer(m, layer, &index, err);
    if (st)
        return st;
    const int from = first_node(m, layer);
    gc_graph *g = &m->graph;
    gc_shape *shapes = gc_calloc((size_t)g->count, sizeof *shapes, err);
    if (!shapes)
        return GC_ERR_NOMEM;
    const int size = m->pre.size > 0 ? m->pre.size : 224;
    st = gc_graph_shapes(g, size, size, shapes, err);
    for (int i = from; st == GC_OK && i < g->count; i++) {
        gc_node *nd = &g->nodes[i];
        /* Each node's values depend on the seed and the node only, so the
         * stages of a cascade share the layers they both randomise. */
        uint64_t state = seed ^ (0x5DEECE66Dull + (uint64_t)i * 0x9E3779B97F4A7C15ull);
        const int c = nd->in[0] >= 0 ? shapes[nd->in[0]].c : 0;
        if (nd->op == GC_OP_CONV || nd->op == GC_OP_LINEAR) {
            const int oc = nd->out_channels, groups = nd->op == GC_OP_CONV ? nd->groups : 1;
            const int k = nd->op == GC_OP_CONV ? nd->kh * nd->kw : 1;
            const size_t fan_in = (size_t)(c / groups) * k, n = (size_t)oc * fan_in;
            float *w = own(m, n, err);
            if (!w) {
                st = GC_ERR_NOMEM;
                break;
            }
            const double sd = sqrt(2.0 / (double)(fan_in ? fan_in : 1));
            for (size_t q = 0; q < n; q++)
                w[q] = (float)(sd * normal(&state));
            if (nd->bias) {
                float *b = own(m, (size_t)oc, err); /* zeros */
                if (!b) {
                    st = GC_ERR_NOMEM;
                    break;
                }
                nd->bias = b;
            }
            if (nd->winograd) { /* the prepared form replaces the plain one */
                float *u = own(m, 16 * (size_t)oc * c, err);
                if (!u) {
                    st = GC_ERR_NOMEM;
                    break;
                }
                winograd_transform_weights(u, w, oc, c);
                nd->winograd = u;
            }
            nd->weight = w;
        } else if (nd->op == GC_OP_AFFINE) { /* BatchNorm at its initial identity */
            float *w = own(m, (size_t)c, err), *b = w ? own(m, (size_t)c, err) : NULL;
            if (!b) {
                st = GC_ERR_NOMEM;
                break;
            }
            for (int q = 0; q < c; q++)
                w[q] = 1.0f;
            nd->weight = w, nd->bias = b;
        }
    }
    free(shapes);
    return st;
}

typedef struct ranked {
    float v;
    int i;
} ranked;

static int by_value(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    return x->v < y->v ? -1 : x->v > y->v ? 1 : x->i - y->i;
}

/* Mean ranks (1-based), ties sharing their average. */
static int ranks(const float *v, int n, double *r)
{
    ranked *s = malloc(sizeof *s * (size_t)n);
    if (!s)
        return -1;
    for (int i = 0; i < n; i++)
        s[i].v = v[i], s[i].i = i;
    qsort(s, (size_t)n, sizeof *s, by_value);
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && s[j + 1].v == s[i].v)
            j++;
        for (int k = i; k <= j; k++)
            r[s[k].i] = 0.5 * (i + j) + 1;
        i = j + 1;
    }
    free(s);
    return 0;
}

double gc_spearman(const float *a, const float *b, int n)
{
    if (n < 2)
        return 0.0;
    double *ra = malloc(sizeof(double) * 2 * (size_t)n), *rb = ra ? ra + n : NULL;
    if (!ra || ranks(a, n, ra) || ranks(b, n, rb)) {
        free(ra);
        return NAN;
    }
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < n; i++)
        ma += ra[i], mb += rb[i];
    ma /= n, mb /= n;
    for (int i = 0; i < n; i++) {
        sab += (ra[i] - ma) * (rb[i] - mb);
        saa += (ra[i] - ma) * (ra[i] - ma);
        sbb += (rb[i] - mb) * (rb[i] - mb);
    }
    free(ra);
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0.0;
}
