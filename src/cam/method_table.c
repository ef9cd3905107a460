/* method_table.c — the CAM family as one table: each method's name, how
 * its channel weights are formed, what it contributes at each position,
 * and what it needs (methods.h, method_def). Everything that asks "which
 * methods do X" asks this table; adding a method is one row here and, if
 * it brings a new weighting, one function. */
#include "cam/methods.h"

#include "core/error.h"

#include <stdio.h>
#include <string.h>

/* Adapters from the weight functions' own signatures to the table's. */
static gc_status by_gradient(double *w, gc_session *s, int node, const int *classes,
                             const gc_request *req, gc_error *err)
{
    const gc_shape *a = &s->shapes[node];
    weights_gradcam(w, s->grad[node], s->n, a->c, a->h * a->w);
    return GC_OK;
}

static gc_status by_xgradcam(double *w, gc_session *s, int node, const int *classes,
                             const gc_request *req, gc_error *err)
{
    const gc_shape *a = &s->shapes[node];
    weights_xgradcam(w, s->act[node], s->grad[node], s->n, a->c, a->h * a->w);
    return GC_OK;
}

static gc_status by_gradcampp(double *w, gc_session *s, int node, const int *classes,
                              const gc_request *req, gc_error *err)
{
    const gc_shape *a = &s->shapes[node];
    weights_gradcampp(w, s->act[node], s->grad[node], s->n, a->c, a->h * a->w);
    return GC_OK;
}

static gc_status by_random(double *w, gc_session *s, int node, const int *classes,
                           const gc_request *req, gc_error *err)
{
    weights_random(w, s->n, s->shapes[node].c, req->seed);
    return GC_OK;
}

static gc_status by_channel_mean(double *w, gc_session *s, int node, const int *classes,
                                 const gc_request *req, gc_error *err)
{
    const gc_shape *a = &s->shapes[node];
    weights_fem(w, s->act[node], s->n, a->c, a->h * a->w);
    return GC_OK;
}

static gc_status by_classifier(double *w, gc_session *s, int node, const int *classes,
                               const gc_request *req, gc_error *err)
{
    return weights_cam(w, s, node, classes, err);
}

static gc_status by_masked_input(double *w, gc_session *s, int node, const int *classes,
                                 const gc_request *req, gc_error *err)
{
    return weights_scorecam(w, s, node, classes, err);
}

static gc_status by_ablation(double *w, gc_session *s, int node, const int *classes,
                             const gc_request *req, gc_error *err)
{
    return weights_ablationcam(w, s, node, classes, err);
}

enum {
    G = METHOD_LAYER_GRADIENT,
    INPUT = METHOD_INPUT_RESOLUTION,
    IMAGE = METHOD_IMAGE | METHOD_INPUT_RESOLUTION,
    EIGEN = METHOD_EIGEN,
};

/* In gc_method order (checked by method_def_of's callers through id). */
static const method_def methods[GC_METHOD_COUNT] = {
    {GC_METHOD_GRADCAM, "gradcam", by_gradient, CONTRIB_WEIGHTED, G},
    {GC_METHOD_HIRESCAM, "hirescam", NULL, CONTRIB_PRODUCT, G},
    {GC_METHOD_GRADCAM_ELEMENTWISE, "gradcamelementwise", NULL, CONTRIB_PRODUCT_RELU, G},
    {GC_METHOD_XGRADCAM, "xgradcam", by_xgradcam, CONTRIB_WEIGHTED, G},
    {GC_METHOD_GRADCAM_PLUSPLUS, "gradcam++", by_gradcampp, CONTRIB_WEIGHTED, G},
    {GC_METHOD_LAYERCAM, "layercam", NULL, CONTRIB_POSITIVE_GRADIENT, G},
    {GC_METHOD_EIGENCAM, "eigencam", NULL, CONTRIB_ACTIVATION, EIGEN},
    {GC_METHOD_EIGENGRADCAM, "eigengradcam", NULL, CONTRIB_PRODUCT, G | EIGEN},
    {GC_METHOD_SCORECAM, "scorecam", by_masked_input, CONTRIB_WEIGHTED, 0},
    {GC_METHOD_ABLATIONCAM, "ablationcam", by_ablation, CONTRIB_WEIGHTED, 0},
    {GC_METHOD_RANDOM, "random", by_random, CONTRIB_WEIGHTED, 0},
    {GC_METHOD_FULLGRAD, "fullgrad", NULL, CONTRIB_NONE, INPUT},
    {GC_METHOD_FEM, "fem", by_channel_mean, CONTRIB_HOT_SPOTS, 0},
    {GC_METHOD_CAM, "cam", by_classifier, CONTRIB_WEIGHTED, 0},
    {GC_METHOD_GUIDED_BACKPROP, "guidedbackprop", NULL, CONTRIB_NONE, IMAGE},
    /* Grad-CAM's map at the first layer, times the guided gradient. */
    {GC_METHOD_GUIDED_GRADCAM, "guidedgradcam", by_gradient, CONTRIB_WEIGHTED, G | IMAGE},
};

const method_def *method_def_of(gc_method m)
{
    return (unsigned)m < GC_METHOD_COUNT ? &methods[m] : NULL;
}

int method_has(gc_method m, unsigned flag)
{
    const method_def *d = method_def_of(m);
    return d && (d->flags & flag) != 0;
}

const char *gc_method_name(gc_method m)
{
    const method_def *d = method_def_of(m);
    return d ? d->name : "?";
}

int gc_method_is_image(gc_method m) { return method_has(m, METHOD_IMAGE); }

gc_status gc_method_parse(const char *name, gc_method *out, gc_error *err)
{
    for (int i = 0; name && i < GC_METHOD_COUNT; i++)
        if (strcmp(name, methods[i].name) == 0) {
            *out = methods[i].id;
            return GC_OK;
        }
    char known[512];
    size_t used = 0;
    for (int i = 0; i < GC_METHOD_COUNT && used < sizeof known; i++)
        used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "",
                                 methods[i].name);
    return gc_fail(err, GC_ERR_USAGE, "unknown method '%s' (known: %s)", name ? name : "",
                   known);
}
