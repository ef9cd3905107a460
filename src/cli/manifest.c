/* manifest.c — reads a data set's manifest (CSV or JSON Lines) into a
 * cli_dataset; see dataset.h. */
#include "cli/dataset.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLUMNS 32

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* A manifest's relative path is relative to the manifest's folder. */
static char *resolve(const char *manifest, const char *path)
{
    const char *slash = strrchr(manifest, '/');
    if (path[0] == '/' || !slash)
        return dup_str(path);
    size_t dir = (size_t)(slash - manifest) + 1, len = strlen(path);
    char *out = malloc(dir + len + 1);
    if (out) {
        memcpy(out, manifest, dir);
        memcpy(out + dir, path, len + 1);
    }
    return out;
}

static cli_item *new_item(cli_dataset *d)
{
    if (d->n == d->cap) {
        int cap = d->cap ? 2 * d->cap : 64;
        cli_item *items = realloc(d->items, sizeof *items * (size_t)cap);
        if (!items)
            return NULL;
        d->items = items, d->cap = cap;
    }
    cli_item *it = &d->items[d->n++];
    memset(it, 0, sizeof *it);
    return it;
}

int cli_dataset_add(cli_dataset *d, const char *path)
{
    cli_item *it = new_item(d);
    if (!it || !(it->path = dup_str(path))) {
        fprintf(stderr, "gradcam: out of memory\n");
        return 1;
    }
    return 0;
}

void cli_dataset_free(cli_dataset *d)
{
    for (int i = 0; i < d->n; i++) {
        free(d->items[i].path);
        free(d->items[i].target);
        free(d->items[i].mask);
    }
    free(d->items);
    memset(d, 0, sizeof *d);
}

static int bad(const char *file, int line, const char *what, const char *detail)
{
    fprintf(stderr, "gradcam: %s:%d: %s%s%s\n", file, line, what, detail ? ": " : "",
            detail ? detail : "");
    return 1; /* bad input */
}

/* "x0,y0,x1,y1" (commas or blanks) -> box; 0 on success. */
static int parse_box(const char *text, double box[4])
{
    const char *s = text;
    for (int k = 0; k < 4; k++) {
        char *end;
        while (*s == ' ' || *s == '\t' || (k && *s == ','))
            s++;
        box[k] = strtod(s, &end);
        if (end == s)
            return -1;
        s = end;
    }
    while (*s == ' ' || *s == '\t')
        s++;
    return *s || box[2] < box[0] || box[3] < box[1] ? -1 : 0;
}

/* The item's fields from text values (NULL or "" = absent). */
static int fill(cli_item *it, const char *manifest, int line, const char *path,
                const char *target, const char *box, const char *mask)
{
    if (!path || !*path)
        return bad(manifest, line, "no path", NULL);
    it->path = resolve(manifest, path);
    if (target && *target)
        it->target = dup_str(target);
    if (mask && *mask)
        it->mask = resolve(manifest, mask);
    if (box && *box) {
        if (parse_box(box, it->box))
            return bad(manifest, line, "a box is x0,y0,x1,y1 with x0 <= x1, y0 <= y1, not", box);
        it->has_box = 1;
    }
    if (!it->path || (target && *target && !it->target) || (mask && *mask && !it->mask)) {
        fprintf(stderr, "gradcam: out of memory\n");
        return 1;
    }
    return 0;
}

/* Splits one CSV record at *s (RFC 4180 quoting) into fields, in place;
 * advances *s past the record's line end. Returns the field count or -1
 * for an unterminated quote. */
static int csv_record(char **s, char **fields, int max)
{
    char *p = *s, *w;
    int n = 0;
    for (;;) {
        char *start = w = p;
        if (*p == '"') {
            p++;
            for (;;) {
                if (!*p)
                    return -1;
                if (*p == '"' && p[1] == '"')
                    *w++ = '"', p += 2;
                else if (*p == '"') {
                    p++;
                    break;
                } else
                    *w++ = *p++;
            }
        }
        while (*p && *p != ',' && *p != '\n' && *p != '\r')
            *w++ = *p++;
        char end = *p;
        *w = '\0';
        if (n < max)
            fields[n] = start;
        n++;
        if (end == ',') {
            p++;
            continue;
        }
        if (end == '\r')
            p++, end = *p == '\n' ? '\n' : '\0';
        if (end == '\n')
            p++;
        *s = p;
        return n;
    }
}

static void trim(char *s)
{
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1]))
        s[--len] = '\0';
    size_t lead = strspn(s, " \t");
    memmove(s, s + lead, len - lead + 1);
}

static int read_csv(const char *file, char *text, cli_dataset *d)
{
    enum { PATH, TARGET, BOX, X0, Y0, X1, Y1, MASK, NCOLS };
    static const char *const names[][3] = {
        {"path", "image", "file"}, {"target", "class", "label"}, {"box", "", ""},
        {"x0", "", ""}, {"y0", "", ""}, {"x1", "", ""}, {"y1", "", ""}, {"mask", "", ""},
    };
    int col[NCOLS];
    for (int c = 0; c < NCOLS; c++)
        col[c] = -1;
    char *fields[MAX_COLUMNS], *s = text;
    int line = 1, n = csv_record(&s, fields, MAX_COLUMNS);
    if (n < 0 || n > MAX_COLUMNS)
        return bad(file, line, "the header is not a CSV record of at most 32 columns", NULL);
    for (int k = 0; k < n; k++) {
        trim(fields[k]);
        for (int c = 0; c < NCOLS; c++)
            for (int a = 0; a < 3; a++)
                if (names[c][a][0] && strcmp(fields[k], names[c][a]) == 0)
                    col[c] = k;
    }
    if (col[PATH] < 0)
        return bad(file, line, "the header names no 'path' column", NULL);
    int split_box = col[X0] >= 0 || col[Y0] >= 0 || col[X1] >= 0 || col[Y1] >= 0;
    if (split_box && (col[X0] < 0 || col[Y0] < 0 || col[X1] < 0 || col[Y1] < 0))
        return bad(file, line, "a box needs all four columns x0, y0, x1, y1", NULL);
    while (*s) {
        line++;
        n = csv_record(&s, fields, MAX_COLUMNS);
        if (n < 0)
            return bad(file, line, "unterminated quote", NULL);
        for (int k = 0; k < n && k < MAX_COLUMNS; k++)
            trim(fields[k]);
        if (n == 1 && !fields[0][0])
            continue; /* a blank line */
        const char *v[NCOLS] = {0};
        for (int c = 0; c < NCOLS; c++)
            if (col[c] >= 0 && col[c] < n)
                v[c] = fields[col[c]];
        char box[256] = "";
        if (split_box && v[X0] && *v[X0])
            snprintf(box, sizeof box, "%s,%s,%s,%s", v[X0], v[Y0] ? v[Y0] : "",
                     v[X1] ? v[X1] : "", v[Y1] ? v[Y1] : "");
        cli_item *it = new_item(d);
        if (!it)
            return bad(file, line, "out of memory", NULL);
        if (fill(it, file, line, v[PATH], v[TARGET], split_box ? box : v[BOX], v[MASK]))
            return 1;
    }
    return 0;
}

static int read_jsonl(const char *file, char *text, cli_dataset *d)
{
    int line = 0;
    for (char *s = text; *s;) {
        char *end = strchr(s, '\n');
        if (end)
            *end = '\0';
        line++;
        char *rec = s;
        s = end ? end + 1 : s + strlen(s);
        trim(rec);
        if (!*rec)
            continue;
        cJSON *o = cJSON_Parse(rec);
        if (!cJSON_IsObject(o)) {
            cJSON_Delete(o);
            return bad(file, line, "not a JSON object", NULL);
        }
        const cJSON *p = cJSON_GetObjectItem(o, "path"), *t = cJSON_GetObjectItem(o, "target"),
                    *b = cJSON_GetObjectItem(o, "box"), *m = cJSON_GetObjectItem(o, "mask");
        if (!t)
            t = cJSON_GetObjectItem(o, "class");
        char target[64] = "", box[256] = "";
        int rc = 0;
        if (!cJSON_IsString(p))
            rc = bad(file, line, "\"path\" must be a string", NULL);
        else if (t && !cJSON_IsNull(t) && !cJSON_IsString(t) &&
                 !(cJSON_IsNumber(t) && t->valuedouble == (int)t->valuedouble))
            rc = bad(file, line, "\"target\" is a class index or name", NULL);
        else if (m && !cJSON_IsNull(m) && !cJSON_IsString(m))
            rc = bad(file, line, "\"mask\" must be a path", NULL);
        else if (b && !cJSON_IsNull(b) &&
                 (!cJSON_IsArray(b) || cJSON_GetArraySize(b) != 4))
            rc = bad(file, line, "\"box\" is [x0, y0, x1, y1]", NULL);
        if (!rc && cJSON_IsArray(b)) {
            size_t used = 0;
            for (int k = 0; k < 4 && !rc; k++) {
                const cJSON *v = cJSON_GetArrayItem(b, k);
                if (!cJSON_IsNumber(v))
                    rc = bad(file, line, "\"box\" is [x0, y0, x1, y1]", NULL);
                else
                    used += (size_t)snprintf(box + used, sizeof box - used, "%s%.17g",
                                             k ? "," : "", v->valuedouble);
            }
        }
        if (!rc && cJSON_IsNumber(t))
            snprintf(target, sizeof target, "%d", t->valueint);
        cli_item *it = rc ? NULL : new_item(d);
        if (!rc && !it)
            rc = bad(file, line, "out of memory", NULL);
        if (!rc)
            rc = fill(it, file, line, p->valuestring,
                      cJSON_IsString(t) ? t->valuestring : target, box,
                      cJSON_IsString(m) ? m->valuestring : NULL);
        cJSON_Delete(o);
        if (rc)
            return rc;
    }
    return 0;
}

int cli_manifest_read(const char *path, cli_dataset *d)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "gradcam: %s: cannot open the manifest\n", path);
        return 1;
    }
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    for (size_t got; text && (got = fread(text + len, 1, cap - len - 1, f)) > 0;) {
        len += got;
        if (len + 1 == cap) {
            char *more = cap < ((size_t)1 << 30) ? realloc(text, cap *= 2) : NULL;
            if (!more) {
                free(text);
                text = NULL;
            }
            text = more;
        }
    }
    fclose(f);
    if (!text) {
        fprintf(stderr, "gradcam: %s: manifest too large or out of memory\n", path);
        return 1;
    }
    text[len] = '\0';
    if (strlen(text) != len) {
        free(text);
        return bad(path, 1, "a manifest is text (it holds a NUL byte)", NULL);
    }
    char *body = text;
    if (strncmp(body, "\xEF\xBB\xBF", 3) == 0)
        body += 3; /* a UTF-8 byte order mark, as spreadsheets write CSV */
    const char *first = body + strspn(body, " \t\r\n");
    int rc = *first == '{' ? read_jsonl(path, body, d) : read_csv(path, body, d);
    free(text);
    return rc;
}
