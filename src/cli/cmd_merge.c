/* cmd_merge.c — `gradcam merge OUT... --out DIR`: joins the output folders
 * of sharded runs (`explain --shard K/N`) into one, as if one process had
 * explained the whole data set: DIR/results.jsonl in manifest order and
 * every image's files copied into DIR. */
#include "cli/cli.h"
#include "cli/outputs.h"
#include "cli/results.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char help[] =
    "usage: gradcam merge OUT... --out DIR\n"
    "\n"
    "Joins the output folders of `gradcam explain --shard K/N` runs: DIR gets\n"
    "every image's files and one results.jsonl with each image's record, in\n"
    "the data set's order (by \"index\"). A gap in the indices (a shard missing\n"
    "or unfinished) is reported and makes the exit code 1; what there is is\n"
    "still written.\n";

static const char *const options[] = {"out", NULL};

static int same_dir(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static int copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY), out = -1, rc = in < 0;
    if (!rc)
        rc = (out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0;
    char buf[1 << 16];
    for (ssize_t k; !rc && (k = read(in, buf, sizeof buf)) != 0;) {
        if (k < 0 || write(out, buf, (size_t)k) != k)
            rc = 1;
    }
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out))
        rc = 1;
    if (rc)
        fprintf(stderr, "gradcam: cannot copy %s to %s: %s\n", from, to, strerror(errno));
    return rc;
}

/* Copies the files a record lists from dir to out. */
static int copy_outputs(const char *line, const char *dir, const char *out)
{
    cJSON *o = cJSON_Parse(line);
    const cJSON *files = cJSON_GetObjectItem(o, "outputs"), *f;
    int rc = 0;
    cJSON_ArrayForEach(f, files) {
        if (!cJSON_IsString(f) || strchr(f->valuestring, '/'))
            continue; /* names only: nothing outside the folders */
        char from[4200], to[4200];
        snprintf(from, sizeof from, "%s/%s", dir, f->valuestring);
        snprintf(to, sizeof to, "%s/%s", out, f->valuestring);
        if ((rc = copy_file(from, to)))
            break;
    }
    cJSON_Delete(o);
    return rc;
}

int cmd_merge(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse("merge", options, argc, argv, 2, &a);
    if (rc || a.help) {
        if (a.help)
            fputs(help, stdout);
        return rc;
    }
    if (!a.out || a.npositional == 0)
        return cli_usage_error("merge", "give the shards' folders and --out DIR");
    if ((rc = cli_make_dir(a.out)))
        return rc;
    cli_records all = {0};
    int *from = NULL, conflicts = 0;
    for (int d = 0; d < a.npositional && !rc; d++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/" CLI_RESULTS_FILE, a.positional[d]);
        if (access(path, R_OK) != 0) {
            fprintf(stderr, "gradcam: %s: cannot read\n", path);
            rc = EXIT_BAD_INPUT;
            break;
        }
        cli_records one = {0};
        if (cli_records_read(path, &one) ||
            (one.n > all.n && !(from = realloc(from, sizeof *from * (size_t)one.n)))) {
            fprintf(stderr, "gradcam: out of memory\n");
            rc = EXIT_INTERNAL;
        }
        for (int i = 0; i < one.n && !rc; i++) {
            if (!one.line[i])
                continue;
            if (i < all.n && all.line[i]) {
                conflicts += strcmp(all.line[i], one.line[i]) != 0;
                continue; /* the first folder's record stays */
            }
            if (i >= all.n) {
                char **v = realloc(all.line, sizeof *v * (size_t)(i + 1));
                if (!v) {
                    rc = EXIT_INTERNAL;
                    break;
                }
                memset(v + all.n, 0, sizeof *v * (size_t)(i + 1 - all.n));
                all.line = v, all.n = i + 1;
            }
            all.line[i] = one.line[i];
            one.line[i] = NULL;
            from[i] = d;
        }
        cli_records_free(&one);
    }
    int missing = 0;
    for (int i = 0; i < all.n && !rc; i++) {
        if (!all.line[i]) {
            missing++;
            continue;
        }
        if (!same_dir(a.positional[from[i]], a.out))
            rc = copy_outputs(all.line[i], a.positional[from[i]], a.out) ? EXIT_BAD_INPUT : 0;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/" CLI_RESULTS_FILE, a.out);
    if (!rc && cli_records_write(path, &all))
        rc = EXIT_BAD_INPUT;
    if (!rc && conflicts)
        fprintf(stderr, "gradcam: %d image%s had different records in two folders; the first "
                "folder's was kept\n", conflicts, conflicts == 1 ? "" : "s");
    if (!rc && missing) {
        fprintf(stderr, "gradcam: %d image%s missing between index 0 and %d (a shard missing "
                "or unfinished?)\n", missing, missing == 1 ? " is" : "s are", all.n - 1);
        rc = EXIT_BAD_INPUT;
    }
    if (!rc)
        printf("%d records -> %s\n", all.n, path);
    free(from);
    cli_records_free(&all);
    return rc;
}
