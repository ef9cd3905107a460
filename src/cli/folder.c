/* folder.c — a folder given as an input: its images, recursively, sorted
 * by path so that every run (and every shard) sees the same order. */
#include "cli/dataset.h"

#include <dirent.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

typedef struct names {
    char **v;
    int n, cap;
} names;

static int push(names *l, const char *s)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        char **v = realloc(l->v, sizeof *v * (size_t)cap);
        if (!v)
            return -1;
        l->v = v, l->cap = cap;
    }
    size_t len = strlen(s) + 1;
    if (!(l->v[l->n] = malloc(len)))
        return -1;
    memcpy(l->v[l->n++], s, len);
    return 0;
}

static int is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") ||
                   !strcasecmp(dot, ".jpeg"));
}

/* rel: the path below the top folder ("" for the top itself). Hidden
 * entries (".name") are skipped. */
static int walk(const char *top, const char *rel, const char *glob, names *out, int depth)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s%s%s", top, *rel ? "/" : "", rel);
    DIR *dp = opendir(dir);
    if (!dp) {
        fprintf(stderr, "gradcam: %s: cannot open the folder\n", dir);
        return 1;
    }
    int rc = 0;
    for (struct dirent *e; !rc && (e = readdir(dp));) {
        if (e->d_name[0] == '.')
            continue;
        char sub[4096], full[8200];
        if ((size_t)snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name) >=
            sizeof sub)
            continue;
        snprintf(full, sizeof full, "%s/%s", top, sub);
        struct stat st;
        if (stat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth < 64)
                rc = walk(top, sub, glob, out, depth + 1);
        } else if (S_ISREG(st.st_mode) &&
                   (glob ? fnmatch(glob, sub, 0) == 0 : is_image_name(e->d_name))) {
            if (push(out, full)) {
                fprintf(stderr, "gradcam: out of memory\n");
                rc = 1;
            }
        }
    }
    closedir(dp);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cli_folder_read(const char *dir, const char *glob, cli_dataset *d)
{
    char top[4096];
    snprintf(top, sizeof top, "%s", dir);
    size_t len = strlen(top);
    while (len > 1 && top[len - 1] == '/')
        top[--len] = '\0';
    names l = {0};
    int rc = walk(top, "", glob, &l, 0);
    qsort(l.v, (size_t)l.n, sizeof *l.v, by_name);
    for (int i = 0; i < l.n; i++) {
        if (!rc)
            rc = cli_dataset_add(d, l.v[i]);
        free(l.v[i]);
    }
    free(l.v);
    return rc;
}
