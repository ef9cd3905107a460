/* tokens.h — a transformer layer's output as the [C, h, w] map the CAM
 * methods read (tokens.c). */
#ifndef GC_CAM_TOKENS_H
#define GC_CAM_TOKENS_H

#include "core/graph.h"
#include "gradcam.h"

typedef struct gc_token_view {
    int layout;   /* GC_TOKENS_CLS, _PLAIN or _NHWC; 0: a [C, H, W] layer */
    int skip;     /* leading tokens dropped (the class token)             */
    int c, h, w;  /* the map's channels and grid                          */
} gc_token_view;

/* How layer `name` of per-image shape s maps to [C, h, w] for an input of
 * in_h x in_w, under the caller's choice want (gc_tokens); v->layout 0 for
 * a plain [C, H, W] layer. Fails, saying why and what to pass, where the
 * layer is neither. */
gc_status gc_tokens_view(const gc_shape *s, int want, int in_h, int in_w, const char *name,
                         gc_token_view *v, gc_error *err);

/* dst[n][c][y][x] = the token (skip + y w + x)'s channel c, for n images. */
void gc_tokens_to_map(float *dst, const float *src, int n, const gc_token_view *v);

#endif
