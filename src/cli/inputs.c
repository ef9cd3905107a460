/* inputs.c — turning command-line inputs into normalised tensors: image
 * files through the model's preprocessing, or a ready-made .npy batch. */
#include "cli/inputs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* "0.485,0.456,0.406" -> three numbers (positive ones for --std). */
static int parse_triple(const char *opt, const char *text, int positive, float out[3])
{
    const char *s = text;
    for (int i = 0; i < 3; i++) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || (i < 2 ? *end != ',' : *end != '\0') || !(v == v) ||
            (positive && !(v > 0.0)))
        {
            fprintf(stderr, "gradcam: --%s needs three %snumbers like 0.5,0.5,0.5, not '%s'\n",
                    opt, positive ? "positive " : "", text);
            return EXIT_USAGE;
        }
        out[i] = (float)v;
        s = end + 1;
    }
    return EXIT_OK;
}

int cli_preprocess_from_args(const cli_args *a, const gc_model *m, gc_preprocess *p)
{
    *p = gc_model_preprocess(m);
    int rc;
    if (a->mean && (rc = parse_triple("mean", a->mean, 0, p->mean)))
        return rc;
    if (a->std && (rc = parse_triple("std", a->std, 1, p->std)))
        return rc;
    if (a->input_size) {
        char *end;
        long v = strtol(a->input_size, &end, 10);
        if (!*a->input_size || *end || v < 8 || v > 4096)
        {
            fprintf(stderr, "gradcam: --input-size needs an integer 8-4096, not '%s'\n",
                    a->input_size);
            return EXIT_USAGE;
        }
        p->size = (int)v;
    }
    if (!a->preprocess)
        return EXIT_OK;
    if (strcmp(a->preprocess, "stretch") == 0) {
        p->mode = GC_PREPROCESS_STRETCH;
        return EXIT_OK;
    }
    if (strcmp(a->preprocess, "crop") == 0) {
        p->mode = GC_PREPROCESS_CROP;
        return EXIT_OK;
    }
    fprintf(stderr, "gradcam: --preprocess is 'stretch' or 'crop', not '%s'\n", a->preprocess);
    return EXIT_USAGE;
}

gc_status cli_read_image_tensor(const char *path, const gc_limits *lim, const gc_preprocess *p,
                                gc_image *photo, float **x, gc_error *err)
{
    *x = NULL;
    gc_status st = gc_image_load_limited(path, lim, photo, err);
    if (st)
        return st;
    *x = malloc(sizeof(float) * 3 * (size_t)p->size * p->size);
    if (!*x) {
        err->status = st = GC_ERR_NOMEM;
        snprintf(err->msg, sizeof err->msg, "%s: out of memory", path);
    } else
        st = gc_image_to_tensor(photo, p, *x, err);
    if (st) {
        free(*x);
        *x = NULL;
        gc_image_free(photo);
    }
    return st;
}

int cli_load_image_tensor(const char *path, const gc_limits *lim, const gc_preprocess *p,
                          gc_image *photo, float **x)
{
    gc_error err = {0};
    return cli_read_image_tensor(path, lim, p, photo, x, &err) ? cli_report(&err) : EXIT_OK;
}

static int is_directory(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int cli_refuse_directories(const cli_args *a)
{
    for (int i = 0; i < a->npositional; i++)
        if (is_directory(a->positional[i])) {
            const char *p = a->positional[i];
            size_t len = strlen(p);
            fprintf(stderr, "gradcam: %s: is a directory, not an image (name the images in it, "
                    "e.g. %s%s*.jpg)\n", p, p, len && p[len - 1] == '/' ? "" : "/");
            return EXIT_BAD_INPUT;
        }
    if (is_directory(a->input_npy)) {
        fprintf(stderr, "gradcam: %s: is a directory, not a .npy file\n", a->input_npy);
        return EXIT_BAD_INPUT;
    }
    if (is_directory(a->labels)) {
        fprintf(stderr, "gradcam: %s: is a directory, not a file of class names\n", a->labels);
        return EXIT_BAD_INPUT;
    }
    return EXIT_OK;
}

int cli_load_npy_batch(const char *path, gc_array *x)
{
    gc_error err = {0};
    if (gc_npy_read(path, x, &err))
        return cli_report(&err);
    if (x->ndim != 4 || x->shape[1] != 3 || x->shape[0] < 1 || x->shape[2] < 1 ||
        x->shape[3] < 1 || x->shape[0] > 100000 || x->shape[2] > 100000 ||
        x->shape[3] > 100000) {
        fprintf(stderr, "gradcam: %s: expected a float32 array [N,3,H,W]\n", path);
        gc_array_free(x);
        return EXIT_BAD_INPUT;
    }
    return EXIT_OK;
}

void cli_stem(const char *path, char *buf, size_t cap)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(buf, cap, "%s", base);
    char *dot = strrchr(buf, '.');
    if (dot && dot != buf)
        *dot = '\0';
}
