/* description.c — the optional JSON description beside a checkpoint: class
 * names, input size, normalisation, default layer. Parsed with cJSON; every
 * field is checked because the file is as untrusted as the model. */
#include "core/error.h"
#include "loaders/description.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DESCRIPTION_BYTES (4 << 20)

static gc_status read_small_file(const char *path, char **out, gc_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return gc_fail(err, GC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = malloc(MAX_DESCRIPTION_BYTES + 1);
    size_t len = buf ? fread(buf, 1, MAX_DESCRIPTION_BYTES + 1, f) : 0;
    int bad = buf && ferror(f);
    fclose(f);
    if (!buf)
        return gc_fail(err, GC_ERR_NOMEM, "%s: out of memory", path);
    if (bad || len > MAX_DESCRIPTION_BYTES) {
        free(buf);
        return gc_fail(err, bad ? GC_ERR_IO : GC_ERR_LIMIT, "%s: %s", path,
                       bad ? "read error" : "larger than 4 MB");
    }
    buf[len] = '\0';
    *out = buf;
    return GC_OK;
}

static gc_status read_triple(const cJSON *root, const char *key, float out[3], int positive,
                             const char *path, gc_error *err)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!a)
        return GC_OK;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 3)
        return gc_fail(err, GC_ERR_FORMAT, "%s: \"%s\" must be an array of 3 numbers", path, key);
    for (int i = 0; i < 3; i++) {
        const cJSON *v = cJSON_GetArrayItem(a, i);
        if (!cJSON_IsNumber(v) || (positive && !(v->valuedouble > 0)))
            return gc_fail(err, GC_ERR_FORMAT, "%s: \"%s\"[%d] must be a %snumber", path, key,
                           i, positive ? "positive " : "");
        out[i] = (float)v->valuedouble;
    }
    return GC_OK;
}

static gc_status read_classes(gc_model *m, const cJSON *root, const char *path, gc_error *err)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "classes");
    if (!a)
        return GC_OK;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != m->num_classes)
        return gc_fail(err, GC_ERR_FORMAT,
                       "%s: \"classes\" must list %d names (the model has %d outputs)", path,
                       m->num_classes, m->num_classes);
    m->class_names = gc_calloc((size_t)m->num_classes, sizeof(char *), err);
    if (!m->class_names)
        return GC_ERR_NOMEM;
    for (int i = 0; i < m->num_classes; i++) {
        const cJSON *v = cJSON_GetArrayItem(a, i);
        if (!cJSON_IsString(v))
            return gc_fail(err, GC_ERR_FORMAT, "%s: \"classes\"[%d] is not a string", path, i);
        if (!(m->class_names[i] = strdup(v->valuestring)))
            return gc_fail(err, GC_ERR_NOMEM, "%s: out of memory", path);
    }
    return GC_OK;
}

/* Layer names are ASCII identifiers; anything else would also end up,
 * control characters included, in the error message that names it. */
static int printable(const char *s)
{
    for (; *s; s++)
        if (*s < ' ' || *s > '~')
            return 0;
    return 1;
}

static gc_status apply(gc_model *m, const cJSON *root, const char *path, gc_error *err)
{
    if (!cJSON_IsObject(root))
        return gc_fail(err, GC_ERR_FORMAT, "%s: not a JSON object", path);
    gc_status st;
    if ((st = read_classes(m, root, path, err)) ||
        (st = read_triple(root, "mean", m->pre.mean, 0, path, err)) ||
        (st = read_triple(root, "std", m->pre.std, 1, path, err)))
        return st;
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(root, "input_size");
    if (size) {
        if (!cJSON_IsNumber(size) || size->valuedouble < 8 || size->valuedouble > 4096 ||
            size->valuedouble != (int)size->valuedouble)
            return gc_fail(err, GC_ERR_FORMAT, "%s: \"input_size\" must be an integer 8-4096",
                           path);
        m->pre.size = size->valueint;
    }
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(root, "preprocess");
    if (mode) {
        if (cJSON_IsString(mode) && strcmp(mode->valuestring, "stretch") == 0)
            m->pre.mode = GC_PREPROCESS_STRETCH;
        else if (cJSON_IsString(mode) && strcmp(mode->valuestring, "crop") == 0)
            m->pre.mode = GC_PREPROCESS_CROP;
        else
            return gc_fail(err, GC_ERR_FORMAT, "%s: \"preprocess\" must be \"stretch\" or \"crop\"",
                           path);
    }
    const cJSON *layer = cJSON_GetObjectItemCaseSensitive(root, "default_layer");
    if (layer) {
        int node;
        if (!cJSON_IsString(layer) || strlen(layer->valuestring) >= sizeof m->default_layer ||
            !printable(layer->valuestring))
            return gc_fail(err, GC_ERR_FORMAT, "%s: \"default_layer\" must be a layer name", path);
        if ((st = gc_graph_find_layer(&m->graph, layer->valuestring, &node, err))) {
            char why[sizeof err->msg]; /* gc_fail must not read what it writes */
            snprintf(why, sizeof why, "%s", err->msg);
            return gc_fail(err, GC_ERR_FORMAT, "%s: \"default_layer\": %s", path, why);
        }
        snprintf(m->default_layer, sizeof m->default_layer, "%s", layer->valuestring);
    }
    return GC_OK;
}

gc_status gc_description_load(gc_model *m, const char *model_path, gc_error *err)
{
    if (m->pre.size == 0) /* a loader may know the input size (ONNX) */
        m->pre = gc_preprocess_imagenet();
    char path[4096];
    const char *slash = strrchr(model_path, '/'), *dot = strrchr(model_path, '.');
    size_t stem = (dot && (!slash || dot > slash)) ? (size_t)(dot - model_path) : strlen(model_path);
    if (stem + 6 > sizeof path)
        return GC_OK;
    memcpy(path, model_path, stem);
    memcpy(path + stem, ".json", 6);
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return GC_OK; /* no description: ImageNet conventions */
    fclose(probe);
    char *text;
    gc_status st = read_small_file(path, &text, err);
    if (st)
        return st;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root)
        return gc_fail(err, GC_ERR_FORMAT, "%s: not valid JSON", path);
    st = apply(m, root, path, err);
    cJSON_Delete(root);
    return st;
}

/* ---- --labels FILE: one class name per line ---------------------------- */

gc_status gc_model_set_labels(gc_model *m, const char *path, gc_error *err)
{
    char *text;
    gc_status st = read_small_file(path, &text, err);
    if (st)
        return st;
    char **names = gc_calloc((size_t)m->num_classes, sizeof(char *), err);
    int count = 0;
    for (char *line = text, *next; names && line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r')
            line[--len] = '\0';
        if (len == 0 && (!next || !*next))
            break; /* a final newline */
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)line[i] < 0x20) {
                st = gc_fail(err, GC_ERR_FORMAT, "%s: line %d has a control character", path,
                             count + 1);
                goto out;
            }
        if (count == m->num_classes) {
            st = gc_fail(err, GC_ERR_FORMAT, "%s: more than %d lines (the model has %d classes)",
                         path, m->num_classes, m->num_classes);
            goto out;
        }
        if (!(names[count++] = strdup(line))) {
            st = gc_fail(err, GC_ERR_NOMEM, "%s: out of memory", path);
            goto out;
        }
    }
    if (!names)
        st = GC_ERR_NOMEM;
    else if (count != m->num_classes)
        st = gc_fail(err, GC_ERR_FORMAT, "%s: %d class names, the model has %d classes", path,
                     count, m->num_classes);
out:
    free(text);
    if (st) {
        for (int i = 0; names && i < count; i++)
            free(names[i]);
        free(names);
        return st;
    }
    if (m->class_names)
        for (int i = 0; i < m->num_classes; i++)
            free(m->class_names[i]);
    free(m->class_names);
    m->class_names = names;
    return GC_OK;
}
