/* scorecam_basis.c — Score-CAM's masked passes without their first layer.
 *
 * Each Score-CAM mask is a bilinear upsampling of an h x w map, and
 * upsampling is linear: the mask is sum_j a_j phi_j, where phi_j is the
 * upsampling of the map that is 1 at cell j and 0 elsewhere. Min-max
 * normalisation keeps that form (the phi_j sum to 1, so subtracting the
 * minimum subtracts it from every a_j). The first convolution is linear
 * too, so the masked image's convolution is sum_j a_j conv(x phi_j): the h
 * x w "basis" convolutions are computed once per image, each only over the
 * window of outputs that phi_j's few nonzero pixels reach, and every masked
 * pass starts from their weighted sum instead of running the convolution
 * (about an eighth of a ResNet-18 pass). The sums run in a different order
 * from the convolution's own, so results agree to float rounding.
 *
 * Deliberately not here: networks whose input feeds anything but one
 * convolution, and first convolutions computed with Winograd filters (their
 * plain filters are freed): those run the masked passes whole. */
#include "cam/scorecam_basis.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

/* The most floats the basis convolutions of one image may hold (128 MB). */
#define BASIS_MAX_FLOATS ((size_t)32 << 20)

/* One basis convolution: output rows [oy, oy + oh), columns [ox, ox + ow)
 * of every channel; r holds oc x oh x ow floats. */
typedef struct window {
    int oy, ox, oh, ow;
    float *r;
} window;

struct scorecam_basis {
    gc_session *sub;      /* the batched session whose passes this starts */
    int conv, end;        /* the first convolution, the end of its chain  */
    gc_epilogue epi;      /* what the chain applies after the bias        */
    int cells, mh, mw;    /* the map being upsampled                      */
    int c, oc, H, W, ho, wo;
    window *win;          /* per cell                                     */
    float *store;         /* behind every window                          */
    float *phi, *patch;   /* one basis mask; one masked input window      */
    float *coef;          /* per batch slot, the cells' weights           */
};

/* The one node that reads the input (node 0), or -1 if there are more. */
static int only_reader_of_input(const gc_graph *g)
{
    int reader = -1;
    for (int i = 1; i < g->count; i++)
        for (int k = 0; k < g->nodes[i].nin; k++)
            if (g->nodes[i].in[k] == 0) {
                if (reader >= 0 && reader != i)
                    return -1;
                reader = i;
            }
    return reader;
}

/* Output positions [*o0, *o1) along one axis whose window of input
 * positions o * stride - pad + t * dil (t < k) meets [lo, hi]. */
static void reach(int lo, int hi, int k, int stride, int pad, int dil, int out, int *o0,
                  int *o1)
{
    *o0 = out, *o1 = 0;
    for (int o = 0; o < out; o++) {
        const int first = o * stride - pad, last = first + (k - 1) * dil;
        if (last >= lo && first <= hi) {
            *o0 = *o0 < o ? *o0 : o;
            *o1 = o + 1;
        }
    }
    if (*o1 <= *o0)
        *o0 = *o1 = 0;
}

/* Rows [*lo, *hi] and columns [*left, *right] where the H x W mask is
 * nonzero; an empty mask gives hi < lo. */
static void support(const float *m, int H, int W, int *lo, int *hi, int *left, int *right)
{
    *lo = H, *hi = -1, *left = W, *right = -1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            if (m[(size_t)y * W + x] != 0.0f) {
                *lo = y < *lo ? y : *lo, *hi = y > *hi ? y : *hi;
                *left = x < *left ? x : *left, *right = x > *right ? x : *right;
            }
}

/* Input positions along one axis that `out` consecutive outputs read. */
static int span(int out, int k, int stride, int dil)
{
    return out ? (out - 1) * stride + (k - 1) * dil + 1 : 0;
}

void scorecam_basis_free(scorecam_basis *b)
{
    if (!b)
        return;
    free(b->win), free(b->store), free(b->phi), free(b->patch), free(b->coef);
    free(b);
}

gc_status scorecam_basis_new(gc_session *sub, int mh, int mw, int channels,
                             scorecam_basis **out, gc_error *err)
{
    *out = NULL;
    const gc_graph *g = &sub->m->graph;
    const int conv = only_reader_of_input(g);
    /* Node 1 exactly: forward_after(end) runs nothing before the chain. */
    if (conv != 1 || g->nodes[conv].op != GC_OP_CONV || g->nodes[conv].winograd ||
        !g->nodes[conv].weight)
        return GC_OK; /* not applicable: the caller runs whole passes */
    const gc_node *nd = &g->nodes[conv];
    scorecam_basis *b = gc_calloc(1, sizeof *b, err);
    if (!b)
        return GC_ERR_NOMEM;
    b->sub = sub, b->conv = conv, b->end = gc_session_conv_chain(sub, conv, &b->epi);
    if (b->epi.residual) { /* the chain adds a tensor the shortcut does not have */
        free(b);
        return GC_OK;
    }
    b->cells = mh * mw, b->mh = mh, b->mw = mw;
    b->c = sub->shapes[0].c, b->H = sub->h, b->W = sub->w;
    b->oc = sub->shapes[conv].c, b->ho = sub->shapes[conv].h, b->wo = sub->shapes[conv].w;
    const size_t plane = (size_t)b->H * b->W;
    b->win = gc_calloc((size_t)b->cells, sizeof *b->win, err);
    b->phi = gc_calloc(plane, sizeof(float), err);
    b->coef = gc_calloc((size_t)sub->n * b->cells, sizeof(float), err);
    float *cell = gc_calloc((size_t)b->cells, sizeof(float), err);
    gc_status st = b->win && b->phi && b->coef && cell ? GC_OK : GC_ERR_NOMEM;
    /* Each cell's window: where its basis mask reaches the conv's output. */
    size_t total = 0, patch = 1, outputs = 0;
    for (int j = 0; st == GC_OK && j < b->cells; j++) {
        cell[j] = 1.0f;
        gc_resize_bilinear_f32(cell, mw, mh, b->phi, b->W, b->H);
        cell[j] = 0.0f;
        int lo, hi, left, right, y1, x1;
        support(b->phi, b->H, b->W, &lo, &hi, &left, &right);
        window *w = &b->win[j];
        reach(lo, hi, nd->kh, nd->sh, nd->pad[0], nd->dh, b->ho, &w->oy, &y1);
        reach(left, right, nd->kw, nd->sw, nd->pad[1], nd->dw, b->wo, &w->ox, &x1);
        w->oh = y1 - w->oy, w->ow = x1 - w->ox;
        total += (size_t)b->oc * w->oh * w->ow;
        outputs += (size_t)w->oh * w->ow;
        size_t need = (size_t)b->c * span(w->oh, nd->kh, nd->sh, nd->dh) *
                      span(w->ow, nd->kw, nd->sw, nd->dw);
        patch = need > patch ? need : patch;
    }
    free(cell);
    /* Worth it only where the basis convolutions (plus a fixed cost per
     * call, about 256 outputs' worth) come to at most half of the
     * convolutions they replace, and their store stays modest: fine maps
     * of few channels (layer1) would cost more than they save. */
    const size_t replaced = (size_t)channels * b->ho * b->wo;
    if (st == GC_OK && (2 * (outputs + 256 * (size_t)b->cells) > replaced ||
                        total > BASIS_MAX_FLOATS)) {
        scorecam_basis_free(b);
        return GC_OK;
    }
    if (st == GC_OK && !(b->patch = malloc(sizeof(float) * patch)))
        st = gc_fail(err, GC_ERR_NOMEM, "out of memory for Score-CAM's basis convolutions");
    if (st == GC_OK && !(b->store = malloc(sizeof(float) * (total ? total : 1))))
        st = gc_fail(err, GC_ERR_NOMEM, "out of memory for Score-CAM's basis convolutions");
    float *p = b->store;
    for (int j = 0; st == GC_OK && j < b->cells; j++) {
        b->win[j].r = p;
        p += (size_t)b->oc * b->win[j].oh * b->win[j].ow;
    }
    if (st) {
        scorecam_basis_free(b);
        return st;
    }
    *out = b;
    return GC_OK;
}

void scorecam_basis_image(scorecam_basis *b, const float *x)
{
    const gc_node *nd = &b->sub->m->graph.nodes[b->conv];
    float *cell = b->coef; /* a one-hot map, borrowed from the weights */
    memset(cell, 0, sizeof(float) * b->cells);
    for (int j = 0; j < b->cells; j++) {
        const window *w = &b->win[j];
        if (!w->oh || !w->ow)
            continue;
        cell[j] = 1.0f;
        gc_resize_bilinear_f32(cell, b->mw, b->mh, b->phi, b->W, b->H);
        cell[j] = 0.0f;
        /* The input window those outputs read, masked, zero outside the
         * image: convolved without padding it gives exactly the window. */
        const int y0 = w->oy * nd->sh - nd->pad[0], x0 = w->ox * nd->sw - nd->pad[1];
        const int ph = span(w->oh, nd->kh, nd->sh, nd->dh), pw = span(w->ow, nd->kw, nd->sw, nd->dw);
        for (int ch = 0; ch < b->c; ch++)
            for (int y = 0; y < ph; y++)
                for (int xx = 0; xx < pw; xx++) {
                    const int iy = y0 + y, ix = x0 + xx;
                    const int in = iy >= 0 && iy < b->H && ix >= 0 && ix < b->W;
                    const size_t at = (size_t)iy * b->W + ix;
                    b->patch[((size_t)ch * ph + y) * pw + xx] =
                        in ? x[(size_t)ch * b->H * b->W + at] * b->phi[at] : 0.0f;
                }
        gc_session_conv_plain(b->sub, b->conv, w->r, b->patch, 1, ph, pw, w->oh, w->ow, 0, 0);
    }
}

void scorecam_basis_batch(scorecam_basis *b, const float *maps, const int *channels, int count,
                          const float *lo, const float *hi)
{
    gc_session *sub = b->sub;
    const int cells = b->cells, n = sub->n;
    for (int s = 0; s < n; s++) /* weights of the normalised mask; 0 past count */
        for (int j = 0; j < cells; j++) {
            const int k = s < count ? channels[s] : -1;
            b->coef[(size_t)s * cells + j] =
                k < 0 ? 0.0f : (maps[(size_t)k * cells + j] - lo[k]) * (1.0f / (hi[k] - lo[k]));
        }
    const gc_node *nd = &sub->m->graph.nodes[b->conv];
    const size_t hw = (size_t)b->ho * b->wo;
    float *out = sub->act[b->end];
    const int planes = n * b->oc;
    /* Channel-major, so that a thread's consecutive planes read the same
     * channel's windows, which stay in its cache. */
    #pragma omp parallel for schedule(static)
    for (int q = 0; q < planes; q++) {
        const int o = q / n, s = q % n;
        float *y = out + ((size_t)s * b->oc + o) * hw;
        const float bias = nd->bias ? nd->bias[o] : 0.0f;
        for (size_t p = 0; p < hw; p++)
            y[p] = 0.0f;
        for (int j = 0; j < cells; j++) {
            const float a = b->coef[(size_t)s * cells + j];
            const window *w = &b->win[j];
            if (a == 0.0f)
                continue;
            const float *r = w->r + (size_t)o * w->oh * w->ow;
            for (int yy = 0; yy < w->oh; yy++) {
                float *dst = y + (size_t)(w->oy + yy) * b->wo + w->ox;
                const float *src = r + (size_t)yy * w->ow;
                for (int xx = 0; xx < w->ow; xx++)
                    dst[xx] += a * src[xx];
            }
        }
        for (size_t p = 0; p < hw; p++)
            y[p] += bias;
        epilogue_apply(y, NULL, hw, &b->epi, o); /* no residual: see scorecam_basis_new */
    }
    gc_session_forward_after(sub, b->end);
}
