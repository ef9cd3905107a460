/* explain.c — the public entry points that run a session: prediction, and
 * an explanation = forward, pick the class, backward to the chosen layer,
 * combine activations and gradients with the chosen method. */
#include "cam/methods.h"
#include "core/error.h"
#include "core/session.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char *const method_names[GC_METHOD_COUNT] = {
    "gradcam",  "hirescam",     "gradcamelementwise", "xgradcam",  "gradcam++",
    "layercam", "eigencam",     "eigengradcam",       "scorecam",  "ablationcam",
    "random",   "guidedbackprop", "guidedgradcam",
};

const char *gc_method_name(gc_method m)
{
    return (unsigned)m < GC_METHOD_COUNT ? method_names[m] : "?";
}

int gc_method_is_image(gc_method m)
{
    return m == GC_METHOD_GUIDED_BACKPROP || m == GC_METHOD_GUIDED_GRADCAM;
}

gc_status gc_method_parse(const char *name, gc_method *out, gc_error *err)
{
    for (int i = 0; i < GC_METHOD_COUNT; i++)
        if (strcmp(name, method_names[i]) == 0) {
            *out = (gc_method)i;
            return GC_OK;
        }
    return gc_fail(err, GC_ERR_USAGE,
                   "unknown method '%s' (known: gradcam, hirescam, gradcamelementwise, "
                   "xgradcam, gradcam++, layercam, eigencam, eigengradcam, scorecam, "
                   "ablationcam, random, guidedbackprop, guidedgradcam)",
                   name);
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

gc_status gc_predict(gc_session *s, const float *x, int n, int h, int w, float *out_logits,
                     gc_error *err)
{
    gc_status st = check_input(s, x, n, h, w, err);
    if (st)
        return st;
    gc_session_forward(s, x);
    int out = gc_graph_output(&s->m->graph);
    memcpy(out_logits, s->act[out], sizeof(float) * n * gc_shape_numel(&s->shapes[out]));
    return GC_OK;
}

static int argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

static int needs_gradient(gc_method m)
{
    switch (m) {
    case GC_METHOD_EIGENCAM:
    case GC_METHOD_SCORECAM:
    case GC_METHOD_ABLATIONCAM:
    case GC_METHOD_RANDOM:
    case GC_METHOD_GUIDED_BACKPROP:
        return 0;
    default:
        return 1;
    }
}

/* One layer-resolution map for method m from the session's A and G. */
static gc_status layer_map(gc_session *s, const float *x, int node, const gc_request *req,
                           gc_method m, const int *classes, double *w, float *cam,
                           gc_error *err)
{
    const gc_shape *a = &s->shapes[node];
    const int n = s->n, c = a->c, hw = a->h * a->w;
    const float *A = s->act[node], *G = s->grad ? s->grad[node] : NULL;
    gc_status st = GC_OK;
    switch (m) {
    case GC_METHOD_GRADCAM:
    case GC_METHOD_GUIDED_GRADCAM:
        weights_gradcam(w, G, n, c, hw);
        break;
    case GC_METHOD_XGRADCAM:
        weights_xgradcam(w, A, G, n, c, hw);
        break;
    case GC_METHOD_GRADCAM_PLUSPLUS:
        weights_gradcampp(w, A, G, n, c, hw);
        break;
    case GC_METHOD_RANDOM:
        weights_random(w, n, c, req->seed);
        break;
    case GC_METHOD_SCORECAM:
        st = weights_scorecam(w, s, x, node, classes, err);
        break;
    case GC_METHOD_ABLATIONCAM:
        st = weights_ablationcam(w, s, node, classes, err);
        break;
    case GC_METHOD_HIRESCAM:
        cam_hirescam(cam, A, G, n, c, hw);
        return GC_OK;
    case GC_METHOD_GRADCAM_ELEMENTWISE:
        cam_elementwise(cam, A, G, n, c, hw);
        return GC_OK;
    case GC_METHOD_LAYERCAM:
        cam_layercam(cam, A, G, n, c, hw);
        return GC_OK;
    case GC_METHOD_EIGENCAM:
        return cam_eigen(cam, A, NULL, n, c, hw, err);
    case GC_METHOD_EIGENGRADCAM:
        return cam_eigen(cam, A, G, n, c, hw, err);
    default:
        return gc_fail(err, GC_ERR_INTERNAL, "method %d has no layer map", (int)m);
    }
    if (st == GC_OK)
        cam_weighted(cam, A, w, n, c, hw);
    return st;
}

/* Guided backpropagation: the input gradient through guided ReLUs, and for
 * Guided Grad-CAM that gradient times the Grad-CAM map upsampled to the
 * input. Runs last: it overwrites the gradients of every node. */
static gc_status guided_maps(gc_session *s, const float *dlogits, const gc_result *r,
                             const float *gradcam_map, gc_error *err)
{
    gc_status st = gc_session_backward(s, 0, dlogits, 1, err);
    if (st)
        return st;
    const size_t plane = (size_t)s->h * s->w;
    float *up = NULL;
    for (int k = 0; k < r->nmethods; k++) {
        if (!gc_method_is_image(r->methods[k]))
            continue;
        memcpy(r->maps[k], s->grad[0], sizeof(float) * s->n * 3 * plane);
        if (r->methods[k] != GC_METHOD_GUIDED_GRADCAM)
            continue;
        if (!up && !(up = malloc(sizeof(float) * plane)))
            return gc_fail(err, GC_ERR_NOMEM, "out of memory for Guided Grad-CAM");
        for (int i = 0; i < s->n; i++) {
            gc_resize_bilinear_f32(gradcam_map + (size_t)i * r->cam_h * r->cam_w, r->cam_w,
                                   r->cam_h, up, s->w, s->h);
            float *img = r->maps[k] + (size_t)i * 3 * plane;
            for (int ch = 0; ch < 3; ch++)
                for (size_t p = 0; p < plane; p++)
                    img[ch * plane + p] *= up[p];
        }
    }
    free(up);
    return GC_OK;
}

static gc_status allocate_result(gc_result *out, const gc_request *req, int n, int classes,
                                 int hw, size_t image_floats, gc_error *err)
{
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
        out->methods[k] = m;
        size_t len = gc_method_is_image(m) ? image_floats : (size_t)n * hw;
        if (!(out->maps[k] = gc_calloc(len, sizeof(float), err)))
            return GC_ERR_NOMEM;
    }
    out->cam = out->maps[0];
    return GC_OK;
}

gc_status gc_explain(gc_session *s, const float *x, int n, int h, int w,
                     const gc_request *req, gc_result *out, gc_error *err)
{
    memset(out, 0, sizeof *out);
    gc_status st = check_input(s, x, n, h, w, err);
    if (st)
        return st;
    const gc_model *m = s->m;
    const char *layer = req->layer ? req->layer : m->default_layer;
    int node;
    if ((st = gc_graph_find_layer(&m->graph, layer, &node, err)))
        return st;
    const gc_shape *a = &s->shapes[node];
    if (!a->spatial)
        return gc_fail(err, GC_ERR_USAGE,
                       "layer '%s' has no spatial map (its output is a vector of %d); pick "
                       "a convolutional layer such as '%s'",
                       layer, a->c, m->default_layer);
    const int classes = m->num_classes;
    if (req->class_index != GC_CLASS_TOP1 &&
        (req->class_index < 0 || req->class_index >= classes))
        return gc_fail(err, GC_ERR_USAGE, "class %d is out of range (the model has %d classes: 0-%d)",
                       req->class_index, classes, classes - 1);
    const int hw = a->h * a->w;
    out->n = n, out->classes = classes, out->cam_h = a->h, out->cam_w = a->w;
    out->in_h = h, out->in_w = w;
    float *dlogits = NULL, *gradcam_map = NULL;
    double *weights = NULL;
    if ((st = allocate_result(out, req, n, classes, hw, (size_t)n * 3 * h * w, err)))
        goto fail;
    dlogits = gc_calloc((size_t)n * classes, sizeof(float), err);
    weights = dlogits ? gc_calloc((size_t)n * a->c, sizeof(double), err) : NULL;
    if (!weights) {
        st = GC_ERR_NOMEM;
        goto fail;
    }

    double t0 = now_ms();
    gc_session_forward(s, x);
    double t1 = now_ms();
    const float *logits = s->act[gc_graph_output(&m->graph)];
    memcpy(out->logits, logits, sizeof(float) * n * classes);
    /* The counterfactual explains -y_c: negated gradients everywhere. */
    const float sign = req->counterfactual ? -1.0f : 1.0f;
    for (int i = 0; i < n; i++) {
        int c = req->class_index == GC_CLASS_TOP1 ? argmax(logits + (size_t)i * classes, classes)
                                                  : req->class_index;
        out->class_index[i] = c;
        dlogits[(size_t)i * classes + c] = sign;
    }
    int any_gradient = 0, any_image = 0;
    for (int k = 0; k < out->nmethods; k++) {
        any_gradient |= needs_gradient(out->methods[k]);
        any_image |= gc_method_is_image(out->methods[k]);
    }
    if (any_gradient && (st = gc_session_backward(s, node, dlogits, 0, err)))
        goto fail;
    double t2 = now_ms();
    for (int k = 0; k < out->nmethods; k++) {
        gc_method meth = out->methods[k];
        if (meth == GC_METHOD_GUIDED_BACKPROP)
            continue;
        float *cam = out->maps[k];
        if (meth == GC_METHOD_GUIDED_GRADCAM) {
            if (!gradcam_map && !(gradcam_map = gc_calloc((size_t)n * hw, sizeof(float), err))) {
                st = GC_ERR_NOMEM;
                goto fail;
            }
            cam = gradcam_map;
        }
        if ((st = layer_map(s, x, node, req, meth, out->class_index, weights, cam, err)))
            goto fail;
    }
    if (any_image && (st = guided_maps(s, dlogits, out, gradcam_map, err)))
        goto fail;
    double t3 = now_ms();
    out->forward_ms = t1 - t0;
    out->backward_ms = t2 - t1;
    out->methods_ms = t3 - t2;
    free(dlogits);
    free(weights);
    free(gradcam_map);
    return GC_OK;
fail:
    free(dlogits);
    free(weights);
    free(gradcam_map);
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
