/* common.c — argument parsing, error reporting and model opening shared by
 * the subcommands. */
#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int cli_exit_code(gc_status st)
{
    switch (st) {
    case GC_OK: return EXIT_OK;
    case GC_ERR_USAGE: return EXIT_USAGE;
    case GC_ERR_INTERNAL: return EXIT_INTERNAL;
    default: return EXIT_BAD_INPUT;
    }
}

/* The option that raises the limit a message names, or NULL. The library
 * names limits in words (it knows no flags); these are its phrases. */
static const char *limit_option(const gc_error *err)
{
    if (err->status != GC_ERR_LIMIT)
        return NULL;
    if (strstr(err->msg, "above the limit of") && strstr(err->msg, " pixels"))
        return "--max-pixels";
    if (strstr(err->msg, "the weight limit)"))
        return "--max-weights";
    if (strstr(err->msg, "the node limit)"))
        return "--max-nodes";
    return NULL;
}

int cli_report(const gc_error *err)
{
    const char *opt = limit_option(err);
    fprintf(stderr, "gradcam: %s%s%s\n", err->msg[0] ? err->msg : gc_status_name(err->status),
            opt ? "; raise it with " : "", opt ? opt : "");
    return cli_exit_code(err->status);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "gradcam %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (try 'gradcam %s --help')\n", cmd);
    va_end(ap);
    return EXIT_USAGE;
}

static const struct {
    const char *name;
    size_t offset;
} string_options[] = {
    {"model", offsetof(cli_args, model)},
    {"method", offsetof(cli_args, method)},
    {"out", offsetof(cli_args, out)},
    {"input-npy", offsetof(cli_args, input_npy)},
    {"preprocess", offsetof(cli_args, preprocess)},
    {"labels", offsetof(cli_args, labels)},
    {"input-size", offsetof(cli_args, input_size)},
    {"mean", offsetof(cli_args, mean)},
    {"std", offsetof(cli_args, std)},
    {"tokens", offsetof(cli_args, tokens)},
    {"mask", offsetof(cli_args, mask)},
    {"output", offsetof(cli_args, output)},
    {"manifest", offsetof(cli_args, manifest)},
    {"glob", offsetof(cli_args, glob)},
    {"shard", offsetof(cli_args, shard)},
    {"sanity", offsetof(cli_args, sanity)},
};

static const struct {
    const char *name;
    size_t offset;
} flag_options[] = {
    {"counterfactual", offsetof(cli_args, counterfactual)},
    {"eigen-smooth", offsetof(cli_args, eigen_smooth)},
    {"aug-smooth", offsetof(cli_args, aug_smooth)},
    {"segment", offsetof(cli_args, segment)},
    {"detect", offsetof(cli_args, detect)},
    {"resume", offsetof(cli_args, resume)},
    {"quiet", offsetof(cli_args, quiet)},
    {"fail-fast", offsetof(cli_args, fail_fast)},
    {"metrics", offsetof(cli_args, metrics)},
    {"baselines", offsetof(cli_args, baselines)},
    {"report", offsetof(cli_args, report)},
};

static int parse_count(const char *cmd, const char *opt, const char *value, int *out)
{
    char *end;
    long k = strtol(value, &end, 10);
    if (!*value || *end || k < 1 || k > 100000)
        return cli_usage_error(cmd, "--%s needs a positive number, not '%s'", opt, value);
    *out = (int)k;
    return EXIT_OK;
}

/* --max-pixels N, --max-nodes N, --max-weights SIZE: a positive integer
 * that fits an int64 (the library clamps what it cannot use); suffix allows
 * K, M, G (1024-based), as byte counts are written. */
static int parse_limit(const char *cmd, const char *opt, const char *value, int suffix,
                       int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    int shift = 0;
    if (suffix && *end && !end[1] && strchr("KkMmGg", *end))
        shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' || *end == 'm' ? 20 : 30;
    if (value[0] < '0' || value[0] > '9' || errno || (*end && !shift) || v < 1 ||
        v > (INT64_MAX >> shift))
        return cli_usage_error(cmd, "--%s needs a positive number%s, not '%s'", opt,
                               suffix ? " of bytes (suffix K, M or G)" : "", value);
    *out = (int64_t)v << shift;
    return EXIT_OK;
}

static int accepts(const char *const *accepted, const char *opt)
{
    for (; *accepted; accepted++)
        if (strcmp(*accepted, opt) == 0)
            return 1;
    return 0;
}

/* An option this command does not take, whether or not another one does:
 * the message lists the ones it does, so the user need not guess. */
static int unknown_option(const char *cmd, const char *const *accepted, const char *arg)
{
    fprintf(stderr, "gradcam %s: unknown option '%s' (options of %s:", cmd, arg, cmd);
    for (; *accepted; accepted++)
        fprintf(stderr, " --%s,", *accepted);
    fprintf(stderr, " --help)\n");
    return EXIT_USAGE;
}

/* One "--name[=value]" option that the command accepts; *i advances past
 * a separate value. */
static int parse_option(const char *cmd, const char *const *accepted, int argc, char **argv,
                        int *i, cli_args *a)
{
    const char *arg = argv[*i], *name = arg + 2, *eq = strchr(name, '=');
    char opt[32];
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    if (len >= sizeof opt)
        return unknown_option(cmd, accepted, arg);
    memcpy(opt, name, len);
    opt[len] = '\0';
    if (!accepts(accepted, opt))
        return unknown_option(cmd, accepted, arg);
    for (size_t k = 0; k < sizeof flag_options / sizeof *flag_options; k++)
        if (strcmp(opt, flag_options[k].name) == 0) {
            if (eq)
                return cli_usage_error(cmd, "--%s takes no value", opt);
            *(int *)((char *)a + flag_options[k].offset) = 1;
            return EXIT_OK;
        }
    const char *value = eq ? eq + 1 : NULL;
    if (!value) {
        if (*i + 1 >= argc)
            return cli_usage_error(cmd, "--%s needs a value", opt);
        value = argv[++*i];
        /* "--out --bogus IMG" is a forgotten value far more often than a
         * directory named --bogus; --out=--bogus still says the latter. */
        if (strncmp(value, "--", 2) == 0)
            return cli_usage_error(cmd, "--%s needs a value, not the option '%s'", opt, value);
    }
    for (size_t k = 0; k < sizeof string_options / sizeof *string_options; k++)
        if (strcmp(opt, string_options[k].name) == 0) {
            *(const char **)((char *)a + string_options[k].offset) = value;
            return EXIT_OK;
        }
    if (strcmp(opt, "layer") == 0 || strcmp(opt, "class") == 0) {
        int is_layer = opt[0] == 'l';
        int *count = is_layer ? &a->nlayers : &a->nclasses;
        if (*count == CLI_MAX_REPEAT)
            return cli_usage_error(cmd, "--%s given more than %d times", opt, CLI_MAX_REPEAT);
        (is_layer ? a->layers : a->classes)[(*count)++] = value;
        return EXIT_OK;
    }
    if (strcmp(opt, "top") == 0)
        return parse_count(cmd, opt, value, &a->top);
    if (strcmp(opt, "top-k") == 0)
        return parse_count(cmd, opt, value, &a->top_k);
    if (strcmp(opt, "box") == 0) { /* an index: 0 counts */
        int k;
        const int rc = parse_count(cmd, opt, value[0] == '0' && !value[1] ? "1" : value, &k);
        a->box = value[0] == '0' && !value[1] ? 0 : k;
        return rc;
    }
    if (strcmp(opt, "batch") == 0)
        return parse_count(cmd, opt, value, &a->batch);
    if (strcmp(opt, "size") == 0)
        return parse_count(cmd, opt, value, &a->size);
    if (strcmp(opt, "steps") == 0)
        return parse_count(cmd, opt, value, &a->steps);
    if (strcmp(opt, "iters") == 0)
        return parse_count(cmd, opt, value, &a->iters);
    if (strcmp(opt, "max-pixels") == 0)
        return parse_limit(cmd, opt, value, 0, &a->limits.max_image_pixels);
    if (strcmp(opt, "max-weights") == 0)
        return parse_limit(cmd, opt, value, 1, &a->limits.max_weight_bytes);
    if (strcmp(opt, "max-nodes") == 0)
        return parse_limit(cmd, opt, value, 0, &a->limits.max_graph_nodes);
    /* Listed by the command but read by no branch above: a bug here. */
    return unknown_option(cmd, accepted, arg);
}

int cli_parse(const char *cmd, const char *const *accepted, int argc, char **argv, int first,
              cli_args *a)
{
    memset(a, 0, sizeof *a);
    a->top = 5;
    a->box = -1;
    int options_end = 0; /* after "--" everything is an input */
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        if (!options_end && (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)) {
            a->help = 1;
            continue;
        }
        if (!options_end && strcmp(arg, "--") == 0) {
            options_end = 1;
            continue;
        }
        /* "-" stays an input, as tools take it; "-x" is an option we lack,
         * not a file name (one starting with '-' goes after "--"). */
        if (options_end || arg[0] != '-' || arg[1] == '\0') {
            if (a->npositional == CLI_MAX_POSITIONAL)
                return cli_usage_error(cmd, "too many inputs (at most %d)", CLI_MAX_POSITIONAL);
            a->positional[a->npositional++] = arg;
            continue;
        }
        if (arg[1] != '-')
            return unknown_option(cmd, accepted, arg);
        int rc = parse_option(cmd, accepted, argc, argv, &i, a);
        if (rc)
            return rc;
    }
    return EXIT_OK;
}

/* $GRADCAM_CACHE, else $XDG_CACHE_HOME/gradcam, else ~/.cache/gradcam. */
static void cache_dir(char *buf, size_t cap)
{
    const char *env = getenv("GRADCAM_CACHE");
    if (env && *env) {
        snprintf(buf, cap, "%s", env);
        return;
    }
    env = getenv("XDG_CACHE_HOME");
    if (env && *env) {
        snprintf(buf, cap, "%s/gradcam", env);
        return;
    }
    env = getenv("HOME");
    snprintf(buf, cap, "%s/.cache/gradcam", env && *env ? env : ".");
}

int cli_open_model(const cli_args *a, gc_model **model)
{
    gc_error err = {0};
    if (!a->model) {
        fprintf(stderr, "gradcam: no model given (use --model FILE.pth or --model resnet18)\n");
        return EXIT_USAGE;
    }
    const char *path = a->model;
    char fetched[4096];
    struct stat st;
    if (stat(path, &st) != 0 && strncmp(path, "resnet", 6) == 0 && !strchr(path, '/') &&
        !strchr(path, '.')) {
        char dir[4096];
        cache_dir(dir, sizeof dir);
        if (gc_pretrained_fetch(path, dir, getenv("GRADCAM_DOWNLOAD_URL"), fetched,
                                sizeof fetched, &err))
            return cli_report(&err);
        path = fetched;
    }
    const gc_load_options opt = {.limits = &a->limits, .output = a->output};
    if (gc_model_load_with(path, &opt, model, &err))
        return cli_report(&err);
    if (a->labels && gc_model_set_labels(*model, a->labels, &err)) {
        gc_model_free(*model);
        *model = NULL;
        return cli_report(&err);
    }
    return EXIT_OK;
}

const char *cli_class_name(const gc_model *m, int i, char *buf, size_t cap)
{
    const char *name = gc_model_class_name(m, i);
    if (name)
        return name;
    snprintf(buf, cap, "class %d", i);
    return buf;
}

int cli_parse_class(const gc_model *m, const char *text, int *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (*text && !*end) {
        *out = (int)v;
        if (v < 0 || v >= gc_model_num_classes(m)) {
            fprintf(stderr, "gradcam: class %ld is out of range (the model has %d classes: 0-%d)\n",
                    v, gc_model_num_classes(m), gc_model_num_classes(m) - 1);
            return EXIT_USAGE;
        }
        return EXIT_OK;
    }
    for (int i = 0; i < gc_model_num_classes(m); i++) {
        char buf[32];
        if (strcmp(cli_class_name(m, i, buf, sizeof buf), text) == 0) {
            *out = i;
            return EXIT_OK;
        }
    }
    fprintf(stderr, "gradcam: no class named '%s' (give an index 0-%d or an exact name)\n", text,
            gc_model_num_classes(m) - 1);
    return EXIT_USAGE;
}
