/* fullgrad.c — FullGrad (Srinivas & Fleuret 2019) from a session whose
 * gradients reach the input: the input-gradient term plus one bias-gradient
 * term per layer that has a bias. Each (image, channel) map is min-max
 * normalised and upsampled to the input before summing, as the reference
 * implementation does. */
#include "cam/methods.h"
#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Adds the normalised, upsampled |v| of one channel plane to map. */
static void add_plane(float *map, float *plane, int h, int w, const gc_session *s,
                      float *up)
{
    scale_unit(plane, (size_t)h * w);
    const float *src = plane;
    if (h != s->h || w != s->w) {
        gc_resize_bilinear_f32(plane, w, h, up, s->w, s->h);
        src = up;
    }
    for (size_t p = 0; p < (size_t)s->h * s->w; p++)
        map[p] += src[p];
}

gc_status fullgrad_map(float *map, const gc_session *s, gc_error *err)
{
    const gc_graph *g = &s->m->graph;
    size_t max_plane = (size_t)s->h * s->w;
    for (int i = 0; i < g->count; i++)
        if ((size_t)s->shapes[i].h * s->shapes[i].w > max_plane)
            max_plane = (size_t)s->shapes[i].h * s->shapes[i].w;
    float *plane = malloc(sizeof(float) * max_plane);
    float *up = malloc(sizeof(float) * (size_t)s->h * s->w);
    if (!plane || !up) {
        free(plane), free(up);
        return gc_fail(err, GC_ERR_NOMEM, "out of memory for FullGrad");
    }
    const size_t in_plane = (size_t)s->h * s->w;
    memset(map, 0, sizeof(float) * s->n * in_plane);
    for (int n = 0; n < s->n; n++) {
        float *out = map + n * in_plane;
        const float *x = s->act[0] + (size_t)n * 3 * in_plane;
        const float *gx = s->grad[0] + (size_t)n * 3 * in_plane;
        for (int ch = 0; ch < 3; ch++) {
            for (size_t p = 0; p < in_plane; p++)
                plane[p] = fabsf(gx[ch * in_plane + p] * x[ch * in_plane + p]);
            add_plane(out, plane, s->h, s->w, s, up);
        }
        for (int i = 1; i < g->count; i++) {
            const gc_node *nd = &g->nodes[i];
            const gc_shape *sh = &s->shapes[i];
            int has_bias = (nd->op == GC_OP_AFFINE || nd->op == GC_OP_CONV) && nd->bias;
            if (!has_bias || !sh->spatial)
                continue;
            size_t hw = (size_t)sh->h * sh->w;
            const float *gy = s->grad[i] + (size_t)n * sh->c * hw;
            for (int k = 0; k < sh->c; k++) {
                for (size_t p = 0; p < hw; p++)
                    plane[p] = fabsf(gy[k * hw + p] * nd->bias[k]);
                add_plane(out, plane, sh->h, sh->w, s, up);
            }
        }
    }
    free(plane), free(up);
    return GC_OK;
}
