/* metrics_run.c — see metrics_run.h. */
#include "cli/metrics_run.h"

#include <stdio.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A baseline's map at the input's resolution: uniform noise from the image's
 * index, or a centred Gaussian (sigma a quarter of the side). */
static void baseline_map(int kind, int index, int S, float *out)
{
    uint64_t z = 0x2545F4914F6CDD1Dull ^ (uint64_t)index * 0x9E3779B97F4A7C15ull;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            if (kind == 0) {
                z += 0x9E3779B97F4A7C15ull; /* splitmix64 */
                uint64_t v = z;
                v = (v ^ (v >> 30)) * 0xBF58476D1CE4E5B9ull;
                v = (v ^ (v >> 27)) * 0x94D049BB133111EBull;
                out[y * S + x] = (float)((double)((v ^ (v >> 31)) >> 11) * 0x1p-53);
            } else {
                const double c = (S - 1) / 2.0, s = S / 4.0;
                const double d2 = (x - c) * (x - c) + (y - c) * (y - c);
                out[y * S + x] = (float)exp(-d2 / (2 * s * s));
            }
        }
}

/* The box or the mask as photo-sized bytes (nonzero: inside), or NULL. */
static unsigned char *region(const cli_item *in, const gc_image *photo, const gc_limits *lim,
                             gc_error *err)
{
    const int W = photo->width, H = photo->height;
    unsigned char *r = calloc((size_t)W * H, 1);
    if (!r) {
        err->status = GC_ERR_NOMEM;
        snprintf(err->msg, sizeof err->msg, "%s: out of memory", in->path);
        return NULL;
    }
    if (in->has_box) {
        const int x0 = (int)fmax(0, ceil(in->box[0])), y0 = (int)fmax(0, ceil(in->box[1]));
        const int x1 = (int)fmin(W - 1, floor(in->box[2])), y1 = (int)fmin(H - 1, floor(in->box[3]));
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++)
                r[(size_t)y * W + x] = 1;
    }
    if (in->mask) {
        gc_image m;
        if (gc_image_load_limited(in->mask, lim, &m, err)) {
            free(r);
            return NULL;
        }
        if (m.width != W || m.height != H) {
            err->status = GC_ERR_USAGE;
            snprintf(err->msg, sizeof err->msg, "%.200s: the mask is %dx%d, its image %dx%d",
                     in->mask, m.width, m.height, W, H);
            gc_image_free(&m);
            free(r);
            return NULL;
        }
        for (size_t q = 0; q < (size_t)W * H; q++)
            r[q] |= (m.pixels[3 * q] | m.pixels[3 * q + 1] | m.pixels[3 * q + 2]) != 0;
        gc_image_free(&m);
    }
    return r;
}

static cJSON *to_json(const gc_eval *e)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "deletion", e->deletion);
    cJSON_AddNumberToObject(o, "insertion", e->insertion);
    cJSON_AddNumberToObject(o, "road_morf", e->road_morf);
    cJSON_AddNumberToObject(o, "road_lerf", e->road_lerf);
    cJSON_AddNumberToObject(o, "road", e->road);
    cJSON_AddNumberToObject(o, "drop", e->drop);
    cJSON_AddBoolToObject(o, "increase", e->increase);
    cJSON_AddNumberToObject(o, "p", e->p);
    cJSON_AddNumberToObject(o, "p_explanation", e->p_explanation);
    return o;
}

/* One map (S x S) evaluated; localisation at the photo's size. */
static gc_status one_map(gc_session *eval, const cli_set_run *run, const float *x, int cls,
                         const float *sal, const unsigned char *inside, const gc_image *photo,
                         const char *name, cJSON *out, gc_error *err)
{
    const int S = run->pre->size;
    gc_eval_options opt = gc_eval_defaults(run->pre);
    if (run->a->steps)
        opt.steps = run->a->steps;
    gc_eval e;
    gc_status st = gc_evaluate_map(eval, x, S, S, cls, sal, &opt, &e, err);
    if (st)
        return st;
    cJSON *o = to_json(&e);
    if (inside) {
        const int W = photo->width, H = photo->height;
        float *big = malloc(sizeof(float) * (size_t)W * H);
        if (!big) {
            cJSON_Delete(o);
            err->status = GC_ERR_NOMEM;
            snprintf(err->msg, sizeof err->msg, "out of memory");
            return GC_ERR_NOMEM;
        }
        gc_resize_bilinear_f32(sal, S, S, big, W, H);
        int hit;
        double energy;
        gc_pointing_game(big, H, W, inside, &hit, &energy);
        cJSON_AddBoolToObject(o, "pointing", hit);
        cJSON_AddNumberToObject(o, "energy", energy);
        free(big);
    }
    cJSON_AddItemToObject(out, name, o);
    return GC_OK;
}

gc_status cli_metrics_for_image(const cli_set_run *run, gc_session *eval, const cli_item *in,
                                int index, const gc_image *photo, const float *x,
                                const gc_result *r, cJSON **out, gc_error *err)
{
    const int S = run->pre->size;
    unsigned char *inside = NULL;
    *out = NULL;
    if (in->has_box || in->mask) {
        if (run->pre->mode != GC_PREPROCESS_STRETCH) {
            err->status = GC_ERR_USAGE;
            snprintf(err->msg, sizeof err->msg, "%.300s: boxes and masks need --preprocess "
                     "stretch", in->path);
            return GC_ERR_USAGE;
        }
        if (!(inside = region(in, photo, &run->a->limits, err)))
            return err->status;
    }
    float *sal = malloc(sizeof(float) * (size_t)S * S);
    cJSON *o = cJSON_CreateObject();
    gc_status st = sal && o ? GC_OK : GC_ERR_NOMEM;
    for (int k = 0; k < r->nmethods && !st; k++) {
        if (gc_method_is_image(r->methods[k]))
            continue;
        gc_resize_bilinear_f32(r->maps[k], r->map_w[k], r->map_h[k], sal, S, S);
        st = one_map(eval, run, x, r->class_index[0], sal, inside, photo,
                     gc_method_name(r->methods[k]), o, err);
    }
    for (int b = 0; b < 2 && run->a->baselines && !st; b++) {
        baseline_map(b, index, S, sal);
        st = one_map(eval, run, x, r->class_index[0], sal, inside, photo,
                     b ? "baseline_gaussian" : "baseline_random", o, err);
    }
    if (st == GC_ERR_NOMEM && !err->msg[0])
        snprintf(err->msg, sizeof err->msg, "%s: out of memory", in->path);
    free(sal);
    free(inside);
    if (st)
        cJSON_Delete(o);
    else
        *out = o;
    return st;
}

int cli_sanity_open(const cli_args *a, const gc_model *m, cli_sanity *s)
{
    memset(s, 0, sizeof *s);
    const char *p = a->sanity;
    while (*p) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof s->names[0] || s->n == CLI_MAX_SANITY) {
            cli_sanity_close(s);
            return cli_usage_error("explain", "--sanity is a comma-separated list of at most "
                                   "%d layers, not '%s'", CLI_MAX_SANITY, a->sanity);
        }
        memcpy(s->names[s->n], p, len);
        s->names[s->n][len] = '\0';
        gc_error err = {0};
        int rc = cli_open_model(a, &s->models[s->n]);
        if (rc) {
            cli_sanity_close(s);
            return rc;
        }
        s->n++;
        if (gc_model_randomise(s->models[s->n - 1], s->names[s->n - 1], 1, &err) ||
            gc_session_new(s->models[s->n - 1], &s->sessions[s->n - 1], &err)) {
            cli_sanity_close(s);
            return cli_report(&err);
        }
        p += len + (p[len] == ',');
    }
    (void)m;
    return EXIT_OK;
}

void cli_sanity_close(cli_sanity *s)
{
    for (int k = 0; k < s->n; k++) {
        gc_session_free(s->sessions[k]);
        gc_model_free(s->models[k]);
    }
    memset(s, 0, sizeof *s);
}

gc_status cli_sanity_for_image(const cli_sanity *s, const gc_request *req, const float *x,
                               int size, const gc_result *r, cJSON **out, float **maps,
                               gc_error *err)
{
    const int hw = r->map_h[0] * r->map_w[0];
    *out = NULL;
    *maps = malloc(sizeof(float) * (size_t)hw * s->n);
    if (!*maps) {
        err->status = GC_ERR_NOMEM;
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return GC_ERR_NOMEM;
    }
    gc_request q = *req;
    q.class_index = r->class_index[0];
    q.nmethods = 1;
    cJSON *o = cJSON_CreateObject();
    for (int k = 0; k < s->n; k++) {
        gc_result rr;
        gc_status st = gc_explain(s->sessions[k], x, 1, size, size, &q, &rr, err);
        if (!st && rr.map_h[0] * rr.map_w[0] != hw) {
            gc_result_free(&rr);
            st = err->status = GC_ERR_INTERNAL;
            snprintf(err->msg, sizeof err->msg, "--sanity: the randomised map has another size");
        }
        if (st) {
            cJSON_Delete(o);
            free(*maps);
            *maps = NULL;
            return st;
        }
        memcpy(*maps + (size_t)k * hw, rr.maps[0], sizeof(float) * (size_t)hw);
        cJSON_AddNumberToObject(o, s->names[k], gc_spearman(r->maps[0], rr.maps[0], hw));
        gc_result_free(&rr);
    }
    *out = o;
    return GC_OK;
}

int cli_sanity_write(const cli_sanity *s, const char *dir, const char *name, const gc_result *r,
                     const float *maps)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    const int64_t shape[3] = {s->n, r->map_h[0], r->map_w[0]};
    gc_error err = {0};
    return gc_npy_write(path, maps, 3, shape, &err) ? cli_report(&err) : 0;
}
