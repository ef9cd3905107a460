/* gradient_methods.c — channel weights and per-position contributions of
 * the methods that read only a layer's A and G (and FEM, which reads A
 * alone), and the plain-sum reduction. */
#include "cam/methods.h"
#include "core/error.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

void weights_gradcam(double *w, const float *grad, int n, int c, int hw)
{
    for (size_t ik = 0; ik < (size_t)n * c; ik++) {
        const float *g = grad + ik * hw;
        double sum = 0.0;
        for (int p = 0; p < hw; p++)
            sum += g[p];
        w[ik] = sum / hw;
    }
}

void weights_xgradcam(double *w, const float *act, const float *grad, int n, int c, int hw)
{
    for (size_t ik = 0; ik < (size_t)n * c; ik++) {
        const float *a = act + ik * hw, *g = grad + ik * hw;
        double ga = 0.0, sa = 0.0;
        for (int p = 0; p < hw; p++) {
            ga += (double)g[p] * a[p];
            sa += a[p];
        }
        w[ik] = ga / (sa + 1e-7);
    }
}

void weights_gradcampp(double *w, const float *act, const float *grad, int n, int c, int hw)
{
    for (size_t ik = 0; ik < (size_t)n * c; ik++) {
        const float *a = act + ik * hw, *g = grad + ik * hw;
        double sa = 0.0, sum = 0.0;
        for (int p = 0; p < hw; p++)
            sa += a[p];
        for (int p = 0; p < hw; p++) {
            double gp = g[p];
            if (gp <= 0.0) /* alpha is 0 where G = 0, ReLU(G) where G < 0 */
                continue;
            double g2 = gp * gp;
            sum += g2 / (2.0 * g2 + sa * g2 * gp + 1e-6) * gp;
        }
        w[ik] = sum;
    }
}

void weights_random(double *w, int n, int c, unsigned seed)
{
    /* xorshift32: reproducible everywhere, no global state. */
    unsigned x = seed ? seed : 0x9E3779B9u;
    for (size_t ik = 0; ik < (size_t)n * c; ik++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        w[ik] = (double)x / 2147483648.0 - 1.0;
    }
}

void weights_fem(double *w, const float *act, int n, int c, int hw)
{
    weights_gradcam(w, act, n, c, hw); /* the same spatial mean, of A */
}

gc_status weights_cam(double *w, const gc_session *s, int node, const int *classes,
                      gc_error *err)
{
    const gc_graph *g = &s->m->graph;
    const int out = gc_graph_output(g);
    const gc_node *fc = &g->nodes[out];
    const int pool = fc->in[0];
    if (fc->op != GC_OP_LINEAR || pool < 0 || !gc_graph_is_global_mean(g, pool))
        return gc_fail(err, GC_ERR_USAGE,
                       "method 'cam' needs a network that ends in global average pooling and "
                       "one linear layer; this one does not (try gradcam)");
    const int feature = g->nodes[pool].in[0];
    if (node != feature) {
        const char *name = "?"; /* its shortest name: "layer4", not "layer4.1" */
        for (int i = 0; i < g->nlayers; i++)
            if (g->layers[i].node == feature &&
                (name[0] == '?' || strlen(g->layers[i].name) < strlen(name)))
                name = g->layers[i].name;
        return gc_fail(err, GC_ERR_USAGE,
                       "method 'cam' is defined at the layer that feeds global average "
                       "pooling ('%s'), not elsewhere",
                       name);
    }
    const int c = s->shapes[node].c;
    for (int i = 0; i < s->n; i++)
        for (int k = 0; k < c; k++)
            w[(size_t)i * c + k] = fc->weight[(size_t)classes[i] * c + k];
    return GC_OK;
}

void method_contributions(double *P, method_contribution kind, const float *act,
                          const float *grad, const double *w, int c, int hw)
{
    for (int k = 0; k < c; k++) {
        const float *a = act + (size_t)k * hw, *g = grad ? grad + (size_t)k * hw : NULL;
        double *pk = P + (size_t)k * hw;
        switch (kind) {
        case CONTRIB_PRODUCT:
            for (int p = 0; p < hw; p++)
                pk[p] = (double)a[p] * g[p];
            break;
        case CONTRIB_PRODUCT_RELU:
            for (int p = 0; p < hw; p++) {
                double v = (double)a[p] * g[p];
                pk[p] = v > 0.0 ? v : 0.0;
            }
            break;
        case CONTRIB_POSITIVE_GRADIENT:
            for (int p = 0; p < hw; p++)
                pk[p] = g[p] > 0.0f ? (double)g[p] * a[p] : 0.0;
            break;
        case CONTRIB_ACTIVATION:
            for (int p = 0; p < hw; p++)
                pk[p] = a[p];
            break;
        case CONTRIB_HOT_SPOTS: {
            double mean = w[k], var = 0.0;
            for (int p = 0; p < hw; p++)
                var += (a[p] - mean) * (a[p] - mean);
            double threshold = mean + 2.0 * sqrt(var / hw);
            for (int p = 0; p < hw; p++)
                pk[p] = a[p] >= threshold ? mean : 0.0;
            break;
        }
        default: /* CONTRIB_WEIGHTED */
            for (int p = 0; p < hw; p++)
                pk[p] = w[k] * a[p];
            break;
        }
    }
}

void reduce_sum(float *map, const double *P, int c, int hw)
{
    for (int p = 0; p < hw; p++) {
        double sum = 0.0;
        for (int k = 0; k < c; k++)
            sum += P[(size_t)k * hw + p];
        map[p] = sum > 0.0 ? (float)sum : 0.0f;
    }
}

void scale_unit(float *v, size_t count)
{
    if (count == 0)
        return;
    float lo = v[0], hi = v[0];
    for (size_t i = 1; i < count; i++)
        lo = v[i] < lo ? v[i] : lo, hi = v[i] > hi ? v[i] : hi;
    for (size_t i = 0; i < count; i++)
        v[i] = (v[i] - lo) / (hi - lo + 1e-7f);
}
