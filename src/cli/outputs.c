/* outputs.c — writing what `gradcam explain` produces. */
#include "cli/outputs.h"
#include "cli/inputs.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int name_taken(char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

void cli_stems_free(cli_stems *s)
{
    for (int i = 0; s->name && i < s->n; i++)
        free(s->name[i]);
    free(s->name);
    free(s->same_as);
    memset(s, 0, sizeof *s);
}

/* Quadratic in the inputs, which is nothing next to explaining each one. */
int cli_name_outputs(const char *const *paths, int n, cli_stems *s)
{
    size_t count = n > 0 ? (size_t)n : 1;
    char **own = calloc(count, sizeof *own); /* each input's file stem */
    int *next = malloc(sizeof(int) * count);  /* a first input's next namesake number */
    s->n = n;
    s->name = calloc(count, sizeof *s->name);
    s->same_as = malloc(sizeof(int) * count);
    int ok = own && next && s->name && s->same_as;
    char buf[1024], candidate[1100];
    for (int i = 0; ok && i < n; i++) {
        cli_stem(paths[i], buf, sizeof buf);
        ok = (own[i] = strdup(buf)) != NULL;
    }
    for (int i = 0; ok && i < n; i++) {
        s->same_as[i] = -1;
        for (int j = 0; j < i && s->same_as[i] < 0; j++)
            if (strcmp(own[j], own[i]) == 0)
                s->same_as[i] = j;
        int first = s->same_as[i];
        if (first < 0) {
            next[i] = 2;
            ok = (s->name[i] = strdup(own[i])) != NULL;
            continue;
        }
        do
            snprintf(candidate, sizeof candidate, "%s-%d", own[i], next[first]++);
        while (name_taken(own, n, candidate) || name_taken(s->name, i, candidate));
        ok = (s->name[i] = strdup(candidate)) != NULL;
    }
    for (int i = 0; own && i < n; i++)
        free(own[i]);
    free(own);
    free(next);
    if (!ok) {
        cli_stems_free(s);
        fprintf(stderr, "gradcam: out of memory\n");
        return EXIT_BAD_INPUT;
    }
    return EXIT_OK;
}

/* What explain writes per method, named in one place so that the writers
 * and the JSON's list of files agree. */
typedef enum { FILE_ARRAY, FILE_FIGURE, FILE_PICTURE, FILE_KINDS } method_file;

/* "STEM.METHOD.cam.npy" and its kin; "" for a file the method has not:
 * a guided method gives an image, not a map, so STEM.METHOD.npy
 * [n,3,H,W] and STEM.METHOD.png, and no figure. */
static void method_file_name(char *buf, size_t cap, const char *stem, gc_method m,
                             method_file kind)
{
    static const char *const ends[FILE_KINDS][2] = {
        /* map methods, guided methods */
        [FILE_ARRAY] = {".cam.npy", ".npy"},
        [FILE_FIGURE] = {".figure.png", NULL},
        [FILE_PICTURE] = {".overlay.png", ".png"},
    };
    const char *end = ends[kind][gc_method_is_image(m) != 0];
    if (end)
        snprintf(buf, cap, "%s.%s%s", stem, gc_method_name(m), end);
    else
        buf[0] = '\0';
}

static void join(char *path, size_t cap, const char *dir, const char *name)
{
    snprintf(path, cap, "%s/%s", dir, name);
}

int cli_make_dir(const char *dir)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) {
        fprintf(stderr, "gradcam: output directory name too long\n");
        return EXIT_USAGE;
    }
    for (char *p = buf + 1;; p++) {
        int end = *p == '\0';
        if (*p == '/' || end) {
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                fprintf(stderr, "gradcam: cannot create output directory %s: %s\n", buf,
                        strerror(errno));
                return EXIT_BAD_INPUT;
            }
            if (end)
                break;
            *p = '/';
        }
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK) != 0) {
        fprintf(stderr, "gradcam: output directory %s is not a writable directory\n", dir);
        return EXIT_BAD_INPUT;
    }
    return EXIT_OK;
}

int cli_write_arrays(const char *dir, const char *stem, const gc_result *r)
{
    char name[2048], path[4096];
    gc_error err = {0};
    int64_t logit_shape[2] = {r->n, r->classes};
    for (int k = 0; k < r->nmethods; k++) {
        int image = gc_method_is_image(r->methods[k]);
        int64_t cam_shape[3] = {r->n, r->map_h[k], r->map_w[k]};
        int64_t image_shape[4] = {r->n, 3, r->map_h[k], r->map_w[k]};
        method_file_name(name, sizeof name, stem, r->methods[k], FILE_ARRAY);
        join(path, sizeof path, dir, name);
        if (gc_npy_write(path, r->maps[k], image ? 4 : 3, image ? image_shape : cam_shape, &err))
            return cli_report(&err);
    }
    snprintf(path, sizeof path, "%s/%s.logits.npy", dir, stem);
    if (gc_npy_write(path, r->logits, 2, logit_shape, &err))
        return cli_report(&err);
    return EXIT_OK;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The map at the photo's size, divided by its maximum (the seed's
 * normalisation); an all-zero map stays zero instead of dividing by 0. */
static float *photo_heat(const float *map, int w, int h, const gc_image *photo)
{
    size_t count = (size_t)photo->width * photo->height;
    float *heat = malloc(sizeof(float) * count);
    if (!heat)
        return NULL;
    gc_resize_bilinear_f32(map, w, h, heat, photo->width, photo->height);
    float mx = 0.0f;
    for (size_t i = 0; i < count; i++)
        mx = heat[i] > mx ? heat[i] : mx;
    for (size_t i = 0; i < count; i++)
        heat[i] = mx > 0.0f ? heat[i] / mx : 0.0f;
    return heat;
}

static void add_name(cJSON *files, const char *stem, const char *end)
{
    char name[2048];
    snprintf(name, sizeof name, "%s%s", stem, end);
    cJSON_AddItemToArray(files, cJSON_CreateString(name));
}

/* Every file written for this image and class (tests/python/test_cli_strict.py
 * holds the list to what is on disk). */
static void add_file_list(cJSON *root, const cli_visual *v)
{
    const gc_result *r = v->result;
    char name[2048];
    cJSON *files = cJSON_AddArrayToObject(root, "files");
    for (int k = 0; k < r->nmethods; k++)
        for (int kind = 0; kind < FILE_KINDS; kind++) {
            method_file_name(name, sizeof name, v->stem, r->methods[k], (method_file)kind);
            if (name[0])
                cJSON_AddItemToArray(files, cJSON_CreateString(name));
        }
    add_name(files, v->stem, ".logits.npy");
    if (r->nmethods > 1)
        add_name(files, v->stem, ".methods.png");
    add_name(files, v->stem, ".json");
}

void cli_file_list(cJSON *root, const cli_visual *v)
{
    add_file_list(root, v);
}

static int write_json(const cli_visual *v, const float *probs, double render_ms)
{
    const gc_result *r = v->result;
    int classes = r->classes, k = classes < 5 ? classes : 5, idx[5];
    cli_top_k(probs, classes, k, idx);
    char buf[32], path[4096];
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "image", v->image_path);
    /* Inputs sharing a file stem are named apart (cli_name_outputs); this
     * says which image the files are of, and why the name has a number. */
    cJSON_AddStringToObject(root, "stem", v->stem);
    if (v->same_stem_as)
        cJSON_AddStringToObject(root, "same_stem_as", v->same_stem_as);
    else
        cJSON_AddNullToObject(root, "same_stem_as");
    add_file_list(root, v);
    cJSON_AddNumberToObject(root, "width", v->photo->width);
    cJSON_AddNumberToObject(root, "height", v->photo->height);
    cJSON_AddStringToObject(root, "model", v->model_path);
    cJSON_AddStringToObject(root, "arch", gc_model_arch(v->model));
    cJSON_AddStringToObject(root, "layer", v->layer);
    cJSON *methods = cJSON_AddArrayToObject(root, "methods");
    for (int k = 0; k < r->nmethods; k++)
        cJSON_AddItemToArray(methods, cJSON_CreateString(gc_method_name(r->methods[k])));
    cJSON_AddBoolToObject(root, "counterfactual", v->counterfactual);
    cJSON *cls = cJSON_AddObjectToObject(root, "class");
    cJSON_AddNumberToObject(cls, "index", r->class_index[0]);
    cJSON_AddStringToObject(cls, "name", cli_class_name(v->model, r->class_index[0], buf, sizeof buf));
    cJSON_AddNumberToObject(cls, "probability", probs[r->class_index[0]]);
    cJSON *top = cJSON_AddArrayToObject(root, "top5");
    for (int j = 0; j < k; j++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "index", idx[j]);
        cJSON_AddStringToObject(e, "name", cli_class_name(v->model, idx[j], buf, sizeof buf));
        cJSON_AddNumberToObject(e, "probability", probs[idx[j]]);
        cJSON_AddItemToArray(top, e);
    }
    cJSON *shape = cJSON_AddArrayToObject(root, "cam_shape");
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(r->cam_h));
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(r->cam_w));
    cJSON *t = cJSON_AddObjectToObject(root, "timings_ms");
    cJSON_AddNumberToObject(t, "load_image", v->load_ms);
    cJSON_AddNumberToObject(t, "forward", r->forward_ms);
    cJSON_AddNumberToObject(t, "backward_and_maps", r->methods_ms);
    cJSON_AddNumberToObject(t, "render", render_ms);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) {
        fprintf(stderr, "gradcam: out of memory writing JSON\n");
        return EXIT_BAD_INPUT;
    }
    char tmp[4200];
    snprintf(path, sizeof path, "%s/%s.json", v->dir, v->stem);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    int ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    ok = (f && fclose(f) == 0) && ok;
    free(text);
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "gradcam: cannot write %s: %s\n", path, strerror(errno));
        remove(tmp);
        return EXIT_BAD_INPUT;
    }
    return EXIT_OK;
}

/* A gradient picture as an image, the usual way: centred, scaled to unit
 * standard deviation, then mapped to 0.5 +- 0.1 per deviation. The image
 * is left in img for the comparison grid. */
static int write_gradient_image(const char *path, const float *g, int w, int h, gc_image *img_out)
{
    gc_error err = {0};
    gc_image img;
    if (gc_image_alloc(&img, w, h, &err))
        return cli_report(&err);
    size_t plane = (size_t)w * h, count = 3 * plane;
    double mean = 0.0, var = 0.0;
    for (size_t i = 0; i < count; i++)
        mean += g[i];
    mean /= count;
    for (size_t i = 0; i < count; i++)
        var += (g[i] - mean) * (g[i] - mean);
    double sd = sqrt(var / count) + 1e-5;
    for (int ch = 0; ch < 3; ch++)
        for (size_t p = 0; p < plane; p++) {
            double v = ((g[ch * plane + p] - mean) / sd) * 0.1 + 0.5;
            v = v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
            img.pixels[p * 3 + ch] = (unsigned char)lrint(v * 255.0);
        }
    int rc = gc_image_write_png(path, &img, &err) ? cli_report(&err) : EXIT_OK;
    *img_out = img;
    return rc;
}

/* Method k's files; *tile gets the picture for the comparison grid (the
 * overlay, or the gradient picture at the photo's size). */
static int write_method_visuals(const cli_visual *v, int k, const float *probs, gc_image *tile)
{
    const gc_result *r = v->result;
    const char *method = gc_method_name(r->methods[k]);
    char name[2048], path[4096];
    gc_error err = {0};
    method_file_name(name, sizeof name, v->stem, r->methods[k], FILE_PICTURE);
    join(path, sizeof path, v->dir, name);
    if (gc_method_is_image(r->methods[k])) {
        gc_image picture = {0};
        int rc = write_gradient_image(path, r->maps[k], r->map_w[k], r->map_h[k], &picture);
        if (!rc && gc_image_resize_cv(&picture, v->photo->width, v->photo->height, tile, &err))
            rc = cli_report(&err);
        gc_image_free(&picture);
        return rc;
    }
    gc_image overlay = {0};
    int rc = EXIT_OK;
    float *heat = photo_heat(r->maps[k], r->map_w[k], r->map_h[k], v->photo);
    if (!heat) {
        fprintf(stderr, "gradcam: out of memory\n");
        return EXIT_BAD_INPUT;
    }
    char title[256], buf[32];
    int c = r->class_index[0];
    snprintf(title, sizeof title, "%s%s (p=%.3f) — %s at %s", v->counterfactual ? "against " : "",
             cli_class_name(v->model, c, buf, sizeof buf), probs[c], method, v->layer);
    char figure[4096];
    method_file_name(name, sizeof name, v->stem, r->methods[k], FILE_FIGURE);
    join(figure, sizeof figure, v->dir, name);
    if (gc_render_figure(figure, v->photo, heat, title, 0.6f, &err)) {
        rc = cli_report(&err);
        goto out;
    }
    if (gc_render_overlay(v->photo, heat, &overlay, &err) ||
        gc_image_write_png(path, &overlay, &err))
        rc = cli_report(&err);
out:
    *tile = overlay; /* the caller frees it */
    free(heat);
    return rc;
}

/* Every method's picture side by side: STEM.methods.png. */
static int write_grid(const cli_visual *v, const gc_image *tiles, const float *probs)
{
    const gc_result *r = v->result;
    const char *captions[GC_METHOD_COUNT];
    for (int k = 0; k < r->nmethods; k++)
        captions[k] = gc_method_name(r->methods[k]);
    char path[4096], title[256], buf[32];
    int c = r->class_index[0];
    snprintf(title, sizeof title, "%s%s (p=%.3f) at %s", v->counterfactual ? "against " : "",
             cli_class_name(v->model, c, buf, sizeof buf), probs[c], v->layer);
    snprintf(path, sizeof path, "%s/%s.methods.png", v->dir, v->stem);
    gc_error err = {0};
    return gc_render_grid(path, tiles, captions, r->nmethods, title, &err) ? cli_report(&err)
                                                                          : EXIT_OK;
}

/* For a segmentation output [K, H, W]: probs[c] = the share of pixels
 * where class c wins, for c < K; 0 for every other score. */
static void pixel_shares(const gc_result *r, float *probs)
{
    const int k = r->out_c;
    const size_t hw = (size_t)r->out_h * r->out_w;
    for (int c = 0; c < r->classes; c++)
        probs[c] = 0.0f;
    for (size_t p = 0; p < hw; p++) {
        int best = 0;
        for (int c = 1; c < k; c++)
            if (r->logits[c * hw + p] > r->logits[best * hw + p])
                best = c;
        probs[best] += 1.0f / (float)hw;
    }
}

int cli_write_visuals(const cli_visual *v)
{
    double t0 = now_ms();
    const gc_result *r = v->result;
    int rc = EXIT_OK;
    float *probs = malloc(sizeof(float) * r->classes);
    if (!probs) {
        fprintf(stderr, "gradcam: out of memory\n");
        return EXIT_BAD_INPUT;
    }
    if (v->segment) /* the share of the output's pixels each class wins */
        pixel_shares(r, probs);
    else
        gc_softmax(r->logits, r->classes, probs);
    gc_image tiles[GC_METHOD_COUNT] = {{0}};
    for (int k = 0; k < r->nmethods && !rc; k++)
        rc = write_method_visuals(v, k, probs, &tiles[k]);
    if (!rc && r->nmethods > 1)
        rc = write_grid(v, tiles, probs);
    if (!rc)
        rc = write_json(v, probs, now_ms() - t0);
    for (int k = 0; k < r->nmethods; k++)
        gc_image_free(&tiles[k]);
    free(probs);
    return rc;
}
