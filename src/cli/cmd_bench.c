/* cmd_bench.c — `gradcam bench`: in-process timing of the forward pass or
 * an explanation, after a warm-up, so that start-up and model loading do not
 * count. bench/run_bench.py runs it beside the PyTorch equivalent. */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char help[] =
    "usage: gradcam bench --model M [--batch N] [--size S] [--iters K]\n"
    "                     [--layer L] [--method forward|METHOD]\n"
    "                     [--max-weights SIZE] [--max-nodes N]\n"
    "Times K runs (default 5, after one warm-up) on random inputs of N images\n"
    "(default 1) of SxS (default 224) and prints one JSON line with the time per\n"
    "image in milliseconds (median and minimum over runs, and CPU time of all\n"
    "threads, a steadier figure on a busy machine) and the model load time.\n"
    "--method is 'forward' (the forward pass alone) or one of explain's methods\n"
    "(default gradcam); --layer as for explain. The --max options bound what the\n"
    "model file may make gradcam allocate (see 'gradcam explain --help').\n"
    "Threads follow OMP_NUM_THREADS / OPENBLAS_NUM_THREADS.\n";

static const char *const options[] = {
    "model", "batch", "size", "iters", "layer", "method", "max-weights", "max-nodes", NULL,
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int cmd_bench(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse("bench", options, argc, argv, 2, &a);
    if (rc || a.help) {
        if (a.help)
            fputs(help, stdout);
        return rc;
    }
    int batch = a.batch > 0 ? a.batch : 1, size = a.size > 0 ? a.size : 224;
    int iters = a.iters > 0 ? a.iters : 5;
    int forward_only = a.method && strcmp(a.method, "forward") == 0;
    gc_method method = GC_METHOD_GRADCAM;
    gc_error err = {0};
    if (a.method && !forward_only && gc_method_parse(a.method, &method, &err))
        return cli_report(&err);
    double t0 = now_ms();
    gc_model *m;
    if ((rc = cli_open_model(&a, &m)))
        return rc;
    double load_ms = now_ms() - t0;
    size_t count = (size_t)batch * 3 * size * size;
    float *x = malloc(sizeof(float) * count);
    float *logits = malloc(sizeof(float) * batch * gc_model_num_classes(m));
    double *times = malloc(sizeof(double) * iters), cpu_total = 0.0;
    gc_session *s = NULL;
    if (!x || !logits || !times || gc_session_new(m, &s, &err)) {
        rc = err.status ? cli_report(&err) : EXIT_BAD_INPUT;
        goto out;
    }
    unsigned seed = 12345;
    gc_request req = {.layers = a.layers, .nlayers = a.nlayers ? 1 : 0, .class_index = GC_CLASS_TOP1,
                      .methods = &method, .nmethods = 1, .seed = 1};
    for (int it = -1; it < iters; it++) {
        /* A new input each run, so nothing is cached between runs. */
        for (size_t i = 0; i < count; i++) {
            seed = seed * 1664525u + 1013904223u;
            x[i] = (float)(seed >> 8) / 8388608.0f - 1.0f;
        }
        double t = now_ms(), c = cpu_ms();
        if (forward_only) {
            if (gc_predict(s, x, batch, size, size, logits, &err)) {
                rc = cli_report(&err);
                goto out;
            }
        } else {
            gc_result r;
            if (gc_explain(s, x, batch, size, size, &req, &r, &err)) {
                rc = cli_report(&err);
                goto out;
            }
            gc_result_free(&r);
        }
        if (it >= 0) {
            times[it] = (now_ms() - t) / batch;
            cpu_total += (cpu_ms() - c) / batch;
        }
    }
    qsort(times, (size_t)iters, sizeof *times, cmp_double);
    printf("{\"what\": \"%s\", \"batch\": %d, \"size\": %d, \"ms_per_image\": %.3f, "
           "\"min_ms_per_image\": %.3f, \"cpu_ms_per_image\": %.3f, \"load_ms\": %.1f, "
           "\"kernels\": \"%s\"}\n",
           forward_only ? "forward" : gc_method_name(method), batch, size, times[iters / 2],
           times[0], cpu_total / iters, load_ms, gc_cpu_tier());
out:
    free(x);
    free(logits);
    free(times);
    gc_session_free(s);
    gc_model_free(m);
    return rc;
}
