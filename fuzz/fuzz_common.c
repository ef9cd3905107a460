/* fuzz_common.c — see fuzz_common.h. */
#define _GNU_SOURCE
#include "fuzz_common.h"

#include "arch/resnet.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[512];
static char pathbuf[1024];

static void cleanup(void)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

const char *fz_tmpdir(void)
{
    if (dir[0])
        return dir;
    /* Memory-backed when possible: a file per input on a real disk costs
     * more than parsing it. */
    const char *base = getenv("TMPDIR");
    if (access("/dev/shm", W_OK) == 0)
        base = "/dev/shm";
    else if (!base || !*base)
        base = "/tmp";
    snprintf(dir, sizeof dir, "%s/gc_fuzz.XXXXXX", base);
    if (!mkdtemp(dir)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(cleanup);
    return dir;
}

const char *fz_path(const char *name)
{
    snprintf(pathbuf, sizeof pathbuf, "%s/%s", fz_tmpdir(), name);
    return pathbuf;
}

void fz_write(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f)) {
        perror("fuzz: writing the input file");
        abort();
    }
}

void fz_check(gc_status st, const gc_error *err)
{
    if (st == GC_OK)
        return;
    size_t n = strnlen(err->msg, sizeof err->msg);
    if (err->status != st || n == 0 || n == sizeof err->msg || strchr(err->msg, '\n')) {
        fprintf(stderr, "fuzz: error contract broken: status %d vs err.status %d, msg '%.*s'\n",
                (int)st, (int)err->status, (int)(n < 600 ? n : 600), err->msg);
        abort();
    }
}

int fz_sd_put(gc_state_dict *sd, const char *name, int ndim, const int64_t *shape)
{
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++)
        numel *= shape[i];
    gc_sd_tensor *t = NULL;
    for (int i = 0; i < sd->count; i++)
        if (!strcmp(sd->tensors[i].name, name))
            t = &sd->tensors[i];
    if (!t) {
        gc_sd_tensor *grown = realloc(sd->tensors, (size_t)(sd->count + 1) * sizeof *grown);
        if (!grown)
            return -1;
        sd->tensors = grown;
        t = &sd->tensors[sd->count++];
        memset(t, 0, sizeof *t);
        if (!(t->name = strdup(name)))
            return -1;
    }
    free(t->data);
    t->ndim = ndim;
    if (ndim)
        memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->numel = numel;
    if (!(t->data = malloc((size_t)(numel ? numel : 1) * sizeof(float))))
        return -1;
    /* Deterministic, small, and positive where it matters (running_var). */
    uint32_t s = 2166136261u;
    for (const char *c = name; *c; c++)
        s = (s ^ (uint8_t)*c) * 16777619u;
    int positive = strstr(name, "running_var") != NULL;
    for (int64_t i = 0; i < numel; i++) {
        s = s * 1664525u + 1013904223u;
        float v = (float)(s >> 8) / 16777216.0f; /* [0, 1) */
        t->data[i] = positive ? 0.5f + v : 0.2f * (v - 0.5f);
    }
    return 0;
}

static int put_bn(gc_state_dict *sd, const char *prefix, int c)
{
    static const char *parts[] = {"weight", "bias", "running_mean", "running_var"};
    char key[160];
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "%s.%s", prefix, parts[i]);
        if (fz_sd_put(sd, key, 1, (int64_t[]){c}))
            return -1;
    }
    snprintf(key, sizeof key, "%s.num_batches_tracked", prefix);
    return fz_sd_put(sd, key, 0, NULL);
}

int fz_resnet_sd(gc_state_dict *sd, int w, int classes)
{
    memset(sd, 0, sizeof *sd);
    if (fz_sd_put(sd, "conv1.weight", 4, (int64_t[]){w, 3, 7, 7}) || put_bn(sd, "bn1", w))
        return -1;
    int c = w;
    for (int s = 1; s <= 4; s++) {
        int oc = w << (s - 1);
        char p[96], k[160];
        snprintf(p, sizeof p, "layer%d.0", s);
        snprintf(k, sizeof k, "%s.conv1.weight", p);
        if (fz_sd_put(sd, k, 4, (int64_t[]){oc, c, 3, 3}))
            return -1;
        snprintf(k, sizeof k, "%s.bn1", p);
        if (put_bn(sd, k, oc))
            return -1;
        snprintf(k, sizeof k, "%s.conv2.weight", p);
        if (fz_sd_put(sd, k, 4, (int64_t[]){oc, oc, 3, 3}))
            return -1;
        snprintf(k, sizeof k, "%s.bn2", p);
        if (put_bn(sd, k, oc))
            return -1;
        if (s > 1) {
            snprintf(k, sizeof k, "%s.downsample.0.weight", p);
            if (fz_sd_put(sd, k, 4, (int64_t[]){oc, c, 1, 1}))
                return -1;
            snprintf(k, sizeof k, "%s.downsample.1", p);
            if (put_bn(sd, k, oc))
                return -1;
        }
        c = oc;
    }
    if (fz_sd_put(sd, "fc.weight", 2, (int64_t[]){classes, c}) ||
        fz_sd_put(sd, "fc.bias", 1, (int64_t[]){classes}))
        return -1;
    return 0;
}

void fz_check_state_dict_and_build(gc_status st, gc_error *err, gc_state_dict *sd,
                                   const char *label, size_t input_size, int strict)
{
    fz_check(st, err);
    if (st != GC_OK) {
        if (sd->count || sd->tensors)
            abort(); /* a failed load must leave the output empty */
        return;
    }
    for (int i = 0; i < sd->count; i++) {
        const gc_sd_tensor *t = &sd->tensors[i];
        int64_t n = 1;
        for (int d = 0; d < t->ndim; d++)
            n *= t->shape[d];
        if (!t->name || t->ndim < 0 || t->ndim > GC_MAX_DIMS || n != t->numel ||
            (n && !t->data))
            abort();
        if (strict && ((uint64_t)n > (uint64_t)input_size || !strncmp(t->name, "module.", 7) ||
                       gc_sd_find(sd, t->name) != t))
            abort();
        volatile float sink = n ? t->data[0] + t->data[n - 1] : 0; /* in bounds? */
        (void)sink;
    }
    gc_model *m = calloc(1, sizeof *m);
    if (!m) {
        gc_sd_free(sd);
        return;
    }
    m->weights = *sd;
    fz_check(gc_resnet_build(m, label, err), err);
    gc_model_free(m);
}
