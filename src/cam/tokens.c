/* tokens.c — a transformer layer's tokens as a spatial map, as the Python
 * CAM libraries' reshape transforms make one: [T, C] per image with a class
 * token first (T = 1 + h w; with DeiT's distillation token too, 2 + h w)
 * loses those tokens and becomes [C, h, w]; [T, C]
 * without one (T = h w) becomes [C, h, w]; channels last, [h, w, C] (Swin),
 * becomes [C, h, w] (recognised on its own where only that reading of a
 * 3-D shape makes a grid of the input's shape). The grid follows the input's aspect ratio. The
 * layer's gradient goes through the same transform, so every method sees
 * the map and its gradient exactly as it would on a convolutional layer.
 * Deliberately not here: the way back (Ablation-CAM, which zeroes a
 * channel of the layer and runs the network on from it, refuses token
 * layers; Score-CAM masks the input and needs none). */
#include "cam/tokens.h"

#include "core/error.h"
#include "core/model.h"

#include <math.h>

/* h x w = cells with h / w = in_h / in_w, or 0. */
static int grid(int cells, int in_h, int in_w, int *h, int *w)
{
    if (cells < 1)
        return 0;
    const int gh = (int)lround(sqrt((double)cells * in_h / in_w));
    if (gh < 1 || cells % gh)
        return 0;
    *h = gh, *w = cells / gh;
    return 1;
}

gc_status gc_tokens_view(const gc_shape *s, int want, int in_h, int in_w, const char *name,
                         gc_token_view *v, gc_error *err)
{
    *v = (gc_token_view){0};
    if (want == GC_TOKENS_NHWC) {
        if (s->ndim != 3)
            return gc_fail(err, GC_ERR_USAGE, "layer '%s' is not [h, w, C] per image (it has "
                           "%d axes), so --tokens nhwc does not apply", name, s->ndim);
        v->layout = GC_TOKENS_NHWC, v->h = s->d[0], v->w = s->d[1], v->c = s->d[2];
        return GC_OK;
    }
    if (s->spatial && want == GC_TOKENS_AUTO) {
        /* [C, H, W] unless only the channels-last reading makes a grid of
         * the input's shape (Swin's [56, 56, 96] at 224 x 224). */
        int h, w;
        const int chw = grid(s->d[1] * s->d[2], in_h, in_w, &h, &w) && h == s->d[1];
        if (chw || !grid(s->d[0] * s->d[1], in_h, in_w, &h, &w) || h != s->d[0])
            return GC_OK;
        v->layout = GC_TOKENS_NHWC, v->h = s->d[0], v->w = s->d[1], v->c = s->d[2];
        return GC_OK;
    }
    if (s->ndim != 2)
        return gc_fail(err, GC_ERR_USAGE, "layer '%s' has no spatial map (its output is %s "
                       "of %d values per image); pick a convolutional layer, or a token "
                       "layer [tokens, channels] or [h, w, channels] with --tokens", name,
                       s->ndim == 1 ? "a vector" : "a tensor", s->c * s->h * s->w);
    const int t = s->d[0], c = s->d[1];
    int h, w, layout = want;
    if (want == GC_TOKENS_AUTO) /* the first reading that makes a grid */
        layout = grid(t - 1, in_h, in_w, &h, &w) ? GC_TOKENS_CLS
                 : grid(t, in_h, in_w, &h, &w)   ? GC_TOKENS_PLAIN
                 : grid(t - 2, in_h, in_w, &h, &w) ? GC_TOKENS_CLS2
                                                   : GC_TOKENS_AUTO;
    const int skip = layout == GC_TOKENS_CLS ? 1 : layout == GC_TOKENS_CLS2 ? 2 : 0;
    if (layout == GC_TOKENS_AUTO || !grid(t - skip, in_h, in_w, &h, &w))
        return gc_fail(err, GC_ERR_USAGE, "layer '%s' has %d tokens of %d channels: %s a "
                       "grid for a %dx%d input%s", name, t, c,
                       layout == GC_TOKENS_CLS    ? "after a class token they do not form"
                       : layout == GC_TOKENS_CLS2 ? "after two leading tokens they do not form"
                       : layout == GC_TOKENS_PLAIN ? "they do not form"
                                                  : "neither they nor all but the first one "
                                                    "or two form",
                       in_w, in_h, want == GC_TOKENS_AUTO ? " (--tokens says which tokens "
                                                            "are not patches)" : "");
    v->layout = layout, v->skip = skip, v->h = h, v->w = w, v->c = c;
    return GC_OK;
}

void gc_tokens_to_map(float *dst, const float *src, int n, const gc_token_view *v)
{
    const size_t hw = (size_t)v->h * v->w, per_image = (hw + v->skip) * v->c;
    for (int i = 0; i < n; i++) {
        const float *x = src + (size_t)i * per_image + (size_t)v->skip * v->c;
        float *y = dst + (size_t)i * v->c * hw;
        for (size_t p = 0; p < hw; p++) /* token p's channels, one per plane */
            for (int k = 0; k < v->c; k++)
                y[(size_t)k * hw + p] = x[p * v->c + k];
    }
}

gc_status gc_model_layer_map(const gc_model *m, int i, int in_h, int in_w, int tokens,
                             int out_map[3], int *is_tokens, gc_error *err)
{
    gc_shape s = {0};
    gc_token_view v = {0};
    gc_status st = gc_model_layer_node_shape(m, i, in_h, in_w, &s, err);
    if (st == GC_OK)
        st = gc_tokens_view(&s, tokens, in_h, in_w, m->graph.layers[i].name, &v, err);
    if (st == GC_OK) {
        *is_tokens = v.layout != 0;
        out_map[0] = v.layout ? v.c : s.c, out_map[1] = v.layout ? v.h : s.h;
        out_map[2] = v.layout ? v.w : s.w;
    }
    return st;
}
