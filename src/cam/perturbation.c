/* perturbation.c — the methods that weigh channels by re-running the
 * network: Score-CAM masks the input with each channel, Ablation-CAM
 * removes each channel at the layer. Both run in a child session, BATCH
 * channels at a time, so the cost is c / BATCH batched passes per image. */
#include "cam/methods.h"
#include "cam/scorecam_basis.h"
#include "core/error.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 16

gc_status weights_scorecam(double *w, gc_session *s, int node, const int *classes,
                           gc_error *err)
{
    return weights_scorecam_passes(w, s, node, classes, SCORECAM_FAST, err);
}

gc_status weights_scorecam_passes(double *w, gc_session *s, int node, const int *classes,
                                  int how, gc_error *err)
{
    const float *x = s->act[0];
    const gc_shape *a = &s->shapes[node];
    const int n = s->n, c = a->c, hw = a->h * a->w, H = s->h, W = s->w;
    const int classes_n = s->m->num_classes, batch = c < BATCH ? c : BATCH;
    const size_t plane = (size_t)H * W;
    gc_session *sub;
    gc_status st = gc_session_child(s, batch, H, W, &sub, err);
    char *none = st ? NULL : gc_calloc((size_t)s->m->graph.count, 1, err);
    if (!none || (st = gc_session_keep(sub, none, err))) { /* only the logits are read */
        free(none);
        return st ? st : GC_ERR_NOMEM;
    }
    free(none);
    /* Only one probability per mask is read; F(4x4)'s rounding moves it
     * about as much as the basis's own does (test_scorecam_basis bounds
     * both against exact passes). */
    if ((st = gc_session_use_winograd4(sub, how != SCORECAM_EXACT, how == SCORECAM_FAST_ALL,
                                       err)))
        return st;
    scorecam_basis *basis = NULL;
    if (how != SCORECAM_EXACT && (st = scorecam_basis_new(sub, a->h, a->w, c, &basis, err))) {
        gc_session_use_winograd4(sub, 0, 0, err);
        return st;
    }
    const int threads = omp_get_max_threads();
    float *mask = malloc(sizeof(float) * plane * threads); /* one per thread */
    float *probs = malloc(sizeof(float) * classes_n);
    float *lo = malloc(sizeof(float) * c), *hi = malloc(sizeof(float) * c);
    int *active = malloc(sizeof(int) * c);
    if (!mask || !probs || !lo || !hi || !active) {
        free(mask), free(probs), free(lo), free(hi), free(active);
        scorecam_basis_free(basis);
        gc_session_use_winograd4(sub, 0, 0, err);
        return gc_fail(err, GC_ERR_NOMEM, "out of memory for Score-CAM");
    }
    const int out = gc_graph_output(&s->m->graph);
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * 3 * plane;
        const float *ai = s->act[node] + (size_t)i * c * hw;
        /* A constant channel masks nothing and gets weight 0 without a
         * forward pass; the others are packed into full batches. */
        int nactive = 0;
        #pragma omp parallel for schedule(static)
        for (int k = 0; k < c; k++) {
            float *m = mask + plane * omp_get_thread_num();
            gc_resize_bilinear_f32(ai + (size_t)k * hw, a->w, a->h, m, W, H);
            float l = m[0], h = m[0];
            for (size_t p = 1; p < plane; p++)
                l = m[p] < l ? m[p] : l, h = m[p] > h ? m[p] : h;
            lo[k] = l, hi[k] = h;
        }
        for (int k = 0; k < c; k++) {
            w[(size_t)i * c + k] = 0.0;
            if (hi[k] > lo[k])
                active[nactive++] = k;
        }
        if (basis && nactive)
            scorecam_basis_image(basis, xi);
        for (int a0 = 0; a0 < nactive; a0 += batch) {
            const int count = nactive - a0 < batch ? nactive - a0 : batch;
            if (basis)
                scorecam_basis_batch(basis, ai, active + a0, count, lo, hi);
            for (int b = 0; !basis && b < batch; b++) {
                float *slot = sub->act[0] + (size_t)b * 3 * plane;
                if (a0 + b >= nactive) {
                    memset(slot, 0, sizeof(float) * 3 * plane);
                    continue;
                }
                int k = active[a0 + b];
                gc_resize_bilinear_f32(ai + (size_t)k * hw, a->w, a->h, mask, W, H);
                const float scale = 1.0f / (hi[k] - lo[k]);
                for (int ch = 0; ch < 3; ch++)
                    for (size_t p = 0; p < plane; p++)
                        slot[ch * plane + p] = xi[ch * plane + p] * ((mask[p] - lo[k]) * scale);
            }
            if (!basis)
                gc_session_forward_after(sub, 0);
            for (int b = 0; b < count; b++) {
                gc_softmax(sub->act[out] + (size_t)b * classes_n, classes_n, probs);
                w[(size_t)i * c + active[a0 + b]] = probs[classes[i]];
            }
        }
    }
    free(mask), free(probs), free(lo), free(hi), free(active);
    scorecam_basis_free(basis);
    return gc_session_use_winograd4(sub, 0, 0, err);
}

gc_status weights_ablationcam(double *w, gc_session *s, int node, const int *classes,
                              gc_error *err)
{
    const gc_graph *g = &s->m->graph;
    const gc_shape *a = &s->shapes[node];
    const int n = s->n, c = a->c, hw = a->h * a->w, batch = c < BATCH ? c : BATCH;
    const int classes_n = s->m->num_classes, out = gc_graph_output(g);
    gc_session *sub;
    gc_status st = gc_session_child(s, batch, s->h, s->w, &sub, err);
    if (st)
        return st;
    /* Nodes up to the layer whose outputs the rest of the network reads
     * (a residual branch that skips the layer, say) are copied per image;
     * they and everything after the layer must keep their own buffers. */
    char *frontier = gc_calloc((size_t)g->count, 1, err);
    char *keep = frontier ? gc_calloc((size_t)g->count, 1, err) : NULL;
    if (!keep) {
        free(frontier);
        return GC_ERR_NOMEM;
    }
    keep_from(g, node, keep);
    st = gc_session_keep(sub, keep, err);
    free(keep);
    if (st) {
        free(frontier);
        return st;
    }
    for (int i = node + 1; i < g->count; i++)
        for (int j = 0; j < g->nodes[i].nin; j++)
            if (g->nodes[i].in[j] >= 0 && g->nodes[i].in[j] < node)
                frontier[g->nodes[i].in[j]] = 1;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < node; j++) {
            if (!frontier[j])
                continue;
            size_t len = gc_shape_numel(&s->shapes[j]);
            for (int b = 0; b < batch; b++)
                memcpy(sub->act[j] + b * len, s->act[j] + i * len, sizeof(float) * len);
        }
        const float *ai = s->act[node] + (size_t)i * c * hw;
        const double y = s->act[out][(size_t)i * classes_n + classes[i]];
        for (int k0 = 0; k0 < c; k0 += batch) {
            for (int b = 0; b < batch; b++) {
                float *slot = sub->act[node] + (size_t)b * c * hw;
                memcpy(slot, ai, sizeof(float) * c * hw);
                if (k0 + b < c)
                    memset(slot + (size_t)(k0 + b) * hw, 0, sizeof(float) * hw);
            }
            gc_session_forward_after(sub, node);
            for (int b = 0; b < batch && k0 + b < c; b++) {
                double yk = sub->act[out][(size_t)b * classes_n + classes[i]];
                /* A zero score has no relative drop; no channel gets credit. */
                w[(size_t)i * c + k0 + b] = y != 0.0 ? (y - yk) / y : 0.0;
            }
        }
    }
    free(frontier);
    return GC_OK;
}
