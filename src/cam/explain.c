/* explain.c — the public entry points that run a session: prediction, and
 * an explanation = forward, pick each image's class, backward to each
 * chosen layer, turn A and G into maps with each chosen method; optionally
 * averaged over test-time augmentations and combined across layers. */
#include "cam/methods.h"
#include "cam/targets.h"
#include "cam/tokens.h"
#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_LAYERS 16
#define NUM_AUGMENTATIONS 6

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void gc_softmax(const float *logits, int n, float *probs)
{
    float mx = -INFINITY;
    for (int i = 0; i < n; i++)
        mx = logits[i] > mx ? logits[i] : mx;
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += exp((double)logits[i] - mx);
    for (int i = 0; i < n; i++)
        probs[i] = (float)(exp((double)logits[i] - mx) / sum);
}

static gc_status check_input(gc_session *s, const float *x, int n, int h, int w,
                             gc_error *err)
{
    if (!s || !x)
        return gc_fail(err, GC_ERR_USAGE, "no session or no input");
    if (n <= 0 || h <= 0 || w <= 0)
        return gc_fail(err, GC_ERR_USAGE, "input shape %dx3x%dx%d is empty", n, h, w);
    return gc_session_plan(s, n, h, w, err);
}

/* Forward x unless the session's activations already are x's. */
static void forward_cached(gc_session *s, const float *x)
{
    size_t bytes = sizeof(float) * s->n * gc_shape_numel(&s->shapes[0]);
    if (s->have_forward && memcmp(s->act[0], x, bytes) == 0)
        return;
    gc_session_forward(s, x);
    s->have_forward = 1;
}

void keep_from(const gc_graph *g, int first, char *keep)
{
    for (int i = 0; i < g->count; i++) {
        keep[i] = i >= first;
        for (int k = 0; i >= first && k < g->nodes[i].nin; k++)
            if (g->nodes[i].in[k] >= 0)
                keep[g->nodes[i].in[k]] = 1;
    }
}

gc_status gc_predict(gc_session *s, const float *x, int n, int h, int w, float *out_logits,
                     gc_error *err)
{
    gc_status st = check_input(s, x, n, h, w, err);
    if (st)
        return st;
    /* Prediction keeps nothing but the input and the logits. */
    char *none = gc_calloc((size_t)s->m->graph.count, 1, err);
    if (!none)
        return GC_ERR_NOMEM;
    st = gc_session_keep(s, none, err);
    free(none);
    if (st)
        return st;
    forward_cached(s, x);
    int out = gc_graph_output(&s->m->graph);
    memcpy(out_logits, s->act[out], sizeof(float) * n * gc_shape_numel(&s->shapes[out]));
    return GC_OK;
}

/* Index of the rank-th largest of v[0..n) (rank 0: the maximum; ties go to
 * the lower index, as argmax does). */
static int nth_largest(const float *v, int n, int rank)
{
    int best = -1;
    for (int i = 0; i < n; i++) {
        int above = 0; /* how many entries outrank v[i] */
        for (int j = 0; j < n && above <= rank; j++)
            above += v[j] > v[i] || (v[j] == v[i] && j < i);
        if (above == rank) {
            best = i;
            break;
        }
    }
    return best;
}

/* Everything one explanation needs besides the session and the result. */
typedef struct plan {
    const gc_request *req;
    int nodes[MAX_LAYERS], nlayers;
    float *dlogits;      /* n x classes: +-1 at each image's class          */
    double *w, *P;       /* channel weights; one image's contributions      */
    float *layer_map;    /* one method's map at one layer, n x h x w        */
    float *combined;     /* per method: the sum over layers at input size   */
    float *gradcam0;     /* Grad-CAM at the first layer (Guided Grad-CAM)   */
    float *up, *aug_x;   /* an upsampled plane; an augmented input          */
    /* Per layer: its map's shape, and for a token layer how its tokens
     * become that map, with room for the map and its gradient. */
    gc_shape shape[MAX_LAYERS];
    gc_token_view view[MAX_LAYERS];
    float *tok_act, *tok_grad;
} plan;

static gc_status resolve_layers(const gc_session *s, const gc_request *req, plan *p,
                                gc_error *err)
{
    const gc_model *m = s->m;
    p->nlayers = req->nlayers > 0 ? req->nlayers : 1;
    if (p->nlayers > MAX_LAYERS)
        return gc_fail(err, GC_ERR_USAGE, "at most %d layers at once", MAX_LAYERS);
    for (int l = 0; l < p->nlayers; l++) {
        const char *name = req->nlayers > 0 && req->layers[l] ? req->layers[l] : m->default_layer;
        gc_status st = gc_graph_find_layer(&m->graph, name, &p->nodes[l], err);
        if (st)
            return st;
        const gc_shape *a = &s->shapes[p->nodes[l]];
        gc_token_view *v = &p->view[l];
        if ((st = gc_tokens_view(a, req->tokens, s->h, s->w, name, v, err)))
            return st;
        p->shape[l] = *a;
        if (!v->layout)
            continue;
        p->shape[l] = (gc_shape){.c = v->c, .h = v->h, .w = v->w, .spatial = 1, .ndim = 3,
                                 .d = {v->c, v->h, v->w}};
        /* Score-CAM masks the input with the map: any layer will do. */
        for (int k = 0; k < req->nmethods; k++)
            if (req->methods[k] == GC_METHOD_ABLATIONCAM)
                return gc_fail(err, GC_ERR_USAGE, "%s perturbs the layer and runs the network "
                               "on from it, which token layers ('%s') do not support yet",
                               gc_method_name(req->methods[k]), name);
    }
    return GC_OK;
}

static gc_status allocate(gc_session *s, const gc_request *req, plan *p, gc_result *out,
                          gc_error *err)
{
    const int n = s->n, classes = s->m->num_classes;
    const size_t plane = (size_t)s->h * s->w;
    size_t max_c = 1, max_chw = 1, max_hw = 1;
    size_t max_tokens = 0;
    for (int l = 0; l < p->nlayers; l++) {
        const gc_shape *a = &p->shape[l];
        size_t hw = (size_t)a->h * a->w;
        if (p->view[l].layout && (size_t)a->c * hw > max_tokens)
            max_tokens = (size_t)a->c * hw;
        max_c = a->c > (int)max_c ? (size_t)a->c : max_c;
        max_chw = a->c * hw > max_chw ? a->c * hw : max_chw;
        max_hw = hw > max_hw ? hw : max_hw;
    }
    const gc_shape *first = &p->shape[0];
    out->n = n, out->classes = classes, out->in_h = s->h, out->in_w = s->w;
    out->nmethods = req->nmethods > 0 ? req->nmethods : 1;
    if (out->nmethods > GC_METHOD_COUNT)
        return gc_fail(err, GC_ERR_USAGE, "at most %d methods at once", GC_METHOD_COUNT);
    out->logits = gc_calloc((size_t)n * classes, sizeof(float), err);
    out->class_index = out->logits ? gc_calloc((size_t)n, sizeof(int), err) : NULL;
    if (!out->class_index)
        return GC_ERR_NOMEM;
    for (int k = 0; k < out->nmethods; k++) {
        gc_method m = req->nmethods > 0 ? req->methods[k] : GC_METHOD_GRADCAM;
        if ((unsigned)m >= GC_METHOD_COUNT)
            return gc_fail(err, GC_ERR_USAGE, "unknown method number %d", (int)m);
        for (int j = 0; j < k; j++)
            if (out->methods[j] == m) /* the result has one map per method */
                return gc_fail(err, GC_ERR_USAGE, "method '%s' is requested twice",
                               gc_method_name(m));
        out->methods[k] = m;
        int big = method_has(m, METHOD_INPUT_RESOLUTION) || p->nlayers > 1;
        out->map_c[k] = gc_method_is_image(m) ? 3 : 1;
        out->map_h[k] = big ? s->h : first->h;
        out->map_w[k] = big ? s->w : first->w;
        size_t len = (size_t)n * out->map_c[k] * out->map_h[k] * out->map_w[k];
        if (!(out->maps[k] = gc_calloc(len, sizeof(float), err)))
            return GC_ERR_NOMEM;
    }
    out->cam = out->maps[0];
    out->cam_h = out->map_h[0], out->cam_w = out->map_w[0];
    p->dlogits = gc_calloc((size_t)n * classes, sizeof(float), err);
    p->w = p->dlogits ? gc_calloc((size_t)n * max_c, sizeof(double), err) : NULL;
    p->P = p->w ? gc_calloc(max_chw, sizeof(double), err) : NULL;
    p->layer_map = p->P ? gc_calloc((size_t)n * max_hw, sizeof(float), err) : NULL;
    /* Input-sized scratch, only for what needs it: combining layers,
     * FullGrad, and one image's 3-plane gradient for the guided methods. */
    int input_sized = p->nlayers > 1;
    for (int k = 0; k < out->nmethods; k++)
        input_sized |= method_has(out->methods[k], METHOD_INPUT_RESOLUTION);
    size_t combined = !input_sized ? 1
                      : (size_t)out->nmethods * n > 3 ? (size_t)out->nmethods * n * plane
                                                       : 3 * plane;
    p->combined = p->layer_map ? gc_calloc(combined, sizeof(float), err) : NULL;
    p->gradcam0 = p->combined ? gc_calloc((size_t)n * first->h * first->w, sizeof(float), err) : NULL;
    if (p->gradcam0 && max_tokens) {
        p->tok_act = gc_calloc((size_t)n * max_tokens, sizeof(float), err);
        p->tok_grad = p->tok_act ? gc_calloc((size_t)n * max_tokens, sizeof(float), err) : NULL;
        if (!p->tok_grad)
            return GC_ERR_NOMEM;
    }
    p->up = p->gradcam0 ? gc_calloc(input_sized ? plane : 1, sizeof(float), err) : NULL;
    p->aug_x = p->up && req->aug_smooth ? gc_calloc((size_t)n * 3 * plane, sizeof(float), err)
                                        : p->up;
    return p->aug_x ? GC_OK : GC_ERR_NOMEM;
}

static void release(plan *p)
{
    if (p->aug_x != p->up)
        free(p->aug_x);
    free(p->dlogits), free(p->w), free(p->P), free(p->layer_map), free(p->combined);
    free(p->gradcam0), free(p->up), free(p->tok_act), free(p->tok_grad);
}

/* Keeps only what this explanation reads after the forward pass; methods
 * that go back to the input keep everything. */
static gc_status choose_keep(gc_session *s, const plan *p, const gc_result *out, gc_error *err)
{
    const gc_graph *g = &s->m->graph;
    int first = p->nodes[0];
    for (int l = 1; l < p->nlayers; l++)
        first = p->nodes[l] < first ? p->nodes[l] : first;
    for (int k = 0; k < out->nmethods; k++)
        if (method_has(out->methods[k], METHOD_INPUT_RESOLUTION))
            return gc_session_keep(s, NULL, err);
    char *keep = gc_calloc((size_t)g->count, 1, err);
    if (!keep)
        return GC_ERR_NOMEM;
    keep_from(g, first, keep);
    gc_status st = gc_session_keep(s, keep, err);
    free(keep);
    return st;
}

/* Method m at one layer for all images, into p->layer_map. */
static gc_status one_layer_map(gc_session *s, plan *p, int node, gc_method m,
                               const int *classes, gc_error *err)
{
    const method_def *d = method_def_of(m);
    const gc_shape *a = &s->shapes[node];
    const int c = a->c, hw = a->h * a->w, n = s->n;
    const float *A = s->act[node];
    const float *G = d->flags & METHOD_LAYER_GRADIENT ? s->grad[node] : NULL;
    gc_status st = d->weights ? d->weights(p->w, s, node, classes, p->req, err) : GC_OK;
    /* Eigen-smoothing replaces the sum of a map, not a gradient picture's. */
    int eigen = (d->flags & METHOD_EIGEN) || (p->req->eigen_smooth && !(d->flags & METHOD_IMAGE));
    for (int i = 0; i < n && st == GC_OK; i++) {
        size_t off = (size_t)i * c * hw;
        method_contributions(p->P, d->contribution, A + off, G ? G + off : NULL,
                             p->w + (size_t)i * c, c, hw);
        float *map = p->layer_map + (size_t)i * hw;
        if (eigen)
            st = reduce_eigen(map, p->P, c, hw, err);
        else
            reduce_sum(map, p->P, c, hw);
    }
    return st;
}

/* Adds src (n maps of ch x h x w) into dst with weight wt, mirrored left to
 * right when flip is set (undoing a flipped input). */
static void accumulate(float *dst, const float *src, int n, int ch, int h, int w, float wt,
                       int flip)
{
    for (int i = 0; i < n * ch; i++)
        for (int y = 0; y < h; y++) {
            const float *row = src + ((size_t)i * h + y) * w;
            float *o = dst + ((size_t)i * h + y) * w;
            for (int x = 0; x < w; x++)
                o[x] += wt * row[flip ? w - 1 - x : x];
        }
}

/* Normalises each image's layer map, upsamples it to the input, adds it. */
static void add_normalised_upsampled(float *dst, float *layer_map, const gc_shape *a,
                                     const gc_session *s, float *up)
{
    const size_t hw = (size_t)a->h * a->w, plane = (size_t)s->h * s->w;
    for (int i = 0; i < s->n; i++) {
        float *map = layer_map + i * hw;
        scale_unit(map, hw);
        gc_resize_bilinear_f32(map, a->w, a->h, up, s->w, s->h);
        for (size_t q = 0; q < plane; q++)
            dst[i * plane + q] += up[q] > 0.0f ? up[q] : 0.0f;
    }
}

/* Every requested method's map at layer l (shape a), accumulated into
 * out->maps or, with several layers, into p->combined. */
static gc_status layer_maps(gc_session *s, plan *p, gc_result *out, int l, const gc_shape *a,
                            float wt, int flip, gc_error *err)
{
    const int n = s->n, node = p->nodes[l];
    const size_t plane = (size_t)s->h * s->w;
    gc_status st;
    for (int k = 0; k < out->nmethods; k++) {
        gc_method m = out->methods[k];
        if (method_has(m, METHOD_INPUT_RESOLUTION) && !(m == GC_METHOD_GUIDED_GRADCAM && l == 0))
            continue;
        if ((st = one_layer_map(s, p, node, m, out->class_index, err)))
            return st;
        if (m == GC_METHOD_GUIDED_GRADCAM)
            memcpy(p->gradcam0, p->layer_map, sizeof(float) * n * a->h * a->w);
        else if (p->nlayers == 1)
            accumulate(out->maps[k], p->layer_map, n, 1, a->h, a->w, wt, flip);
        else
            add_normalised_upsampled(p->combined + (size_t)k * n * plane, p->layer_map, a, s,
                                     p->up);
    }
    return GC_OK;
}

/* All requested maps for the session's current forward pass, added into
 * out->maps with weight wt (mirrored when flip). */
static gc_status maps_for_forward(gc_session *s, plan *p, gc_result *out, float wt, int flip,
                                  gc_error *err)
{
    const int n = s->n;
    const size_t plane = (size_t)s->h * s->w;
    gc_status st;
    int any_layer_gradient = 0, any_guided = 0, any_fullgrad = 0;
    for (int k = 0; k < out->nmethods; k++) {
        any_layer_gradient |= method_has(out->methods[k], METHOD_LAYER_GRADIENT);
        any_guided |= gc_method_is_image(out->methods[k]);
        any_fullgrad |= out->methods[k] == GC_METHOD_FULLGRAD;
    }
    if (p->nlayers > 1)
        memset(p->combined, 0, sizeof(float) * out->nmethods * n * plane);
    for (int l = 0; l < p->nlayers; l++) {
        const int node = p->nodes[l];
        const gc_shape *a = &p->shape[l];
        if (any_layer_gradient && (st = gc_session_backward(s, node, p->dlogits, 0, err)))
            return st;
        /* A token layer: the methods read its map and gradient in place of
         * its tokens, for as long as they run (restored below). */
        float *const act = s->act[node], *const grad = s->grad[node];
        const gc_shape tokens = s->shapes[node];
        if (p->view[l].layout) {
            gc_tokens_to_map(p->tok_act, act, n, &p->view[l]);
            if (any_layer_gradient)
                gc_tokens_to_map(p->tok_grad, grad, n, &p->view[l]);
            s->act[node] = p->tok_act, s->grad[node] = p->tok_grad, s->shapes[node] = *a;
        }
        st = layer_maps(s, p, out, l, a, wt, flip, err);
        s->act[node] = act, s->grad[node] = grad, s->shapes[node] = tokens;
        if (st)
            return st;
    }
    for (int k = 0; k < out->nmethods && p->nlayers > 1; k++) {
        if (method_has(out->methods[k], METHOD_INPUT_RESOLUTION))
            continue;
        float *sum = p->combined + (size_t)k * n * plane;
        for (int i = 0; i < n; i++) {
            for (size_t q = 0; q < plane; q++)
                sum[i * plane + q] /= p->nlayers;
            scale_unit(sum + i * plane, plane);
        }
        accumulate(out->maps[k], sum, n, 1, s->h, s->w, wt, flip);
    }
    if (any_fullgrad) {
        if ((st = gc_session_backward(s, 0, p->dlogits, 0, err)) ||
            (st = fullgrad_map(p->combined, s, err)))
            return st;
        for (int k = 0; k < out->nmethods; k++)
            if (out->methods[k] == GC_METHOD_FULLGRAD)
                accumulate(out->maps[k], p->combined, n, 1, s->h, s->w, wt, flip);
    }
    if (any_guided) {
        /* Guided backpropagation overwrites every gradient: it runs last. */
        if ((st = gc_session_backward(s, 0, p->dlogits, 1, err)))
            return st;
        const gc_shape *a = &p->shape[0];
        for (int k = 0; k < out->nmethods; k++) {
            gc_method m = out->methods[k];
            if (!gc_method_is_image(m))
                continue;
            for (int i = 0; i < n; i++) {
                const float *g = s->grad[0] + (size_t)i * 3 * plane;
                float *tmp = p->combined; /* one image's 3 planes */
                memcpy(tmp, g, sizeof(float) * 3 * plane);
                if (m == GC_METHOD_GUIDED_GRADCAM) {
                    gc_resize_bilinear_f32(p->gradcam0 + (size_t)i * a->h * a->w, a->w, a->h,
                                           p->up, s->w, s->h);
                    for (int ch = 0; ch < 3; ch++)
                        for (size_t q = 0; q < plane; q++)
                            tmp[ch * plane + q] *= p->up[q];
                }
                accumulate(out->maps[k] + (size_t)i * 3 * plane, tmp, 1, 3, s->h, s->w, wt, flip);
            }
        }
    }
    return GC_OK;
}

/* Augmentation a of x: a = 0 is x itself; odd a mirror it; a / 2 picks the
 * brightness factor 1.0, 0.9 or 1.1 (applied to the normalised input, as
 * the reference library's test-time augmentation does). */
static void augment(float *dst, const float *x, int n, int h, int w, int a)
{
    static const float factors[3] = {1.0f, 0.9f, 1.1f};
    const float f = factors[a / 2];
    const int flip = a & 1;
    for (int i = 0; i < n * 3; i++)
        for (int y = 0; y < h; y++) {
            const float *row = x + ((size_t)i * h + y) * w;
            float *o = dst + ((size_t)i * h + y) * w;
            for (int q = 0; q < w; q++)
                o[q] = f * row[flip ? w - 1 - q : q];
        }
}

gc_status gc_explain(gc_session *s, const float *x, int n, int h, int w,
                     const gc_request *req, gc_result *out, gc_error *err)
{
    memset(out, 0, sizeof *out);
    plan p = {.req = req};
    gc_status st = check_input(s, x, n, h, w, err);
    if (st || (st = resolve_layers(s, req, &p, err)))
        return st;
    const int classes = s->m->num_classes;
    for (int i = 0; i < (req->class_per_image ? n : 1); i++) {
        const int c = req->class_per_image ? req->class_per_image[i] : req->class_index;
        if (c != GC_CLASS_TOP1 && (c < 0 || c >= classes))
            return gc_fail(err, GC_ERR_USAGE,
                           "class %d%s is out of range (the model has %d classes: 0-%d)", c,
                           req->class_per_image ? " (a per-image class)" : "", classes,
                           classes - 1);
    }
    if (req->class_per_image && (req->segment || req->detect))
        return gc_fail(err, GC_ERR_USAGE, "per-image classes with a segmentation or detection "
                       "target");
    if (req->rank < 0 || req->rank >= classes)
        return gc_fail(err, GC_ERR_USAGE, "rank %d is out of range (the model has %d classes)",
                       req->rank, classes);
    if (req->segment && req->detect)
        return gc_fail(err, GC_ERR_USAGE, "a segmentation and a detection target at once");
    if ((req->segment || req->detect) && req->aug_smooth)
        return gc_fail(err, GC_ERR_USAGE, "a segmentation or detection target with aug-smooth "
                       "(the flipped input's pixels are not the target's)");
    if ((st = allocate(s, req, &p, out, err)) || (st = choose_keep(s, &p, out, err)))
        goto fail;

    double t0 = now_ms();
    forward_cached(s, x);
    double t1 = now_ms();
    const float *logits = s->act[gc_graph_output(&s->m->graph)];
    memcpy(out->logits, logits, sizeof(float) * n * classes);
    /* The counterfactual explains -y_c: negated gradients everywhere. */
    const float sign = req->counterfactual ? -1.0f : 1.0f;
    const gc_shape *os = &s->shapes[gc_graph_output(&s->m->graph)];
    out->out_c = os->c, out->out_h = os->h, out->out_w = os->w;
    if (req->segment &&
        (st = gc_segment_targets(os, logits, n, req, sign, p.dlogits, out->class_index, err)))
        goto fail;
    if (req->detect && !req->segment &&
        (st = gc_detect_targets(os, logits, n, req, sign, p.dlogits, out->class_index, err)))
        goto fail;
    for (int i = 0; i < n && !req->segment && !req->detect; i++) {
        const int want = req->class_per_image ? req->class_per_image[i] : req->class_index;
        int c = want == GC_CLASS_TOP1
                    ? nth_largest(logits + (size_t)i * classes, classes, req->rank)
                    : want;
        out->class_index[i] = c;
        p.dlogits[(size_t)i * classes + c] = sign;
    }
    const int naug = req->aug_smooth ? NUM_AUGMENTATIONS : 1;
    for (int a = 0; a < naug; a++) {
        if (a > 0) {
            augment(p.aug_x, x, n, h, w, a);
            gc_session_forward(s, p.aug_x);
            s->have_forward = 0; /* the activations are no longer x's */
        }
        if ((st = maps_for_forward(s, &p, out, 1.0f / naug, a & 1, err)))
            goto fail;
    }
    double t2 = now_ms();
    out->forward_ms = t1 - t0;
    out->methods_ms = t2 - t1;
    release(&p);
    return GC_OK;
fail:
    release(&p);
    gc_result_free(out);
    return st;
}

void gc_result_free(gc_result *r)
{
    if (!r)
        return;
    free(r->logits);
    free(r->class_index);
    for (int k = 0; k < GC_METHOD_COUNT; k++)
        free(r->maps[k]);
    memset(r, 0, sizeof *r);
}
