/* explain_set.c — `gradcam explain` over a data set: a manifest or folders,
 * each image with its own target, a record per image in OUT/results.jsonl,
 * a failed image recorded and skipped over, --resume, --shard K/N, and the
 * faithfulness metrics (metrics_run.c) with --metrics. */
#include "cli/dataset.h"
#include "cli/inputs.h"
#include "cli/metrics_run.h"
#include "cli/outputs.h"
#include "cli/pipeline.h"
#include "cli/progress.h"
#include "cli/results.h"
#include "cli/shard.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int cli_is_set_run(const cli_args *a)
{
    if (a->manifest || a->glob || a->shard || a->resume || a->quiet || a->fail_fast ||
        a->metrics || a->baselines || a->steps || a->sanity || a->report)
        return 1;
    for (int i = 0; i < a->npositional; i++)
        if (is_dir(a->positional[i]))
            return 1;
    return 0;
}

int cli_dataset_from_args(const cli_args *a, cli_dataset *d)
{
    int rc = a->manifest ? cli_manifest_read(a->manifest, d) : 0;
    for (int i = 0; i < a->npositional && !rc; i++)
        rc = is_dir(a->positional[i]) ? cli_folder_read(a->positional[i], a->glob, d)
                                      : cli_dataset_add(d, a->positional[i]);
    if (!rc && d->n == 0) {
        fprintf(stderr, "gradcam: the data set has no images\n");
        rc = EXIT_BAD_INPUT;
    }
    return rc;
}

typedef struct set_item {
    int index;    /* in the data set */
    int target;   /* the manifest's class, or -1 */
    gc_image photo;
    float *x;
    double load_ms;
    gc_result r;
    int has_r;
    cJSON *metrics, *sanity;
    float *sanity_maps;   /* nstages x the map's h x w */
    gc_error err;
} set_item;

typedef struct set_ctx {
    const cli_set_run *run;
    cli_dataset d;
    cli_stems stems;
    int *todo, ntodo;
    int fd;
    cli_progress progress;
    int failed, first_rc;
    gc_session *eval; /* --metrics: the perturbed images' batches */
    cli_sanity sanity; /* --sanity: the randomised models */
} set_ctx;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A manifest's target: a class index or an exact class name. */
static gc_status resolve_target(const gc_model *m, const char *text, int *out, gc_error *err)
{
    char *end;
    long v = strtol(text, &end, 10);
    const int n = gc_model_num_classes(m);
    if (*text && !*end) {
        *out = (int)v;
        if (v >= 0 && v < n)
            return GC_OK;
        snprintf(err->msg, sizeof err->msg, "target class %ld is out of range (0-%d)", v, n - 1);
        return err->status = GC_ERR_USAGE;
    }
    for (int i = 0; i < n; i++) {
        char buf[32];
        if (strcmp(cli_class_name(m, i, buf, sizeof buf), text) == 0) {
            *out = i;
            return GC_OK;
        }
    }
    snprintf(err->msg, sizeof err->msg, "no class named '%.200s'", text);
    return err->status = GC_ERR_USAGE;
}

static void discard_item(void *ctx, void *it)
{
    set_item *item = it;
    (void)ctx;
    if (item->has_r)
        gc_result_free(&item->r);
    cJSON_Delete(item->metrics);
    cJSON_Delete(item->sanity);
    free(item->sanity_maps);
    free(item->x);
    gc_image_free(&item->photo);
    memset(item, 0, sizeof *item);
}

static int load_item(void *ctx, int i, void *it)
{
    set_ctx *c = ctx;
    set_item *item = it;
    memset(item, 0, sizeof *item);
    item->index = c->todo[i];
    item->target = -1;
    const cli_item *in = &c->d.items[item->index];
    gc_status st = GC_OK;
    if (in->target && (st = resolve_target(c->run->m, in->target, &item->target, &item->err))) {
        char msg[sizeof item->err.msg];
        snprintf(msg, sizeof msg, "%.300s: %.200s", in->path, item->err.msg);
        memcpy(item->err.msg, msg, sizeof msg);
        return cli_exit_code(st);
    }
    double t0 = now_ms();
    st = cli_read_image_tensor(in->path, &c->run->a->limits, c->run->pre, &item->photo, &item->x,
                               &item->err);
    item->load_ms = now_ms() - t0;
    return st ? cli_exit_code(st) : EXIT_OK;
}

static int compute_item(void *ctx, int i, void *it)
{
    set_ctx *c = ctx;
    set_item *item = it;
    const cli_set_run *run = c->run;
    (void)i;
    gc_request req = *run->req;
    req.class_index = item->target >= 0 ? item->target : run->class_index;
    req.rank = 0;
    const int S = run->pre->size;
    gc_status st = gc_explain(run->s, item->x, 1, S, S, &req, &item->r, &item->err);
    if (st)
        return cli_exit_code(st);
    item->has_r = 1;
    if (run->a->metrics) {
        const cli_item *in = &c->d.items[item->index];
        st = cli_metrics_for_image(run, c->eval, in, item->index, &item->photo, item->x, &item->r,
                                   &item->metrics, &item->err);
        if (st)
            return cli_exit_code(st);
    }
    if (c->sanity.n) {
        st = cli_sanity_for_image(&c->sanity, &req, item->x, S, &item->r, &item->sanity,
                                  &item->sanity_maps, &item->err);
        if (st)
            return cli_exit_code(st);
    }
    return EXIT_OK;
}

/* The record of one image, with what is common to success and failure. */
static cJSON *record_head(set_ctx *c, const set_item *item)
{
    const cli_item *in = &c->d.items[item->index];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "index", item->index);
    cJSON_AddStringToObject(o, "path", in->path);
    cJSON_AddStringToObject(o, "stem", c->stems.name[item->index]);
    if (item->target >= 0)
        cJSON_AddNumberToObject(o, "target", item->target);
    else if (in->target)
        cJSON_AddStringToObject(o, "target", in->target);
    else
        cJSON_AddNullToObject(o, "target");
    if (in->has_box) {
        cJSON *b = cJSON_AddArrayToObject(o, "box");
        for (int k = 0; k < 4; k++)
            cJSON_AddItemToArray(b, cJSON_CreateNumber(in->box[k]));
    }
    if (in->mask)
        cJSON_AddStringToObject(o, "mask", in->mask);
    return o;
}

static void add_prediction(cJSON *o, const gc_model *m, const gc_result *r, int target)
{
    float *p = malloc(sizeof(float) * (size_t)r->classes);
    if (!p)
        return;
    gc_softmax(r->logits, r->classes, p);
    int top = 0;
    for (int k = 1; k < r->classes; k++)
        top = p[k] > p[top] ? k : top;
    char buf[32];
    const int cls = r->class_index[0];
    cJSON_AddNumberToObject(o, "class", cls);
    cJSON_AddStringToObject(o, "label", cli_class_name(m, cls, buf, sizeof buf));
    cJSON_AddNumberToObject(o, "probability", p[cls]);
    cJSON_AddNumberToObject(o, "predicted", top);
    cJSON_AddStringToObject(o, "predicted_label", cli_class_name(m, top, buf, sizeof buf));
    cJSON_AddNumberToObject(o, "predicted_probability", p[top]);
    if (target >= 0)
        cJSON_AddBoolToObject(o, "correct", top == target);
    else
        cJSON_AddNullToObject(o, "correct");
    free(p);
}

static int write_item(void *ctx, int i, void *it, int failed)
{
    set_ctx *c = ctx;
    set_item *item = it;
    const cli_set_run *run = c->run;
    (void)i;
    cJSON *o = record_head(c, item);
    int rc = failed;
    const char *stem = c->stems.name[item->index];
    const int same_as = c->stems.same_as[item->index];
    if (!rc) {
        rc = cli_write_arrays(run->out, stem, &item->r);
        cli_visual v = {
            .dir = run->out, .stem = stem, .image_path = c->d.items[item->index].path,
            .model_path = run->a->model,
            .same_stem_as = same_as >= 0 ? c->d.items[same_as].path : NULL,
            .layer = run->layer, .model = run->m, .photo = &item->photo, .pre = run->pre,
            .result = &item->r, .counterfactual = run->req->counterfactual,
            .segment = run->req->segment, .load_ms = item->load_ms,
        };
        if (!rc)
            rc = cli_write_visuals(&v);
        char sanity_name[1200] = "";
        if (!rc && item->sanity_maps) {
            snprintf(sanity_name, sizeof sanity_name, "%s.sanity.npy", stem);
            rc = cli_sanity_write(&c->sanity, run->out, sanity_name, &item->r, item->sanity_maps);
        }
        if (!rc) {
            add_prediction(o, run->m, &item->r, item->target);
            cli_file_list(o, &v);
            cJSON_AddItemToObject(o, "outputs", cJSON_DetachItemFromObject(o, "files"));
            if (sanity_name[0]) {
                cJSON_AddItemToArray(cJSON_GetObjectItem(o, "outputs"),
                                     cJSON_CreateString(sanity_name));
                cJSON_AddItemToObject(o, "sanity", item->sanity);
                item->sanity = NULL;
            }
            if (item->metrics) {
                cJSON_AddItemToObject(o, "metrics", item->metrics);
                item->metrics = NULL;
            }
        } else
            snprintf(item->err.msg, sizeof item->err.msg, "%s: cannot write its outputs",
                     c->d.items[item->index].path);
    } else {
        if (c->progress.tty && !run->a->quiet)
            fputs("\r\033[K", stderr); /* off the progress bar's line */
        cli_report(&item->err);
    }
    if (rc) {
        cJSON_AddStringToObject(o, "error", item->err.msg[0] ? item->err.msg
                                                             : gc_status_name(item->err.status));
        c->failed++;
        if (!c->first_rc)
            c->first_rc = rc;
    }
    if (cli_results_append(c->fd, o)) {
        fprintf(stderr, "gradcam: %s/" CLI_RESULTS_FILE ": cannot append a record\n", run->out);
        rc = EXIT_BAD_INPUT;
        if (!c->first_rc)
            c->first_rc = rc;
        c->failed++;
        cJSON_Delete(o);
        discard_item(ctx, item);
        return rc; /* without a results file, going on would only lose work */
    }
    cJSON_Delete(o);
    discard_item(ctx, item);
    cli_progress_step(&c->progress, rc);
    return run->a->fail_fast ? rc : 0;
}

/* Indices whose record says they were done (same path, no error). */
static int plan(set_ctx *c, const char *results, int shard_k, int shard_n)
{
    cli_records done = {0};
    if (c->run->a->resume && cli_records_read(results, &done)) {
        fprintf(stderr, "gradcam: out of memory\n");
        return EXIT_INTERNAL;
    }
    c->todo = malloc(sizeof *c->todo * (size_t)c->d.n);
    if (!c->todo) {
        cli_records_free(&done);
        fprintf(stderr, "gradcam: out of memory\n");
        return EXIT_INTERNAL;
    }
    for (int i = 0; i < c->d.n; i++) {
        if (!cli_in_shard(i, shard_k, shard_n))
            continue;
        int skip = 0;
        if (i < done.n && done.line[i]) {
            cJSON *o = cJSON_Parse(done.line[i]);
            const cJSON *p = cJSON_GetObjectItem(o, "path");
            skip = cJSON_IsString(p) && strcmp(p->valuestring, c->d.items[i].path) == 0 &&
                   !cJSON_GetObjectItem(o, "error");
            cJSON_Delete(o);
        }
        if (!skip)
            c->todo[c->ntodo++] = i;
    }
    cli_records_free(&done);
    return EXIT_OK;
}

/* A record cut short by a kill (no newline at the end of the file) is cut
 * off, so that the next record starts on a line of its own. */
static int drop_torn_tail(int fd)
{
    off_t end = lseek(fd, 0, SEEK_END), keep = end;
    char buf[4096];
    while (keep > 0) {
        off_t from = keep > (off_t)sizeof buf ? keep - (off_t)sizeof buf : 0;
        ssize_t k = pread(fd, buf, (size_t)(keep - from), from);
        if (k != keep - from)
            return -1;
        while (k > 0 && buf[k - 1] != '\n')
            k--;
        if (k > 0) {
            keep = from + k;
            break;
        }
        keep = from;
    }
    return keep == end ? 0 : ftruncate(fd, keep);
}

/* At the end: the file in manifest order, one record per image (the last),
 * none for images outside the data set. */
static int compact(set_ctx *c, const char *results)
{
    cli_records r = {0};
    if (cli_records_read(results, &r)) {
        fprintf(stderr, "gradcam: out of memory\n");
        return EXIT_INTERNAL;
    }
    for (int i = c->d.n; i < r.n; i++) {
        free(r.line[i]);
        r.line[i] = NULL;
    }
    int rc = cli_records_write(results, &r) ? EXIT_BAD_INPUT : EXIT_OK;
    cli_records_free(&r);
    return rc;
}

int cli_explain_set(const cli_set_run *run)
{
    const cli_args *a = run->a;
    set_ctx c = {.run = run, .fd = -1};
    int shard_k, shard_n, rc;
    if (cli_parse_shard(a->shard, &shard_k, &shard_n))
        return cli_usage_error("explain", "--shard is K/N with 0 <= K < N, not '%s'", a->shard);
    if ((rc = cli_dataset_from_args(a, &c.d)))
        goto out;
    const char **paths = malloc(sizeof *paths * (size_t)c.d.n);
    if (!paths) {
        rc = EXIT_INTERNAL;
        goto out;
    }
    for (int i = 0; i < c.d.n; i++)
        paths[i] = c.d.items[i].path;
    rc = cli_name_outputs(paths, c.d.n, &c.stems);
    free(paths);
    if (rc)
        goto out;
    char results[4200];
    snprintf(results, sizeof results, "%s/" CLI_RESULTS_FILE, run->out);
    if ((rc = plan(&c, results, shard_k, shard_n)))
        goto out;
    c.fd = open(results, O_RDWR | O_CREAT | O_APPEND | (a->resume ? 0 : O_TRUNC), 0644);
    if (c.fd >= 0 && drop_torn_tail(c.fd))
        close(c.fd), c.fd = -1;
    if (c.fd < 0) {
        fprintf(stderr, "gradcam: %s: cannot open for writing\n", results);
        rc = EXIT_BAD_INPUT;
        goto out;
    }
    int share = 0;
    for (int i = 0; i < c.d.n; i++)
        share += cli_in_shard(i, shard_k, shard_n);
    gc_error err = {0};
    if (a->metrics && gc_session_new(run->m, &c.eval, &err)) {
        rc = cli_report(&err);
        goto out;
    }
    if (a->sanity && (rc = cli_sanity_open(a, run->m, &c.sanity)))
        goto out;
    cli_progress_start(&c.progress, share, share - c.ntodo, a->quiet);
    cli_pipeline p = {
        .n = c.ntodo, .item_size = sizeof(set_item), .ctx = &c, .load = load_item,
        .compute = compute_item, .write = write_item, .discard = discard_item,
        .keep_going = !a->fail_fast,
    };
    rc = cli_pipeline_run(&p);
    cli_progress_end(&c.progress);
    if (rc < 0) {
        fprintf(stderr, "gradcam: cannot start threads\n");
        rc = EXIT_INTERNAL;
        goto out;
    }
    close(c.fd);
    c.fd = -1;
    if (!rc)
        rc = compact(&c, results);
    if (!rc && a->report)
        rc = cli_write_report(run->out);
    if (!rc)
        rc = c.first_rc;
    if (!a->quiet)
        printf("%d image%s: %d explained, %d failed, %d already done -> %s\n", share,
               share == 1 ? "" : "s", c.progress.done - c.failed, c.failed, share - c.ntodo,
               results);
out:
    gc_session_free(c.eval);
    cli_sanity_close(&c.sanity);
    if (c.fd >= 0)
        close(c.fd);
    free(c.todo);
    cli_stems_free(&c.stems);
    cli_dataset_free(&c.d);
    return rc;
}
