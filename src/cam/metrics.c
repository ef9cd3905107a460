/* metrics.c — faithfulness of a saliency map (gc_evaluate_map): deletion and
 * insertion (Petsiuk et al. 2018, RISE), ROAD with noisy linear imputation
 * (Rong et al. 2022), Average Drop / Increase in Confidence (Chattopadhay et
 * al. 2018, Grad-CAM++); and the pointing game (Zhang et al. 2018) with its
 * energy-based form (Wang et al. 2020, Score-CAM). Every perturbed image goes
 * through the network in batches. README.md defines each. */
#include "core/error.h"
#include "core/model.h"
#include "core/session.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

gc_eval_options gc_eval_defaults(const gc_preprocess *pre)
{
    gc_eval_options o = {.steps = 50, .batch = 32, .nroad = 9, .road_noise = 0.01, .seed = 0,
                         .blur_size = 11, .blur_sigma = 5.0};
    for (int k = 0; k < 9; k++)
        o.road_fractions[k] = 0.1 * (k + 1);
    for (int c = 0; c < 3; c++) {
        o.mean[c] = pre ? pre->mean[c] : 0.0f;
        o.std[c] = pre ? pre->std[c] : 1.0f;
    }
    return o;
}

/* ---- ROAD's noise: a counter-based generator, so that any implementation
 * can reproduce it (README gives it): splitmix64 of a key, Box-Muller. ---- */
static uint64_t splitmix64(uint64_t v)
{
    uint64_t z = v + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double gauss(uint64_t seed, uint64_t level, uint64_t c, uint64_t p, uint64_t P)
{
    const uint64_t key = seed * 0x9E3779B97F4A7C15ull + (level * 3 + c) * P + p;
    const double u1 = (double)((splitmix64(2 * key) >> 11) + 1) * 0x1p-53;
    const double u2 = (double)(splitmix64(2 * key + 1) >> 11) * 0x1p-53;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ---- Noisy linear imputation: each removed pixel becomes the weighted mean
 * of its 8 neighbours (1/6 for the four sides, 1/12 for the corners, those
 * inside the image), solved jointly for all removed pixels (a sparse SPD
 * system, by conjugate gradients), plus noise. The solution does not depend
 * on where CG starts; it starts from the same problem solved on a grid
 * half as fine (recursively), which makes it several times faster on the
 * large holes of high removal fractions. ---- */
static const int DY[8] = {-1, 1, 0, 0, -1, -1, 1, 1}, DX[8] = {0, 0, -1, 1, -1, 1, -1, 1};

typedef struct cg {
    int U;
    int *pos, *nb;     /* unknowns' positions; U x 8 neighbouring unknowns or -1 */
    double *nw, *diag, *v, *r, *p, *Ap, *b, *z;
} cg;

#define OMEGA 1.8

/* z = M^-1 r for SSOR's M (up to a constant factor, which CG ignores):
 * a forward and a backward sweep. Unknowns are in row-major order, so the
 * neighbours above and to the left (k = 0, 2, 4, 5) come before. */
static void ssor(const cg *g, const double *r, double *z)
{
    static const int before[4] = {0, 2, 4, 5}, after[4] = {1, 3, 6, 7};
    for (int i = 0; i < g->U; i++) {
        double s = r[i];
        for (int t = 0; t < 4; t++) {
            const int j = g->nb[8 * i + before[t]];
            if (j >= 0)
                s += g->nw[8 * i + before[t]] * z[j];
        }
        z[i] = s * OMEGA / g->diag[i];
    }
    for (int i = 0; i < g->U; i++)
        z[i] *= g->diag[i] / OMEGA;
    for (int i = g->U - 1; i >= 0; i--) {
        double s = z[i];
        for (int t = 0; t < 4; t++) {
            const int j = g->nb[8 * i + after[t]];
            if (j >= 0)
                s += g->nw[8 * i + after[t]] * z[j];
        }
        z[i] = s * OMEGA / g->diag[i];
    }
}

static void apply(const cg *g, const double *v, double *out)
{
    for (int i = 0; i < g->U; i++) {
        double s = g->diag[i] * v[i];
        for (int k = 0; k < 8; k++)
            if (g->nb[8 * i + k] >= 0)
                s -= g->nw[8 * i + k] * v[g->nb[8 * i + k]];
        out[i] = s;
    }
}

static double dot(const double *a, const double *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* Replaces field's unknown entries (h x w) by the solution; the known ones
 * are the boundary values. -1 when out of memory. */
static int fill(double *field, const unsigned char *unknown, int h, int w)
{
    const int P = h * w;
    int U = 0, known = 0;
    double known_sum = 0;
    for (int q = 0; q < P; q++)
        if (unknown[q])
            U++;
        else
            known++, known_sum += field[q];
    if (U == 0)
        return 0;
    /* The starting point: the coarser problem's solution, or the mean. */
    const int hc = (h + 1) / 2, wc = (w + 1) / 2;
    double *coarse = NULL;
    unsigned char *cu = NULL;
    if (h >= 16 && w >= 16 && U > 64) {
        coarse = calloc((size_t)hc * wc, sizeof *coarse);
        cu = calloc((size_t)hc * wc, 1);
        if (!coarse || !cu) {
            free(coarse), free(cu);
            return -1;
        }
        for (int Y = 0; Y < hc; Y++)
            for (int X = 0; X < wc; X++) {
                double s = 0;
                int n = 0;
                for (int y = 2 * Y; y < 2 * Y + 2 && y < h; y++)
                    for (int x = 2 * X; x < 2 * X + 2 && x < w; x++)
                        if (!unknown[y * w + x])
                            s += field[y * w + x], n++;
                cu[Y * wc + X] = n == 0;
                coarse[Y * wc + X] = n ? s / n : 0.0;
            }
        if (fill(coarse, cu, hc, wc)) {
            free(coarse), free(cu);
            return -1;
        }
    }
    cg g = {.U = U};
    g.pos = malloc(sizeof(int) * (size_t)U);
    g.nb = malloc(sizeof(int) * 8 * (size_t)U);
    int *slot = malloc(sizeof(int) * (size_t)P);
    g.nw = calloc(8 * (size_t)U, sizeof(double));
    double *all = calloc(7 * (size_t)U, sizeof(double));
    int rc = 0;
    if (!g.pos || !g.nb || !slot || !g.nw || !all) {
        rc = -1;
        goto out;
    }
    g.diag = all, g.v = all + U, g.r = all + 2 * U, g.p = all + 3 * U, g.Ap = all + 4 * U;
    g.b = all + 5 * U, g.z = all + 6 * U;
    for (int q = 0, u = 0; q < P; q++) {
        slot[q] = unknown[q] ? u : -1;
        if (unknown[q])
            g.pos[u++] = q;
    }
    for (int i = 0; i < U; i++) {
        const int q = g.pos[i], y = q / w, x = q % w;
        for (int k = 0; k < 8; k++) {
            const int ny = y + DY[k], nx = x + DX[k];
            g.nb[8 * i + k] = -1;
            if (ny < 0 || ny >= h || nx < 0 || nx >= w)
                continue;
            const double wt = k < 4 ? 1.0 / 6.0 : 1.0 / 12.0;
            g.diag[i] += wt;
            g.nw[8 * i + k] = wt;
            if ((g.nb[8 * i + k] = slot[ny * w + nx]) < 0)
                g.b[i] += wt * field[ny * w + nx];
        }
        g.v[i] = coarse ? coarse[(y / 2) * wc + x / 2] : known ? known_sum / known : 0.0;
    }
    /* Conjugate gradients preconditioned by symmetric SOR (omega 1.8: far
     * fewer iterations than plain CG on large holes). */
    apply(&g, g.v, g.Ap);
    for (int i = 0; i < U; i++)
        g.r[i] = g.b[i] - g.Ap[i];
    ssor(&g, g.r, g.z);
    memcpy(g.p, g.z, sizeof(double) * (size_t)U);
    double rz = dot(g.r, g.z, U), rs = dot(g.r, g.r, U);
    /* A relative residual of 1e-8: moves the probabilities by ~1e-8. */
    const double stop = 1e-16 * (dot(g.b, g.b, U) + 1e-300);
    for (int it = 0; it < 20 * U + 100 && rs > stop; it++) {
        apply(&g, g.p, g.Ap);
        const double alpha = rz / dot(g.p, g.Ap, U);
        for (int i = 0; i < U; i++)
            g.v[i] += alpha * g.p[i], g.r[i] -= alpha * g.Ap[i];
        rs = dot(g.r, g.r, U);
        ssor(&g, g.r, g.z);
        const double rz2 = dot(g.r, g.z, U);
        for (int i = 0; i < U; i++)
            g.p[i] = g.z[i] + rz2 / rz * g.p[i];
        rz = rz2;
    }
    for (int i = 0; i < U; i++)
        field[g.pos[i]] = g.v[i];
out:
    free(g.pos), free(g.nb), free(slot), free(g.nw), free(all), free(coarse), free(cu);
    return rc;
}

/* x: one image [3, h, w]; removed: per pixel. Writes the imputed image.
 * field: h * w doubles of scratch. */
static int impute(const float *x, int h, int w, const unsigned char *removed, double noise,
                  uint64_t seed, int level, double *field, float *out)
{
    const int P = h * w;
    memcpy(out, x, sizeof(float) * 3 * (size_t)P);
    for (int c = 0; c < 3; c++) {
        for (int q = 0; q < P; q++)
            field[q] = x[(size_t)c * P + q];
        if (fill(field, removed, h, w))
            return -1;
        for (int q = 0; q < P; q++)
            if (removed[q])
                out[(size_t)c * P + q] = (float)(field[q] + noise * gauss(seed, (uint64_t)level,
                                                                      (uint64_t)c, (uint64_t)q,
                                                                      (uint64_t)P));
    }
    return 0;
}

/* ---- The evaluation ---- */
typedef struct eval {
    gc_session *s;
    const float *x;
    int h, w, P, cls, classes, B;
    const gc_eval_options *o;
    int *order;            /* pixels, most salient first                  */
    float *blurred;        /* insertion's start                           */
    float *explanation;    /* Average Drop's image                        */
    unsigned char *removed;
    double *field;
    int nomem;             /* an imputation ran out of memory             */
} eval;

typedef struct ranked {
    float v;
    int i;
} ranked;

static int by_saliency(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->v != y->v)
        return x->v > y->v ? -1 : 1;
    return x->i - y->i;
}

static double class_prob(const float *logits, int n, int c)
{
    double mx = logits[0], sum = 0;
    for (int k = 1; k < n; k++)
        mx = logits[k] > mx ? logits[k] : mx;
    for (int k = 0; k < n; k++)
        sum += exp((double)logits[k] - mx);
    return exp((double)logits[c] - mx) / sum;
}

/* Image k of the sequence: 0 x; 1..S+1 deletion; S+2..2S+2 insertion;
 * then ROAD MoRF, ROAD LeRF (nroad each); last the explanation map.
 * removed, field: this thread's scratch (P bytes, P doubles). */
static void make(eval *e, int k, float *dst, unsigned char *removed, double *field)
{
    const int P = e->P, S = e->o->steps, R = e->o->nroad;
    const size_t n = 3 * (size_t)P;
    if (k == 0) {
        memcpy(dst, e->x, sizeof(float) * n);
    } else if (k <= S + 1 || k <= 2 * S + 2) {
        const int del = k <= S + 1, step = del ? k - 1 : k - S - 2;
        const int changed = (int)((int64_t)step * P / S);
        memcpy(dst, del ? e->x : e->blurred, sizeof(float) * n);
        for (int j = 0; j < changed; j++)
            for (int c = 0; c < 3; c++) {
                const size_t q = (size_t)c * P + e->order[j];
                dst[q] = del ? 0.0f : e->x[q];
            }
    } else if (k < 2 * S + 3 + 2 * R) {
        const int j = k - (2 * S + 3), lerf = j >= R, level = lerf ? j - R : j;
        const int m = (int)floor(e->o->road_fractions[level] * P + 0.5);
        memset(removed, 0, (size_t)P);
        for (int t = 0; t < m; t++)
            removed[e->order[lerf ? P - 1 - t : t]] = 1;
        if (impute(e->x, e->h, e->w, removed, e->o->road_noise, e->o->seed, 2 * level + lerf,
                   field, dst)) {
            #pragma omp atomic write
            e->nomem = 1;
        }
    } else {
        memcpy(dst, e->explanation, sizeof(float) * n);
    }
}

static void blur(const float *x, int h, int w, int size, double sigma, float *out, double *tmp)
{
    double g[64];
    const int r = size / 2;
    double sum = 0;
    for (int i = 0; i < size; i++)
        sum += g[i] = exp(-(double)(i - r) * (i - r) / (2 * sigma * sigma));
    for (int i = 0; i < size; i++)
        g[i] /= sum;
    for (int c = 0; c < 3; c++) {
        const float *xc = x + (size_t)c * h * w;
        for (int y = 0; y < h; y++) /* rows, zero padding */
            for (int q = 0; q < w; q++) {
                double s = 0;
                for (int i = 0; i < size; i++) {
                    const int qq = q + i - r;
                    if (qq >= 0 && qq < w)
                        s += g[i] * xc[y * w + qq];
                }
                tmp[y * w + q] = s;
            }
        for (int y = 0; y < h; y++) /* columns */
            for (int q = 0; q < w; q++) {
                double s = 0;
                for (int i = 0; i < size; i++) {
                    const int yy = y + i - r;
                    if (yy >= 0 && yy < h)
                        s += g[i] * tmp[yy * w + q];
                }
                out[(size_t)c * h * w + y * w + q] = (float)s;
            }
    }
}

static void explanation_map(const eval *e, const float *sal, float *out)
{
    float lo = sal[0], hi = sal[0];
    for (int q = 1; q < e->P; q++)
        lo = sal[q] < lo ? sal[q] : lo, hi = sal[q] > hi ? sal[q] : hi;
    for (int c = 0; c < 3; c++)
        for (int q = 0; q < e->P; q++) {
            const double L = hi > lo ? ((double)sal[q] - lo) / ((double)hi - lo) : 0.0;
            const double pixel = (double)e->x[(size_t)c * e->P + q] * e->o->std[c] + e->o->mean[c];
            out[(size_t)c * e->P + q] = (float)((pixel * L - e->o->mean[c]) / e->o->std[c]);
        }
}

static double auc(const double *p, int steps)
{
    double s = 0;
    for (int k = 0; k <= steps; k++)
        s += p[k];
    return (s - 0.5 * (p[0] + p[steps])) / steps;
}

gc_status gc_evaluate_map(gc_session *s, const float *x, int h, int w, int class_index,
                          const float *saliency, const gc_eval_options *opt, gc_eval *out,
                          gc_error *err)
{
    if (!s || !x || !saliency || !opt || !out || h < 1 || w < 1)
        return gc_fail(err, GC_ERR_USAGE, "evaluate: missing argument or empty image");
    if (opt->steps < 1 || opt->steps > 100000 || opt->batch < 1 || opt->batch > 4096 ||
        opt->nroad < 0 || opt->nroad > GC_EVAL_MAX_ROAD || opt->blur_size < 1 ||
        opt->blur_size > 63 || !(opt->blur_sigma > 0))
        return gc_fail(err, GC_ERR_USAGE, "evaluate: steps 1-100000, batch 1-4096, at most %d "
                       "ROAD fractions, blur size 1-63 and sigma > 0", GC_EVAL_MAX_ROAD);
    for (int k = 0; k < opt->nroad; k++)
        if (!(opt->road_fractions[k] > 0 && opt->road_fractions[k] < 1))
            return gc_fail(err, GC_ERR_USAGE, "evaluate: ROAD fractions lie in (0, 1)");
    for (int c = 0; c < 3; c++)
        if (!(opt->std[c] != 0))
            return gc_fail(err, GC_ERR_USAGE, "evaluate: std must not be 0");
    const int classes = s->m->num_classes;
    if (class_index < 0 || class_index >= classes)
        return gc_fail(err, GC_ERR_USAGE, "evaluate: class %d is out of range (0-%d)",
                       class_index, classes - 1);
    const int P = h * w, S = opt->steps, total = 2 * S + 4 + 2 * opt->nroad;
    const size_t n = 3 * (size_t)P;
    eval e = {.s = s, .x = x, .h = h, .w = w, .P = P, .cls = class_index, .classes = classes,
              .B = opt->batch < total ? opt->batch : total, .o = opt};
    ranked *rk = gc_calloc((size_t)P, sizeof *rk, err);
    double *tmp = gc_calloc((size_t)P, sizeof(double), err), *probs =
        gc_calloc((size_t)total, sizeof(double), err);
    e.order = gc_calloc((size_t)P, sizeof(int), err);
    e.blurred = gc_calloc(n, sizeof(float), err);
    e.explanation = gc_calloc(n, sizeof(float), err);
    e.removed = gc_calloc((size_t)P * e.B, 1, err);
    e.field = gc_calloc((size_t)P * e.B, sizeof(double), err);
    float *batch = gc_calloc(n * (size_t)e.B, sizeof(float), err);
    float *logits = gc_calloc((size_t)e.B * classes, sizeof(float), err);
    gc_status st = GC_OK;
    if (!rk || !tmp || !probs || !e.order || !e.blurred || !e.explanation || !e.removed ||
        !batch || !logits || !e.field) {
        st = GC_ERR_NOMEM;
        goto out;
    }
    for (int q = 0; q < P; q++)
        rk[q].v = saliency[q], rk[q].i = q;
    qsort(rk, (size_t)P, sizeof *rk, by_saliency);
    for (int q = 0; q < P; q++)
        e.order[q] = rk[q].i;
    blur(x, h, w, opt->blur_size, opt->blur_sigma, e.blurred, tmp);
    explanation_map(&e, saliency, e.explanation);
    /* A fixed batch size keeps the session's plan: the last batch is
     * padded with copies of its first image. */
    for (int k0 = 0; k0 < total && !st; k0 += e.B) {
        const int count = total - k0 < e.B ? total - k0 : e.B;
        /* ROAD's imputations dominate the cost: the batch's images are
         * made in parallel, each with its own scratch. */
        #pragma omp parallel for schedule(dynamic, 1)
        for (int b = 0; b < e.B; b++)
            make(&e, k0 + (b < count ? b : 0), batch + n * b, e.removed + (size_t)P * b,
                 e.field + (size_t)P * b);
        if (e.nomem) {
            st = gc_fail(err, GC_ERR_NOMEM, "evaluate: out of memory");
            break;
        }
        st = gc_predict(s, batch, e.B, h, w, logits, err);
        for (int b = 0; b < count && !st; b++)
            probs[k0 + b] = class_prob(logits + (size_t)b * classes, classes, class_index);
    }
    if (!st) {
        memset(out, 0, sizeof *out);
        out->p = probs[0];
        out->deletion = auc(probs + 1, S);
        out->insertion = auc(probs + S + 2, S);
        double morf = 0, lerf = 0;
        for (int j = 0; j < opt->nroad; j++) {
            out->road_morf_curve[j] = probs[2 * S + 3 + j];
            out->road_lerf_curve[j] = probs[2 * S + 3 + opt->nroad + j];
            morf += out->road_morf_curve[j], lerf += out->road_lerf_curve[j];
        }
        out->road_morf = opt->nroad ? morf / opt->nroad : 0;
        out->road_lerf = opt->nroad ? lerf / opt->nroad : 0;
        out->road = out->road_lerf - out->road_morf;
        out->p_explanation = probs[total - 1];
        out->drop = fmax(0.0, out->p - out->p_explanation) / out->p;
        out->increase = out->p_explanation > out->p;
    }
out:
    free(rk), free(tmp), free(probs), free(e.order), free(e.blurred), free(e.explanation);
    free(e.removed), free(e.field), free(batch), free(logits);
    return st;
}

void gc_pointing_game(const float *map, int h, int w, const unsigned char *inside, int *hit,
                      double *energy)
{
    const int P = h * w;
    int best = 0;
    double in = 0, all = 0;
    for (int q = 0; q < P; q++) {
        best = map[q] > map[best] ? q : best;
        const double v = map[q] > 0 ? map[q] : 0;
        all += v;
        in += inside[q] ? v : 0;
    }
    *hit = P > 0 && inside[best] != 0;
    *energy = all > 0 ? in / all : 0.0;
}
