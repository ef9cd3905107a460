/* results.c — see results.h. */
#include "cli/results.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int put(cli_records *r, int index, char *line)
{
    if (index >= r->n) {
        int n = index + 1 > 2 * r->n ? index + 1 : 2 * r->n;
        char **v = realloc(r->line, sizeof *v * (size_t)n);
        if (!v)
            return -1;
        memset(v + r->n, 0, sizeof *v * (size_t)(n - r->n));
        r->line = v, r->n = n;
    }
    free(r->line[index]);
    r->line[index] = line;
    return 0;
}

int cli_records_read(const char *path, cli_records *r)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    while (!rc && (len = getline(&buf, &cap, f)) > 0) {
        if (buf[len - 1] != '\n')
            break; /* a torn last record */
        buf[len - 1] = '\0';
        cJSON *o = cJSON_Parse(buf);
        const cJSON *idx = cJSON_GetObjectItem(o, "index");
        if (cJSON_IsNumber(idx) && idx->valueint >= 0 && idx->valueint < 10000000) { /* 80 MB */
            char *copy = strdup(buf);
            if (!copy || put(r, idx->valueint, copy))
                rc = -1;
        }
        cJSON_Delete(o);
    }
    free(buf);
    fclose(f);
    return rc;
}

void cli_records_free(cli_records *r)
{
    for (int i = 0; i < r->n; i++)
        free(r->line[i]);
    free(r->line);
    r->line = NULL, r->n = 0;
}

static int write_all(int fd, const char *s, size_t len)
{
    while (len) {
        ssize_t k = write(fd, s, len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        s += k, len -= (size_t)k;
    }
    return 0;
}

int cli_records_write(const char *path, const cli_records *r)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644), rc = fd < 0;
    for (int i = 0; i < r->n && !rc; i++)
        if (r->line[i])
            rc = write_all(fd, r->line[i], strlen(r->line[i])) || write_all(fd, "\n", 1);
    if (fd >= 0) {
        rc |= fsync(fd) != 0;
        rc |= close(fd) != 0;
    }
    if (!rc && rename(tmp, path) != 0)
        rc = 1;
    if (rc) {
        fprintf(stderr, "gradcam: %s: cannot write: %s\n", path, strerror(errno));
        unlink(tmp);
    }
    return rc;
}

int cli_results_append(int fd, const cJSON *record)
{
    char *text = cJSON_PrintUnformatted(record);
    if (!text)
        return -1;
    size_t len = strlen(text);
    char *line = realloc(text, len + 2);
    if (!line) {
        free(text);
        return -1;
    }
    line[len] = '\n', line[len + 1] = '\0';
    /* O_APPEND and one write: the record lands whole or (killed before the
     * call) not at all. */
    ssize_t k = write(fd, line, len + 1);
    free(line);
    return k == (ssize_t)(len + 1) && fsync(fd) == 0 ? 0 : -1;
}
