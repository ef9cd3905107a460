/* cli.h — what the subcommands of the gradcam tool share: a small argument
 * parser, model opening (a file, or pretrained weights by name) and
 * reporting errors. Only the CLI prints; the library returns messages. */
#ifndef GC_CLI_H
#define GC_CLI_H

#include "gradcam.h"

#include <stdio.h>

/* Exit codes, documented in the README. */
enum { EXIT_OK = 0, EXIT_BAD_INPUT = 1, EXIT_USAGE = 2, EXIT_INTERNAL = 3 };

int cli_exit_code(gc_status st);
/* Prints "gradcam: <msg>" to stderr and returns the matching exit code.
 * A configurable limit's message gets the option that raises it. */
int cli_report(const gc_error *err);
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Options of every subcommand; unset strings are NULL. */
#define CLI_MAX_POSITIONAL 4096
#define CLI_MAX_REPEAT 16
typedef struct cli_args {
    const char *model, *method, *out, *input_npy, *preprocess, *tokens, *mask;
    const char *output; /* --output: an ONNX model's output of the scores */
    const char *labels, *input_size, *mean, *std; /* override the model's */
    const char *manifest, *glob, *shard, *sanity; /* explain: a data set run */
    int resume, quiet, fail_fast, metrics, baselines, steps, report;
    const char *layers[CLI_MAX_REPEAT]; /* --layer, repeatable  */
    int nlayers;
    const char *classes[CLI_MAX_REPEAT]; /* --class, repeatable */
    int nclasses;
    int top;      /* predict --top K    */
    int batch, size, iters; /* bench */
    int top_k;    /* explain --top-k K  */
    int help;
    int counterfactual, eigen_smooth, aug_smooth, segment, detect;
    int box;      /* explain --box B (with --detect); -1: the best of the class */
    gc_limits limits; /* --max-pixels, --max-weights, --max-nodes; 0: default */
    const char *positional[CLI_MAX_POSITIONAL];
    int npositional;
} cli_args;

/* Parses argv[first..]; "--opt value" and "--opt=value" both work, "--"
 * ends the options. accepted: the names (without "--", NULL-ended) of the
 * options cmd takes; any other option, wherever it stands, is a usage error
 * that lists them. -h / --help is always accepted. */
int cli_parse(const char *cmd, const char *const *accepted, int argc, char **argv, int first,
              cli_args *a);

/* Opens --model: a checkpoint path, or an architecture name such as
 * "resnet18" whose pretrained weights are fetched into the user's cache.
 * Loaded under a->limits, its scores from a->output (NULL: the first). */
int cli_open_model(const cli_args *a, gc_model **model);

/* The name of class i of this model ("tiger shark", or "class 7"). */
const char *cli_class_name(const gc_model *m, int i, char *buf, size_t cap);
/* Parses --class: an index or an exact class name. */
int cli_parse_class(const gc_model *m, const char *text, int *out);

/* Indices of the k largest of v[0..n), largest first. */
void cli_top_k(const float *v, int n, int k, int *idx);

int cmd_explain(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_layers(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_report(int argc, char **argv);
/* DIR/index.html from DIR/results.jsonl (cmd_report.c). */
int cli_write_report(const char *dir);

#endif
