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

static const char *const method_names[] = {"gradcam"};

const char *gc_method_name(gc_method m)
{
    return (unsigned)m < sizeof method_names / sizeof *method_names ? method_names[m] : "?";
}

gc_status gc_method_parse(const char *name, gc_method *out, gc_error *err)
{
    for (unsigned i = 0; i < sizeof method_names / sizeof *method_names; i++)
        if (strcmp(name, method_names[i]) == 0) {
            *out = (gc_method)i;
            return GC_OK;
        }
    return gc_fail(err, GC_ERR_USAGE, "unknown method '%s' (known: gradcam)", name);
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
    out->logits = gc_calloc((size_t)n * classes, sizeof(float), err);
    out->cam = out->logits ? gc_calloc((size_t)n * hw, sizeof(float), err) : NULL;
    out->class_index = out->cam ? gc_calloc((size_t)n, sizeof(int), err) : NULL;
    float *dlogits = out->class_index ? gc_calloc((size_t)n * classes, sizeof(float), err) : NULL;
    double *alpha = dlogits ? gc_calloc((size_t)a->c, sizeof(double), err) : NULL;
    if (!alpha) {
        free(dlogits);
        gc_result_free(out);
        return GC_ERR_NOMEM;
    }

    double t0 = now_ms();
    gc_session_forward(s, x);
    double t1 = now_ms();
    const float *logits = s->act[gc_graph_output(&m->graph)];
    memcpy(out->logits, logits, sizeof(float) * n * classes);
    for (int i = 0; i < n; i++) {
        int c = req->class_index == GC_CLASS_TOP1 ? argmax(logits + (size_t)i * classes, classes)
                                                  : req->class_index;
        out->class_index[i] = c;
        dlogits[(size_t)i * classes + c] = 1.0f;
    }
    gc_session_backward(s, node, dlogits);
    cam_gradcam(out->cam, s->act[node], s->grad[node], n, a->c, hw, alpha);
    double t2 = now_ms();
    out->forward_ms = t1 - t0;
    out->backward_ms = t2 - t1;
    free(dlogits);
    free(alpha);
    return GC_OK;
}

void gc_result_free(gc_result *r)
{
    if (!r)
        return;
    free(r->logits);
    free(r->cam);
    free(r->class_index);
    memset(r, 0, sizeof *r);
}
